//! Invariant: after a valid handshake, a client fed arbitrary server bytes and
//! frames interleaved with user sends, closes, pings, timer ticks and partial writes
//! never panics; emits `Close` at most once and last; keeps `buffered_amount()`
//! within `max_buffered_output` plus one pong, one close and one keepalive ping;
//! emits no message over `max_message_size`; writes only valid, masked frames and
//! no data after its close frame. (See `sockette_fuzz::run_session`.)
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sockette_core::{ChaChaSource, ClientConfig, Connection, Role};
use sockette_fuzz::{handshake_client, run_session, Clock, EventCheck, Session, WireCheck};

fuzz_target!(|session: Session<'_>| {
    let c = session.config;
    let mut config = ClientConfig::new("ws://example.org/chat")
        .unwrap()
        .limits(c.limits())
        .random_source(ChaChaSource::from_seed(c.seed.into()));
    if c.fragment > 0 {
        config = config.fragment_size(c.fragment.into());
    }
    if c.keepalive_ms > 0 {
        let ms = Duration::from_millis(c.keepalive_ms.into());
        config = config.keepalive(ms, ms);
    }
    let mut clock = Clock(Instant::now());
    let mut conn = Connection::client(config, clock.0).unwrap();
    let (mut events, mut wire) = (EventCheck::default(), WireCheck::new(Role::Client));
    handshake_client(&mut conn, &mut wire, clock.0);
    events.drain(&mut conn, &c.limits());
    assert!(events.opened);
    run_session(&mut conn, &mut clock, &session, &mut events, &mut wire);
});
