//! Loopback echo through backend-std: the sockette-std client next to
//! tungstenite 0.30's client, against the same in-process echo server (the core's
//! server role on a thread), over `ws://` and `wss://` (rustls with ring on both
//! clients and the server: the very same rustls crate).
//!
//! Small messages measure round trips per second, large ones payload bytes per
//! second (each message goes there and back). Besides wall time, the client's own
//! CPU time is read from `/proc` (schedstat, nanoseconds on a CPU): for sockette
//! the owner thread plus its `sockette-reader` and `sockette-writer` threads, for
//! tungstenite the one thread that drives it. The server shares the machine, so
//! wall time alone would mix its cost in.
//!
//! `cargo bench -p sockette-std --bench echo` (a plain bench binary, no criterion:
//! criterion measures one thread's wall time).

#[path = "../tests/support/mod.rs"]
mod support;

use std::fs;
use std::hint::black_box;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sockette_core::rustls;
use sockette_core::ServerConfig;
use sockette_std::{Client, CloseCode};
use sockette_testkit::pki::Pki;
use support::{echo_server, echo_server_with};

/// How long each case runs (after a short warm-up).
const CASE_TIME: Duration = Duration::from_millis(1500);

/// (label, size): round trips for the small one, bandwidth for the large ones.
const SIZES: [(&str, usize); 3] = [("16B", 16), ("64KiB", 64 << 10), ("1MiB", 1 << 20)];

/// Nanoseconds on a CPU of one task of this process (`/proc/.../schedstat`).
fn task_cpu_ns(path: &str) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of the calling thread, then of every thread of this process whose
/// name starts with `sockette-` (the std backend's reader and writer).
fn client_cpu_ns() -> [u64; 2] {
    let own = task_cpu_ns("/proc/thread-self/schedstat");
    let mut helpers = 0;
    if let Ok(tasks) = fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let dir = task.path();
            let name = fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if name.starts_with("sockette-") {
                helpers += task_cpu_ns(&dir.join("schedstat").to_string_lossy());
            }
        }
    }
    [own, helpers]
}

struct Outcome {
    messages: u64,
    wall: Duration,
    /// The driving thread's CPU time plus the helper threads'.
    cpu: Duration,
    /// The helper threads' part of `cpu`.
    helpers: Duration,
}

/// Round trips of `data` through `echo` until `CASE_TIME` passes.
fn measure(data: &[u8], mut echo: impl FnMut(&[u8]) -> usize) -> Outcome {
    let warm_until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < warm_until {
        assert_eq!(echo(data), data.len());
    }
    let cpu0 = client_cpu_ns();
    let start = Instant::now();
    let mut messages = 0;
    while start.elapsed() < CASE_TIME {
        for _ in 0..8 {
            assert_eq!(black_box(echo(data)), data.len());
        }
        messages += 8;
    }
    let wall = start.elapsed();
    let cpu1 = client_cpu_ns();
    let helpers = Duration::from_nanos(cpu1[1] - cpu0[1]);
    Outcome {
        messages,
        wall,
        cpu: Duration::from_nanos(cpu1[0] - cpu0[0]) + helpers,
        helpers,
    }
}

fn sockette(url: &str, pki: &Pki, data: &[u8]) -> Outcome {
    let mut client = Client::builder(url)
        .add_root_certificates_pem(pki.ca_pem().as_bytes())
        .without_default_roots()
        .connect()
        .unwrap();
    let outcome = measure(data, |data| {
        client.send_binary(data).unwrap();
        let reply = client.recv_timeout(Duration::from_secs(10)).unwrap();
        reply.expect("an echo").len()
    });
    client.close(CloseCode::Normal, "").unwrap();
    let _ = client.run(|_, _| {});
    outcome
}

