//! Running the built `sockette` binary in tests: every run is bounded in time (the
//! child is killed at the deadline and the test fails), and `--serve` servers are
//! killed when dropped. Also a scriptable one-connection WebSocket peer.
#![allow(dead_code, unreachable_pub)] // each test file uses a part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::{Connection, Event, ServerConfig};
use sockette_testkit::serve;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sockette");

/// What a finished run printed.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Stdout as bytes, for binary output.
    pub stdout_bytes: Vec<u8>,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.status.code().expect("exited normally")
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Runs `sockette ARGS` with no input; fails the test after `secs`.
pub fn sockette(args: &[&str], secs: u64) -> Run {
    sockette_with_input(args, None, secs)
}

/// Runs `sockette ARGS` with `input` on stdin (then end of input), or none.
pub fn sockette_with_input(args: &[&str], input: Option<&str>, secs: u64) -> Run {
    sockette_with_env(args, input, &[], secs)
}

/// Runs `sockette ARGS` with these environment variables set, and `input` on
/// stdin (then end of input), or none.
pub fn sockette_with_env(
    args: &[&str],
    input: Option<&str>,
    env: &[(&str, &std::ffi::OsStr)],
    secs: u64,
) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sockette");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    } // stdin dropped: end of input
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    let status = wait_bounded(&mut child, Duration::from_secs(secs), args);
    let stdout_bytes = stdout.recv().unwrap();
    let stderr_bytes = stderr.recv().unwrap();
    Run {
        status,
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr_bytes).into_owned(),
        stdout_bytes,
    }
}

fn collect(mut stream: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

pub fn wait_bounded(child: &mut Child, limit: Duration, args: &[&str]) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sockette {args:?} did not finish within {limit:?}; killed");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A `sockette --serve 0` process, killed on drop.
pub struct Server {
    child: Child,
    /// The URL from its first line, `listening on URL`.
    pub url: String,
    /// With `--tls`: the certificate file from its second line.
    pub cert: Option<String>,
    _lines: Receiver<String>,
}

impl Server {
    /// Starts `sockette --serve 0 EXTRA...` and reads its address.
    pub fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["--serve", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sockette --serve");
        let lines = read_lines(child.stdout.take().unwrap());
        let first = match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("sockette --serve printed no address within 10 s");
            }
        };
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        let cert = if extra.contains(&"--tls") {
            let line = lines.recv_timeout(Duration::from_secs(10)).unwrap();
            let path = line.strip_prefix("certificate: ").unwrap();
            Some(path.split(' ').next().unwrap().to_string())
        } else {
            None
        };
        Server {
            child,
            url,
            cert,
            _lines: lines,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(cert) = &self.cert {
            let _ = std::fs::remove_file(cert);
        }
    }
}

fn read_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A one-connection WebSocket server on 127.0.0.1 driven by sockette-core's server
/// role, whose behaviour is `on_event` (which may write raw bytes to the stream).
/// Runs until the connection closes or 20 s pass; joined by the returned handle.
pub fn ws_peer(
    on_event: impl FnMut(&mut Connection, &Event, &mut TcpStream) + Send + 'static,
) -> (String, thread::JoinHandle<Vec<Event>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        serve_one(stream, ServerConfig::new(), on_event)
    });
    (url, handle)
}

/// Like [`ws_peer`] with this server configuration (its TLS, for instance), for
/// `connections` connections one after the other; the URL is `wss://localhost:PORT/`.
pub fn wss_peer(
    config: impl Fn() -> ServerConfig + Send + 'static,
    connections: usize,
    mut on_event: impl FnMut(&mut Connection, &Event, &mut TcpStream) + Send + 'static,
) -> (String, thread::JoinHandle<Vec<Vec<Event>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
    let handle = thread::spawn(move || {
        (0..connections)
            .map(|_| {
                let (stream, _) = listener.accept().unwrap();
                serve_one(stream, config(), &mut on_event)
            })
            .collect()
    });
    (url, handle)
}

fn serve_one(
    stream: TcpStream,
    config: ServerConfig,
    mut on_event: impl FnMut(&mut Connection, &Event, &mut TcpStream),
) -> Vec<Event> {
    let mut seen = Vec::new();
    serve(
        stream,
        config,
        Duration::from_secs(20),
        |conn, event, stream| {
            on_event(conn, event, stream);
            seen.push(event.clone());
            true
        },
    );
    seen
}

/// Reads an HTTP request head from `stream`, a byte at a time so that nothing
/// past its blank line is consumed; what the peer closed early leaves it short.
pub fn read_head(stream: &mut impl Read) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    head
}
