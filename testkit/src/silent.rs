//! A TCP address that never answers a connect, on loopback: a listener with a
//! backlog of zero whose one queue slot is taken and never accepted, so the
//! kernel drops every further SYN (the connect hangs, as towards a host that
//! went silent).

use std::net::{SocketAddr, TcpStream};

use socket2::{Domain, Socket, Type};

/// Keeps the silent address silent while alive.
pub struct SilentAddr {
    _listener: Socket,
    _filler: TcpStream,
    addr: SocketAddr,
}

impl SilentAddr {
    /// A new silent address on 127.0.0.1.
    pub fn new() -> SilentAddr {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
        let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        listener.bind(&any.into()).expect("bind");
        listener.listen(0).expect("listen");
        let addr = listener
            .local_addr()
            .expect("its address")
            .as_socket()
            .expect("an IP address");
        let filler = TcpStream::connect(addr).expect("the one queue slot");
        SilentAddr {
            _listener: listener,
            _filler: filler,
            addr,
        }
    }

    /// The address: connects to it neither succeed nor fail.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Default for SilentAddr {
    fn default() -> Self {
        SilentAddr::new()
    }
}
