//! The state machine tying the layers together, for both roles:
//! `Handshaking → Open → Closing → Closed`. Every transition lives in this file;
//! the submodules change no state: [`transport`] (plain, TLS, or through a
//! proxy's tunnel, [`proxied`]), [`outbox`]
//! (output buffering and its limit), [`writer`] (frames, masks, compression),
//! [`receive`] (whole single-frame messages handed out past the decoder),
//! [`send`] (commands queued as frames where they go), [`input`] (room lent
//! for reads, so socket bytes land in the input buffer); [`create`] builds a
//! connection in its first state, [`inspect`] reads it.
//!
//! Inputs (`handle_input`, or `handle_read`/`handle_input_bytes` after a read
//! into lent room, `handle_eof`, `handle_timeout`) and commands (`send_*`,
//! `ping`, `close`) only change state and queue output; the caller then drains
//! `poll_event`, `poll_transmit`/`advance_transmit` and reads `poll_timeout`.
//! Frames are decoded in `poll_event`, one event at a time, so "frame" inputs
//! below happen there.
//!
//! # Transitions
//!
//! `Phase` (private) is the state; `ClientHs*` is `ClientHandshake` with a close
//! queued (`close_queued`), which [`State`] reports as `Closing`. "Any" means every
//! state but `Closed`. "End" is EOF (`handle_eof`) or a TLS close_notify.
//! `Connection::upgraded` (a stream upgraded elsewhere) starts in `Open`, its
//! `Open` event queued.
//!
//! ```text
//! state           input                           next             output, events
//! --------------  ------------------------------  ---------------  ----------------------------------------
//! ClientHs        valid 101 response              Open             queued frames written; Open
//! ClientHs*       valid 101 response              Closing          queued frames, close written; close timer; Open
//! ClientHs(*)     invalid response                Closed{cause}    Error, Close(1006)
//! ClientHs(*)     proxy refuses, fails, closes    Closed{cause}    Error(Proxy), Close(1006)
//! ClientHs        send_*, ping, pong              ClientHs         frame queued until open
//! ClientHs        close, frames queued            ClientHs*        close frame queued after them
//! ClientHs*       send_*, ping, pong, close       ClientHs*        Err(Closing)
//! ServerHs        valid request                   Open             101 written; Open
//! ServerHs        invalid request                 Closed{cause}    error response written; Error, Close(1006)
//! ServerHs        send_*, ping, pong              ServerHs         Err(Connecting)
//! ClientHs, Srv   close, nothing queued           Closed{None}     Close(1006)
//! handshakes      handshake timer                 Closed{cause}    Error(Timeout), Close(1006)
//! handshakes      end                             Closed{cause}    Error(Handshake or ConnectionLost), Close(1006)
//! Open, Closing   data frames                     same             Message (when complete)
//! Open            ping frame                      Open             pong (held while the output is full); Ping
//! Closing         ping frame                      Closing          Ping (nothing may follow our close)
//! Open, Closing   pong frame                      same             Pong
//! Open            close frame                     Closed{None}     close echoed; Close(clean)
//! Closing         close frame                     Closed{None}     Close(clean)
//! Open            bad frame, limit exceeded       Closed{cause}    close frame (1002, 1007, 1009); Error, Close
//! Closing         bad frame, limit exceeded       Closed{cause}    Error, Close(1006)
//! Open            send_*, ping, pong              Open             frames written (or Err(OutputFull))
//! Open            close                           Closing{end}     close frame; close timer
//! Open            keepalive ping timer            Open             ping (unless the output is full); deadline
//! Open            keepalive deadline              Closed{cause}    close frame 1011; Error(Timeout), Close
//! Closing         close timer                     Closed{cause}    Error(Timeout), Close(1006)
//! Closing         send_*, ping, pong, close       Closing          Err(Closing)
//! Open, Closing   end, frames buffered            same{end}        input and timers stop; the frames decode
//! Open, Closing   end, nothing (more) buffered    Closed{cause}    Error(ConnectionLost), Close(1006)
//! any             TLS error                       Closed{cause}    Error(Tls), Close(1006; 1015 in TLS handshake)
//! Closed          send_*, ping, pong, close       Closed           Err(Closed(cause)): a failure sticks
//! Closed          input, end, timers              Closed           nothing
//! ```

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Buf, BytesMut};

