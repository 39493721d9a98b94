//! The held-heap invariant of the session targets can fail: a burst of deflated
//! messages fed ahead of polling, then EOF, decoded all at once by the EOF would
//! hold one inflated message per frame.

use std::time::Instant;

use sockette_core::{ChaChaSource, ClientConfig, Connection, Role};
use sockette_fuzz::{
    drain, handshake_client_with, run_session, Clock, DeflateSpec, DeflatedSpec, EventCheck, Op,
    Session, SessionConfig, WireCheck,
};

#[test]
fn a_deflated_burst_fed_ahead_then_eof_stays_within_the_held_bound() {
    let deflate = DeflateSpec {
        client_bits: 7,
        server_bits: None,
        client_reset: false,
        server_reset: false,
        level: 6,
        min_size: 0,
    };
    let config = SessionConfig {
        seed: 1, // odd: input is fed ahead of polling
        max_frame: 60_000,
        max_message: 60_000,
        max_buffered: 1_000,
        fragment: 0,
        keepalive_ms: 0,
        deflate: Some(deflate),
    };
    // 1 + 240² = 57 601 bytes each, just under the limit, from a few hundred on the wire.
    let bomb = DeflatedSpec {
        text: false,
        fin: true,
        mask: None,
        window_bits: 6,
        reset: false,
        level: 9,
        split: 0,
        repeat: 240,
        data: vec![b'x'],
    };
    let session = Session {
        config,
        extensions: None,
        ops: vec![Op::Deflated(bomb); 64],
        wire: &[],
    };
    let mut clock = Clock(Instant::now());
    let client = ClientConfig::new("ws://example.org/chat")
        .unwrap()
        .limits(config.limits())
        .deflate(deflate.config())
        .random_source(ChaChaSource::from_seed(1));
    let mut conn = Connection::client(client, clock.0).unwrap();
    let (mut events, mut wire) = (EventCheck::default(), WireCheck::new(Role::Client));
    handshake_client_with(
        &mut conn,
        &mut wire,
        clock.0,
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    drain(&mut events, &mut conn, &config.limits());
    assert!(events.opened, "{:?}", events.events);
    run_session(&mut conn, &mut clock, &session, &mut events, &mut wire);
    let messages = events
        .events
        .iter()
        .filter(|e| matches!(e, sockette_core::Event::Message(_)))
        .count();
    assert_eq!(messages, 64);
}
