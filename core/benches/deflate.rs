//! permessage-deflate cost and gain on text-like payloads (JSON market data):
//! client → server through the in-memory pair, with and without compression, and
//! the bytes that cross the wire per byte of payload.
//!
//! `cargo bench -p sockette-core --bench deflate`

use std::hint::black_box;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput};
use sockette_core::{ClientConfig, Connection, DeflateConfig, Event, ServerConfig};

/// JSON ticks, as a market-data feed sends them, `size` bytes long.
fn json(size: usize) -> String {
    let mut out = String::with_capacity(size + 128);
    let mut i = 0u64;
    while out.len() < size {
        out.push_str(&format!(
            r#"{{"seq":{i},"symbol":"EUR-USD","bid":1.08{:02},"ask":1.08{:02},"size":{}}},"#,
            i % 97,
            (i + 3) % 97,
            100 + i % 13
        ));
        i += 1;
    }
    out.truncate(size);
    out
}

fn open_pair(deflate: Option<DeflateConfig>) -> (Connection, Connection) {
    let now = Instant::now();
    let mut client_config = ClientConfig::new("ws://127.0.0.1/").unwrap();
    let mut server_config = ServerConfig::new();
    if let Some(d) = deflate {
        client_config = client_config.deflate(d);
        server_config = server_config.deflate(d);
    }
    let mut client = Connection::client(client_config, now).unwrap();
    let mut server = Connection::server(server_config, now).unwrap();
    move_bytes(&mut client, &mut server, now);
    assert!(matches!(server.poll_event(), Some(Event::Open(_))));
    move_bytes(&mut server, &mut client, now);
    assert!(matches!(client.poll_event(), Some(Event::Open(_))));
    (client, server)
}

/// Moves what `from` transmits to `to`; returns the byte count.
fn move_bytes(from: &mut Connection, to: &mut Connection, now: Instant) -> usize {
    let mut moved = 0;
    while let Some(bytes) = from.poll_transmit() {
        let n = bytes.len();
        to.handle_input(now, bytes);
        from.advance_transmit(n);
        moved += n;
    }
    moved
}

/// One message from client to server: returns the wire bytes it took.
fn one_message(client: &mut Connection, server: &mut Connection, text: &str) -> usize {
    client.send_text(text).unwrap();
    let moved = move_bytes(client, server, Instant::now());
    match server.poll_event() {
        Some(Event::Message(m)) => {
            black_box(m.len());
        }
        other => panic!("{other:?}"),
    }
    moved
}

fn bench(c: &mut Criterion) {
    let modes = [
        ("plain", None),
        ("deflate", Some(DeflateConfig::default())),
        (
            "deflate-no-takeover",
            Some(
                DeflateConfig::default()
                    .client_no_context_takeover(true)
                    .server_no_context_takeover(true),
            ),
        ),
    ];
    let mut ratios = Vec::new();
    for size in [1 << 10, 64 << 10] {
        let text = json(size);
        let mut group = c.benchmark_group(format!("deflate_json_{}k", size >> 10));
        group.throughput(Throughput::Bytes(size as u64));
        for (name, config) in modes {
            let (mut client, mut server) = open_pair(config);
            let wire: usize = (0..16)
                .map(|_| one_message(&mut client, &mut server, &text))
                .sum::<usize>()
                / 16;
            ratios.push((size, name, wire as f64 / size as f64));
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter(|| one_message(&mut client, &mut server, &text))
            });
        }
        group.finish();
    }
    println!("\nwire bytes per payload byte (client -> server, steady state):");
    for (size, name, ratio) in ratios {
        println!("  {:>3} KiB JSON, {name:<20} {ratio:.3}", size >> 10);
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .configure_from_args()
        .measurement_time(std::time::Duration::from_secs(2))
        .warm_up_time(std::time::Duration::from_millis(500));
    bench(&mut criterion);
    criterion.final_summary();
}
