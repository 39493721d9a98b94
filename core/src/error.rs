//! Errors, split by blame: the caller's misuse, the peer's protocol violation, a
//! limit reached, a timer expired, the transport lost. Each error that ends an open
//! connection knows the close code it puts on the wire ([`Error::close_code`]).

use std::fmt;

use crate::close::CloseCode;
use crate::tls::TlsError;
use crate::url::UrlError;

/// Everything that can go wrong in a WebSocket connection.
///
/// Errors from the network arrive as [`Event::Error`](crate::Event::Error), always
/// followed by [`Event::Close`](crate::Event::Close); errors from the caller's own
/// commands are returned as `Err` and leave the connection as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be used to open a WebSocket.
    Url(UrlError),
    /// The configuration is not usable (an invalid header name, for instance).
    Config(String),
    /// The opening handshake failed: the peer's HTTP answer (or request, for the
    /// server role) is not a valid WebSocket upgrade.
    Handshake(HandshakeError),
    /// The peer broke RFC 6455; the connection was failed with
    /// [`ProtocolError::close_code`].
    Protocol(ProtocolError),
    /// A configured limit was reached.
    Capacity(CapacityError),
    /// A deadline passed.
    Timeout(TimeoutKind),
    /// The transport ended before the close handshake completed (close code 1006).
    ConnectionLost(String),
    /// The command is not allowed in the connection's current state.
    InvalidState(&'static str),
    /// The connection is over, so the command cannot run. Holds the error that
    /// failed the connection (the one its [`Event::Error`](crate::Event::Error)
    /// reported: every later command gets the same, a failure sticks), or `None`
    /// when it ended by a close: a close handshake, or
    /// [`close`](crate::Connection::close) before the opening completed.
    Closed(Option<Box<Error>>),
    /// A value given by the caller cannot be sent (a close code reserved for local
    /// use, a control payload over 125 bytes...).
    InvalidInput(String),
    /// TLS failed: see [`TlsError::kind`](crate::TlsError::kind).
    Tls(TlsError),
    /// The operating system's random source failed.
    Random(String),
}

impl Error {
    /// The close code this error puts on the wire when it fails an open connection,
    /// or [`CloseCode::Abnormal`] (1006, never sent) when no close frame is sent.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Error::Protocol(p) => p.close_code(),
            Error::Capacity(c) => c.close_code(),
            // A peer silent after a keepalive ping is told why, should it still read.
            Error::Timeout(TimeoutKind::Keepalive) => CloseCode::InternalError,
            _ => CloseCode::Abnormal,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(e) => write!(f, "invalid WebSocket URL: {e}"),
            Error::Config(e) => write!(f, "invalid configuration: {e}"),
            Error::Handshake(e) => write!(f, "opening handshake failed: {e}"),
            Error::Protocol(e) => write!(f, "protocol violation by the peer: {e}"),
            Error::Capacity(e) => write!(f, "limit exceeded: {e}"),
            Error::Timeout(kind) => write!(f, "timed out: {kind}"),
            Error::ConnectionLost(why) => write!(f, "connection lost: {why}"),
            Error::InvalidState(why) => write!(f, "not allowed now: {why}"),
            Error::Closed(None) => write!(f, "the connection is closed"),
            Error::Closed(Some(cause)) => write!(f, "the connection failed earlier: {cause}"),
            Error::InvalidInput(why) => write!(f, "invalid input: {why}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Random(why) => write!(f, "random source failed: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::Url(e)
    }
}
impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}
impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}
impl From<CapacityError> for Error {
    fn from(e: CapacityError) -> Self {
        Error::Capacity(e)
    }
}

/// Why an opening handshake was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The server answered with a status other than 101 Switching Protocols.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The reason phrase as sent.
        reason: String,
        /// The `Location` header of a redirect (3xx), if any.
        location: Option<String>,
    },
    /// The HTTP message could not be parsed.
    Malformed(String),
    /// The HTTP head exceeded [`Limits::max_handshake_size`](crate::Limits).
    TooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A required header is missing or holds the wrong value.
    BadHeader {
        /// The header's name.
        name: &'static str,
        /// What was wrong with it.
        problem: String,
    },
    /// `Sec-WebSocket-Accept` does not prove the server read our key.
    BadAccept {
        /// The value RFC 6455 §4.2.2 requires.
        expected: String,
        /// The value received.
        received: String,
    },
    /// The server selected a subprotocol the client did not offer.
    UnexpectedProtocol(String),
    /// The server enabled an extension the client did not offer.
    UnexpectedExtension(String),
    /// The peer closed the transport before the handshake completed.
    Incomplete,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Status {
                code,
                reason,
                location,
            } => {
                write!(f, "server answered HTTP {code} {reason} instead of 101")?;
                if let Some(loc) = location {
                    write!(f, " (redirect to {loc})")?;
                }
                Ok(())
            }
            HandshakeError::Malformed(why) => write!(f, "malformed HTTP message: {why}"),
            HandshakeError::TooLarge { limit } => {
                write!(f, "HTTP head larger than the {limit}-byte limit")
            }
            HandshakeError::BadHeader { name, problem } => write!(f, "header {name}: {problem}"),
            HandshakeError::BadAccept { expected, received } => write!(
                f,
                "Sec-WebSocket-Accept is {received:?}, expected {expected:?}"
            ),
            HandshakeError::UnexpectedProtocol(p) => {
                write!(
                    f,
                    "server selected subprotocol {p:?}, which was not offered"
                )
            }
            HandshakeError::UnexpectedExtension(e) => {
                write!(f, "server enabled extension {e:?}, which was not offered")
            }
            HandshakeError::Incomplete => {
                write!(f, "connection closed before the handshake completed")
            }
        }
    }
}

