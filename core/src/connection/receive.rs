//! The receive fast path: a whole single-frame message in the input is handed
//! out without the decoder and the assembler, by value (`poll_event`) or
//! borrowed from the input (`poll_event_ref`). A single-frame message whose
//! payload is still arriving waits in the input; text is validated in place
//! as its bytes arrive, so invalid UTF-8 still fails as soon as it is there
//! (§8.1). Same checks, same events as the general path in `mod.rs`, which
//! everything unusual is left to; no state changes here but the validation's
//! progress.

use bytes::Buf;

use crate::event::{Event, EventRef, Message, Text};
use crate::frame::OpCode;
use crate::payload::Payload;
use crate::utf8::{self, Utf8Validator};

use super::Connection;

/// How far the UTF-8 of the single-frame text message at the reading position
/// has been checked while its payload arrives: `checked` payload bytes went
/// through `utf8`. Reset whenever a frame leaves the input (taken, lent, or
/// decoded by the general path), so it always describes the frame ahead.
#[derive(Debug, Default)]
pub(super) struct TextInPlace {
    checked: usize,
    utf8: Utf8Validator,
}

impl TextInPlace {
    pub(super) fn reset(&mut self) {
        if self.checked > 0 {
            self.checked = 0;
            // A cut character left pending is dropped.
            let _ = self.utf8.finish();
        }
    }
}

impl Connection {
    /// Takes a whole single-frame message from the input past what was already
    /// taken or lent (`lent`), if one is there (and, for text, valid UTF-8).
    #[inline]
    pub(super) fn take_whole_message(&mut self) -> Option<Event> {
        let from = self.lent;
        let (opcode, header_len, len) = self.whole_message_ahead(from)?;
        let start = from + header_len;
        let text = opcode == OpCode::Text;
        if text && !self.text_valid(start, len, len) {
            return None;
        }
        let data = match Payload::inline(&self.input[start..start + len]) {
            // A small payload is copied: cheaper than the two atomic reference
            // counts a share of the buffer costs (split off here, dropped later).
            // Its bytes are dropped from the input with the next ones, like a
            // lent message's: one buffer advance per batch, not per message.
            Some(inline) => {
                self.lent = start + len;
                inline
            }
            None => {
                self.settle_lent();
                // One split of the buffer per message (its header is cut off the
                // `Bytes`, which costs no bookkeeping of the shared buffer).
                let mut data = self.input.split_to(header_len + len).freeze();
                data.advance(header_len);
                data.into()
            }
        };
        self.stats.data_frame_received(len);
        self.stats.message_received(len);
        Some(Event::Message(if text {
            Message::Text(Text::from_validated(data))
        } else {
            Message::Binary(data)
        }))
    }

    /// A message in one frame whose payload is still arriving waits in the
    /// input, to be handed out whole by the fast path, rather than being copied
    /// piece by piece into the assembler: the same events, one copy fewer. A
    /// binary payload has nothing to check before its end; text is validated
    /// here as it arrives, and invalid text is left to the general path, which
    /// fails the connection at once (§8.1), as it would have piece by piece.
    /// After the end of the transport nothing more arrives: the partial frame
    /// goes to the decoder, which then reports the end.
    #[inline]
    pub(super) fn payload_arriving(&mut self) -> bool {
        if self.phase.input_end().is_some() {
            return false;
        }
        match self.single_frame_message_ahead(0) {
            Some((OpCode::Binary, _, _)) => true,
            Some((OpCode::Text, header_len, len)) => {
                let arrived = self.input.len() - header_len;
                self.text_valid(header_len, len, arrived)
            }
            _ => false,
        }
    }

    /// The whole single-frame message `poll_event_ref` can lend next, past those
    /// it lent before (they stay in the buffer until another call: reading on
    /// past them costs no buffer bookkeeping per message): `(opcode, start of
    /// its payload, payload length)`. Invalid UTF-8 is left to `poll_event`,
    /// which fails the connection.
    #[inline]
    pub(super) fn lendable_message(&mut self) -> Option<(OpCode, usize, usize)> {
        let from = self.lent;
        let (opcode, header_len, len) = self.whole_message_ahead(from)?;
        let start = from + header_len;
        let valid = opcode != OpCode::Text || self.text_valid(start, len, len);
        valid.then_some((opcode, start, len))
    }

    /// Whether the text payload of `len` bytes starting at `start` in the input,
    /// of which `arrived` bytes are there, can still be (or, all there, is)
    /// valid UTF-8. Bytes checked by an earlier call, as the payload arrived,
    /// are not checked again.
    #[inline]
    fn text_valid(&mut self, start: usize, len: usize, arrived: usize) -> bool {
        let progress = &mut self.text_in_place;
        let whole = arrived == len;
        if progress.checked == 0 && whole {
            // The common case, a message that arrived at once: one pass.
            return simdutf8::basic::from_utf8(&self.input[start..start + len]).is_ok();
        }
        let new = &self.input[start + progress.checked..start + arrived];
        if progress.utf8.feed(new).is_err() {
            progress.reset();
            return false;
        }
        progress.checked = arrived;
        if whole {
            let complete = progress.utf8.finish().is_ok();
            progress.checked = 0;
            return complete;
        }
        true
    }

    /// Lends the message `lendable_message` found.
    #[inline]
    pub(super) fn lend_message(
        &mut self,
        (opcode, start, len): (OpCode, usize, usize),
    ) -> EventRef<'_> {
        self.lent = start + len;
        self.stats.data_frame_received(len);
        self.stats.message_received(len);
        let payload = &self.input[start..start + len];
        match opcode {
            // Validated by `lendable_message` (the borrow checker refuses returning
            // the `&str` found there and falling back to `poll_event` otherwise).
            OpCode::Text => EventRef::Text(utf8::validated_str(payload)),
            _ => EventRef::Binary(payload),
        }
    }

    /// Drops the bytes of the messages lent out (`poll_event_ref`) or copied
    /// out (`poll_event`'s inline payloads) so far.
    pub(super) fn settle_lent(&mut self) {
        if self.lent > 0 {
            self.input.advance(std::mem::take(&mut self.lent));
        }
    }

    /// A whole single-frame data message at `from` in the input that the
    /// decoder and the assembler would turn into one message event and nothing
    /// else: `(opcode, header length, payload length)`. Anything unusual (a
    /// control frame, a fragment, compression, masking, a limit, an error, events
    /// already queued) is left to `process_frames`. The caller still checks text
    /// for UTF-8 and leaves invalid text to `process_frames` too.
    #[inline]
    fn whole_message_ahead(&self, from: usize) -> Option<(OpCode, usize, usize)> {
        if !self.fast_path_open() {
            return None;
        }
        self.decoder
            .whole_frame_message(&self.input[from..], self.limits.max_message_size)
    }

    /// Like `whole_message_ahead`, its payload complete or not.
    #[inline]
    fn single_frame_message_ahead(&self, from: usize) -> Option<(OpCode, usize, usize)> {
        if !self.fast_path_open() {
            return None;
        }
        self.decoder
            .single_frame_message(&self.input[from..], self.limits.max_message_size)
    }

    /// No event queued and frames being read between messages: a frame ahead
    /// may bypass the assembler.
    #[inline]
    pub(super) fn fast_path_open(&self) -> bool {
        self.events.is_empty() && self.phase.reads_frames() && !self.assembler.is_mid_message()
    }
}
