//! The backend's errors: the WebSocket layer's (`sockette-core`), the socket's,
//! and the refusals of commands after the close. Nothing here knows the protocol.

use std::fmt;
use std::io;

use sockette_core::Error as CoreError;

/// Everything that can go wrong with a [`Connection`](crate::Connection).
///
/// Failures of the connection itself arrive on the loop's thread as
/// [`Event::Error`](crate::Event::Error), followed by
/// [`Event::Close`](crate::Event::Close). Commands (`send_text`, `close`...) return
/// an `Err` and leave the connection as it was.
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
    /// refused a command (an invalid close code, a full outgoing buffer).
    WebSocket(CoreError),
    /// The socket failed after the TCP connection was established (reset by the
    /// peer, broken pipe...). The connection is closed with code 1006.
    Io(io::Error),
    /// The connection is closing or closed: the command was refused and nothing
    /// was queued.
    Closed,
    /// Messages queued through a [`Sender`](crate::Sender) were accepted but not
    /// sent: the connection closed first, or the WebSocket layer refused them (its
    /// outgoing buffer was full). Reported as an event, never silently.
    NotSent {
        /// How many queued commands were not carried out.
        messages: usize,
    },
    /// A configuration file could not be used (a client certificate or its key,
    /// read by [`ClientConfigFiles`](crate::ClientConfigFiles)): the sentence names
    /// the file and the problem.
    Config(String),
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
            Error::Closed => write!(f, "the connection is closed"),
            Error::NotSent { messages } => write!(
                f,
                "{messages} queued message(s) were not sent: the connection closed or refused them"
            ),
            Error::Config(why) => write!(f, "invalid configuration: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve(e) | Error::Connect(e) | Error::Io(e) => Some(e),
            Error::WebSocket(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CoreError> for Error {
    fn from(e: CoreError) -> Self {
        Error::WebSocket(e)
    }
}
