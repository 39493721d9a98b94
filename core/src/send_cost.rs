//! [`SendCost`]: how many bytes of the output limit a command reserves, the
//! one formula the connection checks commands with and a queue in front of it
//! (a backend's `Sender`) counts with, so that what the queue accepts the
//! connection can always take once its output drains.

use crate::frame::MAX_HEADER_LEN;

/// The bytes a command reserves against
/// [`Limits::max_buffered_output`](crate::Limits): what
/// [`Connection`](crate::Connection) checks `send_*`, `ping` and `pong`
/// against, from [`Connection::send_cost`](crate::Connection::send_cost).
///
/// A data message reserves its worst case before it is compressed or split
/// (a compressed message cannot be taken back): the payload, the slack deflate
/// may add to incompressible data, and a frame header per fragment.
///
/// ```
/// use sockette_core::{ClientConfig, Connection};
/// use std::time::Instant;
///
/// let conn = Connection::client(ClientConfig::new("ws://example.com/")?, Instant::now())?;
/// let cost = conn.send_cost();
/// assert!(cost.message(1000) > 1000);
/// assert_eq!(cost.control(4), 4 + 14);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendCost {
    fragment_size: Option<usize>,
}

impl SendCost {
    pub(crate) fn new(fragment_size: Option<usize>) -> SendCost {
        SendCost { fragment_size }
    }

    /// The bytes a text or binary message of `payload_len` bytes reserves.
    #[inline]
    pub fn message(&self, payload_len: usize) -> usize {
        let frames = match self.fragment_size {
            None => 1, // (no division on the common path)
            Some(fragment) => payload_len.div_ceil(fragment.max(1)).max(1),
        };
        // Deflate can grow incompressible data slightly.
        let deflate_slack = payload_len / 1000 + 64;
        payload_len
            .saturating_add(deflate_slack)
            .saturating_add(frames.saturating_mul(MAX_HEADER_LEN))
    }

    /// The bytes a ping or pong of `payload_len` bytes reserves.
    #[inline]
    pub fn control(&self, payload_len: usize) -> usize {
        payload_len.saturating_add(MAX_HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragmented_message_reserves_a_header_per_fragment() {
        let whole = SendCost::new(None);
        let split = SendCost::new(Some(100));
        assert_eq!(
            split.message(1000) - whole.message(1000),
            9 * MAX_HEADER_LEN
        );
        assert_eq!(
            split.message(0),
            whole.message(0),
            "an empty message is one frame"
        );
    }

    #[test]
    fn huge_lengths_saturate_instead_of_wrapping() {
        assert_eq!(SendCost::new(None).message(usize::MAX), usize::MAX);
        assert_eq!(SendCost::new(None).control(usize::MAX), usize::MAX);
    }
}
