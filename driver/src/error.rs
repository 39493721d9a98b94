//! The backends' one error type: a failed opening names the step (DNS, TCP,
//! TLS, HTTP upgrade), the target and its cause; after the opening, errors come
//! from the WebSocket layer (`sockette-core`) or from the socket; a
//! configuration file names itself. What commands are refused with is the
//! core's [`CommandError`](sockette_core::CommandError).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use sockette_core::{Connection, Error as CoreError, TimeoutKind, WsUrl};

use crate::ProxyEnvError;

/// Everything that can go wrong with a connection, in every sockette backend.
///
/// Failures of the connection itself arrive as [`Event::Error`](crate::Event::Error)
/// (always followed by [`Event::Close`](crate::Event::Close)), or as the `Err` of a
/// synchronous connect (sockette-std's `Client::connect`). Commands
/// (`send_text`, `close`...) return a
/// [`CommandError`](sockette_core::CommandError) instead, and leave the
/// connection as it was. [`source`](std::error::Error::source) gives the cause:
/// the [`ConnectError`], the core's error, the socket's `io::Error`, the
/// [`ConfigFileError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The connection could not be opened: which step failed, and why.
    Connect(Box<ConnectError>),
    /// The WebSocket layer failed the connection (a protocol violation by the peer,
    /// a limit, a timeout) or refused the configuration.
    WebSocket(CoreError),
    /// The socket failed after the connection opened (reset by the peer, broken
    /// pipe...). The connection is closed with code 1006.
    Io(io::Error),
    /// The connection is over: every event, `Close` included, was delivered
    /// before this call (sockette-std's `run`, `dispatch`, `next_event`,
    /// `recv`...).
    Closed,
    /// Messages queued through a [`Sender`](crate::Sender) that were accepted but
    /// could not be sent because the connection closed first. Reported once, just
    /// before [`Event::Close`](crate::Event::Close).
    NotSent {
        /// How many messages were not sent.
        messages: usize,
    },
    /// A configuration file, or the operating system's certificate store, could
    /// not be used.
    Config(ConfigFileError),
    /// An environment variable names a proxy that cannot be used.
    ProxyEnvironment(ProxyEnvError),
}

impl Error {
    /// True when a deadline passed: an opening step, a keepalive or a close
    /// handshake.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Connect(c) => c.is_timeout(),
            Error::WebSocket(CoreError::Timeout(_)) => true,
            Error::Io(e) => matches!(e.kind(), io::ErrorKind::TimedOut),
            _ => false,
        }
    }

    /// The operating system's error, when there is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Io(e) => Some(e),
            Error::Connect(c) => match &c.cause {
                ConnectCause::Io(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => e.fmt(f),
            Error::WebSocket(e) => e.fmt(f),
            Error::Io(e) => write!(f, "socket error: {e}"),
            Error::Closed => write!(f, "the connection is closed"),
            Error::NotSent { messages } => write!(
                f,
                "{messages} queued message(s) were not sent: the connection closed first"
            ),
            Error::Config(e) => write!(f, "invalid configuration: {e}"),
            Error::ProxyEnvironment(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect(e) => Some(&**e),
            Error::WebSocket(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Config(e) => Some(e),
            Error::ProxyEnvironment(e) => Some(e),
            Error::Closed | Error::NotSent { .. } => None,
        }
    }
}

impl From<ConfigFileError> for Error {
    fn from(e: ConfigFileError) -> Self {
        Error::Config(e)
    }
}

impl From<ProxyEnvError> for Error {
    fn from(e: ProxyEnvError) -> Self {
        Error::ProxyEnvironment(e)
    }
}

impl From<CoreError> for Error {
    fn from(e: CoreError) -> Self {
        Error::WebSocket(e)
    }
}

impl From<ConnectError> for Error {
    fn from(e: ConnectError) -> Self {
        Error::Connect(Box::new(e))
    }
}

/// A step of the opening, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectStep {
    /// Resolving the host name (every address, IPv6 and IPv4).
    Resolve,
    /// The TCP connection, each resolved address in turn (the proxy's, when
    /// there is one).
    Tcp,
    /// The proxy's part: TLS with an `https://` proxy, then its `CONNECT` or
    /// SOCKS5 negotiation, until the tunnel to the server is open.
    Proxy,
    /// The TLS handshake (`wss://`).
    Tls,
    /// The HTTP upgrade (the WebSocket opening handshake).
    Upgrade,
}

impl fmt::Display for ConnectStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectStep::Resolve => "DNS resolution",
            ConnectStep::Tcp => "TCP connect",
            ConnectStep::Proxy => "proxy",
            ConnectStep::Tls => "TLS handshake",
            ConnectStep::Upgrade => "HTTP upgrade",
        })
    }
}

/// Why an opening failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectCause {
    /// The operating system refused (connection refused, unknown host...).
    Io(io::Error),
    /// The connect deadline passed during this step; the value is the deadline
    /// configured for the whole opening.
    Timeout(Duration),
    /// The server's answer was not a WebSocket upgrade, or TLS failed.
    WebSocket(CoreError),
}

/// An opening that failed: the step, the `host:port` aimed at, the cause.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectError {
    /// The step that failed.
    pub step: ConnectStep,
    /// The `host:port` of the URL.
    pub target: String,
    /// The proxy gone through (its URL without the password), if any: the
    /// name looked up and the TCP connection were the proxy's.
    pub via: Option<String>,
    /// What went wrong.
    pub cause: ConnectCause,
}

impl ConnectError {
    /// An opening that failed at `step`, aiming at `target` (`host:port`).
    pub fn new(step: ConnectStep, target: &str, cause: ConnectCause) -> Self {
        ConnectError {
            step,
            target: target.to_string(),
            via: None,
            cause,
        }
    }

