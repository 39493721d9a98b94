//! Loopback echo, both sockette backends next to tungstenite 0.30, in one run:
//! sockette-std (`Client`: `send_binary` + `recv_timeout`), sockette-mio
//! (`EventLoop`: `send_binary` + `turn`) and tungstenite's blocking client
//! (over a `TcpStream`, or a rustls `StreamOwned` for `wss://`), each on a
//! dedicated thread of its own, against the same in-process echo server (the
//! core's server role, `sockette_testkit::serve`, one thread per connection),
//! over `ws://` and `wss://` (the very same rustls, ring, on every side; the
//! test CA of `sockette_testkit::pki::Pki`).
//!
//! The cases:
//! - `16B`: ping-pong, one message in flight; round trips per second.
//! - `64KiB`: four messages in flight; payload MB/s (10^6 bytes echoed per
//!   second; each message goes there and back).
//! - `1MiB`: one message in flight; payload MB/s.
//!
//! Besides wall time, each client's CPU time is read from `/proc` (schedstat:
//! nanoseconds on a CPU) as a before/after delta: the client's own thread, plus
//! every thread of the process whose name starts with `sockette-` (any helper
//! thread a backend runs, such as `sockette-resolver`; deltas per thread id).
//! The server shares the
//! machine, so wall time alone would mix its cost in; CPU per message does not.
//!
//! Noise: the three clients of a case stay connected and take turns, one at a
//! time (rounds of `A B C`, the order rotated each round so that none always
//! follows the same one); each ratio against tungstenite is taken within a
//! round, and the table gives its median over the rounds with the min–max
//! spread.
//!
//! Run: `cargo bench -p sockette-tests --bench echo` (about 100 s: 6 cases, 5
//! rounds of 1 s per client). `SOCKETTE_BENCH_ROUNDS` (default 5) and
//! `SOCKETTE_BENCH_CASE_MS` (time per client per round, default 1000) shorten
//! it, e.g. `SOCKETTE_BENCH_ROUNDS=1 SOCKETTE_BENCH_CASE_MS=200`; arguments
//! filter the cases by substring (`cargo bench -p sockette-tests --bench echo
//! -- wss:16B`). A watchdog ends the process if it runs far past its estimate.
//! Linux only for the CPU figures (they read as 0 elsewhere).

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sockette_core::rustls;
use sockette_core::{Bytes, CloseCode, Event as ServerEvent, ServerConfig};
use sockette_testkit::pki::Pki;
use sockette_testkit::serve;

/// (label, size, messages in flight).
const CASES: [(&str, usize, usize); 3] =
    [("16B", 16, 1), ("64KiB", 64 << 10, 4), ("1MiB", 1 << 20, 1)];

/// The longest wait for one echo, the opening or the close before giving up.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ----- the echo server -----

/// An echo server on 127.0.0.1 (the core's server role over blocking std I/O,
/// one thread per connection), `wss://` with `tls`. Its threads are detached:
/// they end with the connections, or with the process.
fn echo_server(tls: Option<Arc<rustls::ServerConfig>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::Builder::new()
        .name("echo-accept".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                // No Nagle on the server either: its echo of a small message
                // must not wait for the client's delayed ACK.
                let _ = stream.set_nodelay(true);
                let config = match &tls {
                    Some(tls) => ServerConfig::new().tls(tls.clone()),
                    None => ServerConfig::new(),
                };
                let _ = thread::Builder::new()
                    .name("echo-server".into())
                    .spawn(move || {
                        serve(
                            stream,
                            config,
                            Duration::from_secs(3600),
                            |conn, event, _| match event {
                                ServerEvent::Message(m) => conn.send(m).is_ok(),
                                _ => true,
                            },
                        );
                    });
            }
        })
        .unwrap();
    port
}

// ----- CPU time from /proc -----

/// Nanoseconds on a CPU of one task of this process (`.../schedstat`).
fn task_cpu_ns(path: &str) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The calling thread's CPU time, and that of each `sockette-*` thread by id.
struct CpuSnapshot {
    own: u64,
    helpers: HashMap<String, u64>,
}

