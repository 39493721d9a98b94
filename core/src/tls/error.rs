//! TLS failures as kinds a person can act on, classified from rustls' errors.

use std::fmt;

use rustls::CertificateError;

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
    pub(crate) fn new(kind: TlsErrorKind, detail: impl Into<String>) -> Self {
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
            E::PeerIncompatible(incompatible) => peer_incompatible_kind(incompatible),
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

/// Why the peer and we could not agree: on a TLS version (either side offered
/// none the other allows, or TLS 1.3's `supported_versions` was missing), or on
/// something else the handshake needs (cipher suite, group, signature scheme,
/// extension).
fn peer_incompatible_kind(incompatible: &rustls::PeerIncompatible) -> TlsErrorKind {
    use rustls::PeerIncompatible as P;
    match incompatible {
        P::ServerDoesNotSupportTls12Or13
        | P::ServerTlsVersionIsDisabledByOurConfig
        | P::SupportedVersionsExtensionRequired
        | P::Tls12NotOffered
        | P::Tls12NotOfferedOrEnabled
        | P::Tls13RequiredForQuic => TlsErrorKind::ProtocolVersion,
        _ => TlsErrorKind::HandshakeFailure,
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

/// The cause is rustls' own error when rustls reported the failure (the
/// plain-HTTP, ALPN and data-after-close checks are the core's and have none).
impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|rustls| rustls as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{AlertDescription as Alert, Error as E, PeerIncompatible as P};

    #[test]
    fn rustls_errors_are_classified_by_their_variants() {
        let table = [
            // No protocol version in common, whichever side found out.
            (
                P::ServerDoesNotSupportTls12Or13.into(),
                TlsErrorKind::ProtocolVersion,
            ),
            (P::Tls12NotOffered.into(), TlsErrorKind::ProtocolVersion),
            (
                P::Tls12NotOfferedOrEnabled.into(),
                TlsErrorKind::ProtocolVersion,
            ),
            (
                P::Tls13RequiredForQuic.into(),
                TlsErrorKind::ProtocolVersion,
            ),
            (
                P::ServerTlsVersionIsDisabledByOurConfig.into(),
                TlsErrorKind::ProtocolVersion,
            ),
            (
                P::SupportedVersionsExtensionRequired.into(),
                TlsErrorKind::ProtocolVersion,
            ),
            (
                E::AlertReceived(Alert::ProtocolVersion),
                TlsErrorKind::ProtocolVersion,
            ),
            (
                E::InvalidMessage(rustls::InvalidMessage::UnknownProtocolVersion),
                TlsErrorKind::ProtocolVersion,
            ),
            // Versions agree, the rest does not.
            (
                P::NoCipherSuitesInCommon.into(),
                TlsErrorKind::HandshakeFailure,
            ),
            (P::NoKxGroupsInCommon.into(), TlsErrorKind::HandshakeFailure),
            (
                P::NoSignatureSchemesInCommon.into(),
                TlsErrorKind::HandshakeFailure,
            ),
            (
                P::KeyShareExtensionRequired.into(),
                TlsErrorKind::HandshakeFailure,
            ),
            (
                E::AlertReceived(Alert::HandshakeFailure),
                TlsErrorKind::HandshakeFailure,
            ),
            // The other kinds.
            (
                E::InvalidCertificate(CertificateError::UnknownIssuer),
                TlsErrorKind::UnknownIssuer,
            ),
            (
                E::InvalidCertificate(CertificateError::NotValidForName),
                TlsErrorKind::HostnameMismatch,
            ),
            (
                E::InvalidCertificate(CertificateError::Expired),
                TlsErrorKind::Expired,
            ),
            (
                E::InvalidCertificate(CertificateError::NotValidYet),
                TlsErrorKind::NotYetValid,
            ),
            (
                E::InvalidCertificate(CertificateError::Revoked),
                TlsErrorKind::Revoked,
            ),
            (
                E::InvalidCertificate(CertificateError::BadSignature),
                TlsErrorKind::BadCertificate,
            ),
            (
                E::AlertReceived(Alert::NoApplicationProtocol),
                TlsErrorKind::Alpn,
            ),
            (
                E::AlertReceived(Alert::CertificateRequired),
                TlsErrorKind::NoCertificate,
            ),
            (
                E::AlertReceived(Alert::BadRecordMac),
                TlsErrorKind::AlertReceived,
            ),
            (E::DecryptError, TlsErrorKind::InvalidMessage),
            (E::PeerSentOversizedRecord, TlsErrorKind::InvalidMessage),
            (E::NoApplicationProtocol, TlsErrorKind::Alpn),
            (E::NoCertificatesPresented, TlsErrorKind::NoCertificate),
            (E::HandshakeNotComplete, TlsErrorKind::Other),
        ];
        for (error, expected) in table {
            let shown = format!("{error:?}");
            assert_eq!(TlsError::from_rustls(error).kind(), expected, "{shown}");
        }
    }

    #[test]
    fn the_source_of_a_rustls_failure_is_the_rustls_error() {
        use std::error::Error as _;
        let error = TlsError::from_rustls(E::InvalidCertificate(CertificateError::Expired));
        let source = error
            .source()
            .and_then(|s| s.downcast_ref::<rustls::Error>());
        assert_eq!(
            source,
            Some(&E::InvalidCertificate(CertificateError::Expired))
        );
        let own = TlsError::new(TlsErrorKind::NotTls, "plain HTTP");
        assert!(own.source().is_none());
    }
}
