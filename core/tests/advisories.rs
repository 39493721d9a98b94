//! One test per security advisory of another WebSocket library: each names the
//! advisory and asserts the bound of sockette-core that defeats the attack, through
//! the public API only. (The permessage-deflate *burst* of CVE-2018-1000518, many
//! compressed messages at once, is measured in memory_bound.rs.)

use sockette_testkit as support;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::{
    CapacityError, ClientConfig, CloseCode, CommandError, Connection, DeflateConfig, Error, Event,
    HandshakeError, Limits, ProtocolError,
};
use support::*;

/// A client configuration with the default random source (the operating
/// system's seed, as in production) rather than the tests' fixed seed.
fn production_client() -> ClientConfig {
    ClientConfig::new(URL)
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
}

/// Runs `f` on its own thread and fails (instead of hanging) if it does not
/// return within a minute: a loop that never ends shows up as a failure.
fn must_end<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("did not end: the connection loops (or panicked; see above)")
}

/// Feeds `bytes` in pieces of `piece` until the connection emits `Close`;
/// returns the events and how many bytes were fed by then.
fn feed_until_closed(raw: &mut Raw, bytes: &[u8], piece: usize) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut fed = 0;
    for chunk in bytes.chunks(piece) {
        events.extend(raw.feed(chunk));
        fed += chunk.len();
        if matches!(events.last(), Some(Event::Close(_))) {
            break;
        }
    }
    (events, fed)
}

/// RUSTSEC-2023-0065 (tungstenite: an endless stream of handshake headers is
/// buffered without bound). A client whose `max_handshake_size` is 64 KiB, fed a
/// 1 MiB head that never ends, fails with `HandshakeError::TooLarge` having read
/// at most the limit plus one read's worth, not the whole megabyte; a server
/// answers such a request with 431 and the same typed error.
#[test]
fn rustsec_2023_0065_handshake_head_is_bounded() {
    const LIMIT: usize = 64 << 10;
    const PIECE: usize = 4096;
    let limits = Limits::default().max_handshake_size(LIMIT);
    let mut head = b"HTTP/1.1 101 Switching Protocols\r\nX-Padding: ".to_vec();
    head.resize(1 << 20, b'a');

    let mut raw = Raw::connecting_client(client_config(URL).limits(limits));
    let (events, fed) = feed_until_closed(&mut raw, &head, PIECE);
    let error = assert_failed(&events, CloseCode::Abnormal);
    assert_eq!(
        error,
        &Error::Handshake(HandshakeError::TooLarge { limit: LIMIT })
    );
    assert!(fed <= LIMIT + PIECE, "read {fed} bytes of the head");

    let now = Instant::now();
    let mut server = Connection::server(server_config().limits(limits), now).unwrap();
    let mut request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nX-Padding: ".to_vec();
    request.resize(1 << 20, b'a');
    let mut fed = 0;
    let mut events = Vec::new();
    for chunk in request.chunks(PIECE) {
        server.handle_input(now, chunk);
        fed += chunk.len();
        events.extend(std::iter::from_fn(|| server.poll_event()));
        if server.is_closed() {
            break;
        }
    }
    assert!(fed <= LIMIT + PIECE, "read {fed} bytes of the request");
    assert_eq!(
        the_error(&events),
        &Error::Handshake(HandshakeError::TooLarge { limit: LIMIT })
    );
    let answer = take_output(&mut server);
    assert!(
        answer.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

/// CVE-2024-37890 (ws for Node.js: a request with many headers crashes the
/// server). The head is parsed into a fixed table of headers: a request with
/// 1,000 tiny headers (well within the size limit) is refused with 400 and a
/// typed `Malformed` error, and so is such a 101 answer on the client side; a
/// request with 50 extra headers is still accepted.
#[test]
fn cve_2024_37890_header_count_is_bounded() {
    let with_headers = |head: &str, n: usize| {
        let (start, end) = head.split_at(head.len() - 2); // before the final CRLF
        let extra: String = (0..n).map(|i| format!("X-{i}: 1\r\n")).collect();
        format!("{start}{extra}{end}")
    };
    let now = Instant::now();

    let mut server = Connection::server(server_config(), now).unwrap();
    server.handle_input(now, with_headers(VALID_REQUEST, 50).as_bytes());
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));

    let request = with_headers(VALID_REQUEST, 1000);
    assert!(request.len() < Limits::default().max_handshake_size);
    let mut server = Connection::server(server_config(), now).unwrap();
    server.handle_input(now, request.as_bytes());
    let events: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
    assert!(
        matches!(
            the_error(&events),
            Error::Handshake(HandshakeError::Malformed(_))
        ),
        "{events:?}"
    );
    assert!(take_output(&mut server).starts_with(b"HTTP/1.1 400 "));
    assert!(server.is_closed());

    let mut raw = Raw::connecting_client(client_config(URL));
    let answer = with_headers(&response_101(&raw.request, ""), 1000);
    let events = raw.feed(answer.as_bytes());
    let error = assert_failed(&events, CloseCode::Abnormal);
    assert!(
        matches!(error, Error::Handshake(HandshakeError::Malformed(_))),
        "{error:?}"
    );
}

