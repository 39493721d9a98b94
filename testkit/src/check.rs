//! The invariants every connection keeps, checked on what it emits and writes;
//! shared by the core's tests (property tests included) and the fuzz targets.
//!
//! - [`EventCheck`]: the events over a connection's life: nothing after `Close`,
//!   `Close` at most once, `Open` at most once and first, every `Error` directly
//!   followed by `Close`, no message over `max_message_size`, no control payload
//!   over 125 bytes, no clean close before `Open`, `is_closed()` agreeing.
//! - [`WireCheck`]: what a connection writes, read with this crate's own codec:
//!   an HTTP head then frames, masked for a client only, defined opcodes, RSV bits
//!   only for permessage-deflate, control frames whole and short, fragments in
//!   order, a valid close payload, nothing after the close frame; compressed
//!   messages inflate to what was sent, and every message written is the next one
//!   the user sent.
//! - Assertions on an event list: [`check_event_order`], [`assert_failed`], ...

use std::collections::VecDeque;

use flate2::{Decompress, FlushDecompress};
use sockette_core::{CloseCode, CloseInfo, Connection, Error, Event, Limits, Message, Role};

use crate::codec::{decode_frame, op, WireFrame};
use crate::raw::Raw;

/// The longest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL_PAYLOAD: usize = 125;

/// RSV1 among the low three bits of [`WireFrame::rsv`]: a compressed message.
const RSV1: u8 = 0b100;

/// The tail a sync flush leaves (RFC 7692 §7.2.1), removed before sending.
const SYNC_FLUSH_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

// ----------------------------------------------------------------------------------
// Events
// ----------------------------------------------------------------------------------

/// Checks the events a connection emits over its whole life, one at a time.
#[derive(Debug, Default)]
pub struct EventCheck {
    /// Every event seen, in order, messages without their payload (so that
    /// keeping them holds no heap per message).
    pub events: Vec<Event>,
    /// An `Event::Open` was seen.
    pub opened: bool,
    /// An `Event::Close` was seen.
    pub closed: bool,
}

impl EventCheck {
    /// A checker for the events that follow an `Open` already seen elsewhere.
    pub fn after_open() -> Self {
        EventCheck {
            opened: true,
            ..EventCheck::default()
        }
    }

    /// Checks `event`, the next one, against those before it and `limits`, and
    /// records it.
    pub fn see(&mut self, event: &Event, limits: &Limits) {
        assert!(!self.closed, "event after Close: {event:?}");
        if let Some(Event::Error(_)) = self.events.last() {
            assert!(
                matches!(event, Event::Close(_)),
                "Error not followed by Close: {event:?}"
            );
        }
        match event {
            Event::Open(_) => {
                assert!(!self.opened, "second Open");
                assert!(self.events.is_empty(), "Open is not the first event");
                self.opened = true;
            }
            Event::Message(m) => {
                assert!(self.opened, "Message before Open");
                assert!(
                    m.len() <= limits.max_message_size,
                    "message of {} bytes over the limit {}",
                    m.len(),
                    limits.max_message_size
                );
            }
            Event::Ping(p) | Event::Pong(p) => {
                assert!(self.opened, "control frame before Open");
                assert!(p.len() <= MAX_CONTROL_PAYLOAD);
            }
            Event::Close(c) => {
                self.closed = true;
                assert!(!c.was_clean || self.opened, "clean close before Open");
            }
            _ => {}
        }
        self.events.push(match event {
            Event::Message(Message::Text(_)) => Event::Message(Message::Text("".into())),
            Event::Message(Message::Binary(_)) => {
                Event::Message(Message::Binary(Vec::new().into()))
            }
            other => other.clone(),
        });
    }

    /// Drains `conn`'s events, checking each, then that `is_closed()` agrees.
    pub fn drain(&mut self, conn: &mut Connection, limits: &Limits) {
        self.drain_with(conn, limits, Connection::poll_event);
    }

