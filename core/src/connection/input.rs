//! Reads into the connection's own memory: the connection lends the
//! room right after its buffered input, the transport's bytes land there, and
//! the caller says how many arrived. No copy between the socket and the
//! decoder, where `handle_input` copies what the caller read.
//!
//! Two forms, one mechanism:
//! - [`Connection::input_buffer`] then [`Connection::handle_read`]: a slice
//!   lent until the next call, for a caller that reads on the connection's
//!   own thread (every sockette backend);
//! - [`Connection::take_input_buffer`] then [`Connection::handle_input_bytes`]:
//!   an owned [`InputBuffer`] that can go to another thread and come back as
//!   [`InputBytes`], one read at a time (a reader on a thread of its own).
//!
//! Over `ws://` the room is part of the input buffer's allocation: bytes read
//! into it join the buffered input in O(1), and a message that arrived there is
//! handed out without a copy. The room is sized for the rest of a message in
//! one frame when its header is in (bounded by `max_message_size`, which the
//! header was checked against), so a large message lands in one place; only
//! what is still undecoded is copied when new room is made, which is a partial
//! frame once events are drained. Over `wss://` the room holds TLS records,
//! which go to rustls as `handle_input` would give them (rustls reads records
//! from a buffer of its own), then the plaintext joins the input.
//!
//! The room is zeroed when it is made (it is lent as `&mut [u8]`, which must be
//! initialised) and then reused across reads until it is filled.

use std::time::Instant;

use bytes::BytesMut;

use super::{Connection, IDLE_BUFFER_CAPACITY};

/// New room holds this many reads of the size asked for.
const ROOM_READS: usize = 4;

/// Room for one or more reads, lent by [`Connection::take_input_buffer`]: read
/// into [`unfilled`](Self::unfilled), then hand what arrived to
/// [`Connection::handle_input_bytes`] with [`fill`](Self::fill). It can be sent
/// to another thread. Once it is too small for a read, drop it and take
/// another (hold one at a time: each holds memory of the connection's input).
#[derive(Debug, Default)]
pub struct InputBuffer {
    room: BytesMut,
}

impl InputBuffer {
    /// Where the next read goes: the room not filled yet.
    pub fn unfilled(&mut self) -> &mut [u8] {
        &mut self.room
    }

    /// Bytes of room left.
    pub fn len(&self) -> usize {
        self.room.len()
    }

    /// No room left.
    pub fn is_empty(&self) -> bool {
        self.room.is_empty()
    }

    /// The first `n` bytes of [`unfilled`](Self::unfilled) were read: they are
    /// taken off this buffer (at most what it has), for
    /// [`Connection::handle_input_bytes`].
    pub fn fill(&mut self, n: usize) -> InputBytes {
        let n = n.min(self.room.len());
        InputBytes(self.room.split_to(n))
    }
}

/// Bytes read into an [`InputBuffer`], for [`Connection::handle_input_bytes`].
#[derive(Debug)]
pub struct InputBytes(BytesMut);

impl InputBytes {
    /// How many bytes were read.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Nothing was read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Deref for InputBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Connection {
    /// Memory to read the next bytes from the transport into, at least `min`
    /// bytes long (pass the read size): read into it, then report how many
    /// bytes arrived with [`handle_read`](Self::handle_read). The same as
    /// reading into a buffer of your own and passing it to
    /// [`handle_input`](Self::handle_input), without that copy. What was
    /// there before is overwritten: only the bytes reported count.
    ///
    /// The room is usually longer than `min`: new room is made for four reads
    /// of `min` bytes, plus the rest of a large message in one frame, and
    /// lent again for the next reads while at least `min` is left. It holds
    /// memory of the connection's input until it is filled: four reads of
    /// `min` bytes at most, unless a message announced its size.
    pub fn input_buffer(&mut self, min: usize) -> &mut [u8] {
        let min = min.max(1);
        if !self.transport.reads_in_place() {
            if self.tls_room.len() < min {
                self.tls_room.resize(min, 0);
            } else if self.tls_room.len() > ROOM_READS * min {
                // Reads became small (or stopped): give the large room back.
                self.tls_room = vec![0; min];
            }
            return &mut self.tls_room;
        }
        self.settle_lent();
        if !self.spare_fits(min) {
            self.spare = self.new_room(min);
        }
        &mut self.spare
    }

    /// `n` bytes were read into the start of [`input_buffer`](Self::input_buffer)
    /// (at most its length): the same as [`handle_input`](Self::handle_input)
    /// with them. Drain the events after it, as after `handle_input`.
    pub fn handle_read(&mut self, now: Instant, n: usize) {
        if !self.transport.reads_in_place() {
            let room = std::mem::take(&mut self.tls_room);
            let n = n.min(room.len());
            self.handle_input(now, &room[..n]);
            // Kept for the next read, unless the connection let go of its
            // buffers meanwhile (it closed).
            if !self.is_closed() {
                self.tls_room = room;
            }
            return;
        }
        let n = n.min(self.spare.len());
        let bytes = self.spare.split_to(n);
        self.accept_plain(now, bytes);
    }

