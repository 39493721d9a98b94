//! Shared by the loopback tests: the client side of the test PKI (testkit's), the
//! echo server, and servers that misbehave on purpose.

// Test support: each test binary uses a part, and `pub` only crosses its modules.
#![allow(dead_code, unreachable_pub)]

pub mod server;

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use sockette_mio::ClientConfig;
pub use sockette_testkit::pki::Pki;

/// The client side of a [`Pki`]'s server.
pub trait WssClient {
    /// A client configuration for `wss://localhost:port/path` trusting this CA only.
    fn client(&self, port: u16, path: &str) -> ClientConfig;
}

impl WssClient for Pki {
    fn client(&self, port: u16, path: &str) -> ClientConfig {
        ClientConfig::new(&format!("wss://localhost:{port}{path}"))
            .unwrap()
            .add_root_certificates_pem(self.ca_pem().as_bytes())
            .unwrap()
            .without_default_roots()
    }
}

/// A port where nothing listens (bound, then released).
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A server that accepts and then never says a word; holds the sockets for
/// `hold`.
pub fn silent_server(hold: Duration) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        std::thread::sleep(hold);
        drop(socket);
    });
    (addr, thread)
}

/// A server that accepts, waits for the client's first bytes and closes without
/// reading them: the kernel answers with a reset.
pub fn resetting_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut probe = [0u8; 1];
        let _ = socket.peek(&mut probe);
        drop(socket); // unread data: RST
    });
    (addr, thread)
}

/// The soft limit on open files (`ulimit -n`), from /proc/self/limits.
pub fn soft_fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX) // not Linux: let the test try
}
