//! Invariant: a client going through a proxy, fed any bytes as the proxy's
//! answers (whole or byte by byte: the same events either way), emits at most
//! one `Close`, last, and `Open` only once the proxy opened the tunnel and the
//! server's 101 carried the right `Sec-WebSocket-Accept`; EOF always ends it.
//! Input: [flags, answer...]; the low two bits of `flags` pick the proxy
//! (HTTP CONNECT, SOCKS5 by name, SOCKS5 with a user and password, HTTP with
//! Basic credentials); `{accept}` in the answer becomes the key the client
//! expects, so that the fuzzer reaches the upgrade behind the tunnel.

use std::time::Instant;

use crate::{drain, EventCheck};
use sockette_core::{accept_key, ChaChaSource, ClientConfig, Connection, Event, Limits, Proxy};
use sockette_testkit::key_of;

const URL: &str = "ws://example.org/chat";

fn config(flags: u8) -> ClientConfig {
    ClientConfig::new(URL)
        .unwrap()
        .random_source(ChaChaSource::from_seed(flags.into()))
}

fn proxy(flags: u8) -> Proxy {
    let url = match flags & 3 {
        0 => "http://proxy.test:3128",
        1 => "socks5h://proxy.test",
        2 => "socks5h://user:secret@proxy.test",
        _ => "http://user:secret@proxy.test",
    };
    Proxy::parse(url).unwrap()
}

/// The accept key a client with these flags expects: the same seed makes the
/// same key, so a direct client's request tells it.
fn expected_accept(flags: u8, now: Instant) -> String {
    let direct = Connection::client(config(flags), now).unwrap();
    let request = String::from_utf8(direct.poll_transmit().unwrap().to_vec()).unwrap();
    accept_key(key_of(&request))
}

fn run(flags: u8, answer: &[u8], piece: usize) -> EventCheck {
    let now = Instant::now();
    let accept = expected_accept(flags, now);
    let answer = String::from_utf8_lossy(answer).replace("{accept}", &accept);
    let mut conn = Connection::client(config(flags).proxy(proxy(flags)), now).unwrap();
    let mut check = EventCheck::default();
    for bytes in answer.as_bytes().chunks(piece) {
        conn.handle_input(now, bytes);
        drain(&mut check, &mut conn, &Limits::default());
    }
    conn.handle_eof(now);
    drain(&mut check, &mut conn, &Limits::default());
    assert!(check.closed);
    if let Some(Event::Open(info)) = check.events.first() {
        assert!(answer.contains("HTTP/1.1 101"), "{answer:?}");
        assert_eq!(
            info.header("sec-websocket-accept").map(str::trim),
            Some(&accept[..])
        );
    }
    check
}

/// Checks the invariant on one input (a failure panics): the fuzz target's
/// whole body, also replayed by `tests/regressions.rs` on saved inputs.
/// Returns false, having checked nothing, for an empty input.
pub fn check(input: &[u8]) -> bool {
    let [flags, answer @ ..] = input else {
        return false;
    };
    let whole = run(*flags, answer, usize::MAX);
    let bytewise = run(*flags, answer, 1);
    assert_eq!(whole.events, bytewise.events);
    true
}
