//! What carries the WebSocket bytes: the wire itself (`ws://`), a TLS session
//! over it (`wss://`), or either of them through a proxy's tunnel
//! ([`Proxied`]), behind one interface, so the state machine never asks which.

use std::ops::Deref;
use std::time::Instant;

use crate::proxy::ProxyError;
use crate::tls::{TlsError, TlsSession};

use super::outbox::Outbox;
use super::proxied::Proxied;

/// Plain bytes, TLS records, or a tunnel through a proxy.
pub(super) enum Transport {
    Plain,
    /// Boxed: a rustls session is over a kilobyte, and plain connections
    /// should not carry that space.
    Tls(Box<Tls>),
    /// Through a proxy (boxed for the same reason).
    Proxied(Box<Proxied>),
}

/// A TLS session with its plaintext buffers.
pub(super) struct Tls {
    pub(super) session: TlsSession,
    /// Bytes waiting to be encrypted.
    pub(super) plain: Vec<u8>,
    /// Plaintext just decrypted, reused between reads.
    pub(super) scratch: Vec<u8>,
    /// The session failed (a fatal alert was sent or received): nothing more
    /// goes into rustls, not even close_notify.
    pub(super) failed: bool,
}

/// What one read of transport bytes produced.
pub(super) struct Received<'a> {
    /// The WebSocket bytes in what was read.
    pub(super) plaintext: Plaintext<'a>,
    /// The TLS handshake with the server completed in this read.
    pub(super) established: bool,
    /// How the transport stands after it.
    pub(super) outcome: ReadOutcome,
}

/// The transport after a read.
pub(super) enum ReadOutcome {
    /// Still open.
    Open,
    /// The peer ended its TLS session with close_notify.
    PeerClosed,
    /// The transport failed: nothing more can be read or sent.
    Failed(Failure),
}

/// Why the transport failed.
pub(super) enum Failure {
    /// TLS with the server failed (`during_handshake`: before it was
    /// established).
    Tls {
        error: TlsError,
        during_handshake: bool,
    },
    /// The proxy failed before the tunnel opened.
    Proxy(ProxyError),
}

/// Bytes read: the caller's own (plain) or decrypted into a reusable scratch
/// buffer, to be handed back with [`Transport::recycle`].
pub(super) enum Plaintext<'a> {
    Borrowed(&'a [u8]),
    Scratch(Vec<u8>),
}

impl Deref for Plaintext<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Plaintext::Borrowed(data) => data,
            Plaintext::Scratch(data) => data,
        }
    }
}

impl Tls {
    pub(super) fn new(session: TlsSession) -> Tls {
        Tls {
            session,
            plain: Vec::new(),
            scratch: Vec::new(),
            failed: false,
        }
    }

    /// Encrypts the pending bytes into records appended to `out`. Fails only
    /// once rustls has stopped on a fatal error (with whether the handshake
    /// was still running): nothing more can be sent then.
    #[inline]
    pub(super) fn write_to(&mut self, out: &mut Vec<u8>) -> Result<(), (TlsError, bool)> {
        let handshaking = self.session.is_handshaking();
        self.session.write(&mut self.plain, out).map_err(|error| {
            self.failed = true;
            (error, handshaking)
        })
    }

    /// Ends the session after the pending bytes: close_notify into `out`,
    /// unless the session failed or never got established.
    pub(super) fn close_into(&mut self, out: &mut Vec<u8>) {
        if !self.failed && !self.session.is_handshaking() {
            // A session rustls has stopped refuses the last bytes; the cause
            // being reported already is the one that stands, and no
            // close_notify follows on a broken session.
            if self.session.write(&mut self.plain, out).is_ok() {
                self.session.send_close_notify(out);
            }
        }
    }

    /// Decrypts `data` into `plaintext` (appended). Returns whether the
    /// handshake completed in this read and how the session stands.
    pub(super) fn read_into(
        &mut self,
        now: Instant,
        data: &[u8],
        plaintext: &mut Vec<u8>,
    ) -> (bool, Result<bool, (TlsError, bool)>) {
        let was_handshaking = self.session.is_handshaking();
        self.session.advance_clock(now);
        let result = self.session.read(data, plaintext);
        let handshaking = self.session.is_handshaking();
        let outcome = match result {
            Err(error) => {
                self.failed = true;
                Err((error, handshaking))
            }
            Ok(read) => Ok(read.peer_closed),
        };
        (was_handshaking && !handshaking && !self.failed, outcome)
    }

    /// Decrypts `data` into the scratch buffer, lent out as the plaintext.
    fn read<'a>(&mut self, now: Instant, data: &[u8]) -> Received<'a> {
        let mut plaintext = std::mem::take(&mut self.scratch);
        plaintext.clear();
        let (established, outcome) = self.read_into(now, data, &mut plaintext);
        Received {
            plaintext: Plaintext::Scratch(plaintext),
            established,
            outcome: match outcome {
                Err((error, during_handshake)) => ReadOutcome::Failed(Failure::Tls {
                    error,
                    during_handshake,
                }),
                Ok(true) => ReadOutcome::PeerClosed,
                Ok(false) => ReadOutcome::Open,
            },
        }
    }
}

impl Transport {
    pub(super) fn tls(session: TlsSession) -> Transport {
        Transport::Tls(Box::new(Tls::new(session)))
    }

