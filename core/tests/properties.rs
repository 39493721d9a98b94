//! Property tests of `sockette-core`:
//! - messages of any size and content survive the trip client → server and back,
//!   whatever the chunking and the fragment size, and both sides see the same ones;
//! - any bytes fed to a client after a valid handshake, or to a server (before or
//!   after a valid request), mixed with the caller's commands and timer calls,
//!   never panic, end in at most one `Close` which is the last event, never deliver
//!   a message over `max_message_size`, and never hold more outgoing bytes than the
//!   configured cap (plus the control frames the protocol requires);
//! - everything a connection writes is a sequence of well-formed frames, with at
//!   most one close frame and nothing after it.
//!
//! Case counts stay modest so `cargo test` remains fast in debug builds.

use sockette_testkit as support;

use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sockette_core::frame::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use sockette_core::{CloseCode, Connection, Error, Event, Limits, Message, ProtocolError, Role};
use support::{
    check_event_order, check_events, client_config, close_payload, cut, op, raw_frame,
    server_config, take_output, Chunking, Pair, Raw, Side, WireCheck, XorShift, URL,
};

/// `cases` cases, or `PROPTEST_CASES` when set (a longer search than `cargo test`
/// affords: the explicit count would otherwise override it); a failing case is
/// saved beside this file (`properties.proptest-regressions`) and replayed first
/// on the next run.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

// =====================================================================================
// Round trips through the pair
// =====================================================================================

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        4 => any::<String>().prop_map(|s| Message::Text(s.into())),
        4 => vec(any::<u8>(), 0..300).prop_map(|v| Message::Binary(v.into())),
        // Around the 16-bit length boundary (125/126 and 65535/65536 are the edges).
        1 => (120usize..132).prop_map(|n| Message::Text("é".repeat(n / 2).into())),
        1 => (65_530usize..65_542, any::<u8>()).prop_map(|(n, seed)| {
            Message::Binary((0..n).map(|i| (i as u8) ^ seed).collect::<Vec<u8>>().into())
        }),
    ]
}

fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        Just(Chunking::Whole),
        Just(Chunking::OneByte),
        (1usize..2_000, any::<u64>()).prop_map(|(max, seed)| Chunking::Random { max, seed }),
    ]
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn messages_round_trip_through_the_pair(
        to_server in vec(message(), 0..8),
        to_client in vec(message(), 0..8),
        chunking in chunking(),
        fragment in proptest::option::of(16usize..5_000),
    ) {
        let (mut cc, mut sc) = (client_config(URL), server_config());
        if let Some(size) = fragment {
            cc = cc.fragment_size(size);
            sc = sc.fragment_size(size);
        }
        let mut pair = Pair::with_configs(cc, sc, chunking);
        // The client may send before the handshake completes; the server may not.
        if let Some(first) = to_server.first() {
            pair.client.send(first).unwrap();
        }
        pair.drive();
        for i in 0..to_server.len().max(to_client.len()) {
            if let Some(m) = to_server.get(i + 1) {
                pair.client.send(m).unwrap();
            }
            if let Some(m) = to_client.get(i) {
                pair.server.send(m).unwrap();
            }
            if i % 3 == 1 {
                pair.step();
            }
        }
        pair.drive_bounded(10_000);
        prop_assert_eq!(pair.messages(Side::Server), to_server);
        prop_assert_eq!(pair.messages(Side::Client), to_client);

        pair.client.close(pair.now, CloseCode::Normal, "done").unwrap();
        pair.drive_bounded(100);
        for history in [&pair.client_history, &pair.server_history] {
            check_event_order(history);
            prop_assert!(matches!(history.first(), Some(Event::Open(_))));
            prop_assert!(matches!(history.last(), Some(Event::Close(c)) if c.was_clean
                && c.code == CloseCode::Normal));
            prop_assert!(!history.iter().any(|e| matches!(e, Event::Error(_))));
        }
        prop_assert!(pair.client.is_closed() && pair.server.is_closed());
    }
}

// =====================================================================================
// Arbitrary input never breaks the limits
// =====================================================================================

