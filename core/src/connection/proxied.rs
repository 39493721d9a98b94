//! A transport through a proxy's tunnel. Up to three layers, outermost
//! first: TLS with an `https://` proxy (the *link*), the proxy's
//! negotiation (`CONNECT` or SOCKS5) until the tunnel opens, then TLS with
//! the server for `wss://`. Until the tunnel opens, what the layers above
//! write (the WebSocket request, the server's TLS handshake) is held; the
//! bytes that arrive behind the proxy's last answer are the tunnel's first.

use std::net::IpAddr;
use std::time::Instant;

use crate::proxy::{Proxy, ProxyError, ProxyErrorKind, ProxyStage, ProxyStep};
use crate::tls::{TlsError, TlsErrorKind};

use super::outbox::Outbox;
use super::transport::{Failure, Plaintext, ReadOutcome, Received, Tls};

/// A connection's transport through a proxy.
pub(super) struct Proxied {
    proxy: Proxy,
    /// TLS with the proxy itself (`https://` proxies).
    link: Option<Tls>,
    tunnel: Tunnel,
    /// TLS with the server (`wss://`).
    server: Option<Tls>,
    /// The negotiation's requests, before the link's TLS.
    to_proxy: Vec<u8>,
    /// Bytes for the tunnel (WebSocket bytes, or the server's TLS records)
    /// held until it opens, and while they wait for the link's TLS.
    held: Vec<u8>,
    /// Reused for the plaintext of reads that no server TLS decrypts.
    scratch: Vec<u8>,
}

/// The tunnel to the server.
enum Tunnel {
    /// The proxy is still answering.
    Negotiating(ProxyStage),
    /// Bytes flow to and from the server.
    Open,
}