    /// True when the WebSocket bytes are the wire's bytes: reads can land in
    /// the input buffer itself.
    #[inline]
    pub(super) fn reads_in_place(&self) -> bool {
        matches!(self, Transport::Plain)
    }

    /// True when TLS runs with the server.
    pub(super) fn is_tls(&self) -> bool {
        match self {
            Transport::Plain => false,
            Transport::Tls(_) => true,
            Transport::Proxied(proxied) => proxied.is_tls(),
        }
    }

    /// True while the TLS handshake with the server is in progress.
    pub(super) fn is_handshaking(&self) -> bool {
        match self {
            Transport::Plain => false,
            Transport::Tls(tls) => tls.session.is_handshaking(),
            Transport::Proxied(proxied) => proxied.is_handshaking(),
        }
    }

    /// True once the peer's close_notify has been read.
    pub(super) fn peer_closed(&self) -> bool {
        match self {
            Transport::Plain => false,
            Transport::Tls(tls) => tls.session.peer_closed(),
            Transport::Proxied(proxied) => proxied.peer_closed(),
        }
    }

    /// True once a TLS session failed: it takes no more input.
    pub(super) fn has_failed(&self) -> bool {
        match self {
            Transport::Plain => false,
            Transport::Tls(tls) => tls.failed,
            Transport::Proxied(proxied) => proxied.has_failed(),
        }
    }

    /// The proxied part of the transport, if it goes through a proxy.
    pub(super) fn proxied(&self) -> Option<&Proxied> {
        match self {
            Transport::Proxied(proxied) => Some(proxied),
            _ => None,
        }
    }

    /// See [`proxied`](Self::proxied).
    pub(super) fn proxied_mut(&mut self) -> Option<&mut Proxied> {
        match self {
            Transport::Proxied(proxied) => Some(proxied),
            _ => None,
        }
    }

    /// The proxy's failure, when the transport ended before its tunnel opened.
    pub(super) fn proxy_failure_at_end(&mut self) -> Option<ProxyError> {
        match self {
            Transport::Proxied(proxied) => proxied.failure_at_end(),
            _ => None,
        }
    }

    /// The proxy's failure, when the opening deadline passed before its
    /// tunnel opened.
    pub(super) fn proxy_timeout(&self) -> Option<ProxyError> {
        match self {
            Transport::Proxied(proxied) => proxied.timeout(),
            _ => None,
        }
    }

    /// WebSocket bytes written but not yet on the wire's side of the outbox.
    pub(super) fn pending(&self) -> usize {
        match self {
            Transport::Plain => 0,
            Transport::Tls(tls) => tls.plain.len(),
            Transport::Proxied(proxied) => proxied.pending(),
        }
    }

    /// Where WebSocket bytes go: straight to the wire, or to a layer that
    /// [`flush`](Self::flush) moves them through.
    #[inline]
    pub(super) fn ws_out<'a>(&'a mut self, outbox: &'a mut Outbox) -> &'a mut Vec<u8> {
        match self {
            Transport::Plain => outbox.wire(),
            Transport::Tls(tls) => &mut tls.plain,
            Transport::Proxied(proxied) => proxied.ws_out(outbox),
        }
    }

    /// Moves pending bytes through the layers onto the wire. Fails only once
    /// a layer has stopped on a fatal error: nothing more can be sent then.
    #[inline]
    pub(super) fn flush(&mut self, outbox: &mut Outbox) -> Result<(), Failure> {
        match self {
            Transport::Plain => Ok(()),
            Transport::Tls(tls) => {
                tls.write_to(outbox.wire())
                    .map_err(|(error, during_handshake)| Failure::Tls {
                        error,
                        during_handshake,
                    })
            }
            Transport::Proxied(proxied) => proxied.flush(outbox),
        }
    }

    /// Ends the session after the last WebSocket bytes: close_notify, unless the
    /// session failed or never got established.
    pub(super) fn close(&mut self, outbox: &mut Outbox) {
        match self {
            Transport::Plain => {}
            Transport::Tls(tls) => tls.close_into(outbox.wire()),
            Transport::Proxied(proxied) => proxied.close(outbox),
        }
    }

    /// Takes bytes read from the wire.
    pub(super) fn read<'a>(&mut self, now: Instant, data: &'a [u8]) -> Received<'a> {
        match self {
            Transport::Plain => Received {
                plaintext: Plaintext::Borrowed(data),
                established: false,
                outcome: ReadOutcome::Open,
            },
            Transport::Tls(tls) => tls.read(now, data),
            Transport::Proxied(proxied) => proxied.read(now, data),
        }
    }

    /// Takes back the scratch buffer [`read`](Self::read) lent.
    pub(super) fn recycle(&mut self, plaintext: Plaintext<'_>) {
        let Plaintext::Scratch(buffer) = plaintext else {
            return;
        };
        match self {
            Transport::Plain => {}
            Transport::Tls(tls) => tls.scratch = buffer,
            Transport::Proxied(proxied) => proxied.recycle(buffer),
        }
    }

    /// The TLS version and cipher suite agreed, for the log.
    #[cfg(feature = "log")]
    pub(super) fn describe(&self) -> String {
        match self {
            Transport::Plain => "plain".into(),
            Transport::Tls(tls) => tls.session.describe(),
            Transport::Proxied(proxied) => proxied.describe(),
        }
    }
}
