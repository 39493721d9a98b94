//! The backend's errors: the WebSocket layer's (`sockette-core`), the socket's,
//! the configuration files'. Commands on a connection, and on a
//! [`Sender`](crate::Sender), are refused with the core's
//! [`CommandError`](sockette_core::CommandError). Nothing here knows the protocol.

use std::fmt;
use std::io;
use std::path::PathBuf;

use sockette_core::Error as CoreError;

/// Everything that can go wrong with a [`Connection`](crate::Connection).
///
/// Failures of the connection itself arrive on the loop's thread as
/// [`Event::Error`](crate::Event::Error), followed by
/// [`Event::Close`](crate::Event::Close). Commands (`send_text`, `close`...) return
/// a [`CommandError`](sockette_core::CommandError) instead, and leave the connection as it was.
/// [`source`](std::error::Error::source) gives the cause: the socket's
/// `io::Error`, the core's error, the [`ConfigFileError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Name resolution failed or found no address (only the constructors that
    /// resolve return it).
    Resolve(io::Error),
    /// The TCP connection could not be established (refused, unreachable...),
    /// with the operating system's error. Every resolved address was tried.
    Connect(io::Error),
    /// The WebSocket layer failed the connection (a protocol violation by the peer,
    /// a TLS failure such as an untrusted certificate, a limit, a timeout) or
    /// refused the configuration.
    WebSocket(CoreError),
    /// The socket failed after the TCP connection was established (reset by the
    /// peer, broken pipe...). The connection is closed with code 1006.
    Io(io::Error),
    /// Messages queued through a [`Sender`](crate::Sender) were accepted but not
    /// sent: the connection closed first, or the WebSocket layer refused them (its
    /// outgoing buffer was full). Reported as an event, never silently.
    NotSent {
        /// How many queued commands were not carried out.
        messages: usize,
    },
    /// A configuration file could not be used (a client certificate or its key,
    /// read by [`ClientConfigFiles`](crate::ClientConfigFiles)).
    Config(ConfigFileError),
}

impl Error {
    /// True when a deadline passed (the opening handshake, a keepalive, the close
    /// handshake) or the operating system reported a timeout.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::WebSocket(CoreError::Timeout(_)) => true,
            Error::Connect(e) | Error::Io(e) => e.kind() == io::ErrorKind::TimedOut,
            _ => false,
        }
    }

    /// The operating system's error, when there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Resolve(e) | Error::Connect(e) | Error::Io(e) => Some(e),
            _ => None,
        }
    }

    /// The WebSocket layer's error, when there is one.
    pub fn websocket_error(&self) -> Option<&CoreError> {
        match self {
            Error::WebSocket(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Resolve(e) => write!(f, "name resolution failed: {e}"),
            Error::Connect(e) => write!(f, "TCP connect failed: {e}"),
            Error::WebSocket(e) => e.fmt(f),
            Error::Io(e) => write!(f, "socket error: {e}"),
            Error::NotSent { messages } => write!(
                f,
                "{messages} queued message(s) were not sent: the connection closed or refused them"
            ),
            Error::Config(e) => write!(f, "invalid configuration: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve(e) | Error::Connect(e) | Error::Io(e) => Some(e),
            Error::WebSocket(e) => Some(e),
            Error::Config(e) => Some(e),
            Error::NotSent { .. } => None,
        }
    }
}

impl From<ConfigFileError> for Error {
    fn from(e: ConfigFileError) -> Self {
        Error::Config(e)
    }
}

impl From<CoreError> for Error {
    fn from(e: CoreError) -> Self {
        Error::WebSocket(e)
    }
}

/// A configuration file [`ClientConfigFiles`](crate::ClientConfigFiles) reads
/// for the core, and why it could not be used. The source is the operating
/// system's or the core's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// A file could not be read.
    Read {
        /// What the file was for: `"client certificate"` or `"client key"`.
        file: &'static str,
        /// The path given.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The client certificate and key read from these files were refused by the
    /// WebSocket layer (no certificate, no key, a key of another certificate...:
    /// see the source, a [`ConfigError`](sockette_core::ConfigError)).
    ClientCert {
        /// The certificate chain's path.
        cert: PathBuf,
        /// The private key's path.
        key: PathBuf,
        /// The WebSocket layer's error.
        source: Box<CoreError>,
    },
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read { file, path, source } => {
                write!(f, "cannot read {file} file {}: {source}", path.display())
            }
            ConfigFileError::ClientCert { cert, key, source } => {
                // The core's sentence without its "invalid configuration" prefix.
                match &**source {
                    CoreError::Config(e) => e.fmt(f)?,
                    other => other.fmt(f)?,
                }
                write!(
                    f,
                    " (certificate {}, key {})",
                    cert.display(),
                    key.display()
                )
            }
        }
    }
}

impl std::error::Error for ConfigFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigFileError::Read { source, .. } => Some(source),
            ConfigFileError::ClientCert { source, .. } => Some(&**source),
        }
    }
}