mod create;
mod input;
mod inspect;
mod outbox;
mod proxied;
mod receive;
mod send;
mod transport;
mod writer;

use crate::close::{self, CloseCode};
use crate::command_error::CommandError;
use crate::config::{Limits, Timeouts};
use crate::deflate::DeflateConfig;
use crate::error::{ConnectionLostKind, Error, HandshakeError, TimeoutKind};
use crate::event::{CloseInfo, Event, EventRef, Message};
use crate::frame::{FrameChunk, FrameDecoder, OpCode};
use crate::handshake::{ClientHandshake, ServerHandshake, Upgraded};
use crate::logging;
use crate::message::Assembler;
use crate::stats::StatsRecorder;
use crate::timer::{Timer, Timers};
use crate::tls::TlsError;
use crate::url::WsUrl;

pub use input::{InputBuffer, InputBytes};
use outbox::Outbox;
use transport::{Failure, ReadOutcome, Transport};
use writer::FrameWriter;

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Initiates the handshake; masks its frames.
    Client,
    /// Accepts the handshake; its frames are not masked.
    Server,
}

/// The connection's state as the browser's `readyState` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The opening handshake is in progress.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// We started the close handshake and wait for the peer's close frame. Ours
    /// is sent, or, when `close` came before the opening completed with
    /// messages held, queued after them until open.
    Closing,
    /// The connection is over; the last event has been queued.
    Closed,
}

/// Where the connection stands, with what only that state needs.
enum Phase {
    /// Waiting for the server's 101.
    ClientHandshake {
        handshake: ClientHandshake,
        /// permessage-deflate as offered (the agreement needs it at open).
        deflate: Option<DeflateConfig>,
        /// Frames queued before the handshake completed (RFC 6455 §4.1 forbids
        /// sending them earlier): written out at open.
        early: Vec<u8>,
        /// `close` was called with messages queued: its close frame ends `early`,
        /// and the connection opens straight into `Closing`.
        close_queued: bool,
    },
    /// Waiting for the client's request.
    ServerHandshake(ServerHandshake),
    /// Messages flow both ways.
    Open { end: Option<InputEnd> },
    /// Our close frame is out; the peer's is awaited.
    Closing { end: Option<InputEnd> },
    /// The last event is queued. `cause`: the error that failed the connection,
    /// returned (in [`CommandError::Closed`]) by every later command; `None`
    /// after a close.
    Closed { cause: Option<Box<Error>> },
}

impl Phase {
    /// The transport ended with frames still in `input`: no more input is read,
    /// no timer runs (the buffered bytes alone decide the outcome), and the end
    /// is reported when `poll_event` has decoded them.
    #[inline]
    fn input_end(&self) -> Option<InputEnd> {
        match self {
            Phase::Open { end } | Phase::Closing { end } => *end,
            _ => None,
        }
    }

    /// Frames are read (the opening is done, the closing is not).
    #[inline]
    fn reads_frames(&self) -> bool {
        matches!(self, Phase::Open { .. } | Phase::Closing { .. })
    }

    /// Bytes of frames held until the client handshake completes.
    fn early_len(&self) -> usize {
        match self {
            Phase::ClientHandshake { early, .. } => early.len(),
            _ => 0,
        }
    }
}

/// How the transport ended while frames were still buffered undecoded. The end
/// is reported (as a failure, unless a close frame comes first) once
/// `poll_event` has decoded what arrived before it, one event at a time: the
/// memory a burst followed by an end takes stays that of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputEnd {
    /// `handle_eof`: the transport reached its end.
    Eof,
    /// The peer ended its TLS session with close_notify.
    CloseNotify,
}