/// A rule of RFC 6455 the peer broke. Each fails the connection with
/// [`ProtocolError::close_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RFC 6455 §5.1: a server must not mask frames.
    MaskedFrameFromServer,
    /// RFC 6455 §5.1: a client must mask every frame.
    UnmaskedFrameFromClient,
    /// RFC 6455 §5.2: RSV1-3 must be 0 unless an extension defines them.
    ReservedBits(u8),
    /// RFC 6455 §5.2: opcodes 3-7 and 0xB-0xF are reserved.
    ReservedOpcode(u8),
    /// RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
    LengthTooLong,
    /// RFC 6455 §5.5: control frames carry at most 125 bytes.
    ControlFrameTooLong(u64),
    /// RFC 6455 §5.5: control frames must not be fragmented.
    FragmentedControlFrame,
    /// RFC 6455 §5.4: a continuation frame arrived with no message in progress.
    UnexpectedContinuation,
    /// RFC 6455 §5.4: a new data frame arrived inside a fragmented message.
    ExpectedContinuation,
    /// RFC 6455 §8.1: a text message is not valid UTF-8 (close code 1007).
    InvalidUtf8,
    /// RFC 6455 §5.5.1: a close payload of exactly one byte.
    CloseOneByte,
    /// RFC 6455 §7.4: a close code that must not appear on the wire.
    InvalidCloseCode(u16),
    /// RFC 6455 §5.5.1: a close reason that is not UTF-8 (close code 1007).
    InvalidCloseReason,
    /// RFC 6455 §5.5.1: data frames after the peer's close frame.
    DataAfterClose,
    /// RFC 7692 §6.1: RSV1 marks the first frame of a compressed message only.
    MisplacedCompressionBit(&'static str),
    /// RFC 7692 §6.2: a compressed message is not a valid deflate stream (1007).
    InvalidCompressedData(String),
}

impl ProtocolError {
    /// The close code sent when failing the connection for this reason: 1007
    /// (invalid data) for invalid UTF-8 in a text message or a close reason, and
    /// for invalid compressed data; 1002 for everything else.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidCompressedData(_) => CloseCode::InvalidData,
            _ => CloseCode::Protocol,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::MaskedFrameFromServer => write!(f, "server sent a masked frame"),
            ProtocolError::UnmaskedFrameFromClient => write!(f, "client sent an unmasked frame"),
            ProtocolError::ReservedBits(bits) => write!(
                f,
                "reserved bits {bits:#05b} set without a negotiated extension"
            ),
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::LengthTooLong => {
                write!(f, "64-bit payload length with the most significant bit set")
            }
            ProtocolError::ControlFrameTooLong(len) => {
                write!(f, "control frame of {len} bytes (at most 125 allowed)")
            }
            ProtocolError::FragmentedControlFrame => write!(f, "fragmented control frame"),
            ProtocolError::UnexpectedContinuation => {
                write!(f, "continuation frame without a message to continue")
            }
            ProtocolError::ExpectedContinuation => {
                write!(
                    f,
                    "new data frame while a fragmented message is in progress"
                )
            }
            ProtocolError::InvalidUtf8 => write!(f, "text message is not valid UTF-8"),
            ProtocolError::CloseOneByte => write!(f, "close frame with a 1-byte payload"),
            ProtocolError::InvalidCloseCode(code) => {
                write!(f, "close code {code} is not allowed on the wire")
            }
            ProtocolError::InvalidCloseReason => write!(f, "close reason is not valid UTF-8"),
            ProtocolError::DataAfterClose => write!(f, "data frame after the close frame"),
            ProtocolError::MisplacedCompressionBit(frame) => {
                write!(f, "RSV1 (compressed) set on {frame}")
            }
            ProtocolError::InvalidCompressedData(why) => {
                write!(f, "compressed message is not valid deflate data: {why}")
            }
        }
    }
}

/// A configured limit that was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapacityError {
    /// A frame longer than [`Limits::max_frame_size`](crate::Limits).
    FrameTooLarge {
        /// The frame's declared payload length.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message longer than [`Limits::max_message_size`](crate::Limits).
    MessageTooLarge {
        /// The message's size so far.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A send would take the outgoing buffer past
    /// [`Limits::max_buffered_output`](crate::Limits); nothing was queued.
    OutputBufferFull {
        /// Bytes already waiting to be written.
        buffered: usize,
        /// Bytes the refused send needed.
        needed: usize,
        /// The configured limit.
        limit: usize,
    },
}

impl CapacityError {
    /// The close code for this limit: 1009 (message too big).
    pub fn close_code(&self) -> CloseCode {
        CloseCode::TooBig
    }
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::FrameTooLarge { size, limit } => write!(
                f,
                "frame of {size} bytes exceeds max_frame_size ({limit} bytes)"
            ),
            CapacityError::MessageTooLarge { size, limit } => write!(
                f,
                "message of {size} bytes exceeds max_message_size ({limit} bytes)"
            ),
            CapacityError::OutputBufferFull {
                buffered,
                needed,
                limit,
            } => write!(
                f,
                "outgoing buffer full: {buffered} bytes waiting, {needed} more would exceed max_buffered_output ({limit} bytes)"
            ),
        }
    }
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// The opening handshake did not complete in time.
    Handshake,
    /// The peer did not answer our close frame in time.
    CloseHandshake,
    /// The peer stayed silent after a keepalive ping.
    Keepalive,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Handshake => "the opening handshake did not complete",
            TimeoutKind::CloseHandshake => "the peer did not answer the close frame",
            TimeoutKind::Keepalive => "the peer did not answer the keepalive ping",
        })
    }
}