/// RUSTSEC-2022-0035 (websocket: a frame header declaring a huge length made the
/// reader allocate that much up front). A frame declaring 2^63 - 1 bytes fails
/// with 1009 and `FrameTooLarge` as soon as its 10-byte header is in: no payload
/// is awaited (the error comes before any of it is sent), and the megabyte fed
/// afterwards produces nothing.
#[test]
fn rustsec_2022_0035_declared_frame_length_is_not_trusted() {
    let declared = (1u64 << 63) - 1;
    let mut header = vec![0x82, 127];
    header.extend_from_slice(&declared.to_be_bytes());
    let mut raw = Raw::client();
    let events = raw.feed(&header);
    let error = assert_failed(&events, CloseCode::TooBig);
    assert_eq!(
        error,
        &Error::Capacity(CapacityError::FrameTooLarge {
            size: declared,
            limit: Limits::default().max_frame_size,
        })
    );
    assert_close_frame_sent(&mut raw, 1009);
    assert!(raw.feed(&vec![0u8; 1 << 20]).is_empty());
}

/// CVE-2020-27813 (gorilla/websocket: a 64-bit length with its high bit set, or
/// fragment lengths summed past the limit, overflowed the length checks). A
/// length with the most significant bit set fails with 1002 `LengthTooLong`
/// (RFC 6455 §5.2), and fragments are summed against `max_message_size`: the
/// fragment that takes the total past it fails with 1009 `MessageTooLarge`.
#[test]
fn cve_2020_27813_frame_and_message_lengths_do_not_overflow() {
    let mut header = vec![0x82, 127];
    header.extend_from_slice(&u64::MAX.to_be_bytes());
    let mut raw = Raw::client();
    let events = raw.feed(&header);
    let error = assert_failed(&events, CloseCode::Protocol);
    assert_eq!(error, &Error::Protocol(ProtocolError::LengthTooLong));

    const LIMIT: usize = 1000;
    let limits = Limits::default().max_message_size(LIMIT);
    let mut raw = Raw::open_client(client_config(URL).limits(limits));
    let fragment = vec![7u8; 600];
    assert!(raw.feed(&frame(false, op::BINARY, &fragment)).is_empty());
    let events = raw.feed(&frame(false, op::CONT, &fragment));
    let error = assert_failed(&events, CloseCode::TooBig);
    assert!(
        matches!(
            error,
            Error::Capacity(CapacityError::MessageTooLarge { size, limit: LIMIT })
                if *size > LIMIT as u64 && *size <= 1200
        ),
        "{error:?}"
    );
}

/// RUSTSEC-2020-0043 (ws: the outgoing buffer grew without bound when the peer
/// did not read). With `max_buffered_output` at 64 KiB and nothing written out,
/// sends are refused with `CommandError::OutputFull` once the next one would pass
/// the limit, nothing of a refused send is queued, and the buffer never exceeds the
/// limit; pings from a peer that never reads do not grow it past the limit plus
/// one control frame either.
#[test]
fn rustsec_2020_0043_output_buffer_is_bounded() {
    const LIMIT: usize = 64 << 10;
    let limits = Limits::default().max_buffered_output(LIMIT);
    let mut raw = Raw::open_client(client_config(URL).limits(limits));
    let message = vec![1u8; 16 << 10];
    let mut accepted = 0;
    let refusal = loop {
        let before = raw.conn.buffered_amount();
        match raw.conn.send_binary(&message) {
            Ok(()) => accepted += 1,
            Err(error) => {
                assert_eq!(
                    raw.conn.buffered_amount(),
                    before,
                    "a refused send queued bytes"
                );
                break error;
            }
        }
        assert!(raw.conn.buffered_amount() <= LIMIT);
        assert!(accepted < 100, "sends were never refused");
    };
    assert!(
        matches!(refusal, CommandError::OutputFull { limit: LIMIT, .. }),
        "{refusal:?}"
    );
    assert_eq!(accepted, 3, "16 KiB sends (plus headers) into 64 KiB");

    let ping = raw_frame(0x89, &[0x55; 125], None);
    for _ in 0..10_000 {
        raw.feed(&ping);
        assert!(raw.conn.buffered_amount() <= LIMIT + 14 + 125);
    }
}

