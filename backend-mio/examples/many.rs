//! N WebSocket connections in one client thread ([`EventLoop`]) against a local
//! echo server that this example starts in a child process (so the client's
//! memory and file descriptors are its own). Prints the time to open all, the
//! echo rate with every connection busy, and the memory per idle connection
//! (VmRSS delta / N, from /proc/self/status).
//!
//! ```sh
//! cargo run --release -p sockette-mio --example many            # N = 10,000 (capped by `ulimit -n`)
//! cargo run --release -p sockette-mio --example many -- 2000
//! cargo run --release -p sockette-mio --example many -- --wss   # over TLS (a self-signed certificate)
//! ```
//!
//! Each connection needs one file descriptor in the client and one in the server
//! process; N is capped to the soft limit (`ulimit -n`) minus a margin. Raise the
//! limit in the shell (`ulimit -n 20000`) for more.

#[path = "../tests/support/server.rs"]
mod server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sockette_mio::{ClientConfig, CloseCode, Event, EventLoop};

/// Connections opening at once (the rest wait their turn): keeps the server's
/// accept queue from overflowing, which would cost SYN retransmits of 1 s.
const OPENING_WINDOW: usize = 1000;
/// How long every connection keeps echoing for the throughput figure.
const ECHO_PHASE: Duration = Duration::from_secs(3);
const MESSAGE: &str = "sockette many: 32 bytes of text!";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wss = args.iter().any(|a| a == "--wss");
    if args.iter().any(|a| a == "--server") {
        return run_server(wss);
    }
    let fd_limit = soft_fd_limit();
    let wanted: usize = match args.iter().find(|a| !a.starts_with("--")) {
        Some(n) => n.parse()?,
        None => 10_000,
    };
    let n = wanted.min(fd_limit.saturating_sub(64));
    if n < wanted {
        println!("file limit {fd_limit}: using N = {n} instead of {wanted} (raise `ulimit -n`)");
    }

    // The server: this same program with --server, in a child process.
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--server")
        .args(wss.then_some("--wss"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut from_child = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    from_child.read_line(&mut line)?;
    let addr: SocketAddr = line.trim().parse()?;
    // Over TLS the child then prints its certificate, which the client trusts.
    let mut cert_pem = String::new();
    while wss && !cert_pem.contains("-----END CERTIFICATE-----") {
        if from_child.read_line(&mut cert_pem)? == 0 {
            return Err("the server printed no certificate".into());
        }
    }
    let scheme = if wss { "wss" } else { "ws" };
    let url = format!("{scheme}://{addr}/many");
    let config = || -> Result<ClientConfig, Box<dyn std::error::Error>> {
        let config = ClientConfig::new(&url)?;
        Ok(if wss {
            config.add_root_certificates_pem(cert_pem.as_bytes())?
        } else {
            config
        })
    };

    let mut event_loop = EventLoop::new()?;
    // Warm-up: one connection, so the per-thread read buffer and the loop's own
    // allocations are in the baseline.
    event_loop.connect_addr(config()?, addr)?;
    event_loop.run(|ws, event| match event {
        Event::Open(_) => {
            let _ = ws.close(CloseCode::Normal, "");
        }
        Event::Error(e) => panic!("warm-up failed: {e}"),
        _ => {}
    })?;
    let rss_before = rss_kib();

    // 1. Open N connections.
    let start = Instant::now();
    let (mut started, mut opened, mut failed) = (0usize, 0usize, 0usize);
    while opened + failed < n {
        while started < n && started - opened - failed < OPENING_WINDOW {
            event_loop.connect_addr(config()?, addr)?;
            started += 1;
        }
        event_loop.turn(Some(Duration::from_millis(100)), |_, event| match event {
            Event::Open(_) => opened += 1,
            Event::Error(e) => {
                failed += 1;
                eprintln!("a connection failed: {e}");
            }
            _ => {}
        })?;
    }
    let open_time = start.elapsed();
    // Let things settle, then measure the idle connections: memory, and CPU over
    // one idle second (the loop should sleep in epoll the whole time).
    event_loop.turn(Some(Duration::from_millis(200)), |_, _| {})?;
    let rss_open = rss_kib();
    let (cpu_before, idle_start) = (cpu_ticks(), Instant::now());
    let mut idle_events = 0usize;
    while idle_start.elapsed() < Duration::from_secs(1) {
        event_loop.turn(
            Some(Duration::from_secs(1) - idle_start.elapsed()),
            |_, _| idle_events += 1,
        )?;
    }
    let idle_cpu_ms = (cpu_ticks() - cpu_before) * 10; // 100 ticks per second on Linux

    // 2. Every connection echoes as fast as it can.
    let tokens: Vec<_> = (0..n + 1).map(mio::Token).collect();
    for &token in &tokens {
        let _ = event_loop.send_text(token, MESSAGE);
    }
    let mut echoes = 0u64;
    let echo_start = Instant::now();
    while echo_start.elapsed() < ECHO_PHASE {
        event_loop.turn(Some(Duration::from_millis(50)), |ws, event| {
            if let Event::Message(m) = event {
                echoes += 1;
                let _ = ws.send(&m);
            }
        })?;
    }
    let echo_time = echo_start.elapsed();
    let rss_busy = rss_kib();

    // 3. Close them all.
    let close_start = Instant::now();
    for &token in &tokens {
        let _ = event_loop.close(token, CloseCode::Normal, "bye");
    }
    let mut clean = 0usize;
    while !event_loop.is_empty() {
        event_loop.turn(Some(Duration::from_millis(100)), |_, event| {
            if let Event::Close(info) = event {
                clean += usize::from(info.was_clean);
            }
        })?;
    }
    let close_time = close_start.elapsed();
    drop(child.stdin.take()); // the server exits when its stdin closes
    let _ = child.wait();

    let per_conn = |rss: u64| (rss.saturating_sub(rss_before) as f64 * 1024.0) / n as f64;
    println!("connections:           {n} ({scheme}:// on loopback, one client thread, server in a child process)");
    println!("opened:                {opened} in {open_time:.2?} ({failed} failed)");
    println!(
        "echo round trips:      {echoes} in {echo_time:.2?} = {:.0} messages/s ({}-byte text, every connection busy)",
        echoes as f64 / echo_time.as_secs_f64(),
        MESSAGE.len()
    );
    println!(
        "memory per idle conn:  {:.0} bytes (VmRSS {rss_before} KiB -> {rss_open} KiB)",
        per_conn(rss_open)
    );
    println!(
        "memory per busy conn:  {:.0} bytes (VmRSS {rss_busy} KiB)",
        per_conn(rss_busy)
    );
    println!("idle second:           {idle_cpu_ms} ms of CPU, {idle_events} events");
    println!("closed cleanly:        {clean} in {close_time:.2?}");
    Ok(())
}

/// The child: an echo server on an ephemeral port, printed on stdout, until stdin
/// closes.
fn run_server(wss: bool) -> Result<(), Box<dyn std::error::Error>> {
    let (tls, cert_pem) = if wss {
        let (leaf, pem) = sockette_testkit::pki::self_signed(&["127.0.0.1"]);
        (Some(sockette_testkit::pki::server_tls(leaf)), pem)
    } else {
        (None, String::new())
    };
    let server = server::EchoServer::start(tls);
    println!("{}", server.addr);
    print!("{cert_pem}");
    std::io::stdout().flush()?;
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
    Ok(())
}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The soft limit on open files (`ulimit -n`), from /proc/self/limits.
fn soft_fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// User + system CPU time of this process, in clock ticks (/proc/self/stat).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}
