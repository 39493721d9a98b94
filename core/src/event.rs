//! What the connection reports: the browser's open / message / close / error, plus
//! pings and pongs for those who want them. Plain data, drained by `poll_event`.

use std::fmt;

use bytes::Bytes;

use crate::close::CloseCode;
use crate::error::Error;
use crate::payload::Payload;
use crate::utf8;

/// One thing that happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The opening handshake succeeded (WLanguage's `SocketOuverture`). Boxed:
    /// it happens once, and an inline `OpenInfo` would make every `Event` (one
    /// moved per message) several times larger.
    Open(Box<OpenInfo>),
    /// A complete message arrived (`SocketMessage`).
    Message(Message),
    /// The peer sent a ping. While the connection is open, its pong is already
    /// queued, or, if the output is full ([`Limits::max_buffered_output`]), held
    /// and sent once the output drains (only the latest ping's, RFC 6455 §5.5.3).
    /// While closing, no pong is sent: nothing may follow our close frame.
    ///
    /// [`Limits::max_buffered_output`]: crate::Limits::max_buffered_output
    Ping(Bytes),
    /// The peer sent a pong (solicited or not).
    Pong(Bytes),
    /// The connection is closed (`SocketFermeture`). Always the last event, exactly once.
    Close(CloseInfo),
    /// Something went wrong (`SocketErreur`); a [`Event::Close`] follows. Boxed,
    /// like `Open`'s: it is rare, and large.
    Error(Box<Error>),
}

impl Event {
    /// The error this event reports, if it is an [`Event::Error`]: a way to
    /// look inside the box in one pattern (`matches!(event.error(),
    /// Some(Error::Timeout(_)))`).
    pub fn error(&self) -> Option<&Error> {
        match self {
            Event::Error(error) => Some(error),
            _ => None,
        }
    }
}

/// An event from [`Connection::poll_event_ref`](crate::Connection::poll_event_ref):
/// a whole message borrowed from the connection's input buffer (no copy, no
/// allocation) until the next call on the connection, or any other event as
/// [`Connection::poll_event`](crate::Connection::poll_event) gives it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventRef<'a> {
    /// A text message that arrived in one frame, validated UTF-8.
    Text(&'a str),
    /// A binary message that arrived in one frame.
    Binary(&'a [u8]),
    /// Anything else, including messages that arrived fragmented or compressed.
    Other(Event),
}

/// What the opening handshake settled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OpenInfo {
    /// The subprotocol the server selected, if any.
    pub protocol: Option<String>,
    /// The extensions in effect, each written as a `Sec-WebSocket-Extensions`
    /// answer with the parameters agreed (`"permessage-deflate;
    /// client_max_window_bits=10"`): permessage-deflate is the only one this
    /// crate knows. Empty when none was agreed.
    pub extensions: Vec<String>,
    /// The peer's HTTP headers (the response for a client, the request for a server).
    pub headers: Vec<(String, String)>,
    /// The URL connected to, without credentials (for a client: after
    /// redirects, the last one); `None` for the server role.
    pub url: Option<String>,
    /// The requested resource (path and query); set for the server role.
    pub resource: String,
    /// The opening handshake's HTTP request head, blank line included: the one a
    /// client sent, or a server received. Bounded by
    /// [`Limits::max_handshake_size`](crate::Limits); kept only in this event.
    pub request_head: String,
    /// The `101 Switching Protocols` response head, blank line included: the one
    /// a client received, or a server sent.
    pub response_head: String,
}

impl CloseInfo {
    /// An ending with this code and reason (for tests and for code that reports
    /// endings of its own, as a backend does).
    pub fn new(code: CloseCode, reason: impl Into<String>, was_clean: bool) -> CloseInfo {
        CloseInfo {
            code,
            reason: reason.into(),
            was_clean,
        }
    }
}

impl OpenInfo {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseInfo {
    /// The peer's close code; 1005 when its close frame had none; 1006 when the
    /// connection ended without a close handshake; our code when we failed it.
    pub code: CloseCode,
    /// The peer's reason (or ours when we failed the connection).
    pub reason: String,
    /// True only after a completed close handshake.
    pub was_clean: bool,
}

/// A complete data message.
///
/// Built from what it carries: a string makes a text message, bytes a binary one.
///
/// ```
/// use sockette_core::{Bytes, Message};
///
/// let text = Message::from("hello");
/// assert!(text.is_text());
/// assert_eq!(text.as_text(), Some("hello"));
///
/// let binary = Message::from(vec![1u8, 2, 3]);
/// assert!(binary.is_binary());
/// assert_eq!(binary.as_text(), None);
/// assert_eq!(binary.len(), 3);
/// assert_eq!(binary.into_data(), Bytes::from_static(&[1, 2, 3]));
/// ```
///
/// Other kinds may come (`#[non_exhaustive]`): a `match` needs a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message, validated UTF-8.
    Text(Text),
    /// A binary message.
    Binary(Payload),
}

