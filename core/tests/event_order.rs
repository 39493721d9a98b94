//! Answers given from an event handler go out before later input is judged
//! (Autobahn 3.2, 4.1.3, 5.15: the echo of a message must precede the failure
//! caused by a malformed frame that arrived in the same read).

use std::time::Instant;

use sockette_core::{ChaChaSource, ClientConfig, CloseCode, Event, Message};
use sockette_testkit::{open_client, parse_frames};

/// The clients' configuration: seeded randomness.
fn client_config() -> ClientConfig {
    ClientConfig::new("ws://localhost/")
        .unwrap()
        .random_source(ChaChaSource::from_seed(7))
}

/// The client frames in `wire`, unmasked, as (opcode, payload) pairs.
fn client_frames(wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    parse_frames(wire)
        .into_iter()
        .map(|f| (f.opcode, f.payload))
        .collect()
}

#[test]
fn echo_of_a_message_precedes_the_failure_caused_by_the_next_frame() {
    let mut client = open_client(client_config(), Instant::now());
    // "Hello" then a frame with RSV2 set, then a ping, all in one read.
    let mut input = vec![0x81, 0x05];
    input.extend_from_slice(b"Hello");
    input.extend_from_slice(&[0xa1, 0x00, 0x89, 0x00]);
    client.handle_input(Instant::now(), &input);
    match client.poll_event() {
        Some(Event::Message(Message::Text(t))) => {
            assert_eq!(t, "Hello");
            client.send_text(&t).expect("the connection is still open");
        }
        other => panic!("expected the message first, got {other:?}"),
    }
    assert!(matches!(client.poll_event(), Some(Event::Error(_))));
    assert!(matches!(client.poll_event(), Some(Event::Close(c)) if c.code == CloseCode::Protocol));
    assert_eq!(client.poll_event(), None);
    let frames = client_frames(client.poll_transmit().unwrap());
    assert_eq!(frames[0], (0x1, b"Hello".to_vec()), "the echo goes first");
    assert_eq!(frames[1].0, 0x8, "then the close frame");
    assert_eq!(frames[1].1[..2], 1002u16.to_be_bytes());
    assert_eq!(frames.len(), 2, "no pong: the ping came after the failure");
}

#[test]
fn a_close_frame_just_before_the_end_of_the_stream_is_honoured() {
    let mut client = open_client(client_config(), Instant::now());
    client.handle_input(Instant::now(), &[0x88, 0x02, 0x03, 0xe8]);
    // The transport ends before the caller polled: the close still counts.
    client.handle_eof(Instant::now());
    match client.poll_event() {
        Some(Event::Close(c)) => assert!(c.was_clean && c.code == CloseCode::Normal),
        other => panic!("{other:?}"),
    }
}
