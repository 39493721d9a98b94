//! Invariant: a `wss://` client fed arbitrary bytes, either raw ciphertext (before
//! the TLS handshake or after it) or plaintext frames sealed by a real in-memory
//! rustls server after the TLS and WebSocket handshakes, interleaved with sends
//! and closes, never panics, emits `Close` at most once and last (ciphertext that
//! arrives after it, even after our close_notify, is harmless: no event, no
//! panic), keeps `buffered_amount()` within its limit, and reaches `Close` on EOF.

use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::{drain, encode, EventCheck, FrameSpec, BUFFER_SLACK};
use arbitrary::{Arbitrary, Unstructured};
use sockette_core::rustls::{self, ServerConnection};
use sockette_core::{ChaChaSource, ClientConfig, CloseCode, Connection, Limits};
use sockette_testkit::{pki, response_101};

#[derive(Arbitrary, Debug)]
enum Op {
    Cipher(u8),
    Plain(FrameSpec),
    Send(Vec<u8>),
    Close(u16),
    Pump,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    seed: u8,
    handshake: bool,
    ops: Vec<Op>,
    wire: &'a [u8],
}

fn server_config() -> Arc<rustls::ServerConfig> {
    static CONFIG: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| pki::self_signed_server_tls(&["example.org"]))
        .clone()
}

/// Moves ciphertext both ways once; returns the plaintext the server received.
fn pump(client: &mut Connection, server: &mut ServerConnection, now: Instant) -> Vec<u8> {
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

/// Checks the invariant on one input (a failure panics): the fuzz target's whole
/// body, also replayed by `tests/regressions.rs` on saved inputs. Returns false,
/// having checked nothing, when the bytes are not an input of this target (too
/// short, or not decodable as its structured input), as the fuzzer skips them.
pub fn check(data: &[u8]) -> bool {
    // As libfuzzer-sys does for a typed target: bytes that are no input are skipped.
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return false;
    };
    let now = Instant::now();
    let config = ClientConfig::new("wss://example.org/chat")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .dangerous_disable_certificate_verification()
        .random_source(ChaChaSource::from_seed(input.seed.into()));
    let mut client = Connection::client(config, now).unwrap();
    let mut server = ServerConnection::new(server_config()).unwrap();
    let (mut events, limits) = (EventCheck::default(), Limits::default());
    if input.handshake {
        let mut request = Vec::new();
        for _ in 0..20 {
            request.extend(pump(&mut client, &mut server, now));
        }
        assert!(request.ends_with(b"\r\n\r\n"), "{request:?}");
        server
            .writer()
            .write_all(response_101(&String::from_utf8_lossy(&request), "").as_bytes())
            .unwrap();
        pump(&mut client, &mut server, now);
        drain(&mut events, &mut client, &limits);
        assert!(events.opened, "{:?}", events.events);
    }
    let mut wire = input.wire;
    for op in &input.ops {
        match op {
            Op::Cipher(n) => {
                let (bytes, rest) = wire.split_at((*n as usize).min(wire.len()));
                wire = rest;
                // Also once the client is closed (after our close_notify): input
                // after the last event is ignored, so rustls is never fed again.
                client.handle_input(now, bytes);
            }
            Op::Plain(frame) => {
                let _ = server.writer().write_all(&encode(frame));
                pump(&mut client, &mut server, now);
            }
            Op::Send(data) => drop(client.send_binary(data)),
            Op::Close(code) => drop(client.close(now, CloseCode::from(*code), "")),
            Op::Pump => drop(pump(&mut client, &mut server, now)),
        }
        drain(&mut events, &mut client, &limits);
        assert!(client.buffered_amount() <= limits.max_buffered_output + BUFFER_SLACK);
    }
    client.handle_eof(now);
    drain(&mut events, &mut client, &limits);
    assert!(events.closed);
    true
}
