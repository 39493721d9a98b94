//! The embedded echo server: sockette-core's server role over `std::net`, with TLS
//! inside the core when given a rustls configuration. One thread accepts, one
//! thread per connection echoes every message back.
//!
//! Bounded: at most [`MAX_CONNECTIONS`] at once (more are hung up on), limits on
//! message size and queued output, an opening deadline, an idle deadline.
//! [`EchoServer::shutdown`] (or dropping the server) stops accepting, closes every
//! connection with 1001 and joins every thread.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sockette_core::{
    rustls, CloseCode, Connection, DeflateConfig, Event, Limits, Message, ServerConfig, Timeouts,
};

/// Connections served at once; the next ones are hung up on.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// Largest message echoed (larger fails the connection with 1009).
const MAX_MESSAGE: usize = 16 << 20;
/// A connection silent this long is closed with 1001.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// A write blocked this long (a client that stopped reading) ends the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the accept loop and idle connections look at the stop flag.
const POLL: Duration = Duration::from_millis(5);
/// Longest wait in one read, so a connection notices the stop flag soon.
const READ_SLICE: Duration = Duration::from_millis(50);

/// Something that happened on one of the server's connections, for a log.
#[derive(Debug)]
pub(crate) struct ServerEvent {
    /// The connection's number, from 1.
    pub(crate) id: u64,
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// What happened: `open`, `message`, `close`, `error` or `refused`.
    pub(crate) kind: &'static str,
    /// The details, in words.
    pub(crate) detail: String,
}

/// Where the server reports its connections' events (called on their threads).
pub(crate) type Log = Arc<dyn Fn(ServerEvent) + Send + Sync>;

/// A running echo server.
pub(crate) struct EchoServer {
    addr: SocketAddr,
    secure: bool,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Binds `addr` (port 0: a free port) and starts serving, over TLS with `tls`.
    pub(crate) fn start(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        log: Option<Log>,
    ) -> io::Result<EchoServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let secure = tls.is_some();
        let acceptor = Acceptor {
            listener,
            tls,
            log,
            stop: stop.clone(),
            workers: Vec::new(),
            next_id: AtomicU64::new(1),
        };
        let accept = thread::Builder::new()
            .name("echo-accept".into())
            .spawn(move || acceptor.run())?;
        Ok(EchoServer {
            addr,
            secure,
            stop,
            accept: Some(accept),
        })
    }

    /// The address listened on.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of `path` on this server (`ws://` or `wss://`).
    pub(crate) fn url(&self, path: &str) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Stops accepting, closes the open connections with 1001 and waits for every
    /// thread.
    pub(crate) fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The accepting thread's state.
struct Acceptor {
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    log: Option<Log>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    next_id: AtomicU64,
}