impl Message {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// True for a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The text of a text message; `None` for a binary message, even one whose
    /// bytes happen to be UTF-8 (the peer said they are not text).
    ///
    /// ```
    /// use sockette_core::Message;
    ///
    /// assert_eq!(Message::from("hi").as_text(), Some("hi"));
    /// assert_eq!(Message::from(b"hi".to_vec()).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            Message::Binary(_) => None,
        }
    }

    /// The [`Text`] of a text message, without a copy; `None` for a binary one.
    ///
    /// ```
    /// use sockette_core::Message;
    ///
    /// let text = Message::from(String::from("hi")).into_text().unwrap();
    /// assert_eq!(text, "hi");
    /// assert!(Message::from(vec![0u8]).into_text().is_none());
    /// ```
    pub fn into_text(self) -> Option<Text> {
        match self {
            Message::Text(t) => Some(t),
            Message::Binary(_) => None,
        }
    }

    /// The payload, text or binary, as a [`Bytes`]: without a copy, but for a
    /// payload of at most [`INLINE_CAPACITY`](crate::payload::INLINE_CAPACITY)
    /// bytes, held inline (see [`Payload`]) and copied here.
    ///
    /// ```
    /// use sockette_core::Message;
    ///
    /// assert_eq!(Message::from("hi").into_data(), &b"hi"[..]);
    /// ```
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) => b.into_bytes(),
        }
    }
}

/// A text message.
impl From<Text> for Message {
    fn from(text: Text) -> Self {
        Message::Text(text)
    }
}

/// A text message (the string is copied once).
impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

/// A text message (no copy).
impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text.into())
    }
}

/// A binary message (the bytes are copied once).
impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Self {
        Message::Binary(Payload::copy_from_slice(data))
    }
}

/// A binary message.
impl From<Payload> for Message {
    fn from(data: Payload) -> Self {
        Message::Binary(data)
    }
}

/// A binary message (no copy).
impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(data.into())
    }
}

/// A binary message (no copy).
impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data.into())
    }
}

/// Validated UTF-8 text: held inline when small, else sharing the received
/// buffer (no copy); see [`Payload`].
///
/// The bytes are checked once, when a `Text` is built; reading it as a `&str`
/// ([`as_str`](Text::as_str), `Deref`, `AsRef<str>`) costs nothing after that.
///
/// ```
/// use sockette_core::{Bytes, Text};
///
/// let text = Text::try_from(Bytes::from_static("κόσμε".as_bytes())).unwrap();
/// assert_eq!(text.as_str(), "κόσμε");
/// assert_eq!(text.chars().count(), 5); // a `&str` through `Deref`
/// assert_eq!(text.to_string(), "κόσμε"); // `Display`
///
/// let refused = Text::try_from(vec![0x66, 0x6f, 0xff]).unwrap_err();
/// assert_eq!(refused.valid_up_to(), 2);
/// assert_eq!(refused.into_bytes(), &[0x66, 0x6f, 0xff][..]);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Payload);

impl Text {
    /// Wraps bytes after checking they are UTF-8; gives them back if not (see
    /// also `Text::try_from`, whose error says where the text stops being valid).
    pub fn from_utf8(bytes: Bytes) -> Result<Text, Bytes> {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes.into())),
            Err(_) => Err(bytes),
        }
    }

    /// Bytes the caller has just validated as UTF-8 (its callers:
    /// `Connection::poll_event`'s fast path, at once or as the payload arrived,
    /// and the assembler once its
    /// incremental validator has seen the whole message). `as_str` relies on it: see
    /// [`utf8::validated_str`].
    pub(crate) fn from_validated(bytes: Payload) -> Text {
        debug_assert!(simdutf8::basic::from_utf8(&bytes).is_ok());
        Text(bytes)
    }

    /// The text, in O(1): the bytes were validated once, when the `Text` was built.
    pub fn as_str(&self) -> &str {
        utf8::validated_str(&self.0)
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The UTF-8 bytes as a [`Bytes`]: the underlying buffer, or a copy of a
    /// small text held inline (see [`Payload`]).
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// The UTF-8 bytes as a [`Payload`], without a copy.
    pub fn into_payload(self) -> Payload {
        self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Payload::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Payload::from(s.into_bytes()))
    }
}

/// Checks the bytes once; no copy.
impl TryFrom<Bytes> for Text {
    type Error = NotUtf8;
    fn try_from(bytes: Bytes) -> Result<Self, NotUtf8> {
        Text::from_utf8(bytes).map_err(NotUtf8::new)
    }
}

