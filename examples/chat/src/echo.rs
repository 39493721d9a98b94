//! The embedded echo server, for a chat with no URL: the core's server role
//! (driven over a blocking `TcpStream` by sockette-testkit's `serve`, as the
//! tests' servers are) on a free loopback port, one thread per connection,
//! every message sent back as it came.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use sockette_core::{Event, ServerConfig};
use sockette_testkit::serve;

/// Longest a connection is served; far longer than a demo runs.
const MAX_SESSION: Duration = Duration::from_secs(24 * 60 * 60);

/// After a failed accept (out of file descriptors...), a pause, so a lasting
/// failure does not spin a core.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Starts the server on 127.0.0.1 and a port the system picks; returns its
/// address. Its threads are not joined: they end with the process, which is
/// when the chat no longer needs them.
pub(crate) fn start() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("echo-accept".into())
        .spawn(move || accept(&listener))?;
    Ok(addr)
}

/// Accepts forever, each connection on a thread of its own.
fn accept(listener: &TcpListener) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let spawned = thread::Builder::new()
                    .name("echo".into())
                    .spawn(move || echo(stream));
                // No thread to be had: dropping the stream hangs up on that
                // client, and the next may fare better.
                drop(spawned);
            }
            Err(_) => thread::sleep(ACCEPT_PAUSE),
        }
    }
}

/// Serves one connection until it closes: each message goes back as it came
/// (text stays text, binary binary).
fn echo(stream: TcpStream) {
    let _ = serve(
        stream,
        ServerConfig::new(),
        MAX_SESSION,
        |conn, event, _| {
            if let Event::Message(message) = event {
                // Refused only once the connection is closing or over, when there
                // is no one left to echo to.
                let _ = conn.send(message);
            }
            true
        },
    );
}
