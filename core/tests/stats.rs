//! `Connection::stats()`: messages and bytes both ways, the compression ratio
//! with permessage-deflate, and the round-trip time of answered pings, timed
//! with the `now` values the test passes in.

use sockette_testkit as support;

use std::time::Duration;

use sockette_core::{DeflateConfig, Event, Message};
use support::*;

#[test]
fn messages_and_bytes_are_counted_both_ways() {
    let mut pair = Pair::open_default();
    pair.client.send_text("hello").unwrap();
    pair.client.send_binary(&[1, 2, 3]).unwrap();
    pair.drive();
    pair.server.send_text("ok").unwrap();
    pair.drive();
    assert_eq!(pair.messages(Side::Server).len(), 2);

    let client = pair.client.stats();
    let server = pair.server.stats();
    assert_eq!(client.messages_sent, 2);
    assert_eq!(client.payload_bytes_sent, 8);
    assert_eq!(client.messages_received, 1);
    assert_eq!(client.payload_bytes_received, 2);
    assert_eq!(server.messages_sent, 1);
    assert_eq!(server.payload_bytes_sent, 2);
    assert_eq!(server.messages_received, 2);
    assert_eq!(server.payload_bytes_received, 8);

    // The wire counts are what moved through the transport, handshake included.
    assert_eq!(client.wire_bytes_sent, pair.client_sent.len() as u64);
    assert_eq!(server.wire_bytes_received, pair.client_sent.len() as u64);
    assert_eq!(server.wire_bytes_sent, pair.server_sent.len() as u64);
    assert_eq!(client.wire_bytes_received, pair.server_sent.len() as u64);
    assert!(client.wire_bytes_sent > client.payload_bytes_sent);
    assert_eq!(client.compression_ratio, None);
    assert_eq!(client.latest_rtt, None);
}

#[test]
fn borrowed_and_fragmented_messages_count_too() {
    let mut raw = Raw::client();
    // One whole frame (the borrowing fast path), then one message in two fragments.
    raw.conn.handle_input(raw.now, &frame(true, 0x2, b"abcd"));
    assert!(matches!(
        raw.conn.poll_event_ref(),
        Some(sockette_core::EventRef::Binary(b"abcd"))
    ));
    let mut fragmented = frame(false, 0x1, b"he");
    fragmented.extend(frame(true, 0x0, b"llo"));
    let events = raw.feed(&fragmented);
    assert!(matches!(&events[..], [Event::Message(Message::Text(t))] if t == "hello"));
    let stats = raw.conn.stats();
    assert_eq!(stats.messages_received, 2);
    assert_eq!(stats.payload_bytes_received, 9);
}

#[test]
fn a_timed_ping_reports_the_round_trip_of_its_pong() {
    let mut raw = Raw::client();
    raw.conn.ping(b"untimed").unwrap();
    raw.conn.ping_at(raw.now, b"timed").unwrap();
    let frames = raw.sent_frames();
    assert_eq!(frames.len(), 2);

    // The answer to the untimed ping and an unsolicited pong time nothing.
    raw.now += Duration::from_millis(5);
    raw.feed(&frame(true, 0xA, b"untimed"));
    raw.feed(&frame(true, 0xA, b"unsolicited"));
    assert_eq!(raw.conn.stats().latest_rtt, None);

    raw.now += Duration::from_millis(32);
    let events = raw.feed(&frame(true, 0xA, b"timed"));
    assert!(matches!(&events[..], [Event::Pong(p)] if p.as_ref() == b"timed"));
    assert_eq!(raw.conn.stats().latest_rtt, Some(Duration::from_millis(37)));

    // A second pong with the same payload answers nothing any more.
    raw.now += Duration::from_millis(100);
    raw.feed(&frame(true, 0xA, b"timed"));
    assert_eq!(raw.conn.stats().latest_rtt, Some(Duration::from_millis(37)));
}

#[test]
fn the_latest_answered_ping_wins_and_older_ones_are_given_up() {
    let mut raw = Raw::client();
    let start = raw.now;
    raw.conn.ping_at(start, b"a").unwrap();
    raw.conn
        .ping_at(start + Duration::from_millis(10), b"b")
        .unwrap();
    raw.take_output();
    // The peer answers only the latest ping (RFC 6455 §5.5.3 allows it).
    raw.now = start + Duration::from_millis(25);
    raw.feed(&frame(true, 0xA, b"b"));
    assert_eq!(raw.conn.stats().latest_rtt, Some(Duration::from_millis(15)));
    // "a" was given up: a late pong for it changes nothing.
    raw.now = start + Duration::from_millis(90);
    raw.feed(&frame(true, 0xA, b"a"));
    assert_eq!(raw.conn.stats().latest_rtt, Some(Duration::from_millis(15)));
}

#[test]
fn keepalive_pings_are_timed() {
    let config = client_config(URL).keepalive(Duration::from_secs(10), Duration::from_secs(5));
    let mut raw = Raw::open_client(config);
    raw.advance(Duration::from_secs(10));
    let frames = raw.sent_frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, 0x9);
    raw.now += Duration::from_millis(250);
    let payload = frames[0].payload.clone();
    raw.feed(&frame(true, 0xA, &payload));
    assert_eq!(
        raw.conn.stats().latest_rtt,
        Some(Duration::from_millis(250))
    );
}

#[test]
fn the_compression_ratio_is_reported_with_deflate_only() {
    let deflate = || DeflateConfig::default();
    let mut pair = Pair::open(
        client_config(URL).deflate(deflate()),
        server_config().deflate(deflate()),
        Chunking::Whole,
    );
    assert_eq!(pair.client.stats().compression_ratio, None);
    let text = "sockette ".repeat(1000);
    pair.client.send_text(&text).unwrap();
    pair.drive();
    let messages = pair.messages(Side::Server);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].len(), text.len());

    let client = pair.client.stats().compression_ratio.unwrap();
    let server = pair.server.stats().compression_ratio.unwrap();
    // 9000 repetitive bytes shrink to a few dozen; both ends count the same frame.
    assert!(client > 50.0, "{client}");
    assert_eq!(client, server);
    assert!(pair.client.stats().wire_bytes_sent < text.len() as u64);
}