/// Checks the bytes once; no copy.
impl TryFrom<Vec<u8>> for Text {
    type Error = NotUtf8;
    fn try_from(bytes: Vec<u8>) -> Result<Self, NotUtf8> {
        Text::try_from(Bytes::from(bytes))
    }
}

impl From<Text> for Bytes {
    fn from(text: Text) -> Bytes {
        text.into_bytes()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// Bytes refused as [`Text`]: they are not UTF-8. They are given back whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    bytes: Bytes,
    valid_up_to: usize,
}

impl NotUtf8 {
    fn new(bytes: Bytes) -> NotUtf8 {
        // Only on failure: the slower check that says where.
        let valid_up_to = match simdutf8::compat::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(e) => e.valid_up_to(),
        };
        NotUtf8 { bytes, valid_up_to }
    }

    /// How many bytes at the start are valid UTF-8.
    pub fn valid_up_to(&self) -> usize {
        self.valid_up_to
    }

    /// The refused bytes, unchanged.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }
}

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the bytes are not valid UTF-8 text (valid up to byte {} of {})",
            self.valid_up_to,
            self.bytes.len()
        )
    }
}

impl std::error::Error for NotUtf8 {}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_without_a_copy() {
        let bytes = Bytes::from_static("κόσμε, 𝄞 and ascii".as_bytes());
        let text = Text::from_utf8(bytes.clone()).expect("valid UTF-8");
        assert_eq!(text.as_str(), "κόσμε, 𝄞 and ascii");
        assert_eq!(&*text, "κόσμε, 𝄞 and ascii");
        assert_eq!(text.as_str().as_ptr(), bytes.as_ptr(), "shares the buffer");
        assert_eq!(text.into_bytes(), bytes);
        assert_eq!(Text::from(String::from("é")).as_str(), "é");
        assert_eq!(Text::from("é").as_str(), "é");
        assert_eq!(Text::default().as_str(), "");
    }

    #[test]
    fn messages_are_built_from_what_they_carry() {
        let from_str = Message::from("héllo");
        let from_string = Message::from(String::from("héllo"));
        let from_text = Message::from(Text::from("héllo"));
        for m in [&from_str, &from_string, &from_text] {
            assert_eq!(m, &Message::Text(Text::from("héllo")));
            assert!(m.is_text() && !m.is_binary());
            assert_eq!(m.as_text(), Some("héllo"));
            assert_eq!(m.len(), 6);
        }
        assert_eq!(from_str.into_text(), Some(Text::from("héllo")));

        let bytes = Bytes::from_static(b"\x00\x01text");
        let from_vec = Message::from(bytes.to_vec());
        let from_slice = Message::from(&bytes[..]);
        let from_bytes = Message::from(bytes.clone());
        for m in [&from_vec, &from_slice, &from_bytes] {
            assert_eq!(m, &Message::Binary(bytes.clone().into()));
            assert!(m.is_binary() && !m.is_text());
            assert_eq!(m.as_text(), None, "binary stays binary");
        }
        assert_eq!(from_vec.clone().into_text(), None);
        assert_eq!(from_vec.into_data(), bytes);
        assert_eq!(from_string.into_data(), Bytes::from("héllo"));
        assert!(Message::from("").is_empty() && !Message::from("x").is_empty());
    }

    #[test]
    fn text_conversions_check_once_and_share_the_buffer() {
        let bytes = Bytes::from_static("κόσμε".as_bytes());
        let text = Text::try_from(bytes.clone()).unwrap();
        assert_eq!(text.as_str().as_ptr(), bytes.as_ptr());
        let as_ref: &str = text.as_ref();
        assert_eq!(as_ref, "κόσμε");
        assert_eq!(text.to_string(), "κόσμε");
        assert_eq!(Bytes::from(text.clone()), bytes);
        assert_eq!(Text::try_from(bytes.to_vec()), Ok(text));

        let refused = Text::try_from(b"ok\xe2\x82".to_vec()).unwrap_err();
        assert_eq!(refused.valid_up_to(), 2);
        assert_eq!(refused.clone().into_bytes(), &b"ok\xe2\x82"[..]);
        // A person reads this one.
        assert_eq!(
            refused.to_string(),
            "the bytes are not valid UTF-8 text (valid up to byte 2 of 4)"
        );
    }

    #[test]
    fn text_refuses_bytes_that_are_not_utf8() {
        for invalid in [&[0xff][..], &[0xce], &[0xed, 0xa0, 0x80], b"ok\xc0\xaf"] {
            let bytes = Bytes::copy_from_slice(invalid);
            assert_eq!(Text::from_utf8(bytes.clone()), Err(bytes));
        }
    }
}
