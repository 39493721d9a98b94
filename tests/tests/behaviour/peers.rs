//! The peers the scenarios talk to, all on loopback, all stopping by
//! themselves: an echo server on the core's server role (testkit's `serve`),
//! plain or TLS, that obeys a few text commands; a server that accepts TCP and
//! never answers; a port where nothing listens. (The Python `websockets` echo
//! server is the testkit's `PythonEchoServer`.)

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sockette_core::{rustls, CloseCode, Event as ServerEvent, ServerConfig};
use sockette_testkit::serve;

/// How long a peer serves one connection at most.
const SERVE_AT_MOST: Duration = Duration::from_secs(10);

/// A listener on 127.0.0.1 whose connections each get the handler on a thread
/// of their own. Dropping it stops accepting, tells the handlers to stop and
/// joins every thread.
pub(crate) struct Peer {
    pub(crate) port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Peer {
    fn start(handler: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let stop = stop.clone();
            let handler = Arc::new(handler);
            thread::spawn(move || {
                let mut workers = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            let (handler, stop) = (handler.clone(), stop.clone());
                            workers.push(thread::spawn(move || handler(stream, &stop)));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                }
                for worker in workers {
                    let _ = worker.join();
                }
            })
        };
        Peer {
            port,
            stop,
            accept: Some(accept),
        }
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub(crate) fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// `wss://localhost:<port><path>`.
    pub(crate) fn wss_url(&self, path: &str) -> String {
        format!("wss://localhost:{}{path}", self.port)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// What the echo server does after a command that ends its part.
enum Then {
    /// Drops the TCP connection, no close frame: the client reads the end of
    /// the stream.
    Drop,
    /// Waits for the client's next bytes and closes without reading them: the
    /// kernel answers with a reset.
    Reset,
}

/// An echo server on the core's server role, over TLS with `tls`. Echoes
/// every message, except these text commands:
/// - `close:CODE:REASON`: starts the close handshake with that code and reason;
/// - `drop`: drops the TCP connection at once, without a close frame;
/// - `reset`: answers `resetting`, then resets the TCP connection as soon as
///   the client sends anything more.
pub(crate) fn echo(tls: Option<Arc<rustls::ServerConfig>>) -> Peer {
    echo_pausing(tls, Duration::ZERO)
}

/// [`echo`], reading nothing for `pause` once the connection is open: what
/// the client sends meanwhile fills the sockets' buffers, then its own.
pub(crate) fn echo_pausing(tls: Option<Arc<rustls::ServerConfig>>, pause: Duration) -> Peer {
    Peer::start(move |stream, _stop| {
        let config = match &tls {
            Some(tls) => ServerConfig::new().tls(tls.clone()),
            None => ServerConfig::new(),
        };
        let mut then = None;
        let (_conn, stream) = serve(stream, config, SERVE_AT_MOST, |conn, event, _| {
            if let ServerEvent::Open(_) = event {
                thread::sleep(pause);
            }
            let ServerEvent::Message(m) = event else {
                return true;
            };
            match m.as_text() {
                Some(command) if command.starts_with("close:") => {
                    let (code, reason) = command["close:".len()..].split_once(':').unwrap();
                    let code = CloseCode::from(code.parse::<u16>().unwrap());
                    conn.close(Instant::now(), code, reason).unwrap();
                }
                Some("drop") => {
                    then = Some(Then::Drop);
                    return false;
                }
                Some("reset") => {
                    conn.send_text("resetting").unwrap();
                    then = Some(Then::Reset);
                    return false;
                }
                _ => conn.send(m).unwrap(),
            }
            true
        });
        match then {
            Some(Then::Drop) | None => drop(stream),
            Some(Then::Reset) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut probe = [0u8; 1];
                let _ = stream.peek(&mut probe);
                drop(stream); // unread bytes: RST
            }
        }
    })
}

/// Accepts TCP connections and never says a word, holding them until dropped.
pub(crate) fn silent() -> Peer {
    Peer::start(|stream, stop| {
        while !stop.load(Ordering::Acquire) {
            thread::sleep(Duration::from_millis(10));
        }
        drop(stream);
    })
}

/// A loopback port nothing listens on (bound, then released).
pub(crate) fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