/// Small limits, so that the inputs reach them.
const LIMITS: Limits = Limits::new()
    .max_frame_size(100)
    .max_message_size(200)
    .max_buffered_output(256)
    .max_handshake_size(1024);

/// What the cap on outgoing bytes may be exceeded by: the protocol's own answers,
/// which are never refused — one pong queued while the output was just under the
/// cap, and the close frame that fails or closes the connection.
const CONTROL_SLACK: usize = 2 * (MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD);

/// One step of a peer that mostly follows the protocol but sometimes does not, and
/// of a busy caller.
#[derive(Debug, Clone)]
enum Step {
    /// Arbitrary bytes.
    Junk(Vec<u8>),
    /// A frame with an arbitrary first byte (FIN, RSV, opcode) and mask choice.
    Frame {
        b0: u8,
        mask: Option<[u8; 4]>,
        payload: Vec<u8>,
    },
    /// A well-formed data message cut into fragments (text is valid UTF-8 cut at
    /// arbitrary bytes), with a ping or pong between fragments when `interleave`.
    Message {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<usize>,
        interleave: Option<u8>,
    },
    /// A well-formed ping or pong.
    Control { opcode: u8, payload: Vec<u8> },
    /// A close frame with an arbitrary code and reason.
    Close { code: Option<u16>, reason: Vec<u8> },
    /// The caller writes up to this many bytes of the output.
    Drain(usize),
    /// The caller sends a message.
    Send { text: bool, len: usize },
    /// The caller pings.
    Ping(usize),
    /// The caller closes.
    UserClose(u16),
    /// Time passes and the caller runs the timers.
    Wait(u64),
    /// The transport ends.
    Eof,
}

fn opcode() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => prop::sample::select(vec![op::CONT, op::TEXT, op::BINARY, op::PING, op::PONG]),
        1 => 0u8..16,
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..16),
        3 => "\\PC{0,20}".prop_map(String::into_bytes),
        2 => vec(any::<u8>(), 40..140),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let rsv = prop_oneof![19 => Just(0u8), 1 => 0u8..8];
    // Mostly within the limits, sometimes over (a frame over 100 bytes, a message
    // over 200).
    let message = prop_oneof![
        4 => (Just(true), "\\PC{0,40}".prop_map(String::into_bytes)),
        1 => (Just(true), "[a-zé]{60,250}".prop_map(String::into_bytes)),
        4 => (Just(false), vec(any::<u8>(), 0..100)),
        1 => (Just(false), vec(any::<u8>(), 100..250)),
    ];
    prop_oneof![
        1 => vec(any::<u8>(), 0..40).prop_map(Step::Junk),
        2 => (any::<bool>(), rsv, opcode(), any::<Option<[u8; 4]>>(), payload()).prop_map(
            |(fin, rsv, opcode, mask, payload)| Step::Frame {
                b0: if fin { 0x80 } else { 0 } | rsv << 4 | opcode,
                mask,
                payload,
            }
        ),
        10 => (message, vec(any::<usize>(), 0..4), proptest::option::of(any::<u8>()))
            .prop_map(|((text, payload), cuts, interleave)| Step::Message {
                text,
                payload,
                cuts,
                interleave,
            }),
        4 => (prop::sample::select(vec![op::PING, op::PONG]), vec(any::<u8>(), 0..126))
        .prop_map(|(opcode, payload)| Step::Control { opcode, payload }),
        1 => (
            proptest::option::of(prop_oneof![
                prop::sample::select(vec![1000u16, 1001, 1005, 1006, 1011, 1015, 3000, 4999]),
                any::<u16>()
            ]),
            payload(),
        )
            .prop_map(|(code, reason)| Step::Close { code, reason }),
        4 => (0usize..300).prop_map(Step::Drain),
        3 => (any::<bool>(), 0usize..200).prop_map(|(text, len)| Step::Send { text, len }),
        1 => (0usize..130).prop_map(Step::Ping),
        1 => prop::sample::select(vec![1000u16, 1001, 1005, 1006, 3000]).prop_map(Step::UserClose),
        1 => (0u64..40).prop_map(Step::Wait),
    ]
}

