//! Exit codes: which class of failure ended the run. One place maps the library's
//! errors and close codes to the numbers documented in `--help`, by their types
//! (never by their text).

use std::process::ExitCode;

use sockette_std::sockette_core::{Error as CoreError, HandshakeError, TlsErrorKind};
use sockette_std::{CloseCode, CloseInfo, ConnectCause, ConnectStep, Error};

/// Why the run ended, as documented under EXIT CODES in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// 0: a clean close.
    Ok = 0,
    /// 1: lost or failed after opening, or any other runtime failure.
    Failed = 1,
    /// 2: invalid arguments or configuration.
    Usage = 2,
    /// 3: DNS resolution failed.
    Dns = 3,
    /// 4: TCP connection failed.
    Tcp = 4,
    /// 5: TLS failed.
    Tls = 5,
    /// 6: the WebSocket upgrade was refused.
    Handshake = 6,
    /// 7: the server broke the protocol (or a limit).
    Protocol = 7,
    /// 8: a deadline passed.
    Timeout = 8,
    /// 9: the server closed cleanly with an error code.
    PeerError = 9,
    /// 10: the proxy failed.
    Proxy = 10,
}

impl Status {
    /// The class of an error reported by the connection.
    pub(crate) fn of_error(error: &Error) -> Status {
        // The proxy's step is its own class, a stalled proxy included.
        if matches!(error, Error::Connect(c) if c.step == ConnectStep::Proxy) {
            return Status::Proxy;
        }
        if error.is_timeout() {
            return Status::Timeout;
        }
        match error {
            Error::Connect(c) => match (&c.cause, c.step) {
                (ConnectCause::WebSocket(e), _) => Status::of_core(e),
                (_, ConnectStep::Resolve) => Status::Dns,
                (_, ConnectStep::Tcp) => Status::Tcp,
                (_, ConnectStep::Tls) => Status::Tls,
                (_, ConnectStep::Upgrade) => Status::Handshake,
                _ => Status::Failed,
            },
            Error::WebSocket(e) => Status::of_core(e),
            Error::Config(_) | Error::ProxyEnvironment(_) => Status::Usage,
            _ => Status::Failed,
        }
    }

    fn of_core(error: &CoreError) -> Status {
        match error {
            CoreError::Url(_) | CoreError::Config(_) => Status::Usage,
            CoreError::Handshake(_) | CoreError::Redirect(_) => Status::Handshake,
            CoreError::Tls(_) => Status::Tls,
            CoreError::Protocol(_) | CoreError::Capacity(_) => Status::Protocol,
            CoreError::Timeout(_) => Status::Timeout,
            CoreError::Proxy(_) => Status::Proxy,
            _ => Status::Failed,
        }
    }

    /// The class of a close that no error explained: 0 when clean with a normal
    /// code, 9 when clean with an error code, 1 when not clean.
    pub(crate) fn of_close(info: &CloseInfo) -> Status {
        match (info.was_clean, info.code) {
            (true, CloseCode::Normal | CloseCode::GoingAway | CloseCode::NoStatus) => Status::Ok,
            (true, _) => Status::PeerError,
            (false, _) => Status::Failed,
        }
    }

    /// A short name for the class, used in `--json` output.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Usage => "usage",
            Status::Dns => "dns",
            Status::Tcp => "tcp",
            Status::Tls => "tls",
            Status::Handshake => "handshake",
            Status::Protocol => "protocol",
            Status::Timeout => "timeout",
            Status::PeerError => "peer-error",
            Status::Proxy => "proxy",
        }
    }

    /// The process exit code.
    pub(crate) fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

/// A hint worth adding to an error message, for the kinds a person can fix.
pub(crate) fn hint(error: &Error) -> Option<&'static str> {
    match websocket_error(error)? {
        CoreError::Tls(tls) => match tls.kind() {
            TlsErrorKind::UnknownIssuer => Some("trust its certificate with --ca FILE (or what the operating system trusts with --platform-verifier), or use --insecure for a local test only"),
            TlsErrorKind::NotTls => Some("try ws:// instead of wss://"),
            _ => None,
        },
        CoreError::Handshake(HandshakeError::Malformed(_)) => {
            Some("not an HTTP server; if it expects TLS, try wss://")
        }
        _ => None,
    }
}

/// The WebSocket layer's error inside a backend error, during the opening or
/// after it.
fn websocket_error(error: &Error) -> Option<&CoreError> {
    match error {
        Error::WebSocket(e) => Some(e),
        Error::Connect(c) => match &c.cause {
            ConnectCause::WebSocket(e) => Some(e),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_map_to_codes() {
        let info = |code: u16, was_clean| CloseInfo::new(CloseCode::from(code), "", was_clean);
        assert_eq!(Status::of_close(&info(1000, true)), Status::Ok);
        assert_eq!(Status::of_close(&info(1005, true)), Status::Ok);
        assert_eq!(Status::of_close(&info(1011, true)), Status::PeerError);
        assert_eq!(Status::of_close(&info(4000, true)), Status::PeerError);
        assert_eq!(Status::of_close(&info(1006, false)), Status::Failed);
    }

    #[test]
    fn errors_map_to_codes() {
        let unreadable = sockette_std::ConfigFileError::Read {
            file: sockette_std::ConfigFile::Ca,
            path: "ca.pem".into(),
            source: std::io::ErrorKind::NotFound.into(),
        };
        assert_eq!(Status::of_error(&Error::Config(unreadable)), Status::Usage);
        assert_eq!(Status::of_error(&Error::Closed), Status::Failed);
        let protocol =
            CoreError::Protocol(sockette_std::sockette_core::ProtocolError::LengthTooLong);
        assert_eq!(
            Status::of_error(&Error::WebSocket(protocol)),
            Status::Protocol
        );
        let lost = CoreError::ConnectionLost(
            sockette_std::sockette_core::ConnectionLostKind::NoCloseFrame,
        );
        assert_eq!(Status::of_error(&Error::WebSocket(lost)), Status::Failed);
    }

    /// The hints follow the error's kind, whatever its text says.
    #[test]
    fn hints_are_chosen_by_kind() {
        use sockette_std::sockette_core::{rustls, MalformedHttp, TlsError};
        let untrusted = TlsError::from_rustls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        let hint_of_untrusted = hint(&Error::WebSocket(CoreError::Tls(untrusted)));
        assert!(hint_of_untrusted.is_some_and(|h| h.contains("--ca FILE")));
        let malformed = CoreError::Handshake(HandshakeError::Malformed(MalformedHttp::Version));
        assert_eq!(
            hint(&Error::WebSocket(malformed)),
            Some("not an HTTP server; if it expects TLS, try wss://")
        );
        let protocol =
            CoreError::Protocol(sockette_std::sockette_core::ProtocolError::LengthTooLong);
        assert_eq!(hint(&Error::WebSocket(protocol)), None);
    }
}