impl CpuSnapshot {
    fn take() -> CpuSnapshot {
        let own = task_cpu_ns("/proc/thread-self/schedstat");
        let mut helpers = HashMap::new();
        if let Ok(tasks) = fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let dir = task.path();
                let name = fs::read_to_string(dir.join("comm")).unwrap_or_default();
                if name.starts_with("sockette-") {
                    let ns = task_cpu_ns(&dir.join("schedstat").to_string_lossy());
                    helpers.insert(task.file_name().to_string_lossy().into_owned(), ns);
                }
            }
        }
        CpuSnapshot { own, helpers }
    }

    /// CPU nanoseconds spent since `before`, per thread (a helper thread that
    /// started in between counts whole; one that ended in between is lost, and
    /// none of ours ends while its connection is open).
    fn since(&self, before: &CpuSnapshot) -> u64 {
        let helpers: u64 = self
            .helpers
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(before.helpers.get(tid).copied().unwrap_or(0)))
            .sum();
        self.own.saturating_sub(before.own) + helpers
    }
}

// ----- the clients -----

/// One connected client, driven by the thread that made it.
trait EchoClient {
    /// Sends one binary message.
    fn send(&mut self, data: &[u8]);
    /// Waits for the next echo; its length.
    fn recv(&mut self) -> usize;
    /// The close handshake, waiting for its end.
    fn close(self: Box<Self>);
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Std,
    Mio,
    Tungstenite,
}

const KINDS: [Kind; 3] = [Kind::Std, Kind::Mio, Kind::Tungstenite];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Std => "sockette-std",
            Kind::Mio => "sockette-mio",
            Kind::Tungstenite => "tungstenite",
        }
    }

    /// The client thread's name: never `sockette-*`, which would count twice.
    fn thread_name(self) -> &'static str {
        match self {
            Kind::Std => "bench-std",
            Kind::Mio => "bench-mio",
            Kind::Tungstenite => "bench-tungstenite",
        }
    }

    fn connect(self, url: &str, port: u16, ca_pem: &str) -> Box<dyn EchoClient> {
        match self {
            Kind::Std => Box::new(StdClient::connect(url, ca_pem)),
            Kind::Mio => Box::new(MioClient::connect(url, ca_pem)),
            Kind::Tungstenite => tungstenite_connect(url, port, ca_pem),
        }
    }
}

struct StdClient(sockette_std::Client);

impl StdClient {
    fn connect(url: &str, ca_pem: &str) -> StdClient {
        let client = sockette_std::Client::builder(url)
            .add_root_certificates_pem(ca_pem.as_bytes())
            .without_default_roots()
            .connect_timeout(IO_TIMEOUT)
            .connect()
            .unwrap_or_else(|e| panic!("sockette-std: connecting to {url}: {e}"));
        StdClient(client)
    }
}

impl EchoClient for StdClient {
    fn send(&mut self, data: &[u8]) {
        self.0.send_binary(data).expect("sockette-std: send");
    }

    fn recv(&mut self) -> usize {
        match self.0.recv_timeout(IO_TIMEOUT) {
            Ok(Some(message)) => message.len(),
            Ok(None) => panic!("sockette-std: no echo within {IO_TIMEOUT:?}"),
            Err(e) => panic!("sockette-std: {e}"),
        }
    }

    fn close(mut self: Box<Self>) {
        let _ = self.0.close(CloseCode::Normal, "");
        let _ = self.0.run(|_, _| {});
    }
}

struct MioClient {
    event_loop: sockette_mio::EventLoop,
    token: sockette_mio::mio::Token,
    /// Lengths of the echoes received and not yet taken by `recv`.
    echoes: VecDeque<usize>,
}

impl MioClient {
    fn connect(url: &str, ca_pem: &str) -> MioClient {
        let config = sockette_mio::ClientConfig::new(url)
            .unwrap()
            .add_root_certificates_pem(ca_pem.as_bytes())
            .unwrap()
            .without_default_roots();
        let mut event_loop = sockette_mio::EventLoop::new().unwrap();
        let token = event_loop
            .connect_with(config)
            .unwrap_or_else(|e| panic!("sockette-mio: connecting to {url}: {e}"));
        let mut client = MioClient {
            event_loop,
            token,
            echoes: VecDeque::new(),
        };
        let mut open = false;
        client.turn_until("the opening", |event| {
            if let sockette_mio::Event::Open(_) = event {
                open = true;
            }
            open
        });
        client
    }

