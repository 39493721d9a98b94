//! What a connection counts about itself: messages and bytes both ways, the
//! compression achieved, and the round-trip time of the latest answered ping.
//! The connection calls the recorder as it goes; [`Stats`] is the snapshot a
//! user reads. Times come from the `now` values passed in (the core has no clock).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// A snapshot of a connection's counters, from [`Connection::stats`](crate::Connection::stats).
///
/// Counts start when the connection is created and include everything since,
/// the opening handshake too (in the wire counts).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Data messages (text and binary) queued to send. Pings, pongs and the close
    /// frame are not messages.
    pub messages_sent: u64,
    /// Data messages received whole (handed out as events).
    pub messages_received: u64,
    /// Payload bytes of the messages sent, as the application gave them (before
    /// compression).
    pub payload_bytes_sent: u64,
    /// Payload bytes of the messages received, as the application gets them
    /// (after decompression).
    pub payload_bytes_received: u64,
    /// Bytes that went to the transport: what [`advance_transmit`](crate::Connection::advance_transmit)
    /// reported written. For `wss://` these are TLS records (ciphertext), what the
    /// socket carried; the HTTP handshake and frame headers are included.
    pub wire_bytes_sent: u64,
    /// Bytes read from the transport: what [`handle_input`](crate::Connection::handle_input)
    /// took in (TLS records for `wss://`), until the connection closed.
    pub wire_bytes_received: u64,
    /// With permessage-deflate in effect, the message payload bytes (both ways)
    /// divided by the frame payload bytes that carried them: 4.0 means the
    /// messages took a quarter of their size on the wire, 1.0 nothing gained.
    /// `None` without deflate, or before any message went through with it.
    pub compression_ratio: Option<f64>,
    /// The round-trip time of the latest ping answered by a matching pong: a
    /// keepalive ping, or one sent with [`ping_at`](crate::Connection::ping_at),
    /// timed from its `now` to the `now` of the input that brought the pong.
    /// `None` until a ping has been answered.
    pub latest_rtt: Option<Duration>,
}

/// Pings remembered while awaiting their pongs; the oldest are forgotten past
/// this (a peer that never answers must not make us hold memory).
const MAX_PINGS_IN_FLIGHT: usize = 16;

/// The counters behind [`Stats`], updated by the connection.
#[derive(Debug, Default)]
pub(crate) struct StatsRecorder {
    stats: Stats,
    /// permessage-deflate was negotiated.
    deflate: bool,
    /// Frame payload bytes of data frames, both ways (compressed when deflated).
    data_frame_bytes: u64,
    /// Timed pings not answered yet, oldest first: payload and when sent.
    pings: VecDeque<(Bytes, Instant)>,
}

impl StatsRecorder {
    pub(crate) fn snapshot(&self) -> Stats {
        let mut stats = self.stats;
        let message_bytes = stats.payload_bytes_sent + stats.payload_bytes_received;
        stats.compression_ratio = (self.deflate && self.data_frame_bytes > 0)
            .then(|| message_bytes as f64 / self.data_frame_bytes as f64);
        stats
    }

    pub(crate) fn set_deflate(&mut self) {
        self.deflate = true;
    }

    /// A data message queued: its payload, and the frame payload bytes it took.
    pub(crate) fn message_sent(&mut self, payload_len: usize, frame_payload_len: usize) {
        self.stats.messages_sent += 1;
        self.stats.payload_bytes_sent += payload_len as u64;
        self.data_frame_bytes += frame_payload_len as u64;
    }

    /// A data message handed out.
    pub(crate) fn message_received(&mut self, payload_len: usize) {
        self.stats.messages_received += 1;
        self.stats.payload_bytes_received += payload_len as u64;
    }

    /// Frame payload bytes of a data frame (or a part of one) received.
    pub(crate) fn data_frame_received(&mut self, len: usize) {
        self.data_frame_bytes += len as u64;
    }

    pub(crate) fn wire_sent(&mut self, n: usize) {
        self.stats.wire_bytes_sent += n as u64;
    }

    pub(crate) fn wire_received(&mut self, n: usize) {
        self.stats.wire_bytes_received += n as u64;
    }

    /// A ping went out at `now`; its pong will time the round trip.
    pub(crate) fn ping_sent(&mut self, payload: &[u8], now: Instant) {
        if self.pings.len() == MAX_PINGS_IN_FLIGHT {
            self.pings.pop_front();
        }
        self.pings.push_back((Bytes::copy_from_slice(payload), now));
    }

    /// A pong arrived at `now`: if it answers a remembered ping (same payload),
    /// that ping's round trip becomes the latest. A pong answers the oldest ping
    /// with its payload; pings sent before it are given up (RFC 6455 §5.5.3 lets a
    /// peer answer only the latest of several).
    pub(crate) fn pong_received(&mut self, payload: &[u8], now: Instant) {
        let Some(at) = self.pings.iter().position(|(p, _)| p == payload) else {
            return;
        };
        let sent = self.pings[at].1;
        self.pings.drain(..=at);
        self.stats.latest_rtt = Some(now.saturating_duration_since(sent));
    }
}