/// The bytes a peer sends for `step`, masked when `masked` (the peer is a client).
fn peer_bytes(step: &Step, masked: bool, rng: &mut XorShift) -> Vec<u8> {
    let mut key = || masked.then(|| rng.next_u64().to_le_bytes()[..4].try_into().unwrap());
    match step {
        Step::Junk(bytes) => bytes.clone(),
        Step::Frame { b0, mask, payload } => raw_frame(*b0, payload, *mask),
        Step::Message {
            text,
            payload,
            cuts,
            interleave,
        } => {
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (payload.len() + 1)).collect();
            points.sort_unstable();
            points.push(payload.len());
            let mut out = Vec::new();
            let mut start = 0;
            for (i, &end) in points.iter().enumerate() {
                let last = i + 1 == points.len();
                let opcode = match (i, text) {
                    (0, true) => op::TEXT,
                    (0, false) => op::BINARY,
                    _ => op::CONT,
                };
                let b0 = if last { 0x80 } else { 0 } | opcode;
                out.extend(raw_frame(b0, &payload[start..end], key()));
                if let (Some(n), false) = (interleave, last) {
                    out.extend(raw_frame(0x80 | op::PING, &[*n; 3], key()));
                }
                start = end;
            }
            out
        }
        Step::Control { opcode, payload } => raw_frame(0x80 | opcode, payload, key()),
        Step::Close { code, reason } => {
            let payload = match code {
                Some(code) => close_payload(*code, reason),
                None => reason.iter().take(1).copied().collect(),
            };
            raw_frame(0x80 | op::CLOSE, &payload, key())
        }
        _ => Vec::new(),
    }
}

/// The seed of a chunking's piece sizes (1 for the chunkings that draw none).
fn seed_of(chunking: Chunking) -> u64 {
    match chunking {
        Chunking::Random { seed, .. } => seed,
        _ => 1,
    }
}

/// Runs `steps` against `raw`, checking the invariants after each one, and returns
/// every byte the connection wrote. The peer's masking keys come from `key_seed`
/// and the piece sizes from the chunking's own seed, on separate generators: the
/// bytes the peer sends depend on `steps` and `key_seed` only, never on how they
/// are cut (junk can make key bytes part of the framing, so different keys would
/// be a different input).
fn run_steps(
    raw: &mut Raw,
    steps: &[Step],
    chunking: Chunking,
    key_seed: u64,
) -> Result<Vec<u8>, TestCaseError> {
    let mut keys = XorShift::new(key_seed);
    let mut rng = XorShift::new(seed_of(chunking));
    let mut wire = Vec::new();
    for step in steps {
        let input = peer_bytes(step, raw.conn.role() == Role::Server, &mut keys);
        match step {
            Step::Drain(n) => {
                if let Some(out) = raw.conn.poll_transmit() {
                    let n = (*n).min(out.len());
                    wire.extend_from_slice(&out[..n]);
                    raw.conn.advance_transmit(n);
                }
            }
            Step::Send { text, len } => {
                let before = raw.conn.buffered_amount();
                let result = if *text {
                    raw.conn.send_text(&"t".repeat(*len))
                } else {
                    raw.conn.send_binary(&vec![0xb5; *len])
                };
                if result.is_err() {
                    prop_assert_eq!(
                        raw.conn.buffered_amount(),
                        before,
                        "a refused send queues nothing"
                    );
                }
            }
            Step::Ping(len) => {
                let result = raw.conn.ping(&vec![7; *len]);
                prop_assert!(*len <= MAX_CONTROL_PAYLOAD || result.is_err());
            }
            Step::UserClose(code) => {
                let _ = raw.conn.close(raw.now, CloseCode::from(*code), "");
            }
            Step::Wait(secs) => {
                raw.now += Duration::from_secs(*secs);
                raw.conn.handle_timeout(raw.now);
            }
            Step::Eof => {
                raw.conn.handle_eof(raw.now);
            }
            _ => {}
        }
        let mut at = 0;
        for n in cut(input.len(), chunking, &mut rng) {
            raw.conn.handle_input(raw.now, &input[at..at + n]);
            at += n;
        }
        raw.events();
        check_invariants(raw)?;
    }
    wire.extend(take_output(&mut raw.conn));
    Ok(wire)
}

