//! Measures the memory a client connection holds with and without permessage-deflate:
//! N connections each complete a handshake, send one message and receive one
//! (compressed when deflate is on), then the growth of the resident set is divided
//! by N (Linux; allocator overhead included, as a real program would see it).
//!
//! ```sh
//! cargo run --release -p sockette-core --example deflate_memory
//! ```

use std::time::Instant;

use sockette_core::{ClientConfig, Connection, DeflateConfig, Event, ServerConfig};

/// Resident memory of this process, from /proc (Linux).
fn rss_bytes() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: isize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

const N: usize = 2000;

fn pump(from: &mut Connection, to: &mut Connection, now: Instant) {
    while let Some(bytes) = from.poll_transmit() {
        let bytes = bytes.to_vec();
        from.advance_transmit(bytes.len());
        to.handle_input(now, &bytes);
    }
}

fn drain(conn: &mut Connection) -> usize {
    std::iter::from_fn(|| conn.poll_event())
        .filter(|e| matches!(e, Event::Message(_)))
        .count()
}

/// Live resident memory per client connection after one message each way.
fn bytes_per_client(deflate: Option<DeflateConfig>) -> isize {
    let now = Instant::now();
    let message = r#"{"symbol":"EUR-USD","bid":1.0842,"ask":1.0843}"#.repeat(40);
    let mut clients = Vec::with_capacity(N);
    let before = rss_bytes();
    for _ in 0..N {
        let mut config = ClientConfig::new("ws://127.0.0.1/").unwrap();
        let mut server_config = ServerConfig::new();
        if let Some(d) = deflate {
            config = config.deflate(d);
            server_config = server_config.deflate(d);
        }
        let mut client = Connection::client(config, now).unwrap();
        let mut server = Connection::server(server_config, now).unwrap();
        pump(&mut client, &mut server, now);
        drain(&mut server);
        pump(&mut server, &mut client, now);
        drain(&mut client);
        client.send_text(&message).unwrap();
        server.send_text(&message).unwrap();
        pump(&mut client, &mut server, now);
        pump(&mut server, &mut client, now);
        assert_eq!(drain(&mut server), 1);
        assert_eq!(drain(&mut client), 1);
        drop(server);
        clients.push(client);
    }
    let per_client = (rss_bytes() - before) / N as isize;
    drop(clients);
    per_client
}

/// The configurations measured, each in a fresh process so that memory freed by
/// one does not hide the growth of the next.
fn configuration(name: &str) -> Option<DeflateConfig> {
    match name {
        "takeover" => Some(DeflateConfig::default()),
        "no-takeover" => Some(
            DeflateConfig::default()
                .client_no_context_takeover(true)
                .server_no_context_takeover(true),
        ),
        "window-9" => Some(
            DeflateConfig::default()
                .client_max_window_bits(9)
                .server_max_window_bits(Some(9)),
        ),
        _ => None,
    }
}

fn main() {
    if let Some(name) = std::env::args().nth(1) {
        println!("{}", bytes_per_client(configuration(&name)));
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    println!("resident memory per client connection after one message each way ({N} connections):");
    for (name, label) in [
        ("plain", "no deflate"),
        ("takeover", "deflate, context takeover (default)"),
        ("no-takeover", "deflate, no context takeover both ways"),
        ("window-9", "deflate, 9-bit windows both ways"),
    ] {
        let out = std::process::Command::new(&exe)
            .arg(name)
            .output()
            .expect("run");
        let bytes = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("  {label:<42} {bytes:>8} bytes");
    }
}
