//! Reassembly of data frames into messages (RFC 6455 §5.4): fragment ordering,
//! the message size limit (checked on each frame header, before its payload is
//! held) and UTF-8 validation of text as it arrives.

use bytes::BytesMut;

use crate::error::{CapacityError, Error, ProtocolError};
use crate::event::{Message, Text};
use crate::frame::{FrameChunk, OpCode};
use crate::utf8::Utf8Validator;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
}

/// Collects data-frame chunks into complete messages.
#[derive(Debug)]
pub(crate) struct Assembler {
    in_progress: Option<Kind>,
    buf: BytesMut,
    size: u64,
    utf8: Utf8Validator,
    max_message_size: usize,
}

impl Assembler {
    pub(crate) fn new(max_message_size: usize) -> Self {
        Assembler {
            in_progress: None,
            buf: BytesMut::new(),
            size: 0,
            utf8: Utf8Validator::new(),
            max_message_size,
        }
    }

    /// True while a fragmented message is incomplete.
    pub(crate) fn is_mid_message(&self) -> bool {
        self.in_progress.is_some()
    }

    /// Takes one chunk of a data frame; returns the message it completes, if any.
    pub(crate) fn push(&mut self, chunk: FrameChunk) -> Result<Option<Message>, Error> {
        let header = chunk.header;
        if chunk.first {
            let kind = match (header.opcode, self.in_progress) {
                (OpCode::Continuation, Some(kind)) => kind,
                (OpCode::Continuation, None) => {
                    return Err(ProtocolError::UnexpectedContinuation.into())
                }
                (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation.into()),
                (OpCode::Text, None) => Kind::Text,
                (_, None) => Kind::Binary,
            };
            let size = self.size + header.payload_len;
            if size > self.max_message_size as u64 {
                return Err(CapacityError::MessageTooLarge {
                    size,
                    limit: self.max_message_size,
                }
                .into());
            }
            self.in_progress = Some(kind);
            // A whole single-frame message: hand out the received buffer itself.
            if chunk.last && header.fin && self.buf.is_empty() {
                self.in_progress = None;
                self.size = 0;
                return match kind {
                    Kind::Binary => Ok(Some(Message::Binary(chunk.data))),
                    Kind::Text => Text::from_utf8(chunk.data)
                        .map(|t| Some(Message::Text(t)))
                        .map_err(|_| ProtocolError::InvalidUtf8.into()),
                };
            }
        }
        let kind = self
            .in_progress
            .ok_or(ProtocolError::UnexpectedContinuation)?;
        if kind == Kind::Text {
            self.utf8
                .feed(&chunk.data)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        self.size += chunk.data.len() as u64;
        self.buf.extend_from_slice(&chunk.data);
        if !(chunk.last && header.fin) {
            return Ok(None);
        }
        self.in_progress = None;
        self.size = 0;
        let payload = self.buf.split().freeze();
        match kind {
            Kind::Binary => Ok(Some(Message::Binary(payload))),
            Kind::Text => {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                Text::from_utf8(payload)
                    .map(|t| Some(Message::Text(t)))
                    .map_err(|_| ProtocolError::InvalidUtf8.into())
            }
        }
    }
}