    /// Turns the loop until `done` says so (it sees every event but echoes,
    /// which are queued), failing on an error or after `IO_TIMEOUT`.
    fn turn_until(&mut self, what: &str, mut done: impl FnMut(&sockette_mio::Event) -> bool) {
        let deadline = Instant::now() + IO_TIMEOUT;
        let MioClient {
            event_loop, echoes, ..
        } = self;
        let mut finished = false;
        while !finished {
            let wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                panic!("sockette-mio: {what} took over {IO_TIMEOUT:?}");
            }
            event_loop
                .turn(Some(wait), |_, event| {
                    match &event {
                        sockette_mio::Event::Message(m) => echoes.push_back(m.len()),
                        sockette_mio::Event::Error(e) => panic!("sockette-mio: {e}"),
                        _ => {}
                    }
                    finished |= done(&event);
                })
                .expect("sockette-mio: poll");
        }
    }
}

impl EchoClient for MioClient {
    fn send(&mut self, data: &[u8]) {
        self.event_loop
            .send_binary(self.token, data)
            .expect("sockette-mio: send");
    }

    fn recv(&mut self) -> usize {
        if let Some(n) = self.echoes.pop_front() {
            return n;
        }
        self.turn_until("an echo", |event| match event {
            sockette_mio::Event::Message(_) => true,
            sockette_mio::Event::Close(info) => panic!("sockette-mio: closed: {info:?}"),
            _ => false,
        });
        self.echoes.pop_front().unwrap()
    }

    fn close(mut self: Box<Self>) {
        let _ = self
            .event_loop
            .close(self.token, sockette_mio::CloseCode::Normal, "");
        let deadline = Instant::now() + IO_TIMEOUT;
        while !self.event_loop.is_empty() && Instant::now() < deadline {
            let _ = self
                .event_loop
                .turn(Some(Duration::from_millis(100)), |_, _| {});
        }
    }
}

struct TungsteniteClient<S: Read + Write> {
    ws: tungstenite::WebSocket<S>,
    /// The message, built once: a clone of `Bytes` is a reference count.
    payload: Option<Bytes>,
}

fn tungstenite_connect(url: &str, port: u16, ca_pem: &str) -> Box<dyn EchoClient> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_nodelay(true).unwrap(); // as both sockette backends do
                                    // Blocking I/O: a stall fails the bench instead of hanging it.
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    if url.starts_with("wss://") {
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = rustls::ClientConnection::new(tungstenite_rustls(ca_pem), name).unwrap();
        let stream = rustls::StreamOwned::new(tls, tcp);
        let (ws, _) = tungstenite::client(url, stream).expect("tungstenite: handshake");
        Box::new(TungsteniteClient { ws, payload: None })
    } else {
        let (ws, _) = tungstenite::client(url, tcp).expect("tungstenite: handshake");
        Box::new(TungsteniteClient { ws, payload: None })
    }
}

