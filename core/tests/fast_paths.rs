//! The receive fast paths (whole single-frame messages, by value or borrowed)
//! equal the simple path byte for byte.
//!
//! The same seeded streams of server frames — whole messages, fragments, pings,
//! pongs, invalid UTF-8, oversized messages, a close — go to three clients:
//! - fed one byte per read and polled after each (a message in one frame waits
//!   in the input until whole, its text checked as it arrives; fragments,
//!   controls and errors go through the decoder and the assembler);
//! - fed in one read and drained with `poll_event` (whole messages take the fast
//!   path);
//! - fed in one read and drained with `poll_event_ref` (borrowed messages).
//!
//! All three must report the same events and write the same bytes.
//!
//! On the send side, the single-frame fast path and the batched mask keys give
//! the frames an independent decoder expects, with the keys the seeded random
//! source yields four bytes at a time (one draw per frame, as before batching).

use sockette_testkit as support;

use sockette_core::{ChaChaSource, Event, EventRef, Limits, Message, RandomSource};
use support::{
    client_config_seeded, close_payload, parse_frames, raw_frame, take_output, Raw, XorShift, URL,
};

fn stream(seed: u64) -> Vec<u8> {
    let mut rng = XorShift::new(seed);
    let mut out = Vec::new();
    let frames = 1 + rng.between_1_and(40);
    for _ in 0..frames {
        let len = match rng.between_1_and(10) {
            1 => 0,
            2..=6 => rng.between_1_and(130),
            7..=8 => rng.between_1_and(70_000),
            _ => rng.between_1_and(5_000),
        };
        let mut payload: Vec<u8> = (0..len).map(|i| (i as u64 * seed) as u8 & 0x7f).collect();
        if len > 3 && rng.between_1_and(4) == 1 {
            let at = rng.between_1_and(len - 3);
            payload[at..at + 2].copy_from_slice("é".as_bytes());
        }
        match rng.between_1_and(24) {
            1..=8 => out.extend(raw_frame(0x82, &payload, None)),
            9..=15 => out.extend(raw_frame(0x81, &payload, None)),
            16 => {
                // A fragmented text message.
                let cut = len / 2;
                out.extend(raw_frame(0x01, &payload[..cut], None));
                out.extend(raw_frame(0x89, b"between", None));
                out.extend(raw_frame(0x80, &payload[cut..], None));
            }
            17 => out.extend(raw_frame(0x89, &payload[..len.min(125)], None)),
            18 => out.extend(raw_frame(0x8a, &payload[..len.min(125)], None)),
            19 => out.extend(raw_frame(0x81, &[b'a', 0xff, b'b'], None)),
            20 => out.extend(raw_frame(0x81, &[0xce], None)),
            21 => out.extend(raw_frame(0x82, &vec![1; 70_001], None)),
            22 => out.extend(raw_frame(0x80, b"stray continuation", None)),
            23 => out.extend(raw_frame(0x88, &close_payload(1000, b"done"), None)),
            _ => out.extend(raw_frame(0x82, &payload, Some([1, 2, 3, 4]))),
        }
    }
    out
}

fn client() -> Raw {
    let limits = Limits::default().max_message_size(70_000);
    Raw::open_client(client_config_seeded(URL, 1).limits(limits))
}

fn owned(event: EventRef<'_>) -> Event {
    match event {
        EventRef::Text(t) => Event::Message(Message::Text(t.into())),
        EventRef::Binary(b) => Event::Message(Message::Binary(b.to_vec().into())),
        EventRef::Other(e) => e,
        other => panic!("unknown {other:?}"),
    }
}

#[test]
fn fast_and_borrowed_paths_equal_the_byte_by_byte_path() {
    for seed in 1..150u64 {
        let wire = stream(seed);

        let mut slow = client();
        let slow_events = slow.feed_bytewise(&wire);
        let slow_out = slow.take_output();

        let mut fast = client();
        let fast_events = fast.feed(&wire);
        let fast_out = fast.take_output();

        let mut borrowed = client();
        borrowed.conn.handle_input(borrowed.now, &wire);
        let mut borrowed_events = Vec::new();
        while let Some(event) = borrowed.conn.poll_event_ref() {
            borrowed_events.push(owned(event));
        }
        let borrowed_out = take_output(&mut borrowed.conn);

        assert_eq!(fast_events, slow_events, "seed {seed}: poll_event");
        assert_eq!(borrowed_events, slow_events, "seed {seed}: poll_event_ref");
        assert_eq!(fast_out, slow_out, "seed {seed}: bytes written");
        assert_eq!(
            borrowed_out, slow_out,
            "seed {seed}: bytes written (borrowed)"
        );
    }
}

