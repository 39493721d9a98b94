//! TLS as one more bytes↔bytes layer: a rustls session driven purely in memory.
//! Ciphertext from the socket goes in, plaintext comes out for the WebSocket
//! layer; plaintext frames go in, TLS records come out. `ws://` skips this module.
//!
//! This module also turns rustls' errors into kinds a person can act on.

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;
use crate::url::WsUrl;

/// The only application protocol a WebSocket handshake runs over (RFC 6455 §4.1).
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The crypto provider: `ring` by default, `aws-lc-rs` when only that feature is on.
pub(crate) fn default_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "ring")]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!("sockette-core needs a crypto provider: enable the `ring` or `aws-lc-rs` feature");

/// How a client verifies servers, as configured before the connection starts.
#[derive(Clone, Default)]
pub(crate) struct ClientTls {
    /// A complete caller-built configuration; wins over everything below.
    pub(crate) custom: Option<Arc<rustls::ClientConfig>>,
    /// Extra trusted roots, added to the Mozilla roots unless `only_extra_roots`.
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    /// The operating system's roots (feature `native-roots`): trusted as CAs only,
    /// and skipped when webpki cannot use one.
    pub(crate) native_roots: Vec<CertificateDer<'static>>,
    pub(crate) only_extra_roots: bool,
    pub(crate) dangerous_no_verification: bool,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("custom", &self.custom.is_some())
            .field("extra_roots", &self.extra_roots.len())
            .field("native_roots", &self.native_roots.len())
            .field("only_extra_roots", &self.only_extra_roots)
            .field("dangerous_no_verification", &self.dangerous_no_verification)
            .finish()
    }
}

impl ClientTls {
    /// Builds the rustls configuration: ALPN `http/1.1` is always offered.
    pub(crate) fn build(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let mut config = match &self.custom {
            Some(custom) => (**custom).clone(),
            None => {
                let builder = rustls::ClientConfig::builder_with_provider(default_provider())
                    .with_safe_default_protocol_versions()
                    .map_err(|e| Error::Config(format!("TLS configuration: {e}")))?;
                if self.dangerous_no_verification {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(NoVerification(
                            default_provider(),
                        )))
                        .with_no_client_auth()
                } else {
                    let mut roots = RootCertStore::empty();
                    if !self.only_extra_roots {
                        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                    }
                    roots.add_parsable_certificates(self.native_roots.iter().cloned());
                    for cert in &self.extra_roots {
                        roots.add(cert.clone()).map_err(|e| {
                            Error::Config(format!("unusable root certificate: {e}"))
                        })?;
                    }
                    if self.extra_roots.is_empty() {
                        builder.with_root_certificates(roots).with_no_client_auth()
                    } else {
                        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                            Arc::new(roots),
                            default_provider(),
                        )
                        .build()
                        .map_err(|e| Error::Config(format!("TLS verifier: {e}")))?;
                        builder
                            .dangerous()
                            .with_custom_certificate_verifier(Arc::new(TrustedOrWebPki {
                                webpki,
                                trusted: self.extra_roots.clone(),
                            }))
                            .with_no_client_auth()
                    }
                }
            }
        };
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(Arc::new(config))
    }
}

/// Parses every certificate of a PEM bundle.
pub(crate) fn parse_pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Config(format!("cannot read PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Config("no certificate found in the PEM data".into()));
    }
    Ok(certs)
}

/// A TLS session for one connection.
pub(crate) struct TlsSession {
    conn: rustls::Connection,
    /// Set once the peer's close_notify has been read.
    peer_closed: bool,
    alpn_checked: bool,
    received_any: bool,
}

/// What one call to [`TlsSession::read`] produced.
pub(crate) struct TlsRead {
    pub(crate) peer_closed: bool,
}

