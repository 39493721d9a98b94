//! Invariant: a client fed any bytes as the server's answer (whole or byte by
//! byte: the same events either way) emits at most one `Close`, last, and `Open`
//! only for a 101 answer carrying the right `Sec-WebSocket-Accept`; EOF always
//! ends it. Input: [flags, answer...]; `{accept}` in the answer becomes the key
//! the client expects, so that the fuzzer reaches the paths after validation.

use std::time::Instant;

use crate::{drain, EventCheck};
use sockette_core::{accept_key, ChaChaSource, ClientConfig, Connection, Event, Limits};
use sockette_testkit::key_of;

fn client(flags: u8, now: Instant) -> (Connection, String) {
    let mut config = ClientConfig::new("ws://example.org/chat").unwrap();
    if flags & 1 != 0 {
        config = config.protocol("chat").protocol("superchat");
    }
    let config = config.random_source(ChaChaSource::from_seed(flags.into()));
    let conn = Connection::client(config, now).unwrap();
    let request = String::from_utf8(conn.poll_transmit().unwrap().to_vec()).unwrap();
    (conn, accept_key(key_of(&request)))
}

fn run(flags: u8, answer: &[u8], piece: usize) -> (EventCheck, String) {
    let now = Instant::now();
    let (mut conn, accept) = client(flags, now);
    let answer = String::from_utf8_lossy(answer).replace("{accept}", &accept);
    let mut check = EventCheck::default();
    for bytes in answer.as_bytes().chunks(piece) {
        conn.handle_input(now, bytes);
        drain(&mut check, &mut conn, &Limits::default());
    }
    conn.handle_eof(now);
    drain(&mut check, &mut conn, &Limits::default());
    assert!(check.closed);
    if let Some(Event::Open(info)) = check.events.first() {
        assert!(
            answer.trim_start().starts_with("HTTP/1.1 101"),
            "{answer:?}"
        );
        assert_eq!(
            info.header("sec-websocket-accept").map(str::trim),
            Some(&accept[..])
        );
    }
    (check, answer)
}

/// Checks the invariant on one input (a failure panics): the fuzz target's whole
/// body, also replayed by `tests/regressions.rs` on saved inputs. Returns false,
/// having checked nothing, when the bytes are not an input of this target (too
/// short, or not decodable as its structured input), as the fuzzer skips them.
pub fn check(input: &[u8]) -> bool {
    let [flags, answer @ ..] = input else {
        return false;
    };
    let (whole, _) = run(*flags, answer, usize::MAX);
    let (bytewise, _) = run(*flags, answer, 1);
    assert_eq!(whole.events, bytewise.events);
    true
}