    /// [`EventCheck::drain`], taking each event with `poll` (the fuzz crate counts
    /// the heap used inside calls on the connection).
    pub fn drain_with(
        &mut self,
        conn: &mut Connection,
        limits: &Limits,
        mut poll: impl FnMut(&mut Connection) -> Option<Event>,
    ) {
        while let Some(event) = poll(conn) {
            self.see(&event, limits);
        }
        self.settled();
        assert_eq!(
            self.closed,
            conn.is_closed(),
            "is_closed() disagrees with events"
        );
    }

    /// Asserts the events so far are a whole sequence: the `Close` that follows an
    /// `Error` is not still to come.
    pub fn settled(&self) {
        assert!(
            !matches!(self.events.last(), Some(Event::Error(_))),
            "an Error without a Close: {:?}",
            self.events
        );
    }
}

/// Checks every event a connection emitted, from the first, with [`EventCheck`]
/// under `limits`.
pub fn check_events(events: &[Event], limits: &Limits) -> EventCheck {
    check_from(EventCheck::default(), events, limits)
}

/// Checks the rules every event sequence obeys ([`EventCheck`], with no message
/// size limit): at most one `Close`, and it is last; every `Error` is directly
/// followed by it; `Open` comes first if at all. `events` may be all of a
/// connection's events or those after its `Open` (taken already): a sequence
/// that does not start with `Open` is checked as coming after one.
pub fn check_event_order(events: &[Event]) {
    let check = match events.first() {
        Some(Event::Open(_)) => EventCheck::default(),
        _ => EventCheck::after_open(),
    };
    check_from(check, events, &Limits::new().max_message_size(usize::MAX));
}

fn check_from(mut check: EventCheck, events: &[Event], limits: &Limits) -> EventCheck {
    for event in events {
        check.see(event, limits);
    }
    check.settled();
    check
}

/// The `Close` that must end `events`.
pub fn final_close(events: &[Event]) -> &CloseInfo {
    match events.last() {
        Some(Event::Close(info)) => info,
        _ => panic!("events do not end with Close: {events:?}"),
    }
}