/// GHSA-w67g-5rqw-f597 (predictable masking keys: a peer or a proxy that can
/// predict them can shape the masked bytes on the wire). With the default random
/// source (ChaCha seeded by the operating system), the keys of successive frames
/// differ, the keys of two connections differ, none is zero, and they do not
/// count up; the handshake keys of the two connections differ too.
#[test]
fn ghsa_w67g_5rqw_f597_mask_keys_are_unpredictable() {
    let keys_of = |raw: &mut Raw| -> Vec<u32> {
        for i in 0..8u8 {
            raw.conn.send_binary(&[i]).unwrap();
        }
        raw.sent_frames()
            .iter()
            .map(|f| u32::from_be_bytes(f.mask.expect("a client frame is masked")))
            .collect()
    };
    let mut first = Raw::open_client(production_client());
    let mut second = Raw::open_client(production_client());
    assert_ne!(key_of(&first.request), key_of(&second.request));
    let (a, b) = (keys_of(&mut first), keys_of(&mut second));
    assert_eq!((a.len(), b.len()), (8, 8));
    let mut all: Vec<u32> = a.iter().chain(&b).copied().collect();
    assert!(all.iter().all(|&k| k != 0), "{all:x?}");
    for keys in [&a, &b] {
        for pair in keys.windows(2) {
            assert_ne!(
                pair[1],
                pair[0].wrapping_add(1),
                "sequential keys: {keys:x?}"
            );
        }
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 16, "a key repeated within or across connections");
}

/// CVE-2018-1000518 (websockets for Python: a small compressed message inflating
/// to gigabytes exhausted memory). One message of 32 MiB of zeros, sent
/// compressed (about 32 KiB on the wire) to a client whose `max_message_size` is
/// 1 MiB, fails with 1009 `MessageTooLarge`, and inflation stopped near the
/// limit: the size it reports is past the limit by at most 64 KiB (one step).
#[test]
fn cve_2018_1000518_one_deflate_bomb_message_is_bounded() {
    const LIMIT: usize = 1 << 20;
    let client = client_config(URL)
        .limits(Limits::default().max_message_size(LIMIT))
        .deflate(DeflateConfig::default());
    let server = server_config().deflate(DeflateConfig::default());
    let mut pair = Pair::open(client, server, Chunking::Whole);
    pair.take_client_events();
    pair.server.send_binary(&vec![0u8; 32 << 20]).unwrap();
    let compressed = pair.server.buffered_amount();
    assert!(compressed < 1 << 20, "{compressed} bytes: not compressed");
    pair.drive_bounded(10_000);
    let events = pair.client_history.clone();
    let error = assert_failed(&events, CloseCode::TooBig);
    assert!(
        matches!(
            error,
            Error::Capacity(CapacityError::MessageTooLarge { size, limit: LIMIT })
                if *size > LIMIT as u64 && *size <= (LIMIT + (64 << 10)) as u64
        ),
        "{error:?}"
    );
}

/// RUSTSEC-2024-0336 (rustls: a close_notify received during the TLS handshake
/// made `complete_io` loop forever). A `wss://` client fed, before the TLS
/// handshake is done, a close_notify alert, a fatal alert, or a real rustls
/// server's ServerHello followed by a close_notify, ends each time with an
/// error and `Close` after that bounded input: the calls return and nothing
/// loops.
#[test]
fn rustsec_2024_0336_tls_close_during_handshake_ends() {
    const CLOSE_NOTIFY: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00];
    const HANDSHAKE_FAILURE: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40];
    let server_hello = first_record_of_a_real_server_flight();
    let mut after_hello = server_hello.clone();
    after_hello.extend_from_slice(&CLOSE_NOTIFY);
    for input in [
        CLOSE_NOTIFY.to_vec(),
        HANDSHAKE_FAILURE.to_vec(),
        after_hello,
    ] {
        let fed = input.clone();
        let events = must_end(move || {
            let now = Instant::now();
            let mut client = Connection::client(client_config("wss://example.org/"), now).unwrap();
            assert!(!take_output(&mut client).is_empty(), "a ClientHello");
            client.handle_input(now, &fed);
            let mut events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
            if !client.is_closed() {
                client.handle_eof(now);
                events.extend(std::iter::from_fn(|| client.poll_event()));
            }
            events
        });
        assert!(!final_close(&events).was_clean, "{input:x?}: {events:?}");
        assert!(
            matches!(the_error(&events), Error::Tls(_) | Error::Handshake(_)),
            "{input:x?}: {events:?}"
        );
    }
}

/// The first TLS record (the ServerHello) a real rustls server answers a
/// sockette client's ClientHello with.
fn first_record_of_a_real_server_flight() -> Vec<u8> {
    use sockette_core::rustls;
    let config = support::pki::self_signed_server_tls(&["example.org"]);
    let mut server = rustls::ServerConnection::new(config).unwrap();
    let now = Instant::now();
    let mut client = Connection::client(client_config("wss://example.org/"), now).unwrap();
    let hello = take_output(&mut client);
    server.read_tls(&mut &hello[..]).unwrap();
    server.process_new_packets().unwrap();
    let mut flight = Vec::new();
    server.write_tls(&mut flight).unwrap();
    assert_eq!(flight[0], 0x16, "a handshake record");
    let len = usize::from(u16::from_be_bytes([flight[3], flight[4]]));
    flight.truncate(5 + len);
    flight
}
