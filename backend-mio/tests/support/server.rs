//! A WebSocket echo server for tests and examples: sockette-core's server role
//! (over rustls when given a TLS configuration) in its own mio loop, on its own
//! thread. Deliberately written apart from the client backend, so the two do not
//! share a driver. Every text and binary message is echoed; the close is answered.

// Test support: each test binary uses a part, and `pub` only crosses its modules.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use sockette_core::rustls;
use sockette_core::{Connection, Event, ServerConfig};

const LISTENER: Token = Token(0);
const STOP: Token = Token(1);

/// What the server saw, readable while it runs.
#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicUsize,
    pub opened: AtomicUsize,
    pub messages: AtomicUsize,
    pub clean_closes: AtomicUsize,
}

/// A running echo server; stopped and joined on drop.
pub struct EchoServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Listens on 127.0.0.1 (an ephemeral port) and serves until dropped.
    pub fn start(tls: Option<Arc<rustls::ServerConfig>>) -> EchoServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), tls)
    }

    pub fn start_on(addr: SocketAddr, tls: Option<Arc<rustls::ServerConfig>>) -> EchoServer {
        let std_listener = std::net::TcpListener::bind(addr).expect("bind");
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let mut listener = TcpListener::from_std(std_listener);
        let poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), STOP).unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let thread = {
            let (stop, stats) = (stop.clone(), stats.clone());
            std::thread::Builder::new()
                .name("echo-server".into())
                .spawn(move || serve(poll, listener, tls, &stop, &stats))
                .unwrap()
        };
        EchoServer {
            addr,
            stats,
            stop,
            waker,
            thread: Some(thread),
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Peer {
    socket: TcpStream,
    core: Connection,
    /// Our side is shut down; reading until the client's end.
    shut: bool,
}

fn serve(
    mut poll: Poll,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: &AtomicBool,
    stats: &Stats,
) {
    let mut events = Events::with_capacity(1024);
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = poll.poll(&mut events, None) {
            assert_eq!(e.kind(), io::ErrorKind::Interrupted, "{e}");
            continue;
        }
        for event in events.iter() {
            match event.token() {
                STOP => {}
                LISTENER => loop {
                    let (mut socket, _) = match listener.accept() {
                        Ok(accepted) => accepted,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => break, // EMFILE and the like: try again on the next event
                    };
                    stats.accepted.fetch_add(1, Ordering::Relaxed);
                    let _ = socket.set_nodelay(true);
                    let mut config = ServerConfig::new();
                    if let Some(tls) = &tls {
                        config = config.tls(tls.clone());
                    }
                    let core = Connection::server(config, Instant::now()).unwrap();
                    let key = free.pop().unwrap_or_else(|| {
                        peers.push(None);
                        peers.len() - 1
                    });
                    poll.registry()
                        .register(
                            &mut socket,
                            Token(key + 2),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .unwrap();
                    let mut peer = Peer {
                        socket,
                        core,
                        shut: false,
                    };
                    if drive(&mut peer, &mut buf, stats) {
                        let _ = poll.registry().deregister(&mut peer.socket);
                        free.push(key);
                        continue;
                    }
                    peers[key] = Some(peer);
                },
                Token(t) => {
                    let key = t - 2;
                    let Some(peer) = peers.get_mut(key).and_then(Option::as_mut) else {
                        continue;
                    };
                    if drive(peer, &mut buf, stats) {
                        let mut peer = peers[key].take().unwrap();
                        let _ = poll.registry().deregister(&mut peer.socket);
                        free.push(key);
                    }
                }
            }
        }
    }
}

/// Reads until `WouldBlock`, echoes, writes; true when the peer is done with.
fn drive(peer: &mut Peer, buf: &mut [u8], stats: &Stats) -> bool {
    let now = Instant::now();
    loop {
        let mut more = false;
        match peer.socket.read(buf) {
            Ok(0) => {
                if peer.shut {
                    return true;
                }
                peer.core.handle_eof(now);
            }
            Ok(n) => {
                more = true;
                if !peer.shut {
                    peer.core.handle_input(now, &buf[..n]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => more = true,
            Err(_) => return true,
        }
        while let Some(event) = peer.core.poll_event() {
            match event {
                Event::Open(_) => {
                    stats.opened.fetch_add(1, Ordering::Relaxed);
                }
                Event::Message(message) => {
                    stats.messages.fetch_add(1, Ordering::Relaxed);
                    let _ = peer.core.send(&message);
                }
                Event::Close(info) if info.was_clean => {
                    stats.clean_closes.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        while let Some(bytes) = peer.core.poll_transmit() {
            match peer.socket.write(bytes) {
                Ok(n) => peer.core.advance_transmit(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        if peer.core.is_closed() && peer.core.poll_transmit().is_none() && !peer.shut {
            let _ = peer.socket.shutdown(Shutdown::Write);
            peer.shut = true;
            more = true;
        }
        if !more {
            return false;
        }
    }
}