impl Proxied {
    /// A transport whose negotiation has started: its first request is in
    /// `to_proxy`.
    pub(super) fn new(
        proxy: Proxy,
        stage: ProxyStage,
        to_proxy: Vec<u8>,
        link: Option<Tls>,
        server: Option<Tls>,
    ) -> Proxied {
        Proxied {
            proxy,
            link,
            tunnel: Tunnel::Negotiating(stage),
            server,
            to_proxy,
            held: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub(super) fn is_tls(&self) -> bool {
        self.server.is_some()
    }

    pub(super) fn is_handshaking(&self) -> bool {
        self.server
            .as_ref()
            .is_some_and(|tls| tls.session.is_handshaking())
    }

    pub(super) fn peer_closed(&self) -> bool {
        let closed = |tls: &Option<Tls>| tls.as_ref().is_some_and(|t| t.session.peer_closed());
        closed(&self.link) || closed(&self.server)
    }

    pub(super) fn has_failed(&self) -> bool {
        let failed = |tls: &Option<Tls>| tls.as_ref().is_some_and(|t| t.failed);
        failed(&self.link) || failed(&self.server)
    }

    pub(super) fn pending(&self) -> usize {
        let plain = |tls: &Option<Tls>| tls.as_ref().map_or(0, |t| t.plain.len());
        self.to_proxy.len() + self.held.len() + plain(&self.link) + plain(&self.server)
    }

    /// The step the negotiation is at, while it runs.
    fn step(&self) -> Option<ProxyStep> {
        match &self.tunnel {
            Tunnel::Negotiating(_)
                if self
                    .link
                    .as_ref()
                    .is_some_and(|l| l.session.is_handshaking()) =>
            {
                Some(ProxyStep::Tls)
            }
            Tunnel::Negotiating(stage) => Some(stage.step()),
            Tunnel::Open => None,
        }
    }

    fn error(&self, step: ProxyStep, kind: ProxyErrorKind) -> ProxyError {
        ProxyError::new(self.proxy.to_string(), step, kind)
    }

    /// The proxy gone through.
    pub(super) fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// True until the tunnel is open.
    pub(super) fn is_negotiating(&self) -> bool {
        matches!(self.tunnel, Tunnel::Negotiating(_))
    }

    /// The server's host name, when the caller must resolve it (`socks5://`).
    pub(super) fn unresolved_destination(&self) -> Option<&str> {
        match &self.tunnel {
            Tunnel::Negotiating(stage) => stage.unresolved_destination(),
            Tunnel::Open => None,
        }
    }

    /// The server's address, resolved by the caller (`socks5://`).
    pub(super) fn resolve_destination(&mut self, address: IpAddr) {
        if let Tunnel::Negotiating(stage) = &mut self.tunnel {
            stage.resolve_destination(address);
        }
    }

    /// The transport ended: the proxy's failure if the tunnel had not opened.
    pub(super) fn failure_at_end(&mut self) -> Option<ProxyError> {
        let step = self.step()?;
        let kind = match &mut self.tunnel {
            Tunnel::Negotiating(_) if step == ProxyStep::Tls => ProxyErrorKind::Closed,
            Tunnel::Negotiating(stage) => stage.error_at_end(),
            Tunnel::Open => return None,
        };
        Some(self.error(step, kind))
    }

    /// The opening deadline passed: the proxy's failure if the tunnel had not
    /// opened.
    pub(super) fn timeout(&self) -> Option<ProxyError> {
        let step = self.step()?;
        Some(self.error(step, ProxyErrorKind::TimedOut))
    }

    /// Where WebSocket bytes go: the server's TLS, the wire itself once a
    /// plain tunnel is open, or held.
    #[inline]
    pub(super) fn ws_out<'a>(&'a mut self, outbox: &'a mut Outbox) -> &'a mut Vec<u8> {
        match (&mut self.server, &self.tunnel, &self.link) {
            (Some(server), _, _) => &mut server.plain,
            (None, Tunnel::Open, None) if self.held.is_empty() => outbox.wire(),
            (None, _, _) => &mut self.held,
        }
    }

    /// Moves what is pending through the layers: the negotiation's requests,
    /// and once the tunnel is open, the server's TLS records and the held
    /// bytes, all through the link's TLS when there is one.
    pub(super) fn flush(&mut self, outbox: &mut Outbox) -> Result<(), Failure> {
        let negotiating = matches!(self.tunnel, Tunnel::Negotiating(_));
        if negotiating {
            if let Some(link) = &mut self.link {
                link.plain.append(&mut self.to_proxy);
                let wire = outbox.wire();
                return link.write_to(wire).map_err(|(error, during_handshake)| {
                    self.link_failure(error, during_handshake)
                });
            }
            outbox.wire().append(&mut self.to_proxy);
            return Ok(());
        }
        if let Some(server) = &mut self.server {
            let out = if self.link.is_some() {
                &mut self.held
            } else {
                outbox.wire()
            };
            server
                .write_to(out)
                .map_err(|(error, during_handshake)| Failure::Tls {
                    error,
                    during_handshake,
                })?;
        }
        match &mut self.link {
            Some(link) => {
                link.plain.append(&mut self.held);
                link.write_to(outbox.wire())
                    .map_err(|(error, during_handshake)| self.link_failure(error, during_handshake))
            }
            None => {
                if !self.held.is_empty() {
                    outbox.wire().append(&mut self.held);
                }
                Ok(())
            }
        }
    }

    /// TLS with the proxy failed: always the proxy's failure, at the step the
    /// negotiation was at (its TLS step once the tunnel is open), so the
    /// error names the proxy and not the server.
    fn link_failure(&self, error: TlsError, during_handshake: bool) -> Failure {
        let error = if error.kind() == TlsErrorKind::NotTls {
            TlsError::new(
                TlsErrorKind::NotTls,
                "the proxy answered in plain HTTP on a TLS connection (try an http:// proxy URL)",
            )
        } else {
            error
        };
        let step = match self.step() {
            Some(step) if !during_handshake => step,
            _ => ProxyStep::Tls,
        };
        Failure::Proxy(self.error(step, ProxyErrorKind::Tls(error)))
    }

    /// Ends the sessions after the last bytes: close_notify to the server,
    /// then to the proxy.
    pub(super) fn close(&mut self, outbox: &mut Outbox) {
        if matches!(self.tunnel, Tunnel::Negotiating(_)) {
            // What waited for the tunnel is for the server, never the proxy,
            // and is no longer counted as buffered.
            self.held = Vec::new();
            self.to_proxy = Vec::new();
            if let Some(server) = &mut self.server {
                server.plain = Vec::new();
            }
        }
        if let (Tunnel::Open, Some(server)) = (&self.tunnel, &mut self.server) {
            let out = if self.link.is_some() {
                &mut self.held
            } else {
                outbox.wire()
            };
            server.close_into(out);
        }
        match &mut self.link {
            Some(link) => {
                link.plain.append(&mut self.held);
                link.close_into(outbox.wire());
            }
            None => outbox.wire().append(&mut self.held),
        }
    }

    /// Takes bytes read from the wire: through the link's TLS, to the
    /// negotiation until the tunnel opens, then to the server's TLS.
    pub(super) fn read<'a>(&mut self, now: Instant, data: &'a [u8]) -> Received<'a> {
        let mut decrypted = std::mem::take(&mut self.scratch);
        decrypted.clear();
        let mut peer_closed = false;
        let from_link = match &mut self.link {
            Some(link) => {
                let (_, outcome) = link.read_into(now, data, &mut decrypted);
                match outcome {
                    Err((error, during_handshake)) => {
                        self.scratch = decrypted;
                        return failed(self.link_failure(error, during_handshake));
                    }
                    Ok(closed) => peer_closed = closed,
                }
                true
            }
            None => false,
        };
        // The tunnel's bytes: what the negotiation left over, else what was read.
        let mut rest = None;
        if let Tunnel::Negotiating(stage) = &mut self.tunnel {
            let proxy_bytes = if from_link { &decrypted[..] } else { data };
            match stage.read(proxy_bytes, &mut self.to_proxy) {
                Err(kind) => {
                    let step = stage.step();
                    self.scratch = decrypted;
                    return failed(Failure::Proxy(self.error(step, kind)));
                }
                Ok(None) => {
                    self.scratch = decrypted;
                    return received(Plaintext::Borrowed(&[]), false, peer_closed);
                }
                Ok(Some(leftover)) => {
                    // A request still unsent was answered already (its reply
                    // came in the same read as the one before): it never
                    // goes out, so the verdict does not depend on the cuts.
                    self.to_proxy.clear();
                    self.tunnel = Tunnel::Open;
                    rest = Some(leftover);
                }
            }
        }
        let tunnel_bytes: &[u8] = match (&rest, from_link) {
            (Some(rest), _) => rest,
            (None, true) => &decrypted,
            (None, false) => data,
        };
        if let Some(server) = &mut self.server {
            let mut plaintext = std::mem::take(&mut server.scratch);
            plaintext.clear();
            let (established, outcome) = server.read_into(now, tunnel_bytes, &mut plaintext);
            self.scratch = decrypted;
            return match outcome {
                Err((error, during_handshake)) => Received {
                    plaintext: Plaintext::Scratch(plaintext),
                    established,
                    outcome: ReadOutcome::Failed(Failure::Tls {
                        error,
                        during_handshake,
                    }),
                },
                Ok(closed) => received(
                    Plaintext::Scratch(plaintext),
                    established,
                    peer_closed || closed,
                ),
            };
        }
        let plaintext = match (rest, from_link) {
            (Some(rest), _) => {
                self.scratch = decrypted;
                Plaintext::Scratch(rest)
            }
            (None, true) => Plaintext::Scratch(decrypted),
            (None, false) => {
                self.scratch = decrypted;
                Plaintext::Borrowed(data)
            }
        };
        received(plaintext, false, peer_closed)
    }

    /// Takes back the buffer a read lent.
    pub(super) fn recycle(&mut self, buffer: Vec<u8>) {
        match &mut self.server {
            Some(server) => server.scratch = buffer,
            None => self.scratch = buffer,
        }
    }

    /// The layers, for the log.
    #[cfg(feature = "log")]
    pub(super) fn describe(&self) -> String {
        let server = match &self.server {
            Some(tls) => tls.session.describe(),
            None => "plain".into(),
        };
        format!("{server}, through {}", self.proxy)
    }
}

fn received(plaintext: Plaintext<'_>, established: bool, peer_closed: bool) -> Received<'_> {
    Received {
        plaintext,
        established,
        outcome: if peer_closed {
            ReadOutcome::PeerClosed
        } else {
            ReadOutcome::Open
        },
    }
}

fn failed<'a>(failure: Failure) -> Received<'a> {
    Received {
        plaintext: Plaintext::Borrowed(&[]),
        established: false,
        outcome: ReadOutcome::Failed(failure),
    }
}
