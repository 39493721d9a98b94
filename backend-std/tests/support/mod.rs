//! Test support: a WebSocket server on loopback driven by the project's own server
//! role (`sockette_core::Connection::server`) with blocking std I/O, raw TCP
//! misbehaving servers, and a watchdog that bounds every test in time.
#![allow(dead_code, unreachable_pub)] // each test file uses a part of it

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sockette_core::{CloseCode, Event, ServerConfig};
use sockette_testkit::serve;

/// Runs `f` on its own thread and fails the test if it takes longer than `secs`.
pub fn bounded<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!(),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {secs} s"),
    }
}

/// A listener on 127.0.0.1 whose accepted connections each get `handler` on a
/// thread of their own. Dropping it stops accepting and joins every thread.
pub struct TestServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> TestServer {
        TestServer::start_on("127.0.0.1:0", handler)
    }

    pub fn start_on(addr: &str, handler: impl Fn(TcpStream) + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind(addr).unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handler = Arc::new(handler);
        let accept = thread::spawn(move || {
            let mut workers = Vec::new();
            while !stop2.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let handler = handler.clone();
                        workers.push(thread::spawn(move || handler(stream)));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        TestServer {
            port,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

/// An echo server on the core's server role. Text commands change its
/// behaviour: `close:CODE:REASON` makes it start the close handshake. Every
/// event it sees is forwarded on the returned channel.
pub fn echo_server() -> (TestServer, Receiver<Event>) {
    echo_server_with(ServerConfig::new)
}

pub fn echo_server_with(
    config: impl Fn() -> ServerConfig + Send + Sync + 'static,
) -> (TestServer, Receiver<Event>) {
    let (tx, rx) = mpsc::channel::<Event>();
    let tx = std::sync::Mutex::new(tx);
    let server = TestServer::start(move |stream| {
        let events: Sender<Event> = tx.lock().unwrap().clone();
        let conn = serve(
            stream,
            config(),
            Duration::from_secs(60),
            |conn, event, _| {
                if let Event::Message(m) = event {
                    match m.as_bytes().strip_prefix(b"close:") {
                        Some(cmd) => {
                            let cmd = std::str::from_utf8(cmd).unwrap();
                            let (code, reason) = cmd.split_once(':').unwrap();
                            let code = CloseCode::from(code.parse::<u16>().unwrap());
                            conn.close(Instant::now(), code, reason).unwrap();
                        }
                        None => conn.send(m).unwrap(),
                    }
                }
                let _ = events.send(event.clone());
                true
            },
        );
        drop(conn);
    });
    (server, rx)
}

/// The server's events up to and including its `Close` (at most 10 s).
pub fn until_close(events: &Receiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(event) = events.recv_timeout(Duration::from_secs(10)) {
        let last = matches!(event, Event::Close(_));
        out.push(event);
        if last {
            break;
        }
    }
    out
}

/// Reads the client's HTTP request head (up to the blank line).
pub fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    head
}

/// Closes a stream with a TCP reset: unread data in the receive buffer makes
/// the kernel answer the close with RST.
pub fn reset(stream: TcpStream) {
    let mut probe = [0u8; 1];
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.peek(&mut probe);
    drop(stream);
}

/// Shuts both directions down.
pub fn hang_up(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}