/// Above this capacity, an emptied buffer (input, output) is given back to the
/// allocator, so a large message does not pin its memory for the connection's life.
const IDLE_BUFFER_CAPACITY: usize = 64 << 10;

/// The payload of keepalive pings (their pongs are timed like any other ping's).
const KEEPALIVE_PAYLOAD: &[u8] = b"sockette-keepalive";

/// A WebSocket connection with no I/O: bytes in, events and bytes out.
///
/// After any input or command, drain [`poll_event`](Self::poll_event) and
/// [`poll_transmit`](Self::poll_transmit), then wait for input or until
/// [`poll_timeout`](Self::poll_timeout). Once [`is_closed`](Self::is_closed), write
/// what `poll_transmit` still holds and shut the transport down.
pub struct Connection {
    role: Role,
    phase: Phase,
    url: Option<WsUrl>,
    input: BytesMut,
    /// Bytes at the front of `input` already handed out: lent by
    /// `poll_event_ref` (messages borrowed from the buffer) or copied into
    /// small payloads by `poll_event`. Consumed by the next call that needs
    /// the buffer itself; those two read on past them.
    lent: usize,
    /// The UTF-8 check of a single-frame text message arriving in the input.
    text_in_place: receive::TextInPlace,
    /// Room lent for reads (`input_buffer`), right after `input` in the same
    /// allocation over `ws://`, zeroed once and filled read by read.
    spare: BytesMut,
    /// The size of the allocation `spare` was made in: an idle connection
    /// gives a large one back.
    spare_block: usize,
    /// Room lent for reads of TLS records (`input_buffer` over `wss://`).
    tls_room: Vec<u8>,
    /// Plain `ws://` or a TLS session.
    transport: Transport,
    decoder: FrameDecoder,
    assembler: Assembler,
    outbox: Outbox,
    writer: FrameWriter,
    events: VecDeque<Event>,
    limits: Limits,
    timeouts: Timeouts,
    timers: Timers,
    /// Counters behind `stats()`.
    stats: StatsRecorder,
    /// The `now` of the latest input: when a pong decoded from it arrived.
    input_at: Instant,
    /// Frames queued before an opening that failed, and whether a close
    /// followed them: for [`take_queued_before_open`](Self::take_queued_before_open).
    unsent_before_open: Option<(Vec<u8>, bool)>,
    /// When the connection was created: the log's timings count from here.
    #[cfg(feature = "log")]
    created_at: Instant,
}

impl Connection {
    // ----- outputs -----

