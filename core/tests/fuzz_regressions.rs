//! Bugs the fuzz targets (`fuzz/`) found, rebuilt by hand through the public API
//! so that `cargo test --workspace` pins them; others are pinned beside the rule
//! they broke (`rfc6455.rs`: a malformed head cut short by EOF). The crashing
//! inputs themselves are saved by `fuzz/run.sh` in
//! `tests/fuzz_regressions/<target>/` and replayed
//! through each target's own check by the fuzz crate's `tests/regressions.rs`
//! (run by `fuzz/run.sh`, or `cargo test` in `fuzz/`): the targets' checks need
//! the fuzz crate, which depends on this one and is outside the workspace.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use sockette_core::rustls;
use sockette_core::{ChaChaSource, ClientConfig, Connection, Event, Limits};
use sockette_testkit::{open_client, pki, response_101};

/// `client_session` with keepalive on: a server that keeps sending (here a pong
/// after each keepalive ping) but never reads made the client queue one more
/// keepalive ping per interval, without bound: `handle_timeout` wrote the ping
/// without checking `Limits::max_buffered_output` (connection.rs). Fixed: pings
/// are skipped while the buffer is at its limit, and the fuzz targets check the
/// output bound with keepalive on too.
#[test]
fn keepalive_pings_bypass_the_output_limit() {
    let mut now = Instant::now();
    let limits = Limits::default().max_buffered_output(0);
    let config = ClientConfig::new("ws://example.org/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .limits(limits)
        .keepalive(Duration::from_millis(10), Duration::from_millis(10))
        .random_source(ChaChaSource::from_seed(1));
    let mut client = open_client(config, now);
    for _ in 0..100 {
        now += Duration::from_millis(20);
        client.handle_timeout(now);
        client.handle_input(now, &[0x8a, 0x00]);
        while client.poll_event().is_some() {}
    }
    assert!(
        client.buffered_amount() <= 3 * (14 + 125),
        "{} bytes queued with a limit of 0",
        client.buffered_amount()
    );
}

/// Moves ciphertext both ways once; returns the plaintext the server received.
fn pump(client: &mut Connection, server: &mut rustls::ServerConnection, now: Instant) -> Vec<u8> {
    if let Some(out) = client.poll_transmit() {
        let n = server.read_tls(&mut &out[..]).unwrap_or(0);
        client.advance_transmit(n);
    }
    let mut plain = Vec::new();
    if server.process_new_packets().is_ok() {
        let _ = server.reader().read_to_end(&mut plain);
    }
    let mut records = Vec::new();
    let _ = server.write_tls(&mut records);
    client.handle_input(now, &records);
    plain
}

/// `tls_session` (input `tls_session/garbage-after-close-notify`): the server sends
/// a masked frame, so the client fails the connection and sends its close frame
/// and close_notify; then bytes that are not a TLS record arrive. The core hands
/// them to rustls, whose `send_fatal_alert` has `debug_assert!(!sent_fatal_alert)`,
/// already set by `send_close_notify`: a panic in debug builds. Fixed: input
/// after the last event (`Close`) is ignored, so rustls is not fed again; the
/// fuzz target now keeps sending ciphertext after the client is closed.
#[test]
fn tls_garbage_after_close_notify() {
    let now = Instant::now();
    let mut server =
        rustls::ServerConnection::new(pki::self_signed_server_tls(&["example.org"])).unwrap();
    let config = ClientConfig::new("wss://example.org/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .dangerous_disable_certificate_verification()
        .random_source(ChaChaSource::from_seed(49));
    let mut client = Connection::client(config, now).unwrap();
    let mut request = Vec::new();
    for _ in 0..20 {
        request.extend(pump(&mut client, &mut server, now));
    }
    let request = String::from_utf8(request).unwrap();
    let answer = response_101(&request, "");
    server.writer().write_all(answer.as_bytes()).unwrap();
    pump(&mut client, &mut server, now);
    // A masked frame from the server: the client fails the connection.
    server
        .writer()
        .write_all(&[0x81, 0x80, 1, 2, 3, 4])
        .unwrap();
    pump(&mut client, &mut server, now);
    let mut events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    pump(&mut client, &mut server, now);
    assert!(client.is_closed(), "{events:?}");
    client.handle_input(now, &[0xd6, 0x41]);
    events.extend(std::iter::from_fn(|| client.poll_event()));
    assert!(matches!(events.last(), Some(Event::Close(_))), "{events:?}");
}
