//! Reads into the connection's lent room: `input_buffer` +
//! `handle_read`, and `take_input_buffer` + `handle_input_bytes`, give the
//! same events and the same bytes written as `handle_input` with the same
//! reads, over `ws://` and `wss://`; a large message read in 64 KiB reads
//! lands in one place and is handed out from there.

use sockette_testkit as support;

use std::sync::Arc;
use std::time::Instant;

use rcgen::{CertificateParams, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sockette_core::{
    ChaChaSource, ClientConfig, Connection, Event, InputBuffer, Limits, Message, ServerConfig,
};
use support::{close_payload, raw_frame, take_output, Raw, XorShift, URL};

/// Seeded server frames: whole and fragmented messages, text with characters
/// cut by reads, controls, invalid UTF-8, an oversized message, a close.
fn stream(seed: u64) -> Vec<u8> {
    let mut rng = XorShift::new(seed);
    let mut out = Vec::new();
    for _ in 0..1 + rng.between_1_and(30) {
        let len = match rng.between_1_and(8) {
            1 => 0,
            2..=4 => rng.between_1_and(130),
            5..=6 => rng.between_1_and(5_000),
            _ => rng.between_1_and(150_000),
        };
        let text: Vec<u8> = "κόσμε € 𝄞 abc "
            .repeat(len / 20 + 1)
            .into_bytes()
            .into_iter()
            .take(len)
            .collect();
        let text = String::from_utf8_lossy(&text).into_owned().into_bytes();
        let binary: Vec<u8> = (0..len).map(|i| (i as u64 * seed) as u8).collect();
        match rng.between_1_and(16) {
            1..=5 => out.extend(raw_frame(0x82, &binary, None)),
            6..=10 => out.extend(raw_frame(0x81, &text, None)),
            11 => {
                let cut = binary.len() / 2;
                out.extend(raw_frame(0x02, &binary[..cut], None));
                out.extend(raw_frame(0x89, b"between", None));
                out.extend(raw_frame(0x80, &binary[cut..], None));
            }
            12 => out.extend(raw_frame(0x89, &binary[..len.min(125)], None)),
            13 => {
                let mut bad = text.clone();
                bad.push(0xff);
                bad.extend_from_slice(&text);
                out.extend(raw_frame(0x81, &bad, None));
            }
            14 => out.extend(raw_frame(0x82, &vec![1; 200_001], None)),
            15 => out.extend(raw_frame(0x88, &close_payload(1000, b"done"), None)),
            _ => out.extend(raw_frame(0x8a, b"pong", None)),
        }
    }
    out
}

fn client() -> Raw {
    let limits = Limits::default().max_message_size(200_000);
    Raw::open_client(
        support::client_config_seeded(URL, 3)
            .limits(limits)
            .random_source(ChaChaSource::from_seed(3)),
    )
}

/// How a test client gets its reads.
#[derive(Clone, Copy, Debug)]
enum Reads {
    /// `handle_input` with a copy of each read.
    Copied,
    /// `input_buffer(min)` + `handle_read`.
    Lent,
    /// One `InputBuffer` at a time, taken again when a read does not fit.
    Taken,
}

/// Feeds `wire` in the given reads, draining events after each.
fn feed(raw: &mut Raw, wire: &[u8], reads: Reads, seed: u64) -> Vec<Event> {
    let mut rng = XorShift::new(seed);
    let mut events = Vec::new();
    let mut lease: Option<InputBuffer> = None;
    let mut rest = wire;
    while !rest.is_empty() {
        let min = rng.between_1_and(70_000);
        let want = rng.between_1_and(80_000).min(rest.len());
        let n = match reads {
            Reads::Copied => {
                let n = want.min(min);
                raw.conn.handle_input(raw.now, &rest[..n]);
                n
            }
            Reads::Lent => {
                let room = raw.conn.input_buffer(min);
                assert!(room.len() >= min);
                let n = want.min(min);
                room[..n].copy_from_slice(&rest[..n]);
                raw.conn.handle_read(raw.now, n);
                n
            }
            Reads::Taken => {
                if lease.as_ref().is_none_or(|l| l.len() < want.min(min)) {
                    // One room at a time: the old one goes first.
                    drop(lease.take());
                    lease = Some(raw.conn.take_input_buffer(min));
                }
                let room = lease.as_mut().unwrap();
                let n = want.min(min);
                room.unfilled()[..n].copy_from_slice(&rest[..n]);
                let bytes = room.fill(n);
                assert_eq!(bytes.len(), n);
                raw.conn.handle_input_bytes(raw.now, bytes);
                n
            }
        };
        rest = &rest[n..];
        events.extend(raw.events());
    }
    events.extend(raw.eof());
    events
}

#[test]
fn reads_into_lent_room_equal_handle_input() {
    for seed in 1..60u64 {
        let wire = stream(seed);
        let mut copied = client();
        let expected = feed(&mut copied, &wire, Reads::Copied, seed);
        let expected_out = copied.take_output();
        // The same cuts for all: min(want, min) bytes per read.
        for reads in [Reads::Lent, Reads::Taken] {
            let mut raw = client();
            let events = feed(&mut raw, &wire, reads, seed);
            assert_eq!(events, expected, "seed {seed}: {reads:?}");
            assert_eq!(raw.take_output(), expected_out, "seed {seed}: {reads:?}");
        }
    }
}

#[test]
fn a_large_message_read_in_64_kib_reads_lands_in_one_place() {
    const READ: usize = 64 << 10;
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut raw = Raw::open_client(
        support::client_config(URL).limits(Limits::default().max_message_size(1 << 20)),
    );
    let wire = raw_frame(0x82, &payload, None);
    let mut rest = &wire[..];
    let mut rooms = Vec::new();
    let mut message = None;
    while !rest.is_empty() {
        let room = raw.conn.input_buffer(READ);
        rooms.push(room.as_ptr() as usize);
        let n = READ.min(rest.len());
        room[..n].copy_from_slice(&rest[..n]);
        raw.conn.handle_read(raw.now, n);
        rest = &rest[n..];
        for event in raw.events() {
            message = Some(event);
        }
    }
    let Some(Event::Message(Message::Binary(data))) = message else {
        panic!("{message:?}");
    };
    assert_eq!(data, payload);
    // The first read carried the header: from the second on, the reads go one
    // after the other into room made for the whole frame, where the message
    // is handed out from.
    for (i, pair) in rooms[1..].windows(2).enumerate() {
        assert_eq!(pair[1], pair[0] + READ, "read {}", i + 2);
    }
    let header = wire.len() - payload.len();
    assert_eq!(data.as_ptr() as usize, rooms[1] - READ + header);
}

fn server_tls() -> Arc<rustls::ServerConfig> {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap(),
    )
}

