//! How a proxy failed: the step it was at and what went wrong, in words that
//! say whose fault it is (the proxy refused, the destination refused the
//! proxy, the credentials were wrong, the proxy spoke another protocol).

use std::fmt;

use crate::tls::TlsError;

/// A proxy failed the opening: [`Error::Proxy`](crate::Error::Proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError(Box<Failure>);

/// Boxed so that [`Error`](crate::Error), which every `Result` of the crate
/// carries, stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    proxy: String,
    step: ProxyStep,
    kind: ProxyErrorKind,
}

/// The step of the proxy's part of the opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyStep {
    /// The TLS handshake with an `https://` proxy.
    Tls,
    /// The HTTP `CONNECT` request and its answer.
    HttpConnect,
    /// SOCKS5's method negotiation (RFC 1928 §3).
    SocksGreeting,
    /// SOCKS5's username/password authentication (RFC 1929).
    SocksAuth,
    /// SOCKS5's `CONNECT` request and its reply (RFC 1928 §4-6).
    SocksConnect,
}

impl fmt::Display for ProxyStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyStep::Tls => "TLS handshake with the proxy",
            ProxyStep::HttpConnect => "HTTP CONNECT",
            ProxyStep::SocksGreeting => "SOCKS5 greeting",
            ProxyStep::SocksAuth => "SOCKS5 authentication",
            ProxyStep::SocksConnect => "SOCKS5 connect",
        })
    }
}

/// What went wrong at the step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyErrorKind {
    /// The HTTP proxy answered `CONNECT` with a status other than 2xx.
    Status {
        /// The status code (407: the proxy wants credentials).
        code: u16,
        /// The reason phrase.
        reason: String,
        /// The `Proxy-Authenticate` challenge of a 407, its values joined
        /// with `, `.
        challenge: Option<String>,
    },
    /// The SOCKS5 proxy replied to `CONNECT` with a failure.
    Socks(SocksReply),
    /// The SOCKS5 proxy accepts none of the authentication methods offered
    /// (no authentication, and username/password when credentials were given).
    NoAcceptableAuth {
        /// Credentials were given, so username/password was offered.
        offered_password: bool,
    },
    /// The SOCKS5 proxy refused the user name and password (RFC 1929 status).
    AuthFailed {
        /// The status byte (any value but 0 is a failure).
        status: u8,
    },
    /// The answer is not the protocol's: the proxy speaks another one, or is
    /// broken.
    Malformed(String),
    /// The HTTP proxy's answer head is longer than
    /// [`Limits::max_handshake_size`](crate::Limits::max_handshake_size).
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The proxy closed the connection before its answer was complete.
    Closed,
    /// The opening deadline passed while the proxy had not answered.
    TimedOut,
    /// TLS with the proxy failed.
    Tls(TlsError),
    /// A `socks5://` proxy is given the server's address, and the caller
    /// never resolved the server's name
    /// ([`Connection::resolve_proxy_destination`](crate::Connection::resolve_proxy_destination)).
    Unresolved {
        /// The server's host name.
        host: String,
    },
}

/// A SOCKS5 reply code other than success (RFC 1928 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocksReply {
    /// 1: general SOCKS server failure.
    GeneralFailure,
    /// 2: connection not allowed by the proxy's rules.
    NotAllowed,
    /// 3: network unreachable.
    NetworkUnreachable,
    /// 4: host unreachable.
    HostUnreachable,
    /// 5: the destination refused the proxy's connection.
    ConnectionRefused,
    /// 6: TTL expired.
    TtlExpired,
    /// 7: command not supported.
    CommandNotSupported,
    /// 8: address type not supported.
    AddressTypeNotSupported,
    /// A code RFC 1928 does not define.
    Other(u8),
}

impl SocksReply {
    /// The reply for a code other than 0 (success).
    pub(crate) fn from_code(code: u8) -> SocksReply {
        match code {
            1 => SocksReply::GeneralFailure,
            2 => SocksReply::NotAllowed,
            3 => SocksReply::NetworkUnreachable,
            4 => SocksReply::HostUnreachable,
            5 => SocksReply::ConnectionRefused,
            6 => SocksReply::TtlExpired,
            7 => SocksReply::CommandNotSupported,
            8 => SocksReply::AddressTypeNotSupported,
            other => SocksReply::Other(other),
        }
    }
}

impl fmt::Display for SocksReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocksReply::GeneralFailure => f.write_str("general proxy failure"),
            SocksReply::NotAllowed => f.write_str("connection not allowed by the proxy's rules"),
            SocksReply::NetworkUnreachable => f.write_str("network unreachable from the proxy"),
            SocksReply::HostUnreachable => f.write_str("host unreachable from the proxy"),
            SocksReply::ConnectionRefused => f.write_str("connection refused by the destination"),
            SocksReply::TtlExpired => f.write_str("TTL expired"),
            SocksReply::CommandNotSupported => f.write_str("CONNECT not supported by the proxy"),
            SocksReply::AddressTypeNotSupported => {
                f.write_str("address type not supported by the proxy")
            }
            SocksReply::Other(code) => write!(f, "unknown reply code {code}"),
        }
    }
}

impl ProxyError {
    /// `proxy`: the proxy's URL without its password.
    pub(crate) fn new(proxy: String, step: ProxyStep, kind: ProxyErrorKind) -> ProxyError {
        ProxyError(Box::new(Failure { proxy, step, kind }))
    }

    /// The proxy's URL, without its password.
    pub fn proxy(&self) -> &str {
        &self.0.proxy
    }

    /// The step the proxy failed at.
    pub fn step(&self) -> ProxyStep {
        self.0.step
    }

    /// What went wrong.
    pub fn kind(&self) -> &ProxyErrorKind {
        &self.0.kind
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} via {}: ", self.0.step, self.0.proxy)?;
        match &self.0.kind {
            ProxyErrorKind::Status {
                code,
                reason,
                challenge,
            } => {
                write!(f, "the proxy answered {code} {reason}")?;
                if *code == 407 {
                    match challenge {
                        Some(challenge) => write!(f, " (it asks for {challenge})")?,
                        None => f.write_str(" (it wants credentials)")?,
                    }
                }
                Ok(())
            }
            ProxyErrorKind::Socks(reply) => write!(f, "{reply}"),
            ProxyErrorKind::NoAcceptableAuth { offered_password } => {
                if *offered_password {
                    f.write_str("the proxy accepts neither no authentication nor a password")
                } else {
                    f.write_str("the proxy requires authentication (give a user and password)")
                }
            }
            ProxyErrorKind::AuthFailed { status } => write!(
                f,
                "auth failed: the proxy refused the user name and password (status {status})"
            ),
            ProxyErrorKind::Malformed(detail) => write!(f, "invalid answer: {detail}"),
            ProxyErrorKind::TooLarge { limit } => {
                write!(f, "the proxy's answer is longer than {limit} bytes")
            }
            ProxyErrorKind::Closed => f.write_str("the proxy closed the connection"),
            ProxyErrorKind::TimedOut => {
                f.write_str("no answer from the proxy before the opening deadline")
            }
            ProxyErrorKind::Tls(e) => write!(f, "{e}"),
            ProxyErrorKind::Unresolved { host } => write!(
                f,
                "a socks5:// proxy is given the server's address, and {host:?} was not \
                 resolved (use socks5h:// to let the proxy resolve it)"
            ),
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ProxyErrorKind::Tls(e) => Some(e),
            _ => None,
        }
    }
}
