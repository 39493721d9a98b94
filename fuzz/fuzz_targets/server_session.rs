//! Invariant: a server fed arbitrary client bytes (raw, as frames, or a valid
//! upgrade request) interleaved with user sends, closes, timer ticks and partial
//! writes never panics; emits `Close` at most once and last; keeps
//! `buffered_amount()` within `max_buffered_output` plus one pong, one close and
//! one keepalive ping; emits no message over `max_message_size`; writes an HTTP
//! answer then only valid, unmasked frames, and no data after its close frame.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sockette_core::{ChaChaSource, Connection, Role, ServerConfig};
use sockette_fuzz::{run_session, Clock, EventCheck, Session, WireCheck};

fuzz_target!(|session: Session<'_>| {
    let c = session.config;
    let mut config = ServerConfig::new()
        .protocol("chat")
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
    let mut conn = Connection::server(config, clock.0).unwrap();
    let (mut events, mut wire) = (EventCheck::default(), WireCheck::new(Role::Server));
    run_session(&mut conn, &mut clock, &session, &mut events, &mut wire);
});