    /// The next event, if any.
    ///
    /// Frames are decoded here, one event at a time, so that what the caller does
    /// in answer to an event (an echo, a close) happens before later frames are
    /// judged: a message followed by a malformed frame in the same read is still
    /// delivered, and can still be answered, before the connection fails.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.take_whole_message() {
            return Some(event);
        }
        self.settle_lent();
        if self.payload_arriving() {
            return None;
        }
        if self.events.is_empty() && (!self.input.is_empty() || self.phase.input_end().is_some()) {
            self.process_frames();
            self.flush();
        }
        self.events.pop_front()
    }

    /// The next event, with a message that arrived whole in one frame borrowed from
    /// the connection's input buffer: no copy and no allocation. The borrow ends
    /// with the next call on the connection, which then drops those bytes.
    ///
    /// The same events in the same order as [`poll_event`](Self::poll_event), which
    /// this falls back to ([`EventRef::Other`]) for everything else: fragmented or
    /// compressed messages, controls, errors, the close.
    #[must_use]
    pub fn poll_event_ref(&mut self) -> Option<EventRef<'_>> {
        match self.lendable_message() {
            Some(ahead) => Some(self.lend_message(ahead)),
            None => {
                self.settle_lent();
                self.poll_event().map(EventRef::Other)
            }
        }
    }

    /// Bytes to write to the transport, if any. Report what was written with
    /// [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    #[inline]
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        let pending = self.outbox.unwritten();
        (!pending.is_empty()).then_some(pending)
    }

    /// Marks `n` bytes of [`poll_transmit`](Self::poll_transmit) as written.
    #[inline]
    pub fn advance_transmit(&mut self, n: usize) {
        let (written, drained) = self.outbox.advance(n);
        self.stats.wire_sent(written);
        if drained {
            // Nothing may follow our close frame (RFC 6455 §5.5.1).
            let pending_pong = self.outbox.pending_pong.take();
            if let (Some(payload), Phase::Open { .. }) = (pending_pong, &self.phase) {
                self.write_frame(OpCode::Pong, &payload);
                self.flush();
            }
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None` while no
    /// timer runs, and always once the transport has ended (what is buffered
    /// then decides the outcome).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase.input_end().is_some() {
            return None;
        }
        self.timers.next()
    }

    // ----- inputs -----

    /// Bytes read from the transport.
    ///
    /// Frames are decoded as [`poll_event`](Self::poll_event) asks for them, so
    /// drain the events after each call: bytes fed without polling are held
    /// undecoded, and the limits bound what one frame or message may take, not
    /// what a caller who never polls lets pile up.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.settle_lent();
        // After the last event nothing more is read: for TLS this also keeps rustls
        // from being fed records after it sent close_notify or a fatal alert.
        // Nor after the end of the transport (EOF or close_notify).
        if data.is_empty() || !self.takes_input() {
            return;
        }
        self.stats.wire_received(data.len());
        self.input_at = now;
        let received = self.transport.read(now, data);
        if received.established {
            logging::debug!(
                "TLS established ({:?}) after {:?}: {}",
                self.role,
                now.saturating_duration_since(self.created_at),
                self.transport.describe()
            );
        }
        if !received.plaintext.is_empty() {
            self.handle_plaintext(now, &received.plaintext);
        }
        self.transport.recycle(received.plaintext);
        match received.outcome {
            ReadOutcome::Failed(_) if self.is_closed() => {}
            ReadOutcome::Failed(failure) => self.fail_transport(failure),
            ReadOutcome::PeerClosed if !self.is_closed() => {
                self.end_transport(InputEnd::CloseNotify)
            }
            ReadOutcome::PeerClosed | ReadOutcome::Open => {}
        }
        self.flush();
    }

    fn handle_plaintext(&mut self, now: Instant, data: &[u8]) {
        if self.is_closed() {
            return;
        }
        self.append_input(data);
        self.on_peer_activity(now);
        self.process_input(now);
    }

    /// The transport reached its end (the peer closed it, or it broke).
    ///
    /// Frames that arrived before the end (a close frame, typically) still count:
    /// they are decoded as [`poll_event`](Self::poll_event) asks for them, and the
    /// end is reported after them. Poll events until the connection
    /// [`is_closed`](Self::is_closed).
    pub fn handle_eof(&mut self, _now: Instant) {
        self.end_transport(InputEnd::Eof);
        self.flush();
    }

    /// The transport ended (`end`): reported now if nothing is left to decode,
    /// else once `poll_event` has decoded the buffered frames. Only the first end
    /// counts.
    fn end_transport(&mut self, end: InputEnd) {
        self.settle_lent();
        let input_left = !self.input.is_empty();
        match &mut self.phase {
            Phase::Closed { .. } => return,
            Phase::Open { end: Some(_) } | Phase::Closing { end: Some(_) } => return,
            Phase::Open { end: pending } | Phase::Closing { end: pending } if input_left => {
                *pending = Some(end);
                self.timers.clear_all();
                return;
            }
            _ => {}
        }
        self.report_end(end);
    }

    /// Fails the connection for the end of its transport, everything before it
    /// having been decoded.
    fn report_end(&mut self, end: InputEnd) {
        if let Phase::Open { end } | Phase::Closing { end } = &mut self.phase {
            *end = None;
        }
        let handshaking_tls = self.transport.is_handshaking();
        // The proxy closed before its tunnel opened.
        if let Some(proxy) = self.transport.proxy_failure_at_end() {
            if !self.is_closed() {
                self.fail_without_close(Error::Proxy(proxy));
            }
            return;
        }
        let error = match (end, &mut self.phase) {
            (_, Phase::Closed { .. }) => return,
            (InputEnd::CloseNotify, _) => Error::ConnectionLost(ConnectionLostKind::CloseNotify),
            _ if handshaking_tls => Error::Handshake(HandshakeError::Incomplete),
            // The same verdict on the head however the reads cut it.
            (_, Phase::ClientHandshake { handshake, .. }) => {
                Error::Handshake(handshake.error_at_end(&self.input))
            }
            (_, Phase::ServerHandshake(handshake)) => {
                Error::Handshake(handshake.error_at_end(&self.input))
            }
            (_, Phase::Open { .. } | Phase::Closing { .. }) => Error::ConnectionLost(
                if self.assembler.is_mid_message() || !self.input.is_empty() {
                    ConnectionLostKind::MidMessage
                } else {
                    ConnectionLostKind::NoCloseFrame
                },
            ),
        };
        self.fail_without_close(error);
    }

    /// Runs the timers due at `now`. Harmless when early or repeated.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase.input_end().is_some() {
            return;
        }
        while let Some(timer) = self.timers.expired(now) {
            match timer {
                Timer::Handshake => {
                    let refused = match &self.phase {
                        Phase::ClientHandshake { handshake, .. } => {
                            handshake.rejection_so_far(&self.input)
                        }
                        _ => None,
                    };
                    let error = match (self.transport.proxy_timeout(), refused) {
                        (Some(proxy), _) => Error::Proxy(proxy),
                        // The server refused and its body was still coming.
                        (None, Some(refused)) => Error::Handshake(refused),
                        (None, None) => Error::Timeout(TimeoutKind::Handshake),
                    };
                    self.fail_without_close(error)
                }
                Timer::Close => {
                    self.fail_without_close(Error::Timeout(TimeoutKind::CloseHandshake))
                }
                // 1011 on the wire, in case a peer that stopped answering
                // still reads.
                Timer::KeepaliveDeadline => self.fail(Error::Timeout(TimeoutKind::Keepalive)),
                Timer::KeepalivePing => {
                    // A peer that does not read gets no more pings; the deadline
                    // still runs, so a dead peer is detected all the same.
                    if matches!(self.phase, Phase::Open { .. }) {
                        if !self.outbox.is_full(self.buffered_amount()) {
                            self.write_frame(OpCode::Ping, KEEPALIVE_PAYLOAD);
                            self.stats.ping_sent(KEEPALIVE_PAYLOAD, now);
                        }
                        self.timers.set_after(
                            Timer::KeepaliveDeadline,
                            now,
                            self.timeouts.keepalive_timeout,
                        );
                    }
                }
            }
        }
        self.flush();
    }

    // ----- commands -----

    /// Sends a text message.
    #[inline]
    pub fn send_text(&mut self, text: &str) -> Result<(), CommandError> {
        self.send_data(OpCode::Text, text.as_bytes())
    }

    /// Sends a binary message.
    #[inline]
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), CommandError> {
        self.send_data(OpCode::Binary, data)
    }

    /// Sends a message.
    pub fn send(&mut self, message: &Message) -> Result<(), CommandError> {
        match message {
            Message::Text(t) => self.send_data(OpCode::Text, t.as_bytes()),
            Message::Binary(b) => self.send_data(OpCode::Binary, b),
        }
    }

    /// Sends a ping (at most 125 bytes of payload). Its pong is not timed: use
    /// [`ping_at`](Self::ping_at) for that.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends a ping at `now`; the pong with the same payload sets
    /// [`Stats::latest_rtt`](crate::Stats::latest_rtt) (see [`stats`](Self::stats)).
    /// A ping queued before the opening completes is timed from `now` all the
    /// same, so its round trip includes the rest of the opening.
    pub fn ping_at(&mut self, now: Instant, payload: &[u8]) -> Result<(), CommandError> {
        self.send_control(OpCode::Ping, payload)?;
        self.stats.ping_sent(payload, now);
        Ok(())
    }

    /// Sends an unsolicited pong (at most 125 bytes of payload).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the close handshake. Messages keep arriving until the peer's close
    /// frame; then [`Event::Close`] reports it. [`CloseCode::NoStatus`] sends a close
    /// frame without a code.
    ///
    /// Before the opening completes: a client that has messages queued (they
    /// wait for the 101) queues the close frame after them, and all of it goes
    /// out once open; the connection then opens straight into
    /// [`State::Closing`] (`Event::Open`, then the close handshake runs as
    /// usual). With nothing queued, and always for the server role, the opening
    /// is abandoned: `Event::Close` with 1006 comes at once, without a close frame.
    pub fn close(
        &mut self,
        now: Instant,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), CommandError> {
        close::check_close_command(code, reason)?;
        match &mut self.phase {
            Phase::ClientHandshake {
                close_queued: true, ..
            } => Err(CommandError::Closing),
            Phase::ClientHandshake {
                early,
                close_queued,
                ..
            } if !early.is_empty() => {
                // Messages are queued: they go out once open, followed by this close.
                let payload = close::encode_close_payload(code, reason);
                self.writer
                    .write_frame(early, true, 0, OpCode::Close, &payload);
                *close_queued = true;
                Ok(())
            }
            Phase::ClientHandshake { .. } | Phase::ServerHandshake(_) => {
                let info = CloseInfo {
                    code: CloseCode::Abnormal,
                    reason: "closed before the connection opened".into(),
                    was_clean: false,
                };
                self.finish(info, None);
                Ok(())
            }
            Phase::Open { end } => {
                let end = *end;
                let payload = close::encode_close_payload(code, reason);
                self.write_frame(OpCode::Close, &payload);
                logging::debug!("close frame sent: code {code}, reason {reason:?}");
                self.phase = Phase::Closing { end };
                self.timers.clear(Timer::KeepalivePing);
                self.timers.clear(Timer::KeepaliveDeadline);
                self.timers
                    .set_after(Timer::Close, now, self.timeouts.close);
                self.flush();
                Ok(())
            }
            Phase::Closing { .. } => Err(CommandError::Closing),
            Phase::Closed { cause } => Err(CommandError::Closed(cause.clone())),
        }
    }

    // ----- internals -----

    fn writable_phase(&self) -> Result<(), CommandError> {
        match &self.phase {
            Phase::Open { .. } => Ok(()),
            Phase::ClientHandshake {
                close_queued: true, ..
            } => Err(CommandError::Closing),
            Phase::ClientHandshake { .. } => Ok(()),
            Phase::ServerHandshake(_) => Err(CommandError::Connecting),
            Phase::Closing { .. } => Err(CommandError::Closing),
            Phase::Closed { cause } => Err(CommandError::Closed(cause.clone())),
        }
    }

    fn on_peer_activity(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Open { .. }) {
            self.schedule_keepalive(now);
        }
    }

    fn schedule_keepalive(&mut self, now: Instant) {
        self.timers.clear(Timer::KeepaliveDeadline);
        if let Some(interval) = self.timeouts.keepalive_interval {
            self.timers.set_after(Timer::KeepalivePing, now, interval);
        }
    }

    fn process_input(&mut self, now: Instant) {
        loop {
            match &mut self.phase {
                Phase::ClientHandshake { handshake, .. } => {
                    match handshake.parse_response(&self.input) {
                        Ok(None) => return,
                        Ok(Some(upgraded)) => self.open(upgraded, now),
                        Err(e) => return self.fail_without_close(e.into()),
                    }
                }
                Phase::ServerHandshake(hs) => match hs.parse_request(&self.input) {
                    Ok(None) => return,
                    Ok(Some(accepted)) => {
                        self.ws_out().extend_from_slice(&accepted.response);
                        self.open(accepted.upgraded, now);
                    }
                    Err(rejection) => {
                        self.ws_out().extend_from_slice(&rejection.response);
                        return self.fail_without_close(rejection.error.into());
                    }
                },
                // Frames wait in `input` until `poll_event` asks for them.
                Phase::Open { .. } | Phase::Closing { .. } | Phase::Closed { .. } => return,
            }
        }
    }

    fn open(&mut self, upgraded: Upgraded, now: Instant) {
        let Upgraded {
            info,
            head_len,
            deflate,
        } = upgraded;
        self.input.advance(head_len);
        let (early, close_queued, deflate_config) =
            match std::mem::replace(&mut self.phase, Phase::Open { end: None }) {
                Phase::ClientHandshake {
                    early,
                    close_queued,
                    deflate,
                    ..
                } => (early, close_queued, deflate),
                Phase::ServerHandshake(handshake) => (Vec::new(), false, handshake.deflate),
                // (Not reached: `open` is only called from a handshake state.)
                Phase::Open { .. } | Phase::Closing { .. } | Phase::Closed { .. } => {
                    (Vec::new(), false, None)
                }
            };
        if let (Some(agreed), Some(config)) = (deflate, &deflate_config) {
            self.enable_deflate(&agreed, config);
        }
        self.timers.clear(Timer::Handshake);
        if close_queued {
            self.phase = Phase::Closing { end: None };
            self.timers
                .set_after(Timer::Close, now, self.timeouts.close);
        } else {
            self.schedule_keepalive(now);
        }
        self.ws_out().extend_from_slice(&early);
        logging::debug!(
            "WebSocket open ({:?}) after {:?}: 101 Switching Protocols, subprotocol {:?}, extensions {:?}",
            self.role,
            now.saturating_duration_since(self.created_at),
            info.protocol,
            info.extensions
        );
        self.events.push_back(Event::Open(Box::new(info)));
    }

    /// Decodes buffered frames until one event is queued; after the end of the
    /// transport, reports that end once nothing is left to decode.
    fn process_frames(&mut self) {
        self.settle_lent();
        // The decoder takes the frame ahead: its in-place check no longer applies.
        self.text_in_place.reset();
        if !self.phase.reads_frames() {
            return;
        }
        while !self.is_closed() && self.events.is_empty() {
            let chunk = match self.decoder.decode(&mut self.input) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    if let Some(end) = self.phase.input_end() {
                        return self.report_end(end);
                    }
                    // A large frame grew the buffer; give the memory back once idle.
                    if self.input.is_empty() && self.input.capacity() > IDLE_BUFFER_CAPACITY {
                        self.input = BytesMut::new();
                    }
                    return;
                }
                Err(e) => return self.fail(e),
            };
            if chunk.header.opcode.is_control() {
                self.on_control(chunk);
            } else {
                self.stats.data_frame_received(chunk.data.len());
                match self.assembler.push(chunk) {
                    Ok(Some(message)) => {
                        self.stats.message_received(message.len());
                        self.events.push_back(Event::Message(message))
                    }
                    Ok(None) => {}
                    Err(e) => return self.fail(e),
                }
            }
        }
    }

    fn on_control(&mut self, chunk: FrameChunk) {
        match chunk.header.opcode {
            OpCode::Ping => {
                if matches!(self.phase, Phase::Open { .. }) {
                    if self.outbox.is_full(self.buffered_amount()) {
                        // The peer is not reading: answer only its latest ping (§5.5.3).
                        self.outbox.pending_pong = Some(chunk.data.clone());
                    } else {
                        self.write_frame(OpCode::Pong, &chunk.data);
                    }
                }
                self.events.push_back(Event::Ping(chunk.data));
            }
            OpCode::Pong => {
                self.stats.pong_received(&chunk.data, self.input_at);
                self.events.push_back(Event::Pong(chunk.data))
            }
            OpCode::Close => match close::parse_close_payload(&chunk.data) {
                Err(e) => self.fail(e.into()),
                Ok((code, reason)) => {
                    logging::debug!("close frame received: code {code}, reason {reason:?}");
                    if matches!(self.phase, Phase::Open { .. }) {
                        // §5.5.1: echo the status code received.
                        let payload = close::encode_close_payload(code, "");
                        self.write_frame(OpCode::Close, &payload);
                    }
                    let info = CloseInfo {
                        code,
                        reason,
                        was_clean: true,
                    };
                    self.finish(info, None);
                }
            },
            OpCode::Continuation | OpCode::Text | OpCode::Binary => {}
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7) for something the peer sent or
    /// failed to answer: tells it why in a close frame when the protocol allows
    /// (open, and a code that may go on the wire), then reports the error and
    /// the close.
    fn fail(&mut self, error: Error) {
        let code = error.close_code();
        if !matches!(self.phase, Phase::Open { .. }) || !code.is_allowed_on_wire() {
            return self.fail_without_close(error);
        }
        let reason = close::truncate_reason(&error.to_string()).to_string();
        let payload = close::encode_close_payload(code, &reason);
        self.write_frame(OpCode::Close, &payload);
        self.report_failure(
            error,
            CloseInfo {
                code,
                reason,
                was_clean: false,
            },
        );
    }

    /// Fails the connection with no close frame: the opening never completed,
    /// the transport ended or TLS failed, or a close handshake already ran out
    /// of time.
    fn fail_without_close(&mut self, error: Error) {
        let reason = close::truncate_reason(&error.to_string()).to_string();
        self.report_failure(
            error,
            CloseInfo {
                code: CloseCode::Abnormal,
                reason,
                was_clean: false,
            },
        );
    }

    fn report_failure(&mut self, error: Error, info: CloseInfo) {
        logging::warning!(
            "connection failed (close code {}): {error}",
            error.close_code()
        );
        let cause = Box::new(error.clone());
        self.events.push_back(Event::Error(Box::new(error)));
        self.finish(info, Some(cause));
    }

    /// Fails the connection for its transport's failure.
    fn fail_transport(&mut self, failure: Failure) {
        match failure {
            Failure::Tls {
                error,
                during_handshake,
            } => self.fail_tls(error, during_handshake),
            Failure::Proxy(error) => self.fail_without_close(Error::Proxy(error)),
        }
    }

    /// Fails the connection for a TLS error; a failed TLS handshake is reported
    /// with close code 1015.
    fn fail_tls(&mut self, error: TlsError, during_handshake: bool) {
        self.fail_without_close(Error::Tls(error));
        if during_handshake {
            if let Some(Event::Close(info)) = self.events.back_mut() {
                info.code = CloseCode::Tls;
            }
        }
    }

    /// Enters the terminal state (`cause`: the failure, if one ended the
    /// connection) and queues the last event; a TLS session ends with
    /// close_notify after the last WebSocket bytes.
    fn finish(&mut self, info: CloseInfo, cause: Option<Box<Error>>) {
        logging::debug!(
            "closed: code {}, reason {:?}, clean {}",
            info.code,
            info.reason,
            info.was_clean
        );
        let before = std::mem::replace(&mut self.phase, Phase::Closed { cause });
        if let Phase::ClientHandshake {
            early,
            close_queued,
            ..
        } = before
        {
            // Kept for a backend that follows a redirect with a new
            // connection (`take_queued_before_open`).
            if !early.is_empty() {
                self.unsent_before_open = Some((early, close_queued));
            }
        }
        self.timers.clear_all();
        self.input = BytesMut::new();
        self.spare = BytesMut::new();
        self.spare_block = 0;
        self.tls_room = Vec::new();
        self.lent = 0;
        self.text_in_place.reset();
        self.events.push_back(Event::Close(info));
        self.transport.close(&mut self.outbox);
    }
}
