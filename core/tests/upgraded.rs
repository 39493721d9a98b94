//! `Connection::upgraded`: a connection that starts open on a stream whose
//! opening handshake was done elsewhere. Both roles, the bytes read past the
//! handshake's head, permessage-deflate as the handshake agreed it, and a
//! regular client whose upgrade a hand-written HTTP exchange answers.

use std::time::Instant;

use sockette_core::frame::{encode_frame, FrameHeader, OpCode};
use sockette_core::{
    accept_key, ChaChaSource, ClientConfig, CloseCode, Connection, DeflateConfig, DeflateProblem,
    Error, Event, HandshakeError, Message, ProtocolError, Role, UpgradedConfig,
};

fn upgraded(role: Role, config: UpgradedConfig, leftover: &[u8]) -> Connection {
    let config = config.random_source(ChaChaSource::from_seed(7));
    Connection::upgraded(role, config, Instant::now(), leftover).unwrap()
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Moves what `from` transmits to `to`; returns `to`'s events.
fn pass(from: &mut Connection, to: &mut Connection) -> Vec<Event> {
    while let Some(bytes) = from.poll_transmit() {
        let bytes = bytes.to_vec();
        from.advance_transmit(bytes.len());
        to.handle_input(Instant::now(), &bytes);
    }
    events(to)
}

fn text(event: &Event) -> &str {
    match event {
        Event::Message(Message::Text(t)) => t.as_str(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// A frame as `role`'s peer sends it: masked when the peer is a client.
fn frame_from_peer_of(role: Role, opcode: OpCode, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mask = (role == Role::Server).then_some([1, 2, 3, 4]);
    let header = FrameHeader {
        fin: true,
        rsv: if rsv1 { 0b100 } else { 0 },
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    encode_frame(&mut out, &header, payload);
    out
}

#[test]
fn each_role_starts_open_and_decodes_the_bytes_read_past_the_head_first() {
    for role in [Role::Client, Role::Server] {
        let mut leftover = frame_from_peer_of(role, OpCode::Text, false, b"right behind");
        leftover.extend(frame_from_peer_of(role, OpCode::Ping, false, b"p"));
        let mut conn = upgraded(role, UpgradedConfig::new().protocol("chat.v1"), &leftover);
        assert_eq!(conn.role(), role);
        assert_eq!(conn.state(), sockette_core::State::Open);
        assert!(!conn.is_tls());
        let got = events(&mut conn);
        match &got[0] {
            Event::Open(info) => {
                assert_eq!(info.protocol.as_deref(), Some("chat.v1"));
                assert!(info.extensions.is_empty());
                assert!(info.request_head.is_empty() && info.response_head.is_empty());
            }
            other => panic!("{role:?}: Open first, got {other:?}"),
        }
        assert_eq!(text(&got[1]), "right behind", "{role:?}");
        assert!(matches!(&got[2], Event::Ping(p) if p == "p"), "{got:?}");
        // The pong went out, masked by a client only.
        let pong = conn.poll_transmit().unwrap().to_vec();
        assert_eq!(pong[0], 0x8A, "{role:?}: a pong frame");
        assert_eq!(
            pong[1] & 0x80 != 0,
            role == Role::Client,
            "{role:?}: mask bit"
        );
    }
}

#[test]
fn two_upgraded_ends_exchange_messages_and_close_cleanly() {
    let mut client = upgraded(Role::Client, UpgradedConfig::new(), &[]);
    let mut server = upgraded(Role::Server, UpgradedConfig::new(), &[]);
    assert!(matches!(events(&mut client)[..], [Event::Open(_)]));
    assert!(matches!(events(&mut server)[..], [Event::Open(_)]));
    client.send_text("hello").unwrap();
    assert_eq!(text(&pass(&mut client, &mut server)[0]), "hello");
    server.send_binary(&[1, 2, 3]).unwrap();
    let at_client = pass(&mut server, &mut client);
    assert!(matches!(&at_client[0], Event::Message(Message::Binary(b)) if b == &[1, 2, 3][..]));
    client
        .close(Instant::now(), CloseCode::Normal, "bye")
        .unwrap();
    let at_server = pass(&mut client, &mut server);
    assert!(matches!(&at_server[0], Event::Close(c) if c.was_clean && c.reason == "bye"));
    let at_client = pass(&mut server, &mut client);
    assert!(matches!(&at_client[0], Event::Close(c) if c.was_clean && c.code == CloseCode::Normal));
    assert!(client.is_closed() && server.is_closed());
}

#[test]
fn permessage_deflate_as_agreed_compresses_both_ways() {
    let agreed = "permessage-deflate; server_no_context_takeover; client_max_window_bits=10";
    let config = || {
        UpgradedConfig::new()
            .deflate_agreed(agreed, DeflateConfig::default())
            .unwrap()
    };
    let mut client = upgraded(Role::Client, config(), &[]);
    let mut server = upgraded(Role::Server, config(), &[]);
    for conn in [&mut client, &mut server] {
        match &events(conn)[..] {
            [Event::Open(info)] => assert_eq!(
                info.extensions,
                ["permessage-deflate; server_no_context_takeover; client_max_window_bits=10"]
            ),
            other => panic!("{other:?}"),
        }
    }
    let long = "compressible ".repeat(200);
    for _ in 0..3 {
        client.send_text(&long).unwrap();
        let wire = client.poll_transmit().unwrap();
        assert_eq!(wire[0] & 0x40, 0x40, "RSV1: the client compressed");
        assert!(
            wire.len() < long.len() / 4,
            "{} bytes on the wire",
            wire.len()
        );
        assert_eq!(text(&pass(&mut client, &mut server)[0]), long);
        server.send_text(&long).unwrap();
        assert_eq!(
            server.poll_transmit().unwrap()[0] & 0x40,
            0x40,
            "the server too"
        );
        assert_eq!(text(&pass(&mut server, &mut client)[0]), long);
    }
    assert!(client.stats().compression_ratio.is_some());
}

#[test]
fn without_deflate_agreed_a_compressed_frame_is_refused() {
    let leftover = frame_from_peer_of(Role::Server, OpCode::Text, true, b"x");
    let mut server = upgraded(Role::Server, UpgradedConfig::new(), &leftover);
    let got = events(&mut server);
    assert!(
        matches!(
            got[1].error(),
            Some(Error::Protocol(ProtocolError::ReservedBits(_)))
        ),
        "{got:?}"
    );
    assert!(matches!(got.last(), Some(Event::Close(c)) if c.code == CloseCode::Protocol));
}

#[test]
fn agreed_extensions_are_read_strictly() {
    let refused = |agreed: &str| {
        UpgradedConfig::new()
            .deflate_agreed(agreed, DeflateConfig::default())
            .map(|_| ())
            .unwrap_err()
    };
    assert!(
        matches!(refused("x-webkit-deflate-frame"), Error::Handshake(HandshakeError::UnexpectedExtension(e)) if e == "x-webkit-deflate-frame")
    );
    let name = |name: &str| name.to_string();
    for (bad, problem) in [
        ("", DeflateProblem::NotAgreed),
        (
            "permessage-deflate; client_max_window_bits",
            DeflateProblem::ValueRequiredInAnswer {
                name: name("client_max_window_bits"),
            },
        ),
        (
            "permessage-deflate; server_max_window_bits=16",
            DeflateProblem::InvalidWindowBits {
                name: name("server_max_window_bits"),
                value: name("16"),
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            DeflateProblem::RepeatedParameter {
                name: name("server_no_context_takeover"),
            },
        ),
        (
            "permessage-deflate; mystery",
            DeflateProblem::UnknownParameter {
                name: name("mystery"),
                value: None,
            },
        ),
        (
            "permessage-deflate, permessage-deflate",
            DeflateProblem::MoreThanOneExtension,
        ),
    ] {
        assert_eq!(
            refused(bad),
            Error::Handshake(HandshakeError::Deflate(problem)),
            "{bad:?}"
        );
    }
    let bad_level = UpgradedConfig::new()
        .deflate_agreed("permessage-deflate", DeflateConfig::default().level(10))
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(bad_level, Error::Config(_)), "{bad_level:?}");
}

/// The realistic case: a regular client offers permessage-deflate; an HTTP
/// stack (written by hand here) answers the upgrade, and hands the server side
/// to `Connection::upgraded` with the bytes it read past the request's head.
#[test]
fn a_regular_client_talks_to_a_server_upgraded_by_hand() {
    let config = ClientConfig::new("ws://example.org/chat")
        .unwrap()
        .deflate(DeflateConfig::default().client_max_window_bits(12))
        .random_source(ChaChaSource::from_seed(1));
    let now = Instant::now();
    let mut client = Connection::client(config, now).unwrap();
    client.send_text("sent before the 101").unwrap();
    let request = client.poll_transmit().unwrap().to_vec();
    client.advance_transmit(request.len());
    // The HTTP stack reads the request (here with nothing past its head yet).
    let head = String::from_utf8(request).unwrap();
    assert!(head.ends_with("\r\n\r\n"));
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    assert!(head.contains("permessage-deflate"), "{head}");
    let agreed = "permessage-deflate; client_max_window_bits=12";
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: {agreed}\r\n\r\n",
        accept_key(key)
    );
    client.handle_input(now, answer.as_bytes());
    assert!(matches!(&events(&mut client)[..], [Event::Open(_)]));
    // The client's held message went out right behind the 101: the stack read
    // it past the head, and hands it over.
    let leftover = client.poll_transmit().unwrap().to_vec();
    client.advance_transmit(leftover.len());
    let server_config = UpgradedConfig::new()
        .deflate_agreed(agreed, DeflateConfig::default())
        .unwrap();
    let mut server = upgraded(Role::Server, server_config, &leftover);
    let got = events(&mut server);
    assert!(matches!(&got[0], Event::Open(_)));
    assert_eq!(text(&got[1]), "sent before the 101");
    let long = "a compressible answer ".repeat(100);
    server.send_text(&long).unwrap();
    assert_eq!(server.poll_transmit().unwrap()[0] & 0x40, 0x40);
    assert_eq!(text(&pass(&mut server, &mut client)[0]), long);
    server.close(now, CloseCode::GoingAway, "").unwrap();
    let at_client = pass(&mut server, &mut client);
    assert!(
        matches!(&at_client[0], Event::Close(c) if c.was_clean && c.code == CloseCode::GoingAway)
    );
    let at_server = pass(&mut client, &mut server);
    assert!(matches!(&at_server[0], Event::Close(c) if c.was_clean));
}