impl TlsSession {
    pub(crate) fn client(config: Arc<rustls::ClientConfig>, url: &WsUrl) -> Result<Self, Error> {
        let name = ServerName::try_from(url.host().to_string())
            .map_err(|e| Error::Config(format!("host {:?} for TLS: {e}", url.host())))?;
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
    pub(crate) fn write(&mut self, plaintext: &mut Vec<u8>, out: &mut Vec<u8>) {
        if !plaintext.is_empty() {
            // With no buffer limit, rustls takes everything.
            let _ = self.conn.writer().write_all(plaintext);
            plaintext.clear();
        }
        self.flush(out);
    }

    /// Appends pending records (handshake messages, alerts) to `out`.
    pub(crate) fn flush(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
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

/// A TLS record starts with a content type byte of 20-24; an HTTP answer with "HTTP/".
fn looks_like_plain_http(data: &[u8]) -> bool {
    let n = data.len().min(5);
    n > 0 && b"HTTP/"[..n] == data[..n]
}

/// The kinds of TLS failure a user may want to tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The certificate chain does not lead to a trusted root (includes self-signed
    /// certificates that were not added as roots).
    UnknownIssuer,
    /// The certificate is not valid for the host name (or IP address) connected to.
    HostnameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// The certificate was revoked.
    Revoked,
    /// Any other problem with the certificate (bad encoding, signature, purpose...).
    BadCertificate,
    /// The peer sent a TLS alert (its reason is in the detail).
    AlertReceived,
    /// The handshake failed: no common cipher suite, group or signature scheme.
    HandshakeFailure,
    /// The peer does not support any TLS version we allow (TLS 1.2 and 1.3).
    ProtocolVersion,
    /// The peer answered in plain text (for instance HTTP) on a TLS port.
    NotTls,
    /// The peer sent bytes that are not valid TLS.
    InvalidMessage,
    /// The server selected an application protocol other than `http/1.1`.
    Alpn,
    /// TLS data arrived after the peer's close_notify.
    DataAfterClose,
    /// The peer did not present a certificate that was required (server role).
    NoCertificate,
    /// Anything else rustls reported.
    Other,
}

/// A TLS failure: its kind and rustls' own description.
#[derive(Debug, Clone)]
pub struct TlsError {
    kind: TlsErrorKind,
    detail: String,
    source: Option<rustls::Error>,
}

impl TlsError {
    fn new(kind: TlsErrorKind, detail: impl Into<String>) -> Self {
        TlsError {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    /// Classifies a rustls error.
    pub fn from_rustls(error: rustls::Error) -> Self {
        use rustls::AlertDescription as Alert;
        use rustls::Error as E;
        let kind = match &error {
            E::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsErrorKind::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsErrorKind::HostnameMismatch,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsErrorKind::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsErrorKind::NotYetValid
                }
                CertificateError::Revoked => TlsErrorKind::Revoked,
                _ => TlsErrorKind::BadCertificate,
            },
            E::AlertReceived(Alert::ProtocolVersion) => TlsErrorKind::ProtocolVersion,
            E::AlertReceived(Alert::HandshakeFailure) => TlsErrorKind::HandshakeFailure,
            E::AlertReceived(Alert::NoApplicationProtocol) => TlsErrorKind::Alpn,
            E::AlertReceived(Alert::CertificateRequired) => TlsErrorKind::NoCertificate,
            E::AlertReceived(_) => TlsErrorKind::AlertReceived,
            E::PeerIncompatible(p) => {
                if format!("{p:?}").contains("Version") {
                    TlsErrorKind::ProtocolVersion
                } else {
                    TlsErrorKind::HandshakeFailure
                }
            }
            E::InvalidMessage(rustls::InvalidMessage::UnknownProtocolVersion) => {
                TlsErrorKind::ProtocolVersion
            }
            E::InvalidMessage(_) | E::PeerSentOversizedRecord | E::DecryptError => {
                TlsErrorKind::InvalidMessage
            }
            E::PeerMisbehaved(rustls::PeerMisbehaved::SelectedUnofferedApplicationProtocol)
            | E::NoApplicationProtocol => TlsErrorKind::Alpn,
            E::NoCertificatesPresented => TlsErrorKind::NoCertificate,
            _ => TlsErrorKind::Other,
        };
        TlsError {
            kind,
            detail: error.to_string(),
            source: Some(error),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> TlsErrorKind {
        self.kind
    }

    /// rustls' own error, when it came from rustls.
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        self.source.as_ref()
    }
}

impl PartialEq for TlsError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.detail == other.detail
    }
}

impl Eq for TlsError {}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let summary = match self.kind {
            TlsErrorKind::UnknownIssuer => {
                "certificate not trusted (unknown issuer or self-signed)"
            }
            TlsErrorKind::HostnameMismatch => "certificate not valid for this host name",
            TlsErrorKind::Expired => "certificate expired",
            TlsErrorKind::NotYetValid => "certificate not valid yet",
            TlsErrorKind::Revoked => "certificate revoked",
            TlsErrorKind::BadCertificate => "invalid certificate",
            TlsErrorKind::AlertReceived => "the peer sent a TLS alert",
            TlsErrorKind::HandshakeFailure => "TLS handshake failure",
            TlsErrorKind::ProtocolVersion => "no TLS protocol version in common",
            TlsErrorKind::NotTls => "not a TLS server",
            TlsErrorKind::InvalidMessage => "invalid TLS data from the peer",
            TlsErrorKind::Alpn => "application protocol mismatch",
            TlsErrorKind::DataAfterClose => "TLS data after close",
            TlsErrorKind::NoCertificate => "client certificate required",
            TlsErrorKind::Other => "TLS error",
        };
        write!(f, "{summary}: {}", self.detail)
    }
}

impl std::error::Error for TlsError {}

/// Full webpki verification, plus one exception: a server certificate that is
/// byte for byte one the caller explicitly trusted is accepted as itself (when it
/// names the host), even if it could not serve as a chain's end (a self-signed
/// certificate with `CA:TRUE`, as `openssl req -x509` makes by default).
#[derive(Debug)]
struct TrustedOrWebPki {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    trusted: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for TrustedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let Err(error) = verdict else {
            return verdict;
        };
        if !self
            .trusted
            .iter()
            .any(|t| t.as_ref() == end_entity.as_ref())
        {
            return Err(error);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Accepts any certificate: for `dangerous_disable_certificate_verification` only.
/// Signatures are still checked, so the handshake itself stays sound.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
