//! [`SocketOptions`]: how the TCP socket is set up before it connects, and
//! [`Transport`], a stream the caller connected (TCP or a Unix socket).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mio::net::TcpStream;
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};

use crate::stream::Stream;

/// Options of the TCP socket a connection opens.
///
/// ```
/// use std::time::Duration;
/// use sockette_driver::SocketOptions;
///
/// let options = SocketOptions::new()
///     .tcp_keepalive(Duration::from_secs(60))
///     .local_addr("127.0.0.1".parse()?);
/// assert!(options.nodelay_enabled());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    nodelay: bool,
    tcp_keepalive: Option<Duration>,
    local_addr: Option<SocketAddr>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions::new()
    }
}

impl SocketOptions {
    /// `TCP_NODELAY` on (small frames go out at once; WebSocket does its own
    /// batching), no TCP keepalive (the WebSocket keepalive pings instead),
    /// any local address.
    pub fn new() -> SocketOptions {
        SocketOptions {
            nodelay: true,
            tcp_keepalive: None,
            local_addr: None,
        }
    }

    /// Sets `TCP_NODELAY` (on by default).
    pub fn nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }

    /// Turns TCP keepalive on (`SO_KEEPALIVE`), its first probe after `idle`
    /// of silence: the operating system's own check that the peer is there,
    /// beside the WebSocket keepalive.
    pub fn tcp_keepalive(mut self, idle: Duration) -> Self {
        self.tcp_keepalive = Some(idle);
        self
    }

    /// Binds the socket to this local address before connecting (port 0:
    /// any port). Only the server's addresses of the same family are tried.
    pub fn local_addr(mut self, ip: IpAddr) -> Self {
        self.local_addr = Some(SocketAddr::new(ip, 0));
        self
    }

    /// Binds to this local address and port before connecting.
    pub fn local_socket_addr(mut self, addr: SocketAddr) -> Self {
        self.local_addr = Some(addr);
        self
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay_enabled(&self) -> bool {
        self.nodelay
    }

    /// Starts a non-blocking connect to `addr` with these options.
    pub(crate) fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        if let Some(local) = self.local_addr {
            if local.is_ipv4() != addr.is_ipv4() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "not tried: the local address {} is of the other family",
                        local.ip()
                    ),
                ));
            }
        }
        if self.local_addr.is_none() && self.tcp_keepalive.is_none() {
            return TcpStream::connect(addr);
        }
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        if let Some(idle) = self.tcp_keepalive {
            socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
        }
        if let Some(local) = self.local_addr {
            socket
                .bind(&local.into())
                .map_err(|e| io::Error::new(e.kind(), format!("cannot bind to {local}: {e}")))?;
        }
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if in_progress(&e) => {}
            Err(e) => return Err(e),
        }
        Ok(TcpStream::from_std(socket.into()))
    }

    /// Applies what applies once connected (`TCP_NODELAY`).
    pub(crate) fn apply_connected(&self, stream: &TcpStream) {
        let _ = stream.set_nodelay(self.nodelay);
    }
}

/// A non-blocking connect under way (`EINPROGRESS`).
fn in_progress(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::EINPROGRESS)
}

/// A stream the caller connected (blocking or not: it is made non-blocking),
/// for a connection over it instead of one the backend opens.
#[derive(Debug)]
pub enum Transport {
    /// A connected TCP socket.
    Tcp(std::net::TcpStream),
    /// A connected Unix domain socket.
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

impl From<std::net::TcpStream> for Transport {
    fn from(stream: std::net::TcpStream) -> Self {
        Transport::Tcp(stream)
    }
}

#[cfg(unix)]
impl From<std::os::unix::net::UnixStream> for Transport {
    fn from(stream: std::os::unix::net::UnixStream) -> Self {
        Transport::Unix(stream)
    }
}

impl Transport {
    /// The stream, made non-blocking, for a session.
    pub fn into_stream(self) -> io::Result<Stream> {
        match self {
            Transport::Tcp(stream) => {
                stream.set_nonblocking(true)?;
                Ok(Stream::Tcp(TcpStream::from_std(stream)))
            }
            #[cfg(unix)]
            Transport::Unix(stream) => {
                stream.set_nonblocking(true)?;
                Ok(Stream::Unix(mio::net::UnixStream::from_std(stream)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_connect_uses_the_local_address_and_keepalive() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let options = SocketOptions::new()
            .tcp_keepalive(Duration::from_secs(30))
            .local_addr("127.0.0.1".parse().unwrap());
        let stream = options.connect(server).unwrap();
        let (accepted, from) = listener.accept().unwrap();
        assert_eq!(stream.local_addr().unwrap(), from);
        let socket = socket2::SockRef::from(&stream);
        assert!(socket.keepalive().unwrap(), "SO_KEEPALIVE set");
        drop(accepted);
        let v6 = "[::1]:9".parse().unwrap();
        let error = options.connect(v6).unwrap_err();
        assert!(error.to_string().contains("other family"), "{error}");
    }
}
