//! Bytes waiting for the wire: what `poll_transmit` hands out, what
//! `advance_transmit` consumes, and the output limit commands are checked against.

use bytes::Bytes;

use crate::command_error::CommandError;

use super::IDLE_BUFFER_CAPACITY;

/// The wire-bound output of a connection (ciphertext for TLS).
pub(super) struct Outbox {
    out: Vec<u8>,
    /// Bytes at the front of `out` already written.
    out_start: usize,
    /// `Limits::max_buffered_output`: commands are refused past it.
    limit: usize,
    /// The answer to the peer's latest ping, held while the output was full:
    /// queued once the output drains (§5.5.3 allows answering only the latest).
    pub(super) pending_pong: Option<Bytes>,
}

impl Outbox {
    pub(super) fn new(limit: usize) -> Self {
        Outbox {
            out: Vec::new(),
            out_start: 0,
            limit,
            pending_pong: None,
        }
    }

    /// Bytes not yet written.
    #[inline]
    pub(super) fn unwritten(&self) -> &[u8] {
        &self.out[self.out_start..]
    }

    /// Where bytes for the wire are appended (the written head dropped first when
    /// it is worth it).
    #[inline]
    pub(super) fn wire(&mut self) -> &mut Vec<u8> {
        self.compact();
        &mut self.out
    }

    /// Drops the already-written head of the output once it is half the buffer.
    #[inline]
    fn compact(&mut self) {
        if self.out_start > 0 && self.out_start >= self.out.len() / 2 {
            self.out.drain(..self.out_start);
            self.out_start = 0;
        }
    }

    /// Marks `n` bytes as written; returns how many were (at most what was
    /// unwritten) and whether the output is now drained.
    #[inline]
    pub(super) fn advance(&mut self, n: usize) -> (usize, bool) {
        let before = self.out_start;
        self.out_start = self.out_start.saturating_add(n).min(self.out.len());
        let advanced = self.out_start - before;
        if self.out_start < self.out.len() {
            return (advanced, false);
        }
        // Memory is given back once a drain used less than half the buffer:
        // a steady stream of large messages keeps its buffer (no allocation
        // per message), a single large one does not pin it.
        let used = self.out.len().max(IDLE_BUFFER_CAPACITY);
        self.out.clear();
        self.out_start = 0;
        if self.out.capacity() / 2 > used {
            self.out.shrink_to(used);
        }
        (advanced, true)
    }

    /// True when `buffered` bytes (everything queued, see `buffered_amount`)
    /// reach the limit: the peer is not reading.
    pub(super) fn is_full(&self, buffered: usize) -> bool {
        buffered >= self.limit
    }

    /// Refuses a command that would queue `needed` bytes past the limit.
    #[inline]
    pub(super) fn check_room(&self, buffered: usize, needed: usize) -> Result<(), CommandError> {
        if buffered.saturating_add(needed) > self.limit {
            return Err(CommandError::OutputFull {
                buffered,
                needed,
                limit: self.limit,
            });
        }
        Ok(())
    }
}