    /// This error, the opening having gone through `proxy`.
    #[must_use]
    pub fn via(mut self, proxy: Option<String>) -> Self {
        self.via = proxy;
        self
    }

    /// True when the connect deadline passed.
    pub fn is_timeout(&self) -> bool {
        match &self.cause {
            ConnectCause::Timeout(_) => true,
            ConnectCause::Io(e) => e.kind() == io::ErrorKind::TimedOut,
            ConnectCause::WebSocket(CoreError::Proxy(e)) => {
                matches!(e.kind(), sockette_core::ProxyErrorKind::TimedOut)
            }
            ConnectCause::WebSocket(e) => matches!(e, CoreError::Timeout(_)),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connecting to {}", self.target)?;
        if let Some(proxy) = &self.via {
            write!(f, " via proxy {proxy}")?;
        }
        write!(f, " failed at the {} step: ", self.step)?;
        match &self.cause {
            ConnectCause::Io(e) => e.fmt(f),
            ConnectCause::Timeout(d) => {
                write!(f, "timed out (the opening must complete within {d:?})")
            }
            ConnectCause::WebSocket(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            ConnectCause::Io(e) => Some(e),
            ConnectCause::Timeout(_) => None,
            ConnectCause::WebSocket(e) => Some(e),
        }
    }
}

/// A configuration input this crate reads for the core, and why it could not be
/// used. The source is the operating system's or the core's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// A file could not be read.
    Read {
        /// What the file was for.
        file: ConfigFile,
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
    /// The operating system's certificate store holds no certificate (the
    /// `native-roots` feature); the source is the first error met reading it,
    /// if any.
    NoNativeRoots {
        /// The first error met reading the store.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::Read { file, path, source } => {
                write!(f, "cannot read {file} file {}: {source}", path.display())
            }
            ConfigFileError::ClientCert { cert, key, source } => write!(
                f,
                "{} (certificate {}, key {})",
                client_cert_text(source),
                cert.display(),
                key.display()
            ),
            ConfigFileError::NoNativeRoots { source } => {
                write!(f, "no certificate in the operating system's store: ")?;
                match source {
                    Some(e) => e.fmt(f),
                    None => f.write_str("the store is empty"),
                }
            }
        }
    }
}

/// The core's sentence for a refused client certificate, without its
/// "invalid configuration" prefix (this error adds its own).
fn client_cert_text(error: &CoreError) -> String {
    match error {
        CoreError::Config(e) => e.to_string(),
        other => other.to_string(),
    }
}

impl std::error::Error for ConfigFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigFileError::Read { source, .. } => Some(source),
            ConfigFileError::ClientCert { source, .. } => Some(&**source),
            ConfigFileError::NoNativeRoots { source } => source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
        }
    }
}

/// What a configuration file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigFile {
    /// Root certificates to trust (sockette-std's `ClientBuilder::ca_file`).
    Ca,
    /// The client certificate chain.
    ClientCertificate,
    /// The client's private key.
    ClientKey,
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigFile::Ca => "CA",
            ConfigFile::ClientCertificate => "client certificate",
            ConfigFile::ClientKey => "client key",
        })
    }
}

/// The `host:port` an opening aims at, as errors name it (`[::1]:9001` for
/// an IPv6 address).
pub fn target_of(url: &WsUrl) -> String {
    if url.host().contains(':') {
        format!("[{}]:{}", url.host(), url.port())
    } else {
        format!("{}:{}", url.host(), url.port())
    }
}

/// Where an opening had got to when it failed: `reached` is the last step
/// the backend started ([`ConnectStep::Tls`] once TCP connected for `wss://`,
/// [`ConnectStep::Upgrade`] for `ws://`); the core says whether its TLS
/// handshake was still running, and a TLS error is always the TLS step.
pub fn failed_step(
    reached: ConnectStep,
    core: &Connection,
    error: Option<&CoreError>,
) -> ConnectStep {
    match (reached, error) {
        (_, Some(CoreError::Proxy(_))) => ConnectStep::Proxy,
        (ConnectStep::Tls | ConnectStep::Upgrade, _) if core.is_proxying() => ConnectStep::Proxy,
        (ConnectStep::Tls | ConnectStep::Upgrade, Some(CoreError::Tls(_))) => ConnectStep::Tls,
        (ConnectStep::Tls | ConnectStep::Upgrade, _) if core.is_tls_handshaking() => {
            ConnectStep::Tls
        }
        (ConnectStep::Tls, _) => ConnectStep::Upgrade,
        (step, _) => step,
    }
}

/// The error the core reported, as the user sees it: before the connection
/// opened, a [`ConnectError`] naming the step (a handshake timeout becomes
/// [`ConnectCause::Timeout`] with the opening's deadline); after, the
/// WebSocket layer's error as it is.
pub fn core_failure(
    error: CoreError,
    opened: bool,
    reached: ConnectStep,
    core: &Connection,
    target: &str,
) -> Error {
    if opened {
        return Error::WebSocket(error);
    }
    let step = failed_step(reached, core, Some(&error));
    let cause = match error {
        CoreError::Timeout(TimeoutKind::Handshake) => {
            ConnectCause::Timeout(core.timeouts().handshake)
        }
        e => ConnectCause::WebSocket(e),
    };
    ConnectError::new(step, target, cause).into()
}

/// A socket failure, as the user sees it: before the connection opened, a
/// [`ConnectError`] naming the step; after, [`Error::Io`].
pub fn socket_failure(
    error: io::Error,
    opened: bool,
    reached: ConnectStep,
    core: &Connection,
    target: &str,
) -> Error {
    if opened {
        return Error::Io(error);
    }
    let step = failed_step(reached, core, None);
    ConnectError::new(step, target, ConnectCause::Io(error)).into()
}