fn tungstenite_rustls(pki: &Pki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls::pki_types::pem::PemObject::from_pem_slice(pki.ca_pem().as_bytes()).unwrap();
    roots.add(ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn tungstenite_echo<S: std::io::Read + std::io::Write>(
    mut ws: tungstenite::WebSocket<S>,
    data: &[u8],
) -> Outcome {
    let payload = sockette_core::Bytes::copy_from_slice(data);
    let outcome = measure(data, |_| {
        // Built once: a clone of Bytes is a reference count, not a copy.
        ws.send(tungstenite::Message::Binary(payload.clone()))
            .unwrap();
        loop {
            match ws.read().unwrap() {
                tungstenite::Message::Binary(b) => break b.len(),
                tungstenite::Message::Text(t) => break t.len(),
                _ => {}
            }
        }
    });
    let _ = ws.close(None);
    while ws.read().is_ok() {}
    outcome
}

fn tungstenite(url: &str, port: u16, pki: &Pki, data: &[u8]) -> Outcome {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_nodelay(true).unwrap(); // as sockette-std does
    if url.starts_with("wss://") {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = rustls::ClientConnection::new(tungstenite_rustls(pki), name).unwrap();
        let stream = rustls::StreamOwned::new(tls, tcp);
        let (ws, _) = tungstenite::client(url, stream).unwrap();
        tungstenite_echo(ws, data)
    } else {
        let (ws, _) = tungstenite::client(url, tcp).unwrap();
        tungstenite_echo(ws, data)
    }
}

fn rate(x: f64, unit: &str) -> String {
    if x >= 1e9 {
        format!("{:.2} G{unit}", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} M{unit}", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k{unit}", x / 1e3)
    } else {
        format!("{x:.1} {unit}")
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries with no `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // Other arguments filter the cases, e.g. `-- ws:16B` (scheme:size substrings).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let pki = Pki::new("sockette bench CA");
    let (ws_server, _ws_events) = echo_server();
    let server_tls = pki.server_tls();
    let (wss_server, _wss_events) =
        echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));

    println!("| scheme | size | client | msgs/s (round trips) | payload B/s | client CPU per msg (helper threads) | CPU/wall |");
    println!("|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (scheme, port) in [("ws", ws_server.port), ("wss", wss_server.port)] {
        let url = format!("{scheme}://localhost:{port}/echo");
        for (label, size) in SIZES {
            let case = format!("{scheme}:{label}");
            if !filters.is_empty() && !filters.iter().any(|f| case.contains(f.as_str())) {
                continue;
            }
            let data: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
            let results = [
                ("sockette", sockette(&url, &pki, &data)),
                ("tungstenite", tungstenite(&url, port, &pki, &data)),
            ];
            for (who, o) in &results {
                let per_s = o.messages as f64 / o.wall.as_secs_f64();
                let cpu_per_msg = o.cpu.as_secs_f64() / o.messages as f64;
                let helpers_per_msg = o.helpers.as_secs_f64() / o.messages as f64;
                println!(
                    "| {scheme}:// | {label} | {who} | {} | {} | {:.2} µs ({:.2} µs) | {:.0}% |",
                    rate(per_s, "msg/s"),
                    rate(per_s * size as f64, "B/s"),
                    cpu_per_msg * 1e6,
                    helpers_per_msg * 1e6,
                    100.0 * o.cpu.as_secs_f64() / o.wall.as_secs_f64(),
                );
            }
            let [(_, s), (_, t)] = &results;
            let throughput = (s.messages as f64 / s.wall.as_secs_f64())
                / (t.messages as f64 / t.wall.as_secs_f64());
            let cpu = (s.cpu.as_secs_f64() / s.messages as f64)
                / (t.cpu.as_secs_f64() / t.messages as f64);
            ratios.push(format!(
                "| {scheme}:// | {label} | {throughput:.2}x | {cpu:.2}x |"
            ));
        }
    }
    println!("\n| scheme | size | throughput sockette/tungstenite | client CPU per msg sockette/tungstenite |");
    println!("|---|---|---|---|");
    for line in ratios {
        println!("{line}");
    }
}
