//! Errors, split by blame: the caller's misuse, the peer's protocol violation, a
//! limit reached, a timer expired, the transport lost. Each error that ends an open
//! connection knows the close code it puts on the wire ([`Error::close_code`]).

use std::fmt;

use crate::close::CloseCode;
use crate::config_error::ConfigError;
use crate::header_problem::{DeflateProblem, HeaderProblem};
use crate::proxy::ProxyError;
use crate::redirect::RedirectError;
use crate::tls::TlsError;
use crate::url::UrlError;

/// Why a connection could not be created, or why it ended.
///
/// Errors from the network arrive as [`Event::Error`](crate::Event::Error), always
/// followed by [`Event::Close`](crate::Event::Close); creating a connection
/// ([`Connection::client`](crate::Connection::client)) returns the others. What a
/// command (`send_text`, `close`...) refuses is a
/// [`CommandError`](crate::CommandError), which holds this error once a failure
/// ended the connection. [`source`](std::error::Error::source) gives the typed
/// cause where there is one (the [`UrlError`], [`ConfigError`], [`TlsError`]...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be used to open a WebSocket.
    Url(UrlError),
    /// The configuration is not usable (an invalid header name, for instance).
    Config(ConfigError),
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
    ConnectionLost(ConnectionLostKind),
    /// TLS failed: see [`TlsError::kind`](crate::TlsError::kind).
    Tls(TlsError),
    /// The operating system's random source failed.
    Random(RandomError),
    /// The proxy failed, before the server was reached: see
    /// [`ProxyError::step`](crate::ProxyError::step) and
    /// [`kind`](crate::ProxyError::kind).
    Proxy(ProxyError),
    /// A redirect could not be followed (a backend following them, see
    /// [`ClientConfig::max_redirects`](crate::ClientConfig::max_redirects)).
    Redirect(RedirectError),
}

impl Error {
    /// The close code this error puts on the wire when it fails an open connection,
    /// or [`CloseCode::Abnormal`] (1006, never sent) when no close frame is sent.
    #[must_use]
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
            Error::ConnectionLost(kind) => write!(f, "connection lost: {kind}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Random(e) => write!(f, "random source failed: {e}"),
            Error::Proxy(e) => write!(f, "proxy failed: {e}"),
            Error::Redirect(e) => write!(f, "opening handshake failed: {e}"),
        }
    }
}

/// The typed part of the error, when it has one (a [`Timeout`](Error::Timeout)
/// or [`ConnectionLost`](Error::ConnectionLost) is complete in itself).
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Url(e) => Some(e),
            Error::Config(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Capacity(e) => Some(e),
            Error::Tls(e) => Some(e),
            Error::Random(e) => Some(e),
            Error::Proxy(e) => Some(e),
            Error::Redirect(e) => Some(e),
            Error::Timeout(_) | Error::ConnectionLost(_) => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
impl From<TlsError> for Error {
    fn from(e: TlsError) -> Self {
        Error::Tls(e)
    }
}

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

/// How the transport ended before the close handshake completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionLostKind {
    /// The transport ended (EOF) with no close frame from the peer.
    NoCloseFrame,
    /// The transport ended in the middle of a message (fragments or a frame
    /// not complete).
    MidMessage,
    /// The peer ended the TLS session (close_notify) without a close frame.
    CloseNotify,
}

impl fmt::Display for ConnectionLostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionLostKind::NoCloseFrame => {
                "the peer closed the connection without a close frame"
            }
            ConnectionLostKind::MidMessage => {
                "the peer closed the connection in the middle of a message"
            }
            ConnectionLostKind::CloseNotify => {
                "the peer ended the TLS session (close_notify) without a close frame"
            }
        })
    }
}

/// The operating system's random source failed while seeding
/// [`ChaChaSource::from_os`](crate::ChaChaSource::from_os).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomError(getrandom::Error);

impl RandomError {
    pub(crate) fn new(error: getrandom::Error) -> Self {
        RandomError(error)
    }

    /// The operating system's error code, when the failure has one.
    #[must_use]
    pub fn raw_os_error(&self) -> Option<i32> {
        self.0.raw_os_error()
    }
}

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The cause is getrandom's own error.
impl std::error::Error for RandomError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
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
        /// The answer's headers, in order (`WWW-Authenticate` of a 401,
        /// `Retry-After` of a 429 or 503...).
        headers: Vec<(String, String)>,
        /// Up to [`MAX_REJECTION_BODY`](crate::MAX_REJECTION_BODY) bytes of its
        /// body (decoded when chunked): what the server said about it.
        body: Vec<u8>,
    },
    /// The peer's bytes are not the HTTP/1.1 head a WebSocket opening needs.
    Malformed(MalformedHttp),
    /// The HTTP head exceeded [`Limits::max_handshake_size`](crate::Limits).
    TooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A required header is missing, repeated or holds the wrong value.
    BadHeader {
        /// The header's name.
        name: &'static str,
        /// What was wrong with it.
        problem: HeaderProblem,
    },
    /// The permessage-deflate negotiation in `Sec-WebSocket-Extensions` is
    /// invalid (RFC 7692 §7.1): a malformed, repeated or unknown parameter, or
    /// an answer that does not honour the offer.
    Deflate(DeflateProblem),
    /// `Sec-WebSocket-Accept` does not prove the server read our key.
    BadAccept {
        /// The value RFC 6455 §4.2.2 requires.
        expected: String,
        /// The value received.
        received: String,
    },
    /// The server selected a subprotocol the client did not offer (its name, as
    /// sent).
    UnexpectedProtocol(String),
    /// The server enabled an extension the client did not offer (the header
    /// value or extension name, as sent).
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
                ..
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
            HandshakeError::Deflate(problem) => {
                write!(f, "header Sec-WebSocket-Extensions: {problem}")
            }
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

