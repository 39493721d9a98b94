//! The core's server role over a blocking `TcpStream` (or `UnixStream`): the
//! driver of the test servers on loopback (the backends' and the CLI's tests).

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A blocking stream a test server reads with a timeout.
pub trait BlockingStream: Read + Write {
    /// As `TcpStream::set_read_timeout`.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl BlockingStream for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

#[cfg(unix)]
impl BlockingStream for std::os::unix::net::UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
}

use sockette_core::{Connection, Event, ServerConfig};

/// Drives a server-role connection over a blocking stream until it closes, `max`
/// passes, or `on_event` returns false, calling `on_event` for each event (it may
/// answer through the connection or write raw bytes to the stream). Returns the
/// connection and the stream, still open.
pub fn serve<S: BlockingStream>(
    mut stream: S,
    config: ServerConfig,
    max: Duration,
    mut on_event: impl FnMut(&mut Connection, &Event, &mut S) -> bool,
) -> (Connection, S) {
    let end = Instant::now() + max;
    let mut conn = Connection::server(config, Instant::now()).unwrap();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if !write_all(&mut conn, &mut stream) {
            conn.handle_eof(Instant::now());
        }
        if conn.is_closed() || Instant::now() >= end {
            break;
        }
        let now = Instant::now();
        let wait = conn
            .poll_timeout()
            .map_or(Duration::from_millis(50), |t| {
                t.saturating_duration_since(now)
            })
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        stream.set_read_timeout(Some(wait)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.handle_input(Instant::now(), &buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => conn.handle_eof(Instant::now()),
        }
        conn.handle_timeout(Instant::now());
        while let Some(event) = conn.poll_event() {
            if !on_event(&mut conn, &event, &mut stream) {
                write_all(&mut conn, &mut stream);
                return (conn, stream);
            }
        }
    }
    (conn, stream)
}

/// Writes all of `conn`'s output; false if the stream refused it.
fn write_all(conn: &mut Connection, stream: &mut impl Write) -> bool {
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len();
        if stream.write_all(bytes).is_err() {
            return false;
        }
        conn.advance_transmit(n);
    }
    true
}

/// Reads a blocking stream until an HTTP head and at least `more` bytes past it have arrived:
/// (the head, what was read past it).
pub fn read_head_and(stream: &mut TcpStream, more: usize) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let end = end + 4;
            if buf.len() >= end + more {
                let head = String::from_utf8(buf[..end].to_vec()).unwrap();
                return (head, buf[end..].to_vec());
            }
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the peer ended the stream during the upgrade");
        buf.extend_from_slice(&chunk[..n]);
    }
}
