//! permessage-deflate (RFC 7692): negotiation tables, round trips with every
//! window size and context-takeover mode, bounded inflation, invalid data.

use sockette_testkit as support;

use flate2::{Compress, Compression, FlushCompress};
use sockette_core::{
    CapacityError, ClientConfig, CloseCode, DeflateConfig, DeflateProblem, Error, Event,
    HandshakeError, Limits, Message, ProtocolError,
};
use support::*;

fn deflate_client(config: DeflateConfig) -> ClientConfig {
    client_config(URL).deflate(config)
}

/// A client that offered `offer` and read a 101 carrying `extensions`.
fn answer(offer: DeflateConfig, extensions: &str) -> (Raw, Vec<Event>) {
    let mut raw = Raw::connecting_client(deflate_client(offer));
    let request = raw.request.clone();
    let extra = if extensions.is_empty() {
        String::new()
    } else {
        format!("Sec-WebSocket-Extensions: {extensions}\r\n")
    };
    let events = raw.feed(response_101(&request, &extra).as_bytes());
    (raw, events)
}

fn extension_problem(events: &[Event]) -> &DeflateProblem {
    match events.first() {
        Some(Event::Error(error)) => match &**error {
            Error::Handshake(HandshakeError::Deflate(problem)) => problem,
            other => panic!("expected a permessage-deflate problem, got {other:?}"),
        },
        other => panic!("expected a permessage-deflate problem, got {other:?}"),
    }
}

#[test]
fn the_offer_carries_the_configured_parameters() {
    let raw = Raw::connecting_client(deflate_client(DeflateConfig::default()));
    assert_eq!(
        header_value(&raw.request, "Sec-WebSocket-Extensions"),
        Some("permessage-deflate; client_max_window_bits")
    );
    let raw = Raw::connecting_client(deflate_client(
        DeflateConfig::default()
            .client_max_window_bits(10)
            .server_max_window_bits(Some(12))
            .client_no_context_takeover(true)
            .server_no_context_takeover(true),
    ));
    assert_eq!(
        header_value(&raw.request, "Sec-WebSocket-Extensions"),
        Some(
            "permessage-deflate; client_max_window_bits=10; server_max_window_bits=12; \
             client_no_context_takeover; server_no_context_takeover"
        )
    );
}

#[test]
fn valid_answers_are_accepted_and_reported() {
    let offer = DeflateConfig::default().server_max_window_bits(Some(12));
    let (_, events) = answer(DeflateConfig::default(), "permessage-deflate");
    assert!(matches!(&events[..], [Event::Open(_)]), "{events:?}");
    for extensions in [
        "permessage-deflate; server_max_window_bits=12",
        "permessage-deflate; server_max_window_bits=9",
        "permessage-deflate; server_max_window_bits=\"10\"",
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=8",
        "permessage-deflate; client_max_window_bits=15; server_max_window_bits=8; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits=11; client_no_context_takeover",
        "PerMessage-Deflate ;  Server_No_Context_Takeover; SERVER_MAX_WINDOW_BITS=12",
    ] {
        let (_, events) = answer(offer, extensions);
        match &events[..] {
            [Event::Open(info)] => {
                assert_eq!(info.extensions.len(), 1, "{extensions}");
                assert!(info.extensions[0].starts_with("permessage-deflate"));
            }
            other => panic!("{extensions}: {other:?}"),
        }
    }
}

#[test]
fn a_declined_offer_opens_without_compression() {
    let (mut raw, events) = answer(DeflateConfig::default(), "");
    assert!(matches!(&events[..], [Event::Open(info)] if info.extensions.is_empty()));
    // RSV1 is then a protocol violation.
    let events = raw.feed(&raw_frame(0xc1, b"x", None));
    assert_failed(&events, CloseCode::Protocol);
}

