//! Answers given from an event handler go out before later input is judged
//! (Autobahn 3.2, 4.1.3, 5.15: the echo of a message must precede the failure
//! caused by a malformed frame that arrived in the same read).

use std::time::Instant;

use sockette_core::{
    accept_key, ChaChaSource, ClientConfig, CloseCode, Connection, Event, Message,
};

/// A client that has completed its handshake against a hand-written 101 answer.
fn open_client() -> Connection {
    let now = Instant::now();
    let config = ClientConfig::new("ws://localhost/")
        .unwrap()
        .random_source(ChaChaSource::from_seed(7));
    let mut client = Connection::client(config, now).unwrap();
    let request = String::from_utf8(client.poll_transmit().unwrap().to_vec()).unwrap();
    client.advance_transmit(request.len());
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    client.handle_input(now, answer.as_bytes());
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    client
}

/// Unmasks the client frames in `wire` and returns (opcode, payload) pairs.
fn client_frames(mut wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while wire.len() >= 6 {
        let opcode = wire[0] & 0x0f;
        let len = usize::from(wire[1] & 0x7f);
        assert!(len < 126, "test frames are short");
        let key = [wire[2], wire[3], wire[4], wire[5]];
        let payload = wire[6..6 + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        frames.push((opcode, payload));
        wire = &wire[6 + len..];
    }
    frames
}

#[test]
fn echo_of_a_message_precedes_the_failure_caused_by_the_next_frame() {
    let mut client = open_client();
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
    let mut client = open_client();
    client.handle_input(Instant::now(), &[0x88, 0x02, 0x03, 0xe8]);
    // The transport ends before the caller polled: the close still counts.
    client.handle_eof(Instant::now());
    match client.poll_event() {
        Some(Event::Close(c)) => assert!(c.was_clean && c.code == CloseCode::Normal),
        other => panic!("{other:?}"),
    }
}
