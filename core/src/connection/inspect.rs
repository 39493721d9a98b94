//! What a caller can read about a connection without changing it.

use std::net::IpAddr;

use crate::config::{Limits, Timeouts};
use crate::error::Error;
use crate::proxy::Proxy;
use crate::send_cost::SendCost;
use crate::stats::Stats;
use crate::url::WsUrl;

use super::{Connection, Phase, Role, State};

impl Connection {
    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The URL a client connects to (`None` for a server).
    pub fn url(&self) -> Option<&WsUrl> {
        self.url.as_ref()
    }

    /// The browser's `readyState`.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::ClientHandshake {
                close_queued: true, ..
            } => State::Closing,
            Phase::ClientHandshake { .. } | Phase::ServerHandshake(_) => State::Connecting,
            Phase::Open { .. } => State::Open,
            Phase::Closing { .. } => State::Closing,
            Phase::Closed { .. } => State::Closed,
        }
    }

    /// True once the last event has been queued: flush `poll_transmit`, then shut
    /// the transport down.
    ///
    /// After [`handle_eof`](Self::handle_eof) or a TLS close_notify, frames still
    /// buffered are decoded as [`poll_event`](Self::poll_event) asks for them, so
    /// the connection is closed once its events have been polled: poll until
    /// `poll_event` returns `None`, and it is then closed.
    #[inline]
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed { .. })
    }

    /// The error that failed the connection, once a failure closed it: the
    /// cause every later command returns in
    /// [`CommandError::Closed`](crate::CommandError::Closed). `None` before the
    /// end and after a close.
    #[must_use]
    pub fn failure(&self) -> Option<&Error> {
        match &self.phase {
            Phase::Closed { cause } => cause.as_deref(),
            _ => None,
        }
    }

    /// Bytes queued for the peer and not yet written (the browser's
    /// `bufferedAmount`), including messages held until the handshake completes.
    #[inline]
    pub fn buffered_amount(&self) -> usize {
        self.outbox.unwritten().len() + self.phase.early_len() + self.transport.pending()
    }

    /// True for a `wss://` connection (or a server role configured with TLS).
    pub fn is_tls(&self) -> bool {
        self.transport.is_tls()
    }

    /// True while a `wss://` connection is still in its TLS handshake (lets a
    /// backend say which step of the opening failed).
    pub fn is_tls_handshaking(&self) -> bool {
        self.transport.is_handshaking()
    }

    /// Messages and bytes both ways, the compression ratio and the latest ping's
    /// round-trip time, so far.
    pub fn stats(&self) -> Stats {
        self.stats.snapshot()
    }

    /// The memory limits the connection was configured with (a backend bounds
    /// its own queues by the same `max_buffered_output`).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The deadlines the connection was configured with (a backend names the
    /// opening's in its errors).
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// How many bytes of [`Limits::max_buffered_output`] each command reserves:
    /// the formula this connection checks commands with, for a queue in front
    /// of it to count the same way.
    pub fn send_cost(&self) -> SendCost {
        self.writer.send_cost()
    }

    /// The proxy this connection goes through
    /// ([`ClientConfig::proxy`](crate::ClientConfig::proxy)): the transport
    /// connects to its host and port.
    pub fn proxy(&self) -> Option<&Proxy> {
        self.transport.proxied().map(|p| p.proxy())
    }

    /// True while the proxy's tunnel is being opened (lets a backend say that
    /// the proxy step failed).
    pub fn is_proxying(&self) -> bool {
        self.transport.proxied().is_some_and(|p| p.is_negotiating())
    }

    /// The server's host name to resolve and give to
    /// [`resolve_proxy_destination`](Self::resolve_proxy_destination), for a
    /// `socks5://` proxy that was not given the address
    /// ([`Proxy::destination_address`]) and a URL with a host name.
    pub fn proxy_destination_to_resolve(&self) -> Option<&str> {
        self.transport
            .proxied()
            .and_then(|p| p.unresolved_destination())
    }

    /// The server's address, for a `socks5://` proxy: sent to it in place of
    /// the name. Give it before the proxy's first answer is read; without it
    /// the connection fails with
    /// [`ProxyErrorKind::Unresolved`](crate::ProxyErrorKind::Unresolved) when
    /// the request is due.
    pub fn resolve_proxy_destination(&mut self, address: IpAddr) {
        if let Some(proxied) = self.transport.proxied_mut() {
            proxied.resolve_destination(address);
        }
    }

    /// Moves what was sent before the opening completed (messages, pings, a
    /// close queued behind them) from `from`, a client whose opening failed
    /// (a redirect), to this client, still opening: what the caller was told
    /// was accepted goes out on the connection that opens. Frames queued
    /// before the opening are neither compressed nor tied to a connection, so
    /// they are valid on any. Does nothing unless this client is in its
    /// opening handshake.
    pub fn take_queued_before_open(&mut self, from: &mut Connection) {
        let Phase::ClientHandshake {
            early,
            close_queued,
            ..
        } = &mut self.phase
        else {
            return;
        };
        if let Some((theirs, their_close)) = from.unsent_before_open.take() {
            early.extend_from_slice(&theirs);
            *close_queued |= their_close;
        }
    }

    /// True once the peer ended its TLS session with close_notify.
    pub fn tls_close_notify_received(&self) -> bool {
        self.transport.peer_closed()
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("buffered_amount", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}