#[test]
fn invalid_answers_fail_the_handshake_with_the_reason() {
    let offer = DeflateConfig::default()
        .server_max_window_bits(Some(10))
        .server_no_context_takeover(true);
    let name = |name: &str| name.to_string();
    let cases = [
        (
            "permessage-deflate; server_no_context_takeover; foo",
            DeflateProblem::UnknownParameter {
                name: name("foo"),
                value: None,
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            DeflateProblem::RepeatedParameter {
                name: name("server_no_context_takeover"),
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=16",
            DeflateProblem::InvalidWindowBits {
                name: name("server_max_window_bits"),
                value: name("16"),
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=7",
            DeflateProblem::InvalidWindowBits {
                name: name("server_max_window_bits"),
                value: name("7"),
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits",
            DeflateProblem::ValueRequired {
                name: name("server_max_window_bits"),
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            DeflateProblem::ServerWindowTooLarge {
                bits: 11,
                requested: 10,
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; client_max_window_bits",
            DeflateProblem::ValueRequiredInAnswer {
                name: name("client_max_window_bits"),
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover=1",
            DeflateProblem::ValueNotAllowed {
                name: name("server_no_context_takeover"),
                value: name("1"),
            },
        ),
        (
            "permessage-deflate; server_max_window_bits=10",
            DeflateProblem::NotGranted {
                name: "server_no_context_takeover",
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            DeflateProblem::NotGranted {
                name: "server_max_window_bits",
            },
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10, \
             permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            DeflateProblem::AcceptedTwice,
        ),
    ];
    for (extensions, expected) in cases {
        let (_, events) = answer(offer, extensions);
        assert_eq!(extension_problem(&events), &expected, "{extensions}");
        assert!(matches!(events.last(), Some(Event::Close(c)) if c.code == CloseCode::Abnormal));
    }
    // An extension we never offered, and deflate when it was not offered.
    let (_, events) = answer(DeflateConfig::default(), "x-webkit-deflate-frame");
    assert!(matches!(
        events[0].error(),
        Some(Error::Handshake(HandshakeError::UnexpectedExtension(_)))
    ));
    let mut raw = Raw::connecting_client(client_config(URL));
    let request = raw.request.clone();
    let events = raw.feed(
        response_101(&request, "Sec-WebSocket-Extensions: permessage-deflate\r\n").as_bytes(),
    );
    assert!(matches!(
        events[0].error(),
        Some(Error::Handshake(HandshakeError::UnexpectedExtension(_)))
    ));
}

#[test]
fn the_server_may_lower_the_client_window_since_the_offer_allows_it() {
    // RFC 7692 §7.1.2.2: the offer carries client_max_window_bits, so the answer may.
    let (_, events) = answer(
        DeflateConfig::default(),
        "permessage-deflate; client_max_window_bits=9",
    );
    match &events[..] {
        [Event::Open(info)] => assert_eq!(
            info.extensions,
            ["permessage-deflate; client_max_window_bits=9"]
        ),
        other => panic!("{other:?}"),
    }
}

fn text_payloads() -> Vec<Vec<u8>> {
    let json = br#"{"symbol":"BTC-USD","bid":43210.5,"ask":43211.0,"size":0.25}"#;
    vec![
        Vec::new(),
        b"short".to_vec(),
        json.repeat(3),
        json.repeat(400),
        (0..100_000u32)
            .map(|i| b"abcdefghij"[(i * 7 % 10) as usize])
            .collect(),
    ]
}

fn round_trip(
    client: DeflateConfig,
    server: DeflateConfig,
    chunking: Chunking,
    fragment: Option<usize>,
) {
    let mut client_config = deflate_client(client);
    let mut server_config = server_config().deflate(server);
    if let Some(size) = fragment {
        client_config = client_config.fragment_size(size);
        server_config = server_config.fragment_size(size);
    }
    let mut pair = Pair::open(client_config, server_config, chunking);
    let payloads = text_payloads();
    for payload in &payloads {
        let text = String::from_utf8(payload.clone()).unwrap();
        pair.client.send_text(&text).unwrap();
        pair.server.send_binary(payload).unwrap();
        // Twice: the second message reuses (or resets) the compression context.
        pair.client.send_text(&text).unwrap();
        pair.server.send_binary(payload).unwrap();
    }
    pair.drive_bounded(1_000_000);
    let at_server = pair.messages(Side::Server);
    let at_client = pair.messages(Side::Client);
    assert_eq!(at_server.len(), payloads.len() * 2, "{client:?} {server:?}");
    assert_eq!(at_client.len(), payloads.len() * 2);
    for (i, payload) in payloads.iter().enumerate() {
        for m in &at_server[2 * i..2 * i + 2] {
            assert!(matches!(m, Message::Text(t) if t.as_bytes() == &payload[..]));
        }
        for m in &at_client[2 * i..2 * i + 2] {
            assert!(matches!(m, Message::Binary(b) if b[..] == payload[..]));
        }
    }
    // Compression really happened: the long payloads went out much smaller.
    let sent: usize = payloads.iter().map(|p| p.len()).sum::<usize>() * 2;
    assert!(
        pair.client_sent.len() < sent / 2,
        "client sent {} bytes for {sent}",
        pair.client_sent.len()
    );
}

#[test]
fn round_trips_with_every_window_size_and_both_context_modes() {
    for bits in 8..=15u8 {
        for no_takeover in [false, true] {
            let client = DeflateConfig::default()
                .client_max_window_bits(bits.max(9))
                .server_max_window_bits(Some(bits))
                .client_no_context_takeover(no_takeover)
                .server_no_context_takeover(no_takeover);
            round_trip(client, DeflateConfig::default(), Chunking::Whole, None);
        }
    }
}

#[test]
fn round_trips_fragmented_and_byte_at_a_time() {
    let config = DeflateConfig::default();
    round_trip(config, config, Chunking::Whole, Some(100));
    round_trip(config, config, Chunking::OneByte, None);
    round_trip(
        config,
        config,
        Chunking::Random { max: 300, seed: 5 },
        Some(1000),
    );
}

#[test]
fn a_window_of_8_bits_is_honoured_by_sending_uncompressed() {
    // zlib cannot compress within 2^8: a server asking for it gets plain messages.
    let mut pair = Pair::open(
        deflate_client(DeflateConfig::default().client_max_window_bits(8)),
        server_config().deflate(DeflateConfig::default()),
        Chunking::Whole,
    );
    let text = "y".repeat(5000);
    pair.client.send_text(&text).unwrap();
    pair.drive();
    assert!(pair.client_sent.len() > 5000, "sent uncompressed");
    assert!(matches!(&pair.messages(Side::Server)[0], Message::Text(t) if t.as_str() == text));
}

/// Raw deflate with the sync-flush tail removed, as RFC 7692 §7.2.1 sends it.
fn compress(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    let mut consumed = 0;
    loop {
        out.reserve(64 << 10);
        c.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .unwrap();
        consumed = c.total_in() as usize;
        if consumed == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn open_deflate_client(limits: Limits) -> Raw {
    let config = deflate_client(DeflateConfig::default()).limits(limits);
    let mut raw = Raw::connecting_client(config);
    let request = raw.request.clone();
    let events = raw.feed(
        response_101(&request, "Sec-WebSocket-Extensions: permessage-deflate\r\n").as_bytes(),
    );
    assert!(matches!(events[..], [Event::Open(_)]));
    raw
}

#[test]
fn a_decompression_bomb_fails_with_1009_within_the_limit() {
    let limit = 1 << 20;
    let mut raw = open_deflate_client(Limits::default().max_message_size(limit));
    let bomb = compress(&vec![0u8; 256 << 20]);
    assert!(bomb.len() < 512 << 10, "{} bytes of bomb", bomb.len());
    let events = raw.feed(&raw_frame(0xc2, &bomb, None));
    let error = assert_failed(&events, CloseCode::TooBig);
    match error {
        Error::Capacity(CapacityError::MessageTooLarge { size, limit: l }) => {
            assert_eq!(*l, limit);
            assert!(*size <= (limit + (32 << 10)) as u64, "stopped at {size}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_deflate_data_fails_with_1007_and_says_so() {
    let mut raw = open_deflate_client(Limits::default());
    let events = raw.feed(&raw_frame(0xc1, &[0xff, 0xff, 0xff, 0xff, 0x01], None));
    let error = assert_failed(&events, CloseCode::InvalidData);
    assert!(matches!(
        error,
        Error::Protocol(ProtocolError::InvalidCompressedData(_))
    ));
    assert!(error.to_string().contains("deflate"), "{error}");
}

#[test]
fn compressed_text_is_utf8_checked_after_inflation() {
    let mut raw = open_deflate_client(Limits::default());
    let events = raw.feed(&raw_frame(0xc1, &compress(&[b'a', 0xff, b'b']), None));
    assert_failed(&events, CloseCode::InvalidData);
}

#[test]
fn rsv1_on_a_continuation_or_control_frame_is_a_protocol_error() {
    let mut raw = open_deflate_client(Limits::default());
    let first = compress(b"hello");
    let mut input = raw_frame(0x41, &first, None);
    input.extend(raw_frame(0xc0, b"", None));
    assert_failed(&raw.feed(&input), CloseCode::Protocol);

    let mut raw = open_deflate_client(Limits::default());
    assert_failed(&raw.feed(&raw_frame(0xc9, b"", None)), CloseCode::Protocol);
}

#[test]
fn a_server_compressed_message_from_a_real_zlib_stream_is_read() {
    let mut raw = open_deflate_client(Limits::default());
    let events = raw.feed(&raw_frame(0xc1, &compress(b"Hello, deflate"), None));
    assert!(matches!(&events[..], [Event::Message(Message::Text(t))] if t == "Hello, deflate"));
}

#[test]
fn rfc7692_examples_decode() {
    // §7.2.3.1: "Hello" in one compressed frame, then fragmented in two (§7.2.3.1
    // second example), then §7.2.3.2's stored (uncompressed) deflate block.
    let mut raw = open_deflate_client(Limits::default());
    let events = raw.feed(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert!(matches!(&events[..], [Event::Message(Message::Text(t))] if t == "Hello"));
    let mut raw = open_deflate_client(Limits::default());
    let events = raw.feed(&[
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ]);
    assert!(matches!(&events[..], [Event::Message(Message::Text(t))] if t == "Hello"));
    let mut raw = open_deflate_client(Limits::default());
    let events = raw.feed(&[
        0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ]);
    assert!(matches!(&events[..], [Event::Message(Message::Text(t))] if t == "Hello"));
}

/// Raw deflate ending with a final block (BFINAL), as a peer may send it.
fn compress_final(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, FlushCompress::Finish)
        .unwrap();
    out
}

#[test]
fn a_final_deflate_block_ends_the_message_and_nothing_may_follow_it() {
    let whole = compress_final(b"final block");
    // Accepted alone, and split with an empty last fragment.
    let mut raw = open_deflate_client(Limits::default());
    let events = raw.feed(&raw_frame(0xc1, &whole, None));
    assert!(matches!(&events[..], [Event::Message(Message::Text(t))] if t == "final block"));
    let mut raw = open_deflate_client(Limits::default());
    let mut input = raw_frame(0x41, &whole, None);
    input.extend(raw_frame(0x80, b"", None));
    let events = raw.feed(&input);
    assert!(matches!(&events[..], [Event::Message(Message::Text(t))] if t == "final block"));
    // Bytes after the final block, in the same frame or a later fragment: 1007.
    for input in [
        raw_frame(0xc1, &[&whole[..], &[0x01, 0x02]].concat(), None),
        [
            raw_frame(0x41, &whole, None),
            raw_frame(0x80, &[0x00], None),
        ]
        .concat(),
    ] {
        let mut raw = open_deflate_client(Limits::default());
        let events = raw.feed(&input);
        let error = assert_failed(&events, CloseCode::InvalidData);
        assert!(
            matches!(
                error,
                Error::Protocol(ProtocolError::InvalidCompressedData(_))
            ),
            "{error:?}"
        );
        // The message a person reads says what was wrong.
        assert!(error.to_string().contains("final deflate block"), "{error}");
    }
}
