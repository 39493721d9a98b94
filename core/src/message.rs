//! Reassembly of data frames into messages (RFC 6455 §5.4): fragment ordering,
//! the message size limit (checked on each frame header, before its payload is
//! held) and UTF-8 validation of text as it arrives.

use crate::deflate::DeflateCodec;
use crate::error::{CapacityError, Error, ProtocolError};
use crate::event::{Message, Text};
use crate::frame::{FrameChunk, OpCode, RSV1};
use crate::payload::Payload;
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
    /// The message in progress is compressed (RSV1 on its first frame).
    compressed: bool,
    buf: Vec<u8>,
    /// Inflated output of a compressed message in progress.
    inflated: Vec<u8>,
    size: u64,
    utf8: Utf8Validator,
    max_message_size: usize,
    deflate: Option<DeflateCodec>,
}

impl Assembler {
    pub(crate) fn new(max_message_size: usize) -> Self {
        Assembler {
            in_progress: None,
            compressed: false,
            buf: Vec::new(),
            inflated: Vec::new(),
            size: 0,
            utf8: Utf8Validator::new(),
            max_message_size,
            deflate: None,
        }
    }

    /// Inflates messages marked compressed from now on (after negotiation).
    pub(crate) fn set_deflate(&mut self, codec: DeflateCodec) {
        self.deflate = Some(codec);
    }

    /// True while a fragmented message is incomplete.
    pub(crate) fn is_mid_message(&self) -> bool {
        self.in_progress.is_some()
    }

    /// Takes one chunk of a data frame; returns the message it completes, if any.
    pub(crate) fn push(&mut self, chunk: FrameChunk) -> Result<Option<Message>, Error> {
        let header = chunk.header;
        let rsv1 = header.rsv & RSV1 != 0;
        if chunk.first {
            let kind = match (header.opcode, self.in_progress) {
                (OpCode::Continuation, Some(_)) if rsv1 => {
                    return Err(ProtocolError::CompressedContinuation.into())
                }
                (OpCode::Continuation, Some(kind)) => kind,
                (OpCode::Continuation, None) => {
                    return Err(ProtocolError::UnexpectedContinuation.into())
                }
                (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation.into()),
                (OpCode::Text, None) => Kind::Text,
                (_, None) => Kind::Binary,
            };
            if header.opcode != OpCode::Continuation {
                self.compressed = rsv1;
            }
            // A compressed message's limit applies to its inflated size, below.
            let size = self.size + header.payload_len;
            if !self.compressed && size > self.max_message_size as u64 {
                return Err(CapacityError::MessageTooLarge {
                    size,
                    limit: self.max_message_size,
                }
                .into());
            }
            self.in_progress = Some(kind);
            // A whole single-frame message: hand out the received buffer itself.
            if chunk.last && header.fin && self.buf.is_empty() && !self.compressed {
                self.in_progress = None;
                self.size = 0;
                return match kind {
                    Kind::Binary => Ok(Some(Message::Binary(chunk.data.into()))),
                    Kind::Text => Text::from_utf8(chunk.data)
                        .map(|t| Some(Message::Text(t)))
                        .map_err(|_| ProtocolError::InvalidUtf8.into()),
                };
            }
        }
        let kind = self
            .in_progress
            .ok_or(ProtocolError::UnexpectedContinuation)?;
        let end = chunk.last && header.fin;
        if self.compressed {
            self.push_compressed(kind, &chunk.data, end)?;
        } else {
            if kind == Kind::Text {
                self.utf8
                    .feed(&chunk.data)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            self.size += chunk.data.len() as u64;
            extend_within(&mut self.buf, &chunk.data, self.max_message_size);
        }
        if !end {
            return Ok(None);
        }
        self.in_progress = None;
        self.size = 0;
        let source = if self.compressed {
            &mut self.inflated
        } else {
            &mut self.buf
        };
        // A small message is copied inline and the buffer kept for the next;
        // a larger one takes the whole buffer, which leaves nothing behind.
        let payload = match Payload::inline(source) {
            Some(inline) => {
                source.clear();
                inline
            }
            None => Payload::from(std::mem::take(source)),
        };
        match kind {
            Kind::Binary => Ok(Some(Message::Binary(payload))),
            Kind::Text => {
                // Every byte of the payload went through `self.utf8` (as received,
                // or as inflated): checked once, not again here.
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Some(Message::Text(Text::from_validated(payload))))
            }
        }
    }

    fn push_compressed(&mut self, kind: Kind, data: &[u8], end: bool) -> Result<(), Error> {
        let codec = self
            .deflate
            .as_mut()
            .ok_or(ProtocolError::ReservedBits(RSV1))?;
        let before = self.inflated.len();
        codec.inflate(data, end, &mut self.inflated, self.max_message_size)?;
        if kind == Kind::Text {
            self.utf8
                .feed(&self.inflated[before..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }
}

/// Appends `data` to a message buffer, growing it by doubling but never past
/// `limit` (which the caller checked the message stays within): a message held
/// never takes more than `max_message_size`, whatever its length.
pub(crate) fn extend_within(buf: &mut Vec<u8>, data: &[u8], limit: usize) {
    let needed = buf.len() + data.len();
    if needed > buf.capacity() {
        let target = buf.capacity().saturating_mul(2).min(limit).max(needed);
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(data);
}