    /// Room for reads made elsewhere (another thread), at least `min` bytes
    /// long: read into [`InputBuffer::unfilled`], and hand each read to
    /// [`handle_input_bytes`](Self::handle_input_bytes) with
    /// [`InputBuffer::fill`]. Over `ws://`, the bytes read join the buffered
    /// input without a copy as long as no other input arrived in between and
    /// no other room was taken since; otherwise they are copied, like
    /// `handle_input` would. Take new room once events are drained: what is
    /// still undecoded is copied to the start of the new room.
    pub fn take_input_buffer(&mut self, min: usize) -> InputBuffer {
        let min = min.max(1);
        if !self.transport.reads_in_place() {
            // Records go to rustls, which copies them: fresh room each time.
            return InputBuffer {
                room: BytesMut::zeroed(ROOM_READS * min),
            };
        }
        self.settle_lent();
        let room = if self.spare_fits(min) {
            std::mem::take(&mut self.spare)
        } else {
            self.spare = BytesMut::new();
            self.new_room(min)
        };
        InputBuffer { room }
    }

    /// Bytes read into an [`InputBuffer`]: the same as
    /// [`handle_input`](Self::handle_input) with them. Drain the events after
    /// it, as after `handle_input`.
    pub fn handle_input_bytes(&mut self, now: Instant, bytes: InputBytes) {
        if !self.transport.reads_in_place() {
            return self.handle_input(now, &bytes);
        }
        self.accept_plain(now, bytes.0);
    }

    /// Plain bytes read into room this connection lent: they join the input
    /// (in O(1) when they follow it in memory, as they do unless other input
    /// came in between).
    fn accept_plain(&mut self, now: Instant, bytes: BytesMut) {
        self.settle_lent();
        if bytes.is_empty() || !self.takes_input() {
            return;
        }
        self.stats.wire_received(bytes.len());
        self.input_at = now;
        self.input.unsplit(bytes);
        self.on_peer_activity(now);
        self.process_input(now);
        self.flush();
    }

    /// Plaintext the caller read into memory of its own, or that TLS
    /// decrypted: copied into the input, through the lent room when it fits
    /// there (so the room still follows the input).
    pub(super) fn append_input(&mut self, data: &[u8]) {
        if data.len() <= self.spare.len() && self.spare_follows_input() {
            self.spare[..data.len()].copy_from_slice(data);
            let bytes = self.spare.split_to(data.len());
            self.input.unsplit(bytes);
        } else {
            // The room no longer follows the input: made anew at the next read.
            self.spare = BytesMut::new();
            self.input.extend_from_slice(data);
        }
    }

    /// The lent room can take a read of `min` bytes where it is: large enough,
    /// right after the input, large enough for the rest of a message in one
    /// frame (else new room is made for it now, while little of it has to be
    /// moved), and not a large block pinned by an idle connection.
    fn spare_fits(&self, min: usize) -> bool {
        let frame_rest = self.frame_rest();
        let idle_and_large = self.input.is_empty()
            && self.spare_block > IDLE_BUFFER_CAPACITY
            && ROOM_READS * min + frame_rest <= IDLE_BUFFER_CAPACITY;
        self.spare.len() >= min.max(frame_rest) && self.spare_follows_input() && !idle_and_large
    }

    /// Bytes put in the room join the input in O(1).
    fn spare_follows_input(&self) -> bool {
        // An empty input takes the bytes over as they are.
        self.input.is_empty()
            || std::ptr::eq(
                self.input.as_ptr().wrapping_add(self.input.len()),
                self.spare.as_ptr(),
            )
    }

    /// New room for [`ROOM_READS`] reads of `min` bytes, plus the rest of a
    /// message in one frame (so the reads up to its end land in place), in one
    /// allocation with the input, which is copied to its start: what is still
    /// undecoded moves once per room, not once per read. Input piling up
    /// undecoded (a caller that reads ahead of its polling) doubles the room,
    /// so that it is copied a bounded number of times.
    fn new_room(&mut self, min: usize) -> BytesMut {
        let kept = self.input.len();
        let want = (ROOM_READS * min + self.frame_rest()).max(kept);
        let size = kept + want;
        let room = std::mem::take(&mut self.spare);
        // A block much larger than needed now (a large message was read into
        // it) is given back rather than reused.
        let reusable = self.spare_block <= 2 * size;
        let mut block = if kept <= ROOM_READS * min {
            // Little is undecoded: it moves out, and the old block is reused
            // if nothing else holds it any more (its messages were dropped):
            // memory already mapped and in cache, where a new block would be
            // faulted in. Either way the old block is let go before a new one
            // is made, so that two large ones are never held at once.
            let undecoded = std::mem::take(&mut self.input).to_vec();
            let mut block = room;
            block.clear();
            if reusable && block.try_reclaim(size) {
                block.resize(size, 0);
            } else {
                drop(block);
                block = BytesMut::zeroed(size);
            }
            block[..kept].copy_from_slice(&undecoded);
            block
        } else {
            // Much is undecoded (read ahead of polling): copied once, here.
            drop(room);
            let mut block = BytesMut::zeroed(size);
            block[..kept].copy_from_slice(&self.input);
            block
        };
        let room = block.split_off(kept);
        self.input = block;
        self.spare_block = kept + want;
        room
    }

    /// Bytes still to come of a message in one frame at the front of the
    /// input, whose header is in: its payload then lands in one place. The
    /// header was checked against `max_message_size` (the fast path's rule).
    fn frame_rest(&self) -> usize {
        if !self.fast_path_open() {
            return 0;
        }
        self.decoder
            .single_frame_message(&self.input, self.limits.max_message_size)
            .map_or(0, |(_, header_len, len)| {
                (header_len + len).saturating_sub(self.input.len())
            })
    }

    /// Input is still read: the connection is not closed, its TLS session has
    /// not failed and its transport has not ended.
    pub(super) fn takes_input(&self) -> bool {
        !(self.transport.has_failed() || self.is_closed() || self.phase.input_end().is_some())
    }
}
