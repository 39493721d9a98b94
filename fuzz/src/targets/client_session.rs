//! Invariant: after a handshake (valid, or failed by a fuzzed permessage-deflate
//! answer), a client fed arbitrary server bytes, frames and compressed messages
//! interleaved with user sends, closes, pings, timer ticks and partial writes never
//! panics; emits `Close` at most once and last; keeps `buffered_amount()` within
//! `max_buffered_output` plus one pong, one close and one keepalive ping (keepalive
//! on or off); emits no message over `max_message_size`, inflated or not; writes
//! only valid, masked frames, RSV1 only when deflate was agreed, compressed
//! messages that inflate to what was sent, and no data after its close frame.
//! Holds at most `max_message_size` + the input
//! fed + the output allowance + a fixed amount of heap at once, also when input
//! is fed ahead of polling (odd seeds) and the transport then ends
//! (`sockette_fuzz::held_bound`).
//! (See `sockette_fuzz::run_session`.)

use arbitrary::{Arbitrary, Unstructured};
use std::time::{Duration, Instant};

use crate::{drain, handshake_client_with, run_session, Clock, EventCheck, Session, WireCheck};
use sockette_core::{ChaChaSource, ClientConfig, Connection, Event, Role};

/// Checks the invariant on one input (a failure panics): the fuzz target's whole
/// body, also replayed by `tests/regressions.rs` on saved inputs. Returns false,
/// having checked nothing, when the bytes are not an input of this target (too
/// short, or not decodable as its structured input), as the fuzzer skips them.
pub fn check(data: &[u8]) -> bool {
    // As libfuzzer-sys does for a typed target: bytes that are no input are skipped.
    let Ok(session) = Session::arbitrary_take_rest(Unstructured::new(data)) else {
        return false;
    };
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
    let deflate = c.deflate.map(|d| d.config());
    if let Some(deflate) = deflate {
        config = config.deflate(deflate);
    }
    let mut clock = Clock(Instant::now());
    let Ok(mut conn) = Connection::client(config, clock.0) else {
        let bits_ok = |b: u8| (8..=15).contains(&b);
        let d = deflate.expect("a valid configuration refused");
        assert!(
            !bits_ok(d.client_max_window_bits) || !d.server_max_window_bits.is_none_or(bits_ok)
        );
        return true;
    };
    let (mut events, mut wire) = (EventCheck::default(), WireCheck::new(Role::Client));
    let answer = session
        .extensions
        .as_ref()
        .map(|e| e.line())
        .unwrap_or_default();
    handshake_client_with(&mut conn, &mut wire, clock.0, &answer);
    drain(&mut events, &mut conn, &c.limits());
    // Without extensions in the answer, the handshake succeeds.
    assert!(events.opened || !answer.is_empty(), "{:?}", events.events);
    if events.opened && deflate.is_none() {
        let Some(Event::Open(info)) = events.events.first() else {
            unreachable!()
        };
        assert!(info.extensions.is_empty(), "{:?}", info.extensions);
    }
    run_session(&mut conn, &mut clock, &session, &mut events, &mut wire);
    true
}