/// The single `Error` in `events`.
pub fn the_error(events: &[Event]) -> &Error {
    let errors: Vec<&Error> = events
        .iter()
        .filter_map(|e| match e {
            Event::Error(err) => Some(&**err),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "expected one Error: {events:?}");
    errors[0]
}

/// Asserts `events` end in `[Error(_), Close { code, was_clean: false }]` and returns
/// the error.
pub fn assert_failed(events: &[Event], code: CloseCode) -> &Error {
    check_event_order(events);
    let n = events.len();
    assert!(n >= 2, "expected Error then Close: {events:?}");
    assert!(
        matches!(&events[n - 2..], [Event::Error(_), Event::Close(c)] if c.code == code && !c.was_clean),
        "expected Error then Close {code}, not clean: {events:?}"
    );
    the_error(events)
}

/// Asserts `raw` failed the connection with `code` on the wire: its output ends
/// with exactly one close frame carrying `code`.
pub fn assert_close_frame_sent(raw: &mut Raw, code: u16) {
    let frames = raw.sent_frames();
    let last = frames.last().expect("a close frame was sent");
    assert_eq!(last.opcode, op::CLOSE, "{frames:?}");
    assert_eq!(last.close_code(), Some(code), "{frames:?}");
    assert!(
        std::str::from_utf8(&last.payload[2..]).is_ok(),
        "close reason is UTF-8"
    );
    assert_eq!(
        frames.iter().filter(|f| f.opcode == op::CLOSE).count(),
        1,
        "{frames:?}"
    );
}

// ----------------------------------------------------------------------------------
// The wire
// ----------------------------------------------------------------------------------

/// Checks what a connection writes, as it is written (any cut), with this
/// crate's own frame decoder: see the [module](self) for the rules.
///
/// With permessage-deflate agreed (see [`WireCheck::note_open`]), compressed
/// messages (RSV1 on their first frame only) must inflate, with the agreed window
/// and context mode, to what was sent. A checker made by [`WireCheck::new`] also
/// requires every data message written to be the next one the user sent
/// successfully ([`WireCheck::sent`]).
pub struct WireCheck {
    role: Role,
    /// The HTTP head so far, until its end is seen.
    head: Option<Vec<u8>>,
    /// Bytes of a frame not yet whole.
    buf: Vec<u8>,
    /// The head was not an upgrade: a body follows, no frames.
    refused: bool,
    sent_close: bool,
    /// Messages the user sent and the connection accepted, not yet seen written;
    /// `None` when messages are not compared.
    expected: Option<VecDeque<Vec<u8>>>,
    /// The `Open` event was looked at (deflate agreed or not).
    open_noted: bool,
    /// Our sending half of the agreement: window bits and no-context-takeover.
    deflate: Option<(u8, bool)>,
    inflater: Option<Decompress>,
    /// The data message being written: compressed, payload so far.
    message: Option<(bool, Vec<u8>)>,
}

impl WireCheck {
    /// A checker for the whole output of a connection playing `role`: its HTTP
    /// head, then frames; each data message written must be the next one given
    /// to [`WireCheck::sent`].
    pub fn new(role: Role) -> Self {
        WireCheck {
            role,
            head: Some(Vec::new()),
            buf: Vec::new(),
            refused: false,
            sent_close: false,
            expected: Some(VecDeque::new()),
            open_noted: false,
            deflate: None,
            inflater: None,
            message: None,
        }
    }

    /// A checker for the output after the handshake: frames only, and messages
    /// are not compared with what was sent.
    pub fn frames(role: Role) -> Self {
        WireCheck {
            head: None,
            expected: None,
            ..WireCheck::new(role)
        }
    }

    /// Records a message the connection accepted to send.
    pub fn sent(&mut self, payload: &[u8]) {
        if let Some(expected) = &mut self.expected {
            expected.push_back(payload.to_vec());
        }
    }

    /// Reads the permessage-deflate agreement (our sending half) from the `Open`
    /// event among `events`, once; RSV1 is allowed from then on if agreed.
    pub fn note_open(&mut self, events: &EventCheck) {
        if self.open_noted || !events.opened {
            return;
        }
        self.open_noted = true;
        let Some(info) = events.events.iter().find_map(|e| match e {
            Event::Open(info) => Some(info),
            _ => None,
        }) else {
            return;
        };
        let Some(agreed) = info.extensions.first() else {
            return;
        };
        assert_eq!(info.extensions.len(), 1, "{:?}", info.extensions);
        let ours = if self.role == Role::Client {
            "client_"
        } else {
            "server_"
        };
        let (mut bits, mut reset) = (15, false);
        let mut params = agreed.split(';').map(str::trim);
        assert_eq!(params.next(), Some("permessage-deflate"), "{agreed}");
        for param in params {
            let Some(param) = param.strip_prefix(ours) else {
                continue;
            };
            if param == "no_context_takeover" {
                reset = true;
            } else if let Some(b) = param.strip_prefix("max_window_bits=") {
                bits = b.parse().expect("agreed window bits");
                assert!((8..15).contains(&bits), "{agreed}");
            } else {
                panic!("unexpected parameter in the agreement {agreed:?}");
            }
        }
        self.deflate = Some((bits, reset));
    }

    /// Takes up to `n` bytes of `conn`'s output, checks them and marks them written.
    pub fn transmit(&mut self, conn: &mut Connection, n: usize) {
        let Some(out) = conn.poll_transmit() else {
            return;
        };
        let n = n.min(out.len());
        let written = out[..n].to_vec();
        conn.advance_transmit(n);
        self.written(&written);
    }

    /// Checks `bytes`, the next ones the connection wrote.
    pub fn written(&mut self, bytes: &[u8]) {
        if let Some(head) = &mut self.head {
            head.extend_from_slice(bytes);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let upgrade = head.starts_with(b"HTTP/1.1 101") || head.starts_with(b"GET ");
            let rest = head.split_off(end + 4);
            self.head = None;
            // A refusal carries a body and no frames.
            self.refused = !upgrade;
            self.buf = rest;
        } else {
            self.buf.extend_from_slice(bytes);
        }
        if self.refused {
            return;
        }
        let mut at = 0;
        while let Some((frame, used)) = decode_frame(&self.buf[at..]) {
            at += used;
            self.frame(frame);
        }
        self.buf.drain(..at);
    }

    /// Asserts the output ended on a frame boundary.
    pub fn finish(&self) {
        assert!(
            self.refused || self.buf.is_empty(),
            "partial frame at the end of the output: {:x?}",
            self.buf
        );
    }

    fn frame(&mut self, frame: WireFrame) {
        assert_eq!(
            frame.mask.is_some(),
            self.role == Role::Client,
            "mask bit of {frame:?}"
        );
        assert!(op::DEFINED.contains(&frame.opcode), "opcode of {frame:?}");
        assert!(
            !self.sent_close,
            "a frame after the close frame (RFC 6455 §5.5.1): {frame:?}"
        );
        if !op::is_control(frame.opcode) {
            return self.data_frame(frame);
        }
        assert!(
            frame.fin && frame.rsv == 0 && frame.payload.len() <= MAX_CONTROL_PAYLOAD,
            "control frame {frame:?}"
        );
        if frame.opcode == op::CLOSE {
            self.sent_close = true;
            if let [hi, lo, reason @ ..] = &frame.payload[..] {
                let code = u16::from_be_bytes([*hi, *lo]);
                assert!(
                    CloseCode::from(code).is_allowed_on_wire(),
                    "sent close code {code}"
                );
                assert!(
                    std::str::from_utf8(reason).is_ok(),
                    "close reason {reason:x?}"
                );
            } else {
                assert!(frame.payload.is_empty(), "close payload {frame:?}");
            }
        }
    }

    /// Collects a data message's payload; checks it against what was sent at its end.
    fn data_frame(&mut self, frame: WireFrame) {
        let start = frame.opcode != op::CONT;
        assert_eq!(start, self.message.is_none(), "fragments out of order");
        let compressed = frame.rsv == RSV1;
        assert!(
            frame.rsv == 0 || (compressed && start && self.deflate.is_some()),
            "RSV bits {:03b} on {frame:?} (deflate {:?})",
            frame.rsv,
            self.deflate
        );
        let (_, payload) = self.message.get_or_insert((compressed, Vec::new()));
        payload.extend_from_slice(&frame.payload);
        if !frame.fin {
            return;
        }
        let (compressed, mut payload) = self.message.take().expect("message in progress");
        if compressed {
            payload = self.inflate(payload);
        }
        if let Some(expected) = &mut self.expected {
            let expected = expected.pop_front().expect("a message nobody sent");
            assert!(
                payload == expected,
                "message written differs from the one sent"
            );
        }
    }

    fn inflate(&mut self, mut payload: Vec<u8>) -> Vec<u8> {
        let (bits, reset) = self.deflate.expect("RSV1 without deflate");
        assert!(
            bits >= 9,
            "compressed with a window of 2^{bits}, below zlib's"
        );
        let inflater = self
            .inflater
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        payload.extend_from_slice(&SYNC_FLUSH_TAIL);
        let mut out = Vec::with_capacity(payload.len() * 4 + 64);
        let mut pos = 0;
        loop {
            let before = inflater.total_in();
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity());
            }
            inflater
                .decompress_vec(&payload[pos..], &mut out, FlushDecompress::Sync)
                .expect("our compressed message does not inflate");
            pos += (inflater.total_in() - before) as usize;
            if pos == payload.len() && out.len() < out.capacity() {
                break;
            }
        }
        if reset {
            self.inflater = None;
        }
        out
    }
}
