//! Why a configuration cannot be used: the caller's own headers, subprotocols,
//! compression parameters, and the TLS material it hands in. Each kind names
//! what it refused; a refusal by rustls keeps rustls' error as its source.

use std::fmt;

use crate::tls::TlsError;

/// A configuration the connection cannot be created with, reported by
/// [`Connection::client`](crate::Connection::client) (and `server`) or by the
/// [`ClientConfig`](crate::ClientConfig) method that took the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A subprotocol name that is not an HTTP token (RFC 6455 §4.1).
    InvalidProtocol {
        /// The name given.
        protocol: String,
    },
    /// A header name that is not an HTTP token.
    InvalidHeaderName {
        /// The name given.
        name: String,
    },
    /// A header the handshake writes itself (`Host`, `Upgrade`, `Connection`,
    /// any `Sec-WebSocket-*`).
    ManagedHeader {
        /// The name given.
        name: String,
    },
    /// `Origin` given as a header: it has its own setting,
    /// [`ClientConfig::origin`](crate::ClientConfig::origin).
    OriginHeader,
    /// A header describing a request body (`Content-Length`,
    /// `Transfer-Encoding`); the handshake request has none.
    BodyHeader {
        /// The name given.
        name: String,
    },
    /// A header given twice that may appear only once in a request.
    RepeatedHeader {
        /// The name given.
        name: String,
    },
    /// A header value holding CR, LF, NUL or another control character.
    InvalidHeaderValue {
        /// The header's name.
        name: String,
    },
    /// The `Origin` value holds a control character.
    InvalidOrigin,
    /// A permessage-deflate window size outside 8..=15.
    InvalidWindowBits {
        /// The value given.
        bits: u8,
    },
    /// A zlib compression level over 9.
    InvalidCompressionLevel {
        /// The value given.
        level: u32,
    },
    /// `wss://` without the wall-clock time: the core reads no clock, and
    /// certificates cannot be checked without it. Give it with
    /// [`ClientConfig::wall_clock`](crate::ClientConfig::wall_clock).
    MissingWallClock,
    /// The URL's host cannot be a TLS server name.
    InvalidTlsHost {
        /// The host.
        host: String,
    },
    /// A PEM block holds no item of the kind expected.
    PemEmpty {
        /// What was expected.
        item: PemItem,
    },
    /// PEM data that cannot be read.
    InvalidPem {
        /// What was being read.
        item: PemItem,
        /// The PEM parser's description of the problem.
        detail: String,
    },
    /// A root certificate rustls cannot use (its source is rustls' error).
    InvalidRootCertificate(TlsError),
    /// The client's private key does not belong to its certificate (their
    /// public keys differ).
    ClientKeyMismatch,
    /// A client private key rustls cannot use (its source is rustls' error).
    UnusableClientKey(TlsError),
    /// The operating system's certificate verifier is unavailable (built by the
    /// backends' `platform_verifier()`: the core reads no trust store).
    PlatformVerifier(TlsError),
    /// rustls refused to build the TLS configuration.
    Tls(TlsError),
    /// Credentials SOCKS5 cannot carry (RFC 1929: a user name of 1-255 bytes,
    /// a password of at most 255).
    SocksCredentials,
    /// A proxy URL that cannot be used.
    Proxy(crate::ProxyUrlError),
    /// An `https://` proxy's host cannot be a TLS server name.
    InvalidProxyTlsHost {
        /// The proxy's host.
        host: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidProtocol { protocol } => {
                write!(f, "subprotocol {protocol:?} is not a valid HTTP token")
            }
            ConfigError::InvalidHeaderName { name } => {
                write!(f, "header name {name:?} is not a valid HTTP token")
            }
            ConfigError::ManagedHeader { name } => {
                write!(f, "header {name:?} is set by the handshake itself")
            }
            ConfigError::OriginHeader => write!(
                f,
                "header \"Origin\" has its own setting: use ClientConfig::origin() instead of header()"
            ),
            ConfigError::BodyHeader { name } => write!(
                f,
                "header {name:?} describes a request body, and the handshake request has none"
            ),
            ConfigError::RepeatedHeader { name } => write!(
                f,
                "header {name:?} is given twice; it may appear only once in a request"
            ),
            ConfigError::InvalidHeaderValue { name } => {
                write!(f, "value of header {name:?} contains a control character")
            }
            ConfigError::InvalidOrigin => write!(f, "Origin contains a control character"),
            ConfigError::InvalidWindowBits { bits } => write!(
                f,
                "permessage-deflate window bits must be within 8..=15, not {bits}"
            ),
            ConfigError::InvalidCompressionLevel { level } => {
                write!(f, "zlib compression level must be 0..=9, not {level}")
            }
            ConfigError::MissingWallClock => write!(
                f,
                "wss:// needs the wall-clock time to check certificates, and the core \
                 reads no clock: give it with ClientConfig::wall_clock(SystemTime::now())"
            ),
            ConfigError::InvalidTlsHost { host } => {
                write!(f, "host {host:?} is not a valid TLS server name")
            }
            ConfigError::PemEmpty { item } => match item {
                PemItem::ClientKey => write!(
                    f,
                    "client key: no private key found in the PEM data (expected a PKCS#8, \
                     PKCS#1 or SEC1 \"PRIVATE KEY\" block)"
                ),
                _ => write!(f, "{item}: no certificate found in the PEM data"),
            },
            ConfigError::InvalidPem { item, detail } => {
                write!(f, "{item}: cannot read the PEM data: {detail}")
            }
            ConfigError::InvalidRootCertificate(e) => write!(f, "unusable root certificate: {e}"),
            ConfigError::ClientKeyMismatch => write!(
                f,
                "client key: the private key does not belong to the client certificate (their \
                 public keys differ)"
            ),
            ConfigError::UnusableClientKey(e) => write!(f, "client key: unusable private key: {e}"),
            ConfigError::PlatformVerifier(e) => write!(
                f,
                "the operating system's certificate verifier is unavailable: {e}"
            ),
            ConfigError::Tls(e) => write!(f, "TLS configuration: {e}"),
            ConfigError::SocksCredentials => write!(
                f,
                "SOCKS5 carries a user name of 1 to 255 bytes and a password of at most 255"
            ),
            ConfigError::Proxy(e) => e.fmt(f),
            ConfigError::InvalidProxyTlsHost { host } => {
                write!(f, "proxy host {host:?} is not a valid TLS server name")
            }
        }
    }
}

/// The cause is the [`TlsError`] (and through it rustls' error) when rustls
/// refused the value.
impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::InvalidRootCertificate(e)
            | ConfigError::UnusableClientKey(e)
            | ConfigError::PlatformVerifier(e)
            | ConfigError::Tls(e) => Some(e),
            ConfigError::Proxy(e) => Some(e),
            _ => None,
        }
    }
}

/// What a PEM input was expected to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PemItem {
    /// Root certificates to trust
    /// ([`ClientConfig::add_root_certificates_pem`](crate::ClientConfig::add_root_certificates_pem)).
    RootCertificates,
    /// The client certificate chain
    /// ([`ClientConfig::client_cert_pem`](crate::ClientConfig::client_cert_pem)).
    ClientCertificate,
    /// The client's private key.
    ClientKey,
}

impl fmt::Display for PemItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemItem::RootCertificates => "root certificates",
            PemItem::ClientCertificate => "client certificate",
            PemItem::ClientKey => "client key",
        })
    }
}