/// The cause is the kind: the [`MalformedHttp`] of a malformed head, the
/// [`HeaderProblem`] of a bad header, the [`DeflateProblem`] of a refused
/// negotiation.
impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HandshakeError::Malformed(e) => Some(e),
            HandshakeError::BadHeader { problem, .. } => Some(problem),
            HandshakeError::Deflate(e) => Some(e),
            _ => None,
        }
    }
}

/// What makes an HTTP head unusable for the opening handshake.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MalformedHttp {
    /// A header name holds a character HTTP does not allow.
    HeaderName,
    /// A header value holds a character HTTP does not allow.
    HeaderValue,
    /// A line does not end with CRLF (or LF).
    NewLine,
    /// The status line's code or reason is invalid.
    Status,
    /// The method or the request target is not a valid token.
    Token,
    /// The head has more header lines than this crate accepts (64).
    TooManyHeaders,
    /// The HTTP version is neither HTTP/1.0 nor HTTP/1.1.
    Version,
    /// The head is HTTP/1.0; the WebSocket handshake needs HTTP/1.1.
    NotHttp11,
    /// A request whose method is not `GET`.
    NotGet {
        /// The method, as sent.
        method: String,
    },
    /// The head ended with an empty line the HTTP parser did not accept as
    /// its end.
    Unterminated,
}

impl MalformedHttp {
    pub(crate) fn from_httparse(error: httparse::Error) -> Self {
        match error {
            httparse::Error::HeaderName => MalformedHttp::HeaderName,
            httparse::Error::HeaderValue => MalformedHttp::HeaderValue,
            httparse::Error::NewLine => MalformedHttp::NewLine,
            httparse::Error::Status => MalformedHttp::Status,
            httparse::Error::Token => MalformedHttp::Token,
            httparse::Error::TooManyHeaders => MalformedHttp::TooManyHeaders,
            httparse::Error::Version => MalformedHttp::Version,
        }
    }
}

impl fmt::Display for MalformedHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            MalformedHttp::NotGet { method } => {
                return write!(f, "the request method is {method:?}, not GET")
            }
            MalformedHttp::HeaderName => "invalid header name",
            MalformedHttp::HeaderValue => "invalid header value",
            MalformedHttp::NewLine => "a line does not end with CRLF",
            MalformedHttp::Status => "invalid status line",
            MalformedHttp::Token => "invalid method or request target",
            MalformedHttp::TooManyHeaders => "more than 64 header lines",
            MalformedHttp::Version => "invalid HTTP version (is this HTTP at all?)",
            MalformedHttp::NotHttp11 => "HTTP/1.0, where the handshake needs HTTP/1.1",
            MalformedHttp::Unterminated => {
                "the head ends with an empty line the HTTP parser did not accept"
            }
        };
        f.write_str(text)
    }
}

impl std::error::Error for MalformedHttp {}

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
    /// RFC 7692 §6.1: RSV1 (compressed) set on a control frame.
    CompressedControlFrame,
    /// RFC 7692 §6.1: RSV1 (compressed) set on a continuation frame; it marks
    /// the first frame of a compressed message only.
    CompressedContinuation,
    /// RFC 7692 §6.2: a compressed message is not a valid deflate stream (1007).
    InvalidCompressedData(CompressedDataError),
}

impl ProtocolError {
    /// The close code sent when failing the connection for this reason: 1007
    /// (invalid data) for invalid UTF-8 in a text message or a close reason, and
    /// for invalid compressed data; 1002 for everything else.
    #[must_use]
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
            ProtocolError::CompressedControlFrame => {
                write!(f, "RSV1 (compressed) set on a control frame")
            }
            ProtocolError::CompressedContinuation => {
                write!(f, "RSV1 (compressed) set on a continuation frame")
            }
            ProtocolError::InvalidCompressedData(why) => {
                write!(f, "compressed message is not valid deflate data: {why}")
            }
        }
    }
}

/// The cause is the [`CompressedDataError`] for invalid compressed data.
impl std::error::Error for ProtocolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProtocolError::InvalidCompressedData(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a compressed message could not be inflated (RFC 7692 §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressedDataError {
    /// zlib refused the stream; its message says where.
    Zlib {
        /// zlib's description of the problem, when it gave one.
        message: Option<String>,
    },
    /// Compressed bytes follow the final deflate block of the message.
    DataAfterFinalBlock,
    /// The deflate stream neither consumed input nor produced output.
    NoProgress,
}

impl fmt::Display for CompressedDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompressedDataError::Zlib { message: Some(m) } => write!(f, "zlib: {m}"),
            CompressedDataError::Zlib { message: None } => write!(f, "zlib refused the stream"),
            CompressedDataError::DataAfterFinalBlock => {
                write!(f, "data after the final deflate block of the message")
            }
            CompressedDataError::NoProgress => {
                write!(f, "the deflate stream stopped making progress")
            }
        }
    }
}

impl std::error::Error for CompressedDataError {}

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
}

impl CapacityError {
    /// The close code for this limit: 1009 (message too big).
    #[must_use]
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
        }
    }
}

impl std::error::Error for CapacityError {}

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
