//! What the connection reports: the browser's open / message / close / error, plus
//! pings and pongs for those who want them. Plain data, drained by `poll_event`.

use std::fmt;

use bytes::Bytes;

use crate::close::CloseCode;
use crate::error::Error;
use crate::utf8;

/// One thing that happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The opening handshake succeeded (WLanguage's `SocketOuverture`).
    Open(OpenInfo),
    /// A complete message arrived (`SocketMessage`).
    Message(Message),
    /// The peer sent a ping; the pong has already been queued.
    Ping(Bytes),
    /// The peer sent a pong (solicited or not).
    Pong(Bytes),
    /// The connection is closed (`SocketFermeture`). Always the last event, exactly once.
    Close(CloseInfo),
    /// Something went wrong (`SocketErreur`); a [`Event::Close`] follows.
    Error(Error),
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
pub struct OpenInfo {
    /// The subprotocol the server selected, if any.
    pub protocol: Option<String>,
    /// The extensions in effect (none until permessage-deflate exists).
    pub extensions: Vec<String>,
    /// The peer's HTTP headers (the response for a client, the request for a server).
    pub headers: Vec<(String, String)>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, validated UTF-8.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
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
}

/// Validated UTF-8 text sharing the received buffer (no copy).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Bytes);

impl Text {
    /// Wraps bytes after checking they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Text, Bytes> {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Bytes the caller has just validated as UTF-8 (its callers:
    /// `Connection::poll_event`'s fast path, and the assembler once its
    /// incremental validator has seen the whole message). `as_str` relies on it: see
    /// [`utf8::validated_str`].
    pub(crate) fn from_validated(bytes: Bytes) -> Text {
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

    /// The underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Bytes::from(s))
    }
}

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
    fn text_refuses_bytes_that_are_not_utf8() {
        for invalid in [&[0xff][..], &[0xce], &[0xed, 0xa0, 0x80], b"ok\xc0\xaf"] {
            let bytes = Bytes::copy_from_slice(invalid);
            assert_eq!(Text::from_utf8(bytes.clone()), Err(bytes));
        }
    }
}
