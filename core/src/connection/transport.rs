//! What carries the WebSocket bytes: the wire itself (`ws://`) or a TLS session
//! over it (`wss://`), behind one interface, so the state machine never asks which.

use std::ops::Deref;
use std::time::Instant;

use crate::tls::{TlsError, TlsSession};

use super::outbox::Outbox;

/// Plain bytes, or TLS records.
pub(super) enum Transport {
    Plain,
    /// Boxed: a rustls session is over a kilobyte, and plain connections
    /// should not carry that space.
    Tls(Box<Tls>),
}

/// A TLS session with its plaintext buffers.
pub(super) struct Tls {
    session: TlsSession,
    /// WebSocket bytes waiting to be encrypted.
    plain: Vec<u8>,
    /// Plaintext just decrypted, reused between reads.
    scratch: Vec<u8>,
    /// The session failed (a fatal alert was sent or received): nothing more
    /// goes into rustls, not even close_notify.
    failed: bool,
}

/// What one read of transport bytes produced.
pub(super) struct Received<'a> {
    /// The WebSocket bytes in what was read.
    pub(super) plaintext: Plaintext<'a>,
    /// The TLS handshake completed in this read.
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
    /// The TLS session failed (`during_handshake`: before it was established).
    Failed {
        error: TlsError,
        during_handshake: bool,
    },
}

/// Bytes read: the caller's own (plain) or decrypted into the reusable scratch
/// buffer (TLS), to be handed back with [`Transport::recycle`].
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

impl Transport {
    pub(super) fn tls(session: TlsSession) -> Transport {
        Transport::Tls(Box::new(Tls {
            session,
            plain: Vec::new(),
            scratch: Vec::new(),
            failed: false,
        }))
    }

    pub(super) fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// True while the TLS handshake is in progress.
    pub(super) fn is_handshaking(&self) -> bool {
        matches!(self, Transport::Tls(tls) if tls.session.is_handshaking())
    }

    /// True once the peer's close_notify has been read.
    pub(super) fn peer_closed(&self) -> bool {
        matches!(self, Transport::Tls(tls) if tls.session.peer_closed())
    }

    /// True once the TLS session failed: it takes no more input.
    pub(super) fn has_failed(&self) -> bool {
        matches!(self, Transport::Tls(tls) if tls.failed)
    }

    /// WebSocket bytes written but not yet encrypted.
    pub(super) fn pending(&self) -> usize {
        match self {
            Transport::Plain => 0,
            Transport::Tls(tls) => tls.plain.len(),
        }
    }

    /// Where WebSocket bytes go: straight to the wire, or to TLS for encryption
    /// (by [`flush`](Self::flush)).
    #[inline]
    pub(super) fn ws_out<'a>(&'a mut self, outbox: &'a mut Outbox) -> &'a mut Vec<u8> {
        match self {
            Transport::Plain => outbox.wire(),
            Transport::Tls(tls) => &mut tls.plain,
        }
    }

    /// Encrypts pending WebSocket bytes into TLS records on the wire. Fails
    /// only once rustls has stopped on a fatal error (with whether the handshake
    /// was still running): nothing more can be sent then.
    #[inline]
    pub(super) fn flush(&mut self, outbox: &mut Outbox) -> Result<(), (TlsError, bool)> {
        let Transport::Tls(tls) = self else {
            return Ok(());
        };
        let handshaking = tls.session.is_handshaking();
        tls.session
            .write(&mut tls.plain, outbox.wire())
            .map_err(|error| {
                tls.failed = true;
                (error, handshaking)
            })
    }

    /// Ends the session after the last WebSocket bytes: close_notify, unless the
    /// session failed or never got established.
    pub(super) fn close(&mut self, outbox: &mut Outbox) {
        if let Transport::Tls(tls) = self {
            if !tls.failed && !tls.session.is_handshaking() {
                let out = outbox.wire();
                // A session rustls has stopped refuses the last bytes; the cause
                // being reported already is the one that stands, and no
                // close_notify follows on a broken session.
                if tls.session.write(&mut tls.plain, out).is_ok() {
                    tls.session.send_close_notify(out);
                }
            }
        }
    }

    /// Takes bytes read from the wire.
    pub(super) fn read<'a>(&mut self, now: Instant, data: &'a [u8]) -> Received<'a> {
        let Transport::Tls(tls) = self else {
            return Received {
                plaintext: Plaintext::Borrowed(data),
                established: false,
                outcome: ReadOutcome::Open,
            };
        };
        let mut plaintext = std::mem::take(&mut tls.scratch);
        plaintext.clear();
        let was_handshaking = tls.session.is_handshaking();
        tls.session.advance_clock(now);
        let result = tls.session.read(data, &mut plaintext);
        let handshaking = tls.session.is_handshaking();
        let outcome = match result {
            Err(error) => {
                tls.failed = true;
                ReadOutcome::Failed {
                    error,
                    during_handshake: handshaking,
                }
            }
            Ok(read) if read.peer_closed => ReadOutcome::PeerClosed,
            Ok(_) => ReadOutcome::Open,
        };
        Received {
            plaintext: Plaintext::Scratch(plaintext),
            established: was_handshaking && !handshaking && !tls.failed,
            outcome,
        }
    }

    /// Takes back the scratch buffer [`read`](Self::read) lent.
    pub(super) fn recycle(&mut self, plaintext: Plaintext<'_>) {
        if let (Transport::Tls(tls), Plaintext::Scratch(buffer)) = (self, plaintext) {
            tls.scratch = buffer;
        }
    }

    /// The TLS version and cipher suite agreed, for the log.
    #[cfg(feature = "log")]
    pub(super) fn describe(&self) -> String {
        match self {
            Transport::Plain => "plain".into(),
            Transport::Tls(tls) => tls.session.describe(),
        }
    }
}