fn check_invariants(raw: &Raw) -> Result<(), TestCaseError> {
    // The event order, and no message over the limit.
    check_events(&raw.history, &LIMITS);
    let buffered = raw.conn.buffered_amount();
    prop_assert!(
        buffered <= LIMITS.max_buffered_output + CONTROL_SLACK,
        "{} bytes buffered, cap {}",
        buffered,
        LIMITS.max_buffered_output
    );
    let closed = matches!(raw.history.last(), Some(Event::Close(_)));
    prop_assert_eq!(
        raw.conn.is_closed(),
        closed,
        "is_closed agrees with the events"
    );
    Ok(())
}

/// Everything written after the handshake is well-formed frames, masked for a
/// client, with at most one close frame and nothing after it ([`WireCheck`]).
fn check_wire(wire: &[u8], role: Role) -> Result<(), TestCaseError> {
    let mut check = WireCheck::frames(role);
    check.written(wire);
    check.finish();
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn arbitrary_server_bytes_never_break_a_client(
        mut steps in vec(step(), 0..60),
        chunking in chunking(),
        end_with_eof in any::<bool>(),
    ) {
        if end_with_eof {
            steps.push(Step::Eof);
        }
        let config = client_config(URL)
            .limits(LIMITS)
            .keepalive(Duration::from_secs(30), Duration::from_secs(10));
        let mut raw = Raw::open_client(config);
        let wire = run_steps(&mut raw, &steps, chunking, seed_of(chunking))?;
        check_wire(&wire, Role::Client)?;
    }

    #[test]
    fn arbitrary_client_bytes_never_break_a_server(
        mut steps in vec(step(), 0..60),
        chunking in chunking(),
        end_with_eof in any::<bool>(),
    ) {
        if end_with_eof {
            steps.push(Step::Eof);
        }
        let mut raw = Raw::open_server(server_config().limits(LIMITS));
        let wire = run_steps(&mut raw, &steps, chunking, seed_of(chunking))?;
        check_wire(&wire, Role::Server)?;
    }

    #[test]
    fn arbitrary_bytes_before_the_handshake_never_break_either_role(
        prefix in prop_oneof![
            Just(Vec::new()),
            Just(b"HTTP/1.1 101 Switching Protocols\r\n".to_vec()),
            Just(support::VALID_REQUEST.as_bytes()[..60].to_vec()),
        ],
        junk in vec(any::<u8>(), 0..2_000),
        chunking in chunking(),
        client in any::<bool>(),
    ) {
        let mut raw = if client {
            Raw::connecting_client(client_config(URL).limits(LIMITS))
        } else {
            Raw {
                conn: Connection::server(server_config().limits(LIMITS), std::time::Instant::now())
                    .unwrap(),
                now: std::time::Instant::now(),
                request: String::new(),
                history: Vec::new(),
            }
        };
        let mut input = prefix;
        input.extend(junk);
        let mut rng = XorShift::new(3);
        let mut at = 0;
        for n in cut(input.len(), chunking, &mut rng) {
            raw.conn.handle_input(raw.now, &input[at..at + n]);
            at += n;
            raw.events();
            check_invariants(&raw)?;
        }
        raw.conn.handle_eof(raw.now);
        raw.events();
        check_invariants(&raw)?;
        prop_assert!(raw.conn.is_closed());
        prop_assert!(matches!(raw.history.last(), Some(Event::Close(c)) if !c.was_clean));
        let head = take_output(&mut raw.conn);
        prop_assert!(head.len() <= LIMITS.max_handshake_size + 1024);
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// The events and the bytes written depend on what the peer sent, not on how
    /// the transport cut it.
    #[test]
    fn events_do_not_depend_on_how_the_input_is_cut(
        steps in vec(step(), 0..30),
        chunking in chunking(),
        client in any::<bool>(),
    ) {
        let open = || if client {
            Raw::open_client(client_config(URL).limits(LIMITS))
        } else {
            Raw::open_server(server_config().limits(LIMITS))
        };
        let (mut whole, mut cut) = (open(), open());
        // The same peer bytes (same keys) for both; only the cutting differs.
        let key_seed = seed_of(chunking);
        let wire_whole = run_steps(&mut whole, &steps, Chunking::Whole, key_seed)?;
        let wire_cut = run_steps(&mut cut, &steps, chunking, key_seed)?;
        prop_assert_eq!(&whole.history, &cut.history);
        // Masking keys are drawn in the same order, so even the bytes match.
        prop_assert_eq!(wire_whole, wire_cut);
    }
}

/// The case `events_do_not_depend_on_how_the_input_is_cut` once failed on: a
/// masked zero-length header as junk, whose masking key is taken from the next
/// frame's first four bytes, so that frame's own key bytes are read as the next
/// header. The harness drew the peer's keys from the chunking's generator, so
/// the whole and the cut runs sent different keys, and so different frames
/// (reserved opcode 0xc in one, 0xb in the other): the two runs must feed the
/// same bytes for the comparison to mean anything.
#[test]
fn junk_that_swallows_a_masking_key_gives_the_same_events_whatever_the_cutting() {
    let payload = "éééiaéérféliéébpéééuétfpfncbtntbgyojsdsééééééuvéeaéééxlékéjwmétfuvsféhkb";
    let steps = [
        Step::Junk(vec![0x02, 0x80]),
        Step::Message {
            text: true,
            payload: payload.as_bytes().to_vec(),
            cuts: vec![
                13_270_207_948_124_268_153,
                3_841_660_053_760_153_080,
                16_862_665_487_415_753_328,
            ],
            interleave: None,
        },
    ];
    let chunking = Chunking::Random {
        max: 1650,
        seed: 5_602_152_750_142_817_829,
    };
    // As the property does: the same keys for both runs.
    let key_seed = seed_of(chunking);
    let run = |chunking| {
        let mut raw = Raw::open_server(server_config().limits(LIMITS));
        let wire = run_steps(&mut raw, &steps, chunking, key_seed).unwrap();
        (raw.history, wire)
    };
    let (whole, cut) = (run(Chunking::Whole), run(chunking));
    assert!(
        matches!(
            &whole.0[1..],
            [Event::Error(e), Event::Close(_)]
                if matches!(**e, Error::Protocol(ProtocolError::ReservedOpcode(_)))
        ),
        "{:?}",
        whole.0
    );
    assert_eq!(whole, cut);
}

/// Feeds `input` to a fresh server whole, then cut in two at every point, and
/// returns the events, which must be the same for every cutting.
fn server_events_at_every_cut(input: &[u8]) -> Vec<Event> {
    let whole = Raw::server().feed(input);
    for at in 1..input.len() {
        let mut raw = Raw::server();
        let mut events = raw.feed(&input[..at]);
        events.extend(raw.feed(&input[at..]));
        assert_eq!(events, whole, "cut at {at}");
    }
    whole
}

/// The same shape with fixed bytes, the zero-length masked fragment's header
/// split anywhere.
#[test]
fn a_zero_length_masked_fragment_decodes_the_same_at_every_cut() {
    // A zero-length masked binary fragment, then a continuation ending the
    // message: one binary message.
    let mut input = vec![0x02, 0x80, 9, 8, 7, 6];
    input.extend(raw_frame(0x80, "é".as_bytes(), Some([1, 2, 3, 4])));
    assert_eq!(
        server_events_at_every_cut(&input),
        [Event::Message(Message::Binary(
            "é".as_bytes().to_vec().into()
        ))]
    );
    // The fragment's header with no key of its own takes the next frame's first
    // four bytes [0x01, 0x82, 0x1d, 0xdd] as its key; the next header then
    // starts at 0x6c, reserved opcode 0xc.
    let mut input = vec![0x02, 0x80];
    input.extend(raw_frame(0x01, b"ab", Some([0x1d, 0xdd, 0x6c, 0x89])));
    let events = server_events_at_every_cut(&input);
    assert!(
        matches!(
            &events[..],
            [Event::Error(e), Event::Close(_)]
                if matches!(**e, Error::Protocol(ProtocolError::ReservedOpcode(0xc)))
        ),
        "{events:?}"
    );
}
