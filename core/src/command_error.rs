//! What a command (`send_*`, `ping`, `pong`, `close`) can be refused with,
//! apart from why a connection ended ([`Error`]): the connection's state, a
//! full outgoing buffer, or an argument that cannot be sent. A refused command
//! queues nothing and leaves the connection as it was.

use std::fmt;

use crate::close::{CloseCode, MAX_REASON_LEN};
use crate::error::Error;

/// Why a command was refused; nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The opening handshake has not completed and this role cannot hold the
    /// command until it does (the server role, before it accepts a request).
    Connecting,
    /// [`close`](crate::Connection::close) was called: the close handshake is
    /// under way and nothing more may be sent.
    Closing,
    /// The connection is over. Holds the error that failed it (the one its
    /// [`Event::Error`](crate::Event::Error) reported: every later command gets
    /// the same, a failure sticks), or `None` when it ended by a close: a close
    /// handshake, or [`close`](crate::Connection::close) before the opening
    /// completed.
    Closed(Option<Box<Error>>),
    /// Sending would take the outgoing buffer past
    /// [`Limits::max_buffered_output`](crate::Limits): wait for
    /// `buffered_amount` to drop and retry.
    OutputFull {
        /// Bytes already waiting to be written.
        buffered: usize,
        /// Bytes the refused command needed.
        needed: usize,
        /// The configured limit.
        limit: usize,
    },
    /// An argument cannot be sent.
    Invalid(InvalidInput),
    /// A backend's `Sender` could not wake the thread that drives the
    /// connection (the operating system refused the wake-up: its text is
    /// here); nothing was queued.
    WakeFailed(String),
}

impl CommandError {
    /// The error that failed the connection, when the command was refused
    /// because a failure ended it.
    #[must_use]
    pub fn cause(&self) -> Option<&Error> {
        match self {
            CommandError::Closed(Some(cause)) => Some(cause),
            _ => None,
        }
    }

    /// True when the connection will take no more commands of any kind
    /// ([`Closing`](Self::Closing) or [`Closed`](Self::Closed)).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, CommandError::Closing | CommandError::Closed(_))
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Connecting => {
                write!(f, "the opening handshake has not completed yet")
            }
            CommandError::Closing => write!(f, "the connection is closing"),
            CommandError::Closed(None) => write!(f, "the connection is closed"),
            CommandError::Closed(Some(cause)) => {
                write!(f, "the connection failed earlier: {cause}")
            }
            CommandError::OutputFull {
                buffered,
                needed,
                limit,
            } => write!(
                f,
                "outgoing buffer full: {buffered} bytes waiting, {needed} more would exceed max_buffered_output ({limit} bytes)"
            ),
            CommandError::Invalid(e) => write!(f, "invalid input: {e}"),
            CommandError::WakeFailed(reason) => write!(
                f,
                "could not wake the connection's thread ({reason}): nothing was queued"
            ),
        }
    }
}

/// The cause is the connection's failure, or the invalid argument.
impl std::error::Error for CommandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CommandError::Closed(Some(cause)) => Some(&**cause),
            CommandError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

impl From<InvalidInput> for CommandError {
    fn from(e: InvalidInput) -> Self {
        CommandError::Invalid(e)
    }
}

/// An argument a command cannot send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidInput {
    /// A ping or pong payload over 125 bytes (RFC 6455 §5.5).
    ControlPayloadTooLong {
        /// The payload's length in bytes.
        len: usize,
    },
    /// A close code that may not be sent: 1005, 1006 and 1015 are for local
    /// reports only, and codes below 3000 not defined by RFC 6455 are reserved
    /// (RFC 6455 §7.4).
    CloseCodeNotSendable {
        /// The code given.
        code: CloseCode,
    },
    /// A close reason with [`CloseCode::NoStatus`]: a close frame carries a
    /// reason only after a code (RFC 6455 §5.5.1).
    ReasonWithoutCode,
    /// A close reason over [`MAX_REASON_LEN`] (123) bytes of UTF-8.
    CloseReasonTooLong {
        /// The reason's length in bytes.
        len: usize,
    },
}

impl InvalidInput {
    /// Refuses a ping or pong payload over 125 bytes (RFC 6455 §5.5): the
    /// check [`Connection::ping`](crate::Connection::ping) and
    /// [`pong`](crate::Connection::pong) make, for a queue in front of the
    /// connection to make at once.
    pub fn check_control_payload(len: usize) -> Result<(), InvalidInput> {
        if len > crate::frame::MAX_CONTROL_PAYLOAD {
            return Err(InvalidInput::ControlPayloadTooLong { len });
        }
        Ok(())
    }

    /// Refuses a close the protocol does not allow: a code that may not be
    /// sent, a reason without a code, a reason over [`MAX_REASON_LEN`] bytes.
    /// The check [`Connection::close`](crate::Connection::close) makes.
    pub fn check_close(code: CloseCode, reason: &str) -> Result<(), InvalidInput> {
        crate::close::check_close_command(code, reason)
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidInput::ControlPayloadTooLong { len } => {
                write!(f, "control frame payload of {len} bytes exceeds 125")
            }
            InvalidInput::CloseCodeNotSendable { code } => {
                write!(f, "close code {code} may not be sent")
            }
            InvalidInput::ReasonWithoutCode => write!(f, "a close reason needs a close code"),
            InvalidInput::CloseReasonTooLong { len } => {
                write!(f, "close reason of {len} bytes exceeds {MAX_REASON_LEN}")
            }
        }
    }
}

impl std::error::Error for InvalidInput {}