impl Acceptor {
    fn run(mut self) {
        while !self.stop.load(Ordering::Acquire) {
            match self.listener.accept() {
                Ok((stream, peer)) => self.spawn(stream, peer),
                Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Out of descriptors and the like: wait for connections to end.
                Err(_) => thread::sleep(POLL * 20),
            }
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }

    fn spawn(&mut self, stream: TcpStream, peer: SocketAddr) {
        self.workers.retain(|w| !w.is_finished());
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let log = self.log.clone();
        let report = move |kind, detail: String| {
            if let Some(log) = &log {
                log(ServerEvent {
                    id,
                    peer,
                    kind,
                    detail,
                });
            }
        };
        if self.workers.len() >= MAX_CONNECTIONS {
            report(
                "refused",
                format!("more than {MAX_CONNECTIONS} connections"),
            );
            return; // dropping the stream hangs up
        }
        let tls = self.tls.clone();
        let stop = self.stop.clone();
        let worker = thread::Builder::new()
            .name(format!("echo-{id}"))
            .spawn(move || serve(stream, tls, &stop, report));
        // Without a thread, the stream was dropped with the closure: hung up.
        if let Ok(worker) = worker {
            self.workers.push(worker);
        }
    }
}

/// The server role's settings: small limits and short deadlines.
fn config(tls: Option<Arc<rustls::ServerConfig>>) -> ServerConfig {
    let limits = Limits::default()
        .max_frame_size(MAX_MESSAGE)
        .max_message_size(MAX_MESSAGE)
        .max_buffered_output(2 * MAX_MESSAGE);
    let timeouts = Timeouts::default()
        .handshake(Duration::from_secs(10))
        .close(Duration::from_secs(2));
    // The demo server accepts permessage-deflate, as real servers commonly do.
    let config = ServerConfig::new()
        .limits(limits)
        .timeouts(timeouts)
        .deflate(DeflateConfig::default());
    match tls {
        Some(tls) => config.tls(tls),
        None => config,
    }
}

/// Echoes on one connection until it is closed.
fn serve(
    mut stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: &AtomicBool,
    report: impl Fn(&'static str, String),
) {
    // The core reads no clock: rustls' time (client certificates) comes from here.
    let config = config(tls).wall_clock(std::time::SystemTime::now());
    let Ok(mut conn) = Connection::server(config, Instant::now()) else {
        return;
    };
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    // A client that stops reading cannot hold this thread past the deadline.
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut buf = vec![0u8; 64 << 10];
    let mut last_input = Instant::now();
    let mut closing = false;
    loop {
        if !flush(&mut conn, &mut stream) {
            conn.handle_eof(Instant::now());
        }
        if conn.is_closed() {
            // Deliver the last events (the close) before leaving.
            drain_events(&mut conn, &report);
            break;
        }
        let now = Instant::now();
        if !closing && stop.load(Ordering::Acquire) {
            closing = true;
            let _ = conn.close(now, CloseCode::GoingAway, "server shutting down");
            continue;
        }
        if !closing && now.duration_since(last_input) >= IDLE_TIMEOUT {
            closing = true;
            let _ = conn.close(now, CloseCode::GoingAway, "idle timeout");
            continue;
        }
        let wait = conn
            .poll_timeout()
            .map_or(READ_SLICE, |t| t.saturating_duration_since(now))
            .clamp(Duration::from_millis(1), READ_SLICE);
        let _ = stream.set_read_timeout(Some(wait));
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => {
                last_input = Instant::now();
                conn.handle_input(last_input, &buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => conn.handle_eof(Instant::now()),
        }
        conn.handle_timeout(Instant::now());
        closing |= drain_events(&mut conn, &report);
    }
    let _ = flush(&mut conn, &mut stream);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Answers every pending event: echoes messages, reports the rest. Returns true
/// when the server started a close (its output was full).
fn drain_events(conn: &mut Connection, report: &impl Fn(&'static str, String)) -> bool {
    let mut closing = false;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Open(info) => report("open", info.resource),
            Event::Message(message) => {
                report("message", describe(&message));
                if conn.send(&message).is_err() && !closing {
                    closing = true;
                    let now = Instant::now();
                    let _ = conn.close(now, CloseCode::TryAgainLater, "echo backlog full");
                }
            }
            Event::Close(info) => report(
                "close",
                format!(
                    "{} {:?} (clean: {})",
                    info.code.as_u16(),
                    info.reason,
                    info.was_clean
                ),
            ),
            Event::Error(e) => report("error", e.to_string()),
            _ => {} // pings are answered by the core
        }
    }
    closing
}

/// A message in a few words, for the log.
fn describe(message: &Message) -> String {
    match message {
        Message::Text(t) if t.len() <= 80 => format!("text {:?}", t.as_str()),
        Message::Text(t) => format!("text, {} bytes", t.len()),
        // Binary, and any kind a later sockette-core adds.
        other => format!("binary, {} bytes", other.len()),
    }
}

/// Writes what the connection has to send; false when the socket failed.
fn flush(conn: &mut Connection, stream: &mut TcpStream) -> bool {
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len();
        if stream.write_all(bytes).is_err() {
            return false;
        }
        conn.advance_transmit(n);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockette_std::{Client, Event as ClientEvent};

    fn local() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[test]
    fn echoes_and_shuts_down_with_1001() {
        let server = EchoServer::start(local(), None, None).unwrap();
        let mut client = Client::connect(&server.url("/x")).unwrap();
        client.send_text("echo?").unwrap();
        let reply = client.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(reply.unwrap().as_bytes(), b"echo?");
        // Shut down while the client is connected: it hears 1001, threads are joined.
        let client_thread = thread::spawn(move || {
            let mut events = Vec::new();
            client.run(|_, e| events.push(e)).unwrap();
            events
        });
        let started = Instant::now();
        server.shutdown();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let events = client_thread.join().unwrap();
        match events.last() {
            Some(ClientEvent::Close(info)) => {
                assert_eq!(info.code, CloseCode::GoingAway);
                assert!(info.was_clean, "{info:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connections_beyond_the_bound_are_hung_up_on() {
        let (refused_tx, refused) = std::sync::mpsc::channel();
        let log: Log = Arc::new(move |event: ServerEvent| {
            if event.kind == "refused" {
                let _ = refused_tx.send(event.id);
            }
        });
        let server = EchoServer::start(local(), None, Some(log)).unwrap();
        let held: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(server.local_addr()).unwrap())
            .collect();
        // Accepted after the held ones (the accept queue is in order). Served,
        // it would wait for a handshake until the 10 s handshake timeout: the
        // read timeout is shorter, so a served connection fails here instead of
        // passing as an EOF.
        let mut extra = TcpStream::connect(server.local_addr()).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0u8; 1];
        match extra.read(&mut byte) {
            Ok(0) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) => {}
            other => panic!("the connection beyond the bound was not hung up on: {other:?}"),
        }
        let extra_id = u64::try_from(MAX_CONNECTIONS).unwrap() + 1;
        assert_eq!(refused.recv_timeout(Duration::from_secs(5)), Ok(extra_id));
        drop(held);
        drop(server); // joins everything
                      // Only that one was refused.
        assert_eq!(refused.try_iter().count(), 0);
    }
}
