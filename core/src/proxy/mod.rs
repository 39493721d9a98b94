//! The proxy stage: everything between the TCP connection to the proxy and
//! the tunnel to the server, before TLS with the server and the WebSocket
//! upgrade. [`config`] parses the proxy URL; [`http_connect`] and [`socks5`]
//! speak the two protocols; [`ProxyStage`] is the one the connection runs
//! (the TLS with an `https://` proxy and the tunnel's plumbing are the
//! connection's transport, `connection/proxied.rs`).

mod config;
mod error;
mod http_connect;
mod socks5;

pub use config::{Proxy, ProxyScheme, ProxyUrlError};
pub use error::{ProxyError, ProxyErrorKind, ProxyStep, SocksReply};

use crate::config_error::ConfigError;
use crate::url::WsUrl;
use http_connect::HttpConnect;
use socks5::{Destination, Socks5};

/// The negotiation with the proxy, until the tunnel is open.
#[derive(Debug)]
pub(crate) enum ProxyStage {
    Http(HttpConnect),
    Socks5(Socks5),
}

impl ProxyStage {
    /// Starts the negotiation for a tunnel to `server`; its first request goes
    /// to `out`. `max_head`: the bound on an HTTP proxy's answer head.
    pub(crate) fn start(
        proxy: &Proxy,
        server: &WsUrl,
        max_head: usize,
        out: &mut Vec<u8>,
    ) -> Result<ProxyStage, ConfigError> {
        Ok(match proxy.scheme() {
            ProxyScheme::Http | ProxyScheme::Https => ProxyStage::Http(HttpConnect::start(
                proxy,
                server.host(),
                server.port(),
                max_head,
                out,
            )),
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
                let destination = if let Ok(address) = server.host().parse() {
                    Destination::Address(address)
                } else if proxy.scheme() == ProxyScheme::Socks5h {
                    Destination::Name(server.host().to_string())
                } else {
                    match proxy.resolved_destination() {
                        Some(address) => Destination::Address(address),
                        None => Destination::Unresolved(server.host().to_string()),
                    }
                };
                ProxyStage::Socks5(Socks5::start(proxy, destination, server.port(), out)?)
            }
        })
    }

    /// The step whose answer is awaited.
    pub(crate) fn step(&self) -> ProxyStep {
        match self {
            ProxyStage::Http(_) => ProxyStep::HttpConnect,
            ProxyStage::Socks5(socks) => socks.step(),
        }
    }

    /// Takes bytes from the proxy; the next request, if any, goes to `out`.
    /// `Ok(Some(rest))`: the tunnel is open, `rest` is its first bytes.
    pub(crate) fn read(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<Vec<u8>>, ProxyErrorKind> {
        match self {
            ProxyStage::Http(http) => http.read(data),
            ProxyStage::Socks5(socks) => socks.read(data, out),
        }
    }

    /// The server's host name, when the caller must resolve it (`socks5://`).
    pub(crate) fn unresolved_destination(&self) -> Option<&str> {
        match self {
            ProxyStage::Socks5(socks) => socks.unresolved(),
            ProxyStage::Http(_) => None,
        }
    }

    /// The server's address, resolved by the caller (`socks5://`).
    pub(crate) fn resolve_destination(&mut self, address: std::net::IpAddr) {
        if let ProxyStage::Socks5(socks) = self {
            socks.resolve(address);
        }
    }

    /// Why the negotiation failed when the proxy closed before it ended.
    pub(crate) fn error_at_end(&mut self) -> ProxyErrorKind {
        match self {
            ProxyStage::Http(http) => http.error_at_end(),
            ProxyStage::Socks5(socks) => socks.error_at_end(),
        }
    }
}