/// Moves bytes from `from` to `to`, the reads into `to` made as `reads` says,
/// in pieces of at most `piece` bytes.
fn transfer(
    from: &mut Connection,
    to: &mut Connection,
    reads: Reads,
    piece: usize,
    now: Instant,
) -> bool {
    let bytes = take_output(from);
    for chunk in bytes.chunks(piece) {
        match reads {
            Reads::Copied => to.handle_input(now, chunk),
            Reads::Lent => {
                let room = to.input_buffer(chunk.len());
                room[..chunk.len()].copy_from_slice(chunk);
                to.handle_read(now, chunk.len());
            }
            Reads::Taken => {
                let mut room = to.take_input_buffer(chunk.len());
                room.unfilled()[..chunk.len()].copy_from_slice(chunk);
                let filled = room.fill(chunk.len());
                to.handle_input_bytes(now, filled);
            }
        }
    }
    !bytes.is_empty()
}

#[test]
fn reads_into_lent_room_over_tls() {
    for reads in [Reads::Lent, Reads::Taken] {
        let now = Instant::now();
        let client = ClientConfig::new("wss://localhost/")
            .unwrap()
            .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
            .dangerous_disable_certificate_verification()
            .random_source(ChaChaSource::from_seed(1));
        let server = ServerConfig::new()
            .tls(server_tls())
            .random_source(ChaChaSource::from_seed(2));
        let mut c = Connection::client(client, now).unwrap();
        let mut s = Connection::server(server, now).unwrap();
        let texts: Vec<String> = (0..20)
            .map(|i| format!("κόσμε {i} ").repeat(i * 400))
            .collect();
        let mut got = Vec::new();
        let mut sent = 0;
        loop {
            let a = transfer(&mut c, &mut s, Reads::Copied, 1 << 20, now);
            let b = transfer(&mut s, &mut c, reads, 7_000, now);
            while let Some(event) = s.poll_event() {
                assert!(matches!(event, Event::Open(_)), "{event:?}");
            }
            while let Some(event) = c.poll_event() {
                match event {
                    Event::Open(_) => {}
                    Event::Message(Message::Text(t)) => got.push(t.as_str().to_owned()),
                    other => panic!("{other:?}"),
                }
            }
            if c.state() == sockette_core::State::Open && sent < texts.len() {
                s.send_text(&texts[sent]).unwrap();
                sent += 1;
            } else if !a && !b {
                break;
            }
        }
        assert_eq!(got, texts, "{reads:?}");
    }
}
