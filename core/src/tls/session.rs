//! The TLS session of one connection, driven purely in memory: ciphertext in,
//! plaintext out, and the reverse.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;

use super::{TlsClock, TlsError, TlsErrorKind, ALPN_HTTP11};
use crate::config_error::ConfigError;
use crate::error::Error;
use crate::url::WsUrl;

/// A TLS session for one connection.
pub(crate) struct TlsSession {
    conn: rustls::Connection,
    /// Set once the peer's close_notify has been read.
    peer_closed: bool,
    alpn_checked: bool,
    received_any: bool,
    /// The time rustls reads, when the core provides it (see `ClientTls::build`).
    clock: Option<TlsClock>,
}

/// What one call to [`TlsSession::read`] produced.
pub(crate) struct TlsRead {
    pub(crate) peer_closed: bool,
}

impl TlsSession {
    pub(crate) fn client(config: Arc<rustls::ClientConfig>, url: &WsUrl) -> Result<Self, Error> {
        Self::client_for(config, url.host())
    }

    /// A client session with `host`, a name or an IP address (the server's,
    /// or an `https://` proxy's).
    pub(crate) fn client_for(config: Arc<rustls::ClientConfig>, host: &str) -> Result<Self, Error> {
        let name =
            ServerName::try_from(host.to_string()).map_err(|_| ConfigError::InvalidTlsHost {
                host: host.to_string(),
            })?;
        let mut conn = rustls::ClientConnection::new(config, name)
            .map_err(|e| Error::Tls(TlsError::from_rustls(e)))?;
        // Our own `max_buffered_output` bounds what the user may queue.
        conn.set_buffer_limit(None);
        Ok(Self::wrap(conn.into()))
    }

    pub(crate) fn server(config: Arc<rustls::ServerConfig>) -> Result<Self, Error> {
        let mut conn = rustls::ServerConnection::new(config)
            .map_err(|e| Error::Tls(TlsError::from_rustls(e)))?;
        conn.set_buffer_limit(None);
        Ok(Self::wrap(conn.into()))
    }

    fn wrap(conn: rustls::Connection) -> Self {
        TlsSession {
            conn,
            peer_closed: false,
            alpn_checked: false,
            received_any: false,
            clock: None,
        }
    }

    /// Lets rustls read its time from `clock`, which [`advance_clock`](Self::advance_clock) moves.
    pub(crate) fn with_clock(mut self, clock: Option<TlsClock>) -> Self {
        self.clock = clock;
        self
    }

    /// The caller's monotonic `now`, before input is read: certificates then
    /// are checked against the wall-clock time it stands for.
    pub(crate) fn advance_clock(&self, now: Instant) {
        if let Some(clock) = &self.clock {
            clock.advance(now);
        }
    }