#[test]
fn a_borrowed_message_is_dropped_by_the_next_call_whatever_it_is() {
    let mut raw = client();
    let mut wire = raw_frame(0x82, b"one", None);
    wire.extend(raw_frame(0x81, b"two", None));
    raw.conn.handle_input(raw.now, &wire);
    assert_eq!(raw.conn.poll_event_ref(), Some(EventRef::Binary(b"one")));
    // New input after a borrowed message: the lent bytes go, the rest stays.
    raw.conn
        .handle_input(raw.now, &raw_frame(0x82, b"three", None));
    assert_eq!(raw.conn.poll_event_ref(), Some(EventRef::Text("two")));
    // The owned API after a borrowed message.
    assert!(matches!(
        raw.conn.poll_event(),
        Some(Event::Message(Message::Binary(b))) if b == b"three"
    ));
    assert_eq!(raw.conn.poll_event_ref(), None);
    raw.conn
        .handle_input(raw.now, &raw_frame(0x82, b"four", None));
    assert_eq!(raw.conn.poll_event_ref(), Some(EventRef::Binary(b"four")));
    // The end of the transport right after a borrowed message: a clean boundary.
    let events = raw.eof();
    assert!(
        matches!(&events[..], [Event::Error(_), Event::Close(c)]
            if c.reason.contains("without a close frame")),
        "{events:?}"
    );
}

#[test]
fn a_text_frame_arriving_in_pieces_is_checked_in_place_and_lent_whole() {
    // Text in one frame waits in the input like binary, its UTF-8
    // checked as it arrives (cuts inside characters included), and is lent
    // whole rather than assembled into a copy.
    let text = "κόσμε € 𝄞 ".repeat(300);
    let mut raw = client();
    for round in 0..3 {
        let wire = raw_frame(0x81, text.as_bytes(), None);
        for (i, piece) in wire.chunks(7 + round).enumerate() {
            raw.conn.handle_input(raw.now, piece);
            let event = raw.conn.poll_event_ref();
            if (i + 1) * (7 + round) < wire.len() {
                assert_eq!(event, None, "round {round}: piece {i}");
            } else {
                assert_eq!(event, Some(EventRef::Text(&text)), "round {round}");
            }
        }
    }
    // The owned path too, and a message whose last byte is cut off by an
    // invalid one still fails.
    let wire = raw_frame(0x81, text.as_bytes(), None);
    let (head, tail) = wire.split_at(wire.len() / 2);
    assert!(raw.feed(head).is_empty());
    assert!(matches!(
        &raw.feed(tail)[..],
        [Event::Message(Message::Text(t))] if t == text.as_str()
    ));
    let mut bad = text.as_bytes().to_vec();
    let at = bad.len() / 2;
    bad[at] = 0xff;
    let wire = raw_frame(0x81, &bad, None);
    let events = raw.feed(&wire[..at + 4 + 1]);
    assert!(
        matches!(&events[..], [Event::Error(_), Event::Close(c)] if c.code == sockette_core::CloseCode::InvalidData),
        "fails as soon as the invalid byte arrives: {events:?}"
    );
}

#[test]
fn sent_frames_carry_the_payload_and_one_fresh_key_each_from_the_stream() {
    for seed in [1u64, 7, 99] {
        let mut raw = Raw::open_client(client_config_seeded(URL, seed));
        // The keys the handshake and one draw per frame would use: the handshake
        // key (16 bytes) first, then 4 bytes per frame.
        let mut reference = ChaChaSource::from_seed(seed);
        let mut handshake_key = [0u8; 16];
        reference.fill(&mut handshake_key);
        let sizes = [0usize, 1, 7, 8, 125, 126, 4000, 65_535, 65_536, 70_001];
        let mut expected = Vec::new();
        for round in 0..5 {
            for (i, &size) in sizes.iter().enumerate() {
                let payload: Vec<u8> = (0..size).map(|j| (j * 31 + i + round) as u8).collect();
                if i % 2 == 0 {
                    raw.conn.send_binary(&payload).unwrap();
                    expected.push((2u8, payload));
                } else {
                    let text =
                        String::from_utf8(payload.iter().map(|b| b & 0x7f).collect()).unwrap();
                    raw.conn.send_text(&text).unwrap();
                    expected.push((1u8, text.into_bytes()));
                }
            }
        }
        let frames = parse_frames(&raw.take_output());
        assert_eq!(frames.len(), expected.len());
        for (frame, (opcode, payload)) in frames.iter().zip(&expected) {
            let mut key = [0u8; 4];
            reference.fill(&mut key);
            assert!(frame.fin && frame.rsv == 0);
            assert_eq!(frame.opcode, *opcode);
            assert_eq!(frame.mask, Some(key), "seed {seed}");
            assert_eq!(&frame.payload, payload);
        }
    }
}