/// The test CA only, over ring: what the sockette clients get.
fn tungstenite_rustls(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls::pki_types::pem::PemObject::from_pem_slice(ca_pem.as_bytes()).unwrap();
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

impl<S: Read + Write> EchoClient for TungsteniteClient<S> {
    fn send(&mut self, data: &[u8]) {
        let payload = match &self.payload {
            Some(p) if p.as_ref() == data => p.clone(),
            _ => self.payload.insert(Bytes::copy_from_slice(data)).clone(),
        };
        self.ws
            .send(tungstenite::Message::Binary(payload))
            .expect("tungstenite: send");
    }

    fn recv(&mut self) -> usize {
        loop {
            match self.ws.read().expect("tungstenite: read") {
                tungstenite::Message::Binary(b) => break b.len(),
                tungstenite::Message::Text(t) => break t.len(),
                _ => {}
            }
        }
    }

    fn close(mut self: Box<Self>) {
        let _ = self.ws.close(None);
        while self.ws.read().is_ok() {}
    }
}

// ----- measuring -----

/// One client's run of one round.
#[derive(Clone, Copy)]
struct Sample {
    messages: u64,
    wall: Duration,
    cpu_ns: u64,
}

impl Sample {
    fn per_second(&self) -> f64 {
        self.messages as f64 / self.wall.as_secs_f64()
    }

    fn cpu_per_message(&self) -> f64 {
        self.cpu_ns as f64 / self.messages.max(1) as f64
    }
}

/// Echoes of `data` with `window` messages in flight until `time` passes
/// (then waits for the ones in flight).
fn measure(client: &mut dyn EchoClient, data: &[u8], window: usize, time: Duration) -> Sample {
    let cpu0 = CpuSnapshot::take();
    let start = Instant::now();
    for _ in 0..window {
        client.send(data);
    }
    let mut in_flight = window;
    let mut messages = 0;
    while in_flight > 0 {
        assert_eq!(client.recv(), data.len(), "an echo of another length");
        in_flight -= 1;
        messages += 1;
        if start.elapsed() < time {
            client.send(data);
            in_flight += 1;
        }
    }
    let wall = start.elapsed();
    let cpu_ns = CpuSnapshot::take().since(&cpu0);
    Sample {
        messages,
        wall,
        cpu_ns,
    }
}

/// A client on its thread: connects, warms up, reports ready, then measures a
/// round at each `Some(time)` and closes at `None`.
struct Worker {
    kind: Kind,
    rounds: Sender<Option<Duration>>,
    samples: Receiver<Sample>,
    thread: JoinHandle<()>,
}

impl Worker {
    fn start(
        kind: Kind,
        url: &str,
        port: u16,
        ca_pem: &str,
        case: (usize, usize),
        warm: Duration,
    ) -> Worker {
        let (rounds, round_rx) = mpsc::channel::<Option<Duration>>();
        let (sample_tx, samples) = mpsc::channel();
        let (url, ca_pem) = (url.to_owned(), ca_pem.to_owned());
        let (size, window) = case;
        let thread = thread::Builder::new()
            .name(kind.thread_name().into())
            .spawn(move || {
                let data: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
                let mut client = kind.connect(&url, port, &ca_pem);
                let first = measure(&mut *client, &data, window, warm);
                if sample_tx.send(first).is_err() {
                    return;
                }
                while let Ok(Some(time)) = round_rx.recv() {
                    // A short warm-up after waiting for the other clients.
                    measure(&mut *client, &data, window, (time / 20).min(warm));
                    if sample_tx
                        .send(measure(&mut *client, &data, window, time))
                        .is_err()
                    {
                        return;
                    }
                }
                client.close();
            })
            .unwrap();
        Worker {
            kind,
            rounds,
            samples,
            thread,
        }
    }

    fn sample(&self) -> Sample {
        self.samples
            .recv()
            .unwrap_or_else(|_| panic!("the {} client failed", self.kind.label()))
    }

    fn round(&self, time: Duration) -> Sample {
        self.rounds.send(Some(time)).unwrap();
        self.sample()
    }

    fn stop(self) {
        let _ = self.rounds.send(None);
        if self.thread.join().is_err() {
            panic!("the {} client failed while closing", self.kind.label());
        }
    }
}

// ----- reporting -----

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn number(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1} k", x / 1e3)
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Whole nanoseconds, digits grouped by three: `1 539 056`.
fn nanos(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// "median (min–max)" of per-round ratios.
fn ratio_cell(ratios: &[f64]) -> String {
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if ratios.len() == 1 {
        format!("{lo:.2}×")
    } else {
        format!("{:.2}× ({lo:.2}–{hi:.2})", median(ratios.to_vec()))
    }
}

/// One case's samples: `samples[round][kind]`.
struct CaseResult {
    name: String,
    size: usize,
    window: usize,
    samples: Vec<[Sample; 3]>,
}

impl CaseResult {
    fn throughput(&self, s: &Sample) -> f64 {
        if self.size <= 1024 {
            s.per_second()
        } else {
            s.per_second() * self.size as f64 / 1e6
        }
    }

    fn unit(&self) -> &'static str {
        if self.size <= 1024 {
            "round trips/s"
        } else {
            "MB/s"
        }
    }

    fn rows(&self) -> [String; 2] {
        let unit = self.unit();
        let tung = KINDS.len() - 1;
        let median_of = |k: usize, f: &dyn Fn(&Sample) -> f64| {
            median(self.samples.iter().map(|r| f(&r[k])).collect())
        };
        let column = |k: usize, f: &dyn Fn(&Sample) -> f64| number(median_of(k, f));
        let ns_column = |k: usize, f: &dyn Fn(&Sample) -> f64| nanos(median_of(k, f));
        let ratio = |k: usize, f: &dyn Fn(&Sample) -> f64| {
            let ratios: Vec<f64> = self
                .samples
                .iter()
                .map(|r| f(&r[k]) / f(&r[tung]))
                .collect();
            ratio_cell(&ratios)
        };
        let throughput = |s: &Sample| self.throughput(s);
        let cpu = |s: &Sample| s.cpu_per_message();
        let case = format!("{} ×{}", self.name, self.window);
        [
            format!(
                "| {case} | {unit} | {} | {} | {} | {} | {} |",
                column(0, &throughput),
                column(1, &throughput),
                column(2, &throughput),
                ratio(0, &throughput),
                ratio(1, &throughput),
            ),
            format!(
                "| {case} | CPU ns/msg | {} | {} | {} | {} | {} |",
                ns_column(0, &cpu),
                ns_column(1, &cpu),
                ns_column(2, &cpu),
                ratio(0, &cpu),
                ratio(1, &cpu),
            ),
        ]
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: not a whole number")),
        Err(_) => default,
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds = env_u64("SOCKETTE_BENCH_ROUNDS", 5).max(1) as usize;
    let time = Duration::from_millis(env_u64("SOCKETTE_BENCH_CASE_MS", 1000).max(10));
    let warm = (time / 5).clamp(Duration::from_millis(20), Duration::from_millis(200));

    let cases: Vec<(&str, &str, usize, usize)> = ["ws", "wss"]
        .into_iter()
        .flat_map(|scheme| CASES.map(|(label, size, window)| (scheme, label, size, window)))
        .filter(|(scheme, label, ..)| {
            let name = format!("{scheme}:{label}");
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();

    // The watchdog: half as long again as the estimate (rounds, warm-ups), plus
    // 20 s for connecting and closing; under 3 min with the defaults.
    let per_case = (time + (time / 20).min(warm)) * (3 * rounds) as u32 + warm * 3;
    let estimate = per_case * cases.len() as u32;
    let limit = estimate * 3 / 2 + Duration::from_secs(20);
    thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            thread::sleep(limit);
            eprintln!("echo bench: still running after {limit:?}; giving up");
            std::process::exit(2);
        })
        .unwrap();

    let pki = Pki::new("sockette bench CA");
    let ca_pem = pki.ca_pem();
    let ws_port = echo_server(None);
    let wss_port = echo_server(Some(pki.server_tls()));
    println!(
        "echo bench: {} cases, {rounds} round(s) of {time:?} per client, about {:.0} s",
        cases.len(),
        estimate.as_secs_f64()
    );

    let started = Instant::now();
    let mut results = Vec::new();
    for (scheme, label, size, window) in cases {
        let port = if scheme == "ws" { ws_port } else { wss_port };
        let url = format!("{scheme}://127.0.0.1:{port}/echo");
        let workers: Vec<Worker> = KINDS
            .iter()
            .map(|&kind| Worker::start(kind, &url, port, &ca_pem, (size, window), warm))
            .collect();
        // Connected and warmed up in parallel; measured one at a time from here.
        for w in &workers {
            w.sample();
        }
        let mut result = CaseResult {
            name: format!("{scheme}:// {label}"),
            size,
            window,
            samples: Vec::new(),
        };
        for round in 0..rounds {
            let mut got = [None; 3];
            for i in 0..KINDS.len() {
                let k = (round + i) % KINDS.len();
                got[k] = Some(workers[k].round(time));
            }
            let got = got.map(Option::unwrap);
            let line: Vec<String> = KINDS
                .iter()
                .zip(&got)
                .map(|(kind, s)| {
                    format!(
                        "{} {} {}, {} CPU ns/msg",
                        kind.label(),
                        number(result.throughput(s)),
                        result.unit(),
                        nanos(s.cpu_per_message())
                    )
                })
                .collect();
            println!(
                "{} ×{window} round {}: {}",
                result.name,
                round + 1,
                line.join("; ")
            );
            result.samples.push(got);
        }
        for w in workers {
            w.stop();
        }
        results.push(result);
    }

    println!(
        "\n{rounds} round(s) of {time:?} per client and case, in {:.0} s; client CPU = \
         its thread + every `sockette-*` thread; ratios within a round against \
         tungstenite: median (min–max)\n",
        started.elapsed().as_secs_f64()
    );
    println!("| case ×in flight | metric | sockette-std | sockette-mio | tungstenite | std ÷ tungstenite | mio ÷ tungstenite |");
    println!("|---|---|---|---|---|---|---|");
    for r in &results {
        for row in r.rows() {
            println!("{row}");
        }
    }
}