    /// Feeds ciphertext; appends the plaintext it decrypts to `plaintext`.
    pub(crate) fn read(
        &mut self,
        mut data: &[u8],
        plaintext: &mut Vec<u8>,
    ) -> Result<TlsRead, TlsError> {
        if !self.received_any && self.conn.is_handshaking() {
            if looks_like_plain_http(data) {
                return Err(TlsError::new(
                    TlsErrorKind::NotTls,
                    "the server answered in plain HTTP on a TLS port (try ws:// instead of wss://)",
                ));
            }
            self.received_any = !data.is_empty();
        }
        while !data.is_empty() {
            if self.peer_closed {
                return Err(TlsError::new(
                    TlsErrorKind::DataAfterClose,
                    "TLS data received after the peer's close_notify",
                ));
            }
            self.conn
                .read_tls(&mut data)
                .map_err(|e| TlsError::new(TlsErrorKind::Other, e.to_string()))?;
            let state = self
                .conn
                .process_new_packets()
                .map_err(TlsError::from_rustls)?;
            let available = state.plaintext_bytes_to_read();
            if available > 0 {
                let start = plaintext.len();
                plaintext.resize(start + available, 0);
                self.conn
                    .reader()
                    .read_exact(&mut plaintext[start..])
                    .map_err(|e| TlsError::new(TlsErrorKind::Other, e.to_string()))?;
            }
            if state.peer_has_closed() {
                self.peer_closed = true;
            }
            if !self.alpn_checked && !self.conn.is_handshaking() {
                self.alpn_checked = true;
                if let Some(alpn) = self.conn.alpn_protocol() {
                    if alpn != ALPN_HTTP11 {
                        return Err(TlsError::new(
                            TlsErrorKind::Alpn,
                            format!(
                                "the server selected application protocol {:?}, not http/1.1",
                                String::from_utf8_lossy(alpn)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(TlsRead {
            peer_closed: self.peer_closed,
        })
    }

    /// Encrypts `plaintext` (drained) and appends the records to `out`.
    ///
    /// With no buffer limit rustls takes every byte; it refuses them only after a
    /// fatal error of its own (the error it returned then is returned again), and
    /// the plaintext is dropped either way: it can never be sent.
    pub(crate) fn write(
        &mut self,
        plaintext: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        let written = if plaintext.is_empty() {
            Ok(())
        } else {
            self.conn.writer().write_all(plaintext)
        };
        plaintext.clear();
        self.flush(out);
        written.map_err(write_error)
    }

    /// Appends pending records (handshake messages, alerts) to `out`.
    pub(crate) fn flush(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
            // `write_tls` fails only when its writer does, and writing into a
            // `Vec` cannot fail; the check only keeps the loop finite regardless.
            if self.conn.write_tls(out).is_err() {
                break;
            }
        }
    }

    /// Queues close_notify (RFC 8446 §6.1).
    pub(crate) fn send_close_notify(&mut self, out: &mut Vec<u8>) {
        self.conn.send_close_notify();
        self.flush(out);
    }

    pub(crate) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The TLS version and cipher suite agreed, for the log.
    #[cfg(feature = "log")]
    pub(crate) fn describe(&self) -> String {
        let version = self.conn.protocol_version();
        let suite = self.conn.negotiated_cipher_suite().map(|s| s.suite());
        format!("version {version:?}, cipher suite {suite:?}")
    }
}

/// A plaintext write refused by rustls: it carries the fatal rustls error that
/// stopped the session when there is one.
fn write_error(error: std::io::Error) -> TlsError {
    let detail = error.to_string();
    match error
        .into_inner()
        .map(|inner| inner.downcast::<rustls::Error>())
    {
        Some(Ok(rustls)) => TlsError::from_rustls(*rustls),
        _ => TlsError::new(
            TlsErrorKind::Other,
            format!("TLS refused data to send: {detail}"),
        ),
    }
}

/// A TLS record starts with a content type byte of 20-24; an HTTP answer with "HTTP/".
fn looks_like_plain_http(data: &[u8]) -> bool {
    let n = data.len().min(5);
    n > 0 && b"HTTP/"[..n] == data[..n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::ClientTls;

    #[test]
    fn a_write_after_a_fatal_rustls_error_returns_that_error() {
        let url = WsUrl::parse("wss://localhost/").unwrap();
        let tls = ClientTls {
            wall_clock: Some(std::time::SystemTime::UNIX_EPOCH),
            ..ClientTls::default()
        };
        let (config, clock) = tls.build(Instant::now()).unwrap();
        let mut session = TlsSession::client(config, &url).unwrap().with_clock(clock);
        let mut plaintext = Vec::new();
        // A handshake record (type 22) with an unknown protocol version: rustls stops.
        let read = session.read(&[22, 9, 9, 0, 1, 0], &mut plaintext);
        let read_kind = read.err().map(|e| e.kind());
        assert_eq!(read_kind, Some(TlsErrorKind::ProtocolVersion));
        let mut out = Vec::new();
        let mut data = b"GET / HTTP/1.1\r\n".to_vec();
        let written = session.write(&mut data, &mut out);
        assert_eq!(
            written.map_err(|e| e.kind()),
            Err(TlsErrorKind::ProtocolVersion)
        );
        assert!(data.is_empty());
    }
}
