//! The state machine tying the layers together, for both roles:
//! `Handshaking → Open → Closing → Closed`. Every transition lives in this file.
//!
//! Inputs (`handle_input`, `handle_eof`, `handle_timeout`) and commands (`send_*`,
//! `ping`, `close`) only change state and queue output; the caller then drains
//! `poll_event`, `poll_transmit`/`advance_transmit` and reads `poll_timeout`.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use crate::close::{self, CloseCode, MAX_REASON_LEN};
use crate::config::{ClientConfig, Common, Limits, ServerConfig, Timeouts};
use crate::deflate::{DeflateCodec, DeflateConfig};
use crate::error::{CapacityError, Error, HandshakeError, TimeoutKind};
use crate::event::{CloseInfo, Event, EventRef, Message, Text};
use crate::frame::{self, DecoderRules, FrameChunk, FrameDecoder, FrameHeader, OpCode};
use crate::handshake::{self, ClientHandshake, HeadScan, ServerHandshake, Upgraded};
use crate::logging;
use crate::message::Assembler;
use crate::rng::RandomSource;
use crate::stats::{Stats, StatsRecorder};
use crate::timer::{Timer, Timers};
use crate::tls::{TlsError, TlsSession};
use crate::url::WsUrl;

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
    /// We sent a close frame and wait for the peer's.
    Closing,
    /// The connection is over; the last event has been queued.
    Closed,
}

enum Phase {
    ClientHandshake(ClientHandshake),
    ServerHandshake(ServerHandshake),
    Open,
    Closing,
    Closed,
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

/// Bytes of mask keys drawn from the random source at once (64 keys: four
/// ChaCha blocks, what `rand_chacha` computes per refill).
const MASK_KEY_BATCH: usize = 256;

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
    /// Bytes at the front of `input` lent out by `poll_event_ref` (messages
    /// borrowed from the buffer): consumed by the next call that reads input
    /// other than `poll_event_ref` itself, which reads on past them.
    lent: usize,
    /// The TLS session of a `wss://` connection; `None` for plain `ws://`.
    tls: Option<TlsSession>,
    /// WebSocket bytes waiting to be encrypted (TLS only).
    tls_plain: Vec<u8>,
    /// Plaintext just decrypted, reused between reads (TLS only).
    tls_scratch: Vec<u8>,
    tls_failed: bool,
    decoder: FrameDecoder,
    assembler: Assembler,
    out: Vec<u8>,
    out_start: usize,
    /// Frames the client queued before the handshake completed (RFC 6455 §4.1
    /// forbids sending them earlier).
    early: Vec<u8>,
    pending_pong: Option<Bytes>,
    /// The transport ended with frames still in `input`: no more input is read,
    /// no timer runs (the buffered bytes alone decide the outcome), and the end
    /// is reported when `poll_event` has decoded them.
    input_end: Option<InputEnd>,
    events: VecDeque<Event>,
    rng: Box<dyn RandomSource>,
    /// Mask keys drawn from `rng` 64 at a time (the same byte stream as one
    /// draw per frame, with a 64th of the calls); `mask_key_pos` is the next.
    mask_keys: [u8; MASK_KEY_BATCH],
    mask_key_pos: usize,
    limits: Limits,
    timeouts: Timeouts,
    fragment_size: Option<usize>,
    timers: Timers,
    /// `close` was called while the client handshake was in progress with
    /// messages queued: they and the close frame wait in `early`.
    close_after_open: bool,
    /// permessage-deflate as configured (offered by a client, accepted by a server).
    deflate_config: Option<DeflateConfig>,
    /// Compressed output of the message being sent, reused between sends.
    compress_scratch: Vec<u8>,
    /// Counters behind `stats()`.
    stats: StatsRecorder,
    /// The `now` of the latest input: when a pong decoded from it arrived.
    input_at: Instant,
    /// When the connection was created: the log's timings count from here.
    #[cfg(feature = "log")]
    created_at: Instant,
}

impl Connection {
    /// A client connection; its handshake request is ready in `poll_transmit`.
    pub fn client(mut config: ClientConfig, now: Instant) -> Result<Connection, Error> {
        let mut rng = config.common.take_rng()?;
        let mut raw_key = [0u8; 16];
        rng.fill(&mut raw_key);
        let key = handshake::new_key(raw_key);
        let (handshake, request) = ClientHandshake::new(
            &config.url,
            &key,
            &config.protocols,
            config.origin.as_deref(),
            &config.headers,
            config.deflate,
            config.common.limits.max_handshake_size,
        )?;
        let tls = if config.url.is_secure() {
            let (tls_config, clock) = config.tls.build(now)?;
            Some(TlsSession::client(tls_config, &config.url)?.with_clock(clock))
        } else {
            None
        };
        let mut conn = Connection::new(
            Role::Client,
            Phase::ClientHandshake(handshake),
            config.common,
            rng,
            now,
        );
        conn.url = Some(config.url);
        conn.deflate_config = config.deflate;
        conn.tls = tls;
        conn.ws_out().extend_from_slice(&request);
        conn.flush_tls();
        Ok(conn)
    }

    /// A server connection waiting for the client's handshake request.
    pub fn server(mut config: ServerConfig, now: Instant) -> Result<Connection, Error> {
        let rng = config.common.take_rng()?;
        if let Some(deflate) = &config.deflate {
            deflate.validate()?;
        }
        let deflate = config.deflate;
        let handshake = ServerHandshake {
            protocols: config.protocols,
            deflate,
            max_size: config.common.limits.max_handshake_size,
            scan: HeadScan::default(),
        };
        let tls = match config.tls {
            Some(tls) => {
                let (tls, clock) = crate::tls::server_config_at(tls, config.wall_clock, now);
                Some(TlsSession::server(tls)?.with_clock(clock))
            }
            None => None,
        };
        let mut conn = Connection::new(
            Role::Server,
            Phase::ServerHandshake(handshake),
            config.common,
            rng,
            now,
        );
        conn.tls = tls;
        conn.deflate_config = deflate;
        Ok(conn)
    }

    fn new(
        role: Role,
        phase: Phase,
        common: Common,
        rng: Box<dyn RandomSource>,
        now: Instant,
    ) -> Connection {
        let rules = DecoderRules {
            expect_masked: role == Role::Server,
            allowed_rsv: 0,
            max_frame_size: common.limits.max_frame_size,
        };
        let mut timers = Timers::default();
        timers.set_after(Timer::Handshake, now, common.timeouts.handshake);
        Connection {
            role,
            phase,
            url: None,
            input: BytesMut::new(),
            lent: 0,
            tls: None,
            tls_plain: Vec::new(),
            tls_scratch: Vec::new(),
            tls_failed: false,
            decoder: FrameDecoder::new(rules),
            assembler: Assembler::new(common.limits.max_message_size),
            out: Vec::new(),
            out_start: 0,
            early: Vec::new(),
            pending_pong: None,
            input_end: None,
            events: VecDeque::new(),
            rng,
            mask_keys: [0; MASK_KEY_BATCH],
            mask_key_pos: MASK_KEY_BATCH,
            limits: common.limits,
            timeouts: common.timeouts,
            fragment_size: common.fragment_size,
            timers,
            close_after_open: false,
            deflate_config: None,
            compress_scratch: Vec::new(),
            stats: StatsRecorder::default(),
            input_at: now,
            #[cfg(feature = "log")]
            created_at: now,
        }
    }

    // ----- getters -----

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The URL a client connects to (`None` for a server).
    pub fn url(&self) -> Option<&WsUrl> {
        self.url.as_ref()
    }

    /// The browser's `readyState`.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::ClientHandshake(_) if self.close_after_open => State::Closing,
            Phase::ClientHandshake(_) | Phase::ServerHandshake(_) => State::Connecting,
            Phase::Open => State::Open,
            Phase::Closing => State::Closing,
            Phase::Closed => State::Closed,
        }
    }

    /// True once the last event has been queued: flush `poll_transmit`, then shut
    /// the transport down.
    ///
    /// After [`handle_eof`](Self::handle_eof) or a TLS close_notify, frames still
    /// buffered are decoded as [`poll_event`](Self::poll_event) asks for them, so
    /// the connection is closed once its events have been polled: poll until
    /// `poll_event` returns `None`, and it is then closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Bytes queued for the peer and not yet written (the browser's
    /// `bufferedAmount`), including messages held until the handshake completes.
    pub fn buffered_amount(&self) -> usize {
        self.out.len() - self.out_start + self.early.len() + self.tls_plain.len()
    }

    /// True for a `wss://` connection (or a server role configured with TLS).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// True while a `wss://` connection is still in its TLS handshake (lets a
    /// backend say which step of the opening failed).
    pub fn is_tls_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(TlsSession::is_handshaking)
    }

    /// Messages and bytes both ways, the compression ratio and the latest ping's
    /// round-trip time, so far.
    pub fn stats(&self) -> Stats {
        self.stats.snapshot()
    }

    /// True once the peer ended its TLS session with close_notify.
    pub fn tls_close_notify_received(&self) -> bool {
        self.tls.as_ref().is_some_and(TlsSession::peer_closed)
    }

    // ----- outputs -----

    /// The next event, if any.
    ///
    /// Frames are decoded here, one event at a time, so that what the caller does
    /// in answer to an event (an echo, a close) happens before later frames are
    /// judged: a message followed by a malformed frame in the same read is still
    /// delivered, and can still be answered, before the connection fails.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.settle_lent();
        // Fast path: a whole single-frame message, handed out without the decoder
        // and the assembler (same checks, same result; see `whole_message_ahead`).
        if let Some((opcode, header_len, len)) = self.whole_message_ahead(0) {
            let payload = &self.input[header_len..header_len + len];
            let text = opcode == OpCode::Text;
            if !text || simdutf8::basic::from_utf8(payload).is_ok() {
                self.input.advance(header_len);
                let data = self.input.split_to(len).freeze();
                self.stats.data_frame_received(len);
                self.stats.message_received(len);
                return Some(Event::Message(if text {
                    Message::Text(Text::from_validated(data))
                } else {
                    Message::Binary(data)
                }));
            }
        }
        // A binary message in one frame whose payload is still arriving waits in
        // the input, to be handed out whole by the fast path above, rather than
        // being copied piece by piece into the assembler: the same events (a
        // binary payload has nothing to check before its end), one copy fewer.
        // Text still goes piece by piece, to fail invalid UTF-8 early (§8.1).
        // After the end of the transport nothing more arrives: the partial frame
        // goes to the decoder, which then reports the end.
        if let (Some((OpCode::Binary, _, _)), None) =
            (self.single_frame_message_ahead(0), self.input_end)
        {
            return None;
        }
        if self.events.is_empty() && (!self.input.is_empty() || self.input_end.is_some()) {
            self.process_frames();
            self.flush_tls();
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
        // Messages lent before stay in the buffer until another call: reading on
        // past them costs no buffer bookkeeping per message.
        let from = self.lent;
        let ahead = self
            .whole_message_ahead(from)
            .filter(|&(opcode, header_len, len)| {
                // Invalid UTF-8 is left to `poll_event`, which fails the connection.
                let start = from + header_len;
                opcode != OpCode::Text
                    || simdutf8::basic::from_utf8(&self.input[start..start + len]).is_ok()
            });
        let Some((opcode, header_len, len)) = ahead else {
            self.settle_lent();
            return self.poll_event().map(EventRef::Other);
        };
        let start = from + header_len;
        self.lent = start + len;
        self.stats.data_frame_received(len);
        self.stats.message_received(len);
        let payload = &self.input[start..start + len];
        Some(match opcode {
            // Checked above; without `unsafe` a `&str` costs a second pass (the
            // borrow checker refuses a fallback after a conditional borrow).
            OpCode::Text => EventRef::Text(simdutf8::basic::from_utf8(payload).unwrap_or_default()),
            _ => EventRef::Binary(payload),
        })
    }

    /// Bytes to write to the transport, if any. Report what was written with
    /// [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        let pending = &self.out[self.out_start..];
        (!pending.is_empty()).then_some(pending)
    }

    /// Marks `n` bytes of [`poll_transmit`](Self::poll_transmit) as written.
    pub fn advance_transmit(&mut self, n: usize) {
        let before = self.out_start;
        self.out_start = self.out_start.saturating_add(n).min(self.out.len());
        self.stats.wire_sent(self.out_start - before);
        if self.out_start == self.out.len() {
            // Memory is given back once a drain used less than half the buffer:
            // a steady stream of large messages keeps its buffer (no allocation
            // per message), a single large one does not pin it.
            let used = self.out.len().max(IDLE_BUFFER_CAPACITY);
            self.out.clear();
            self.out_start = 0;
            if self.out.capacity() / 2 > used {
                self.out.shrink_to(used);
            }
            // Nothing may follow our close frame (RFC 6455 §5.5.1).
            let pending_pong = self.pending_pong.take();
            if let (Some(payload), Phase::Open) = (pending_pong, &self.phase) {
                self.write_frame(true, OpCode::Pong, &payload);
                self.flush_tls();
            }
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    /// None once the transport has ended: what is buffered decides the outcome.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.input_end.is_some() {
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
        if data.is_empty() || self.tls_failed || self.is_closed() || self.input_end.is_some() {
            return;
        }
        self.stats.wire_received(data.len());
        self.input_at = now;
        let Some(tls) = self.tls.as_mut() else {
            self.handle_plaintext(now, data);
            return;
        };
        let mut plaintext = std::mem::take(&mut self.tls_scratch);
        plaintext.clear();
        let was_handshaking = tls.is_handshaking();
        tls.advance_clock(now);
        let result = tls.read(data, &mut plaintext);
        let handshaking = tls.is_handshaking();
        if was_handshaking && !handshaking && result.is_ok() {
            logging::debug!(
                "TLS established ({:?}) after {:?}: {}",
                self.role,
                now.saturating_duration_since(self.created_at),
                tls.describe()
            );
        }
        if !plaintext.is_empty() {
            self.handle_plaintext(now, &plaintext);
        }
        self.tls_scratch = plaintext;
        match result {
            Err(_) if self.is_closed() => self.tls_failed = true,
            Err(error) => {
                self.tls_failed = true;
                self.fail_tls(error, handshaking);
            }
            Ok(read) if read.peer_closed && !self.is_closed() => {
                self.end_transport(InputEnd::CloseNotify)
            }
            Ok(_) => {}
        }
        self.flush_tls();
    }

    fn handle_plaintext(&mut self, now: Instant, data: &[u8]) {
        if self.is_closed() {
            return;
        }
        self.input.extend_from_slice(data);
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
        self.flush_tls();
    }

    /// The transport ended (`end`): reported now if nothing is left to decode,
    /// else once `poll_event` has decoded the buffered frames. Only the first end
    /// counts.
    fn end_transport(&mut self, end: InputEnd) {
        self.settle_lent();
        if self.is_closed() || self.input_end.is_some() {
            return;
        }
        if matches!(self.phase, Phase::Open | Phase::Closing) && !self.input.is_empty() {
            self.input_end = Some(end);
            self.timers.clear_all();
            return;
        }
        self.report_end(end);
    }

    /// Fails the connection for the end of its transport, everything before it
    /// having been decoded.
    fn report_end(&mut self, end: InputEnd) {
        self.input_end = None;
        let handshaking_tls = self.tls.as_ref().is_some_and(TlsSession::is_handshaking);
        let error = match (end, &self.phase) {
            (_, Phase::Closed) => return,
            (InputEnd::CloseNotify, _) => Error::ConnectionLost(
                "the peer ended the TLS session (close_notify) without a close frame".into(),
            ),
            _ if handshaking_tls => Error::Handshake(HandshakeError::Incomplete),
            (_, Phase::ClientHandshake(_) | Phase::ServerHandshake(_)) => {
                Error::Handshake(HandshakeError::Incomplete)
            }
            (_, Phase::Open | Phase::Closing) => Error::ConnectionLost(
                if self.assembler.is_mid_message() || !self.input.is_empty() {
                    "the peer closed the connection in the middle of a message"
                } else {
                    "the peer closed the connection without a close frame"
                }
                .into(),
            ),
        };
        self.fail(error, false);
    }

    /// Runs the timers due at `now`. Harmless when early or repeated.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.input_end.is_some() {
            return;
        }
        while let Some(timer) = self.timers.expired(now) {
            match timer {
                Timer::Handshake => self.fail(Error::Timeout(TimeoutKind::Handshake), false),
                Timer::Close => self.fail(Error::Timeout(TimeoutKind::CloseHandshake), false),
                // 1011 on the wire, in case a peer that stopped answering
                // still reads.
                Timer::KeepaliveDeadline => self.fail(Error::Timeout(TimeoutKind::Keepalive), true),
                Timer::KeepalivePing => {
                    // A peer that does not read gets no more pings; the deadline
                    // still runs, so a dead peer is detected all the same.
                    if matches!(self.phase, Phase::Open) {
                        if self.buffered_amount() < self.limits.max_buffered_output {
                            self.write_frame(true, OpCode::Ping, KEEPALIVE_PAYLOAD);
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
        self.flush_tls();
    }

    // ----- commands -----

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_data(OpCode::Text, text.as_bytes())
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_data(OpCode::Binary, data)
    }

    /// Sends a message.
    pub fn send(&mut self, message: &Message) -> Result<(), Error> {
        match message {
            Message::Text(t) => self.send_data(OpCode::Text, t.as_bytes()),
            Message::Binary(b) => self.send_data(OpCode::Binary, b),
        }
    }

    /// Sends a ping (at most 125 bytes of payload). Its pong is not timed: use
    /// [`ping_at`](Self::ping_at) for that.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends a ping at `now`; the pong with the same payload sets
    /// [`Stats::latest_rtt`] (see [`stats`](Self::stats)). A ping queued before
    /// the opening completes is timed from `now` all the same, so its round trip
    /// includes the rest of the opening.
    pub fn ping_at(&mut self, now: Instant, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Ping, payload)?;
        self.stats.ping_sent(payload, now);
        Ok(())
    }

    /// Sends an unsolicited pong (at most 125 bytes of payload).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the close handshake. Messages keep arriving until the peer's close
    /// frame; then [`Event::Close`] reports it. [`CloseCode::NoStatus`] sends a close
    /// frame without a code. Closing before the handshake completes abandons it.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), Error> {
        if code != CloseCode::NoStatus && !code.is_allowed_on_wire() {
            return Err(Error::InvalidInput(format!(
                "close code {code} may not be sent"
            )));
        }
        if code == CloseCode::NoStatus && !reason.is_empty() {
            return Err(Error::InvalidInput(
                "a close reason needs a close code".into(),
            ));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(Error::InvalidInput(format!(
                "close reason of {} bytes exceeds {MAX_REASON_LEN}",
                reason.len()
            )));
        }
        match self.phase {
            Phase::ClientHandshake(_) if self.close_after_open => {
                Err(Error::InvalidState("the connection is already closing"))
            }
            Phase::ClientHandshake(_) if !self.early.is_empty() => {
                // Messages are queued: they go out once open, followed by this close.
                let payload = close::encode_close_payload(code, reason);
                self.write_frame(true, OpCode::Close, &payload);
                self.close_after_open = true;
                Ok(())
            }
            Phase::ClientHandshake(_) | Phase::ServerHandshake(_) => {
                self.finish(CloseInfo {
                    code: CloseCode::Abnormal,
                    reason: "closed before the connection opened".into(),
                    was_clean: false,
                });
                Ok(())
            }
            Phase::Open => {
                let payload = close::encode_close_payload(code, reason);
                self.write_frame(true, OpCode::Close, &payload);
                logging::debug!("close frame sent: code {code}, reason {reason:?}");
                self.phase = Phase::Closing;
                self.timers.clear(Timer::KeepalivePing);
                self.timers.clear(Timer::KeepaliveDeadline);
                self.timers
                    .set_after(Timer::Close, now, self.timeouts.close);
                self.flush_tls();
                Ok(())
            }
            Phase::Closing => Err(Error::InvalidState("the connection is already closing")),
            Phase::Closed => Err(Error::InvalidState("the connection is closed")),
        }
    }

    // ----- internals -----

    fn writable_phase(&self) -> Result<(), Error> {
        match self.phase {
            Phase::Open => Ok(()),
            Phase::ClientHandshake(_) if self.close_after_open => {
                Err(Error::InvalidState("the connection is closing"))
            }
            Phase::ClientHandshake(_) => Ok(()),
            Phase::ServerHandshake(_) => {
                Err(Error::InvalidState("the handshake has not completed"))
            }
            Phase::Closing => Err(Error::InvalidState("the connection is closing")),
            Phase::Closed => Err(Error::InvalidState("the connection is closed")),
        }
    }

    fn reserve_output(&self, needed: usize) -> Result<(), Error> {
        let buffered = self.buffered_amount();
        if buffered.saturating_add(needed) > self.limits.max_buffered_output {
            return Err(CapacityError::OutputBufferFull {
                buffered,
                needed,
                limit: self.limits.max_buffered_output,
            }
            .into());
        }
        Ok(())
    }

    fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Open) {
            self.writable_phase()?;
        }
        let fragment = self.fragment_size.unwrap_or(usize::MAX).max(1);
        let frames = match self.fragment_size {
            None => 1, // (no division on the common path)
            Some(_) => payload.len().div_ceil(fragment).max(1),
        };
        // Deflate can grow incompressible data slightly; reserve for the worst case
        // before compressing, since a compressed message cannot be taken back.
        let deflate_slack = payload.len() / 1000 + 64;
        self.reserve_output(payload.len() + deflate_slack + frames * frame::MAX_HEADER_LEN)?;
        if frames == 1 && self.assembler.deflate_mut().is_none() {
            // One frame, no compression: what the general path below ends up doing.
            self.write_frame_with_rsv(true, 0, opcode, payload);
            self.stats.message_sent(payload.len(), payload.len());
            self.flush_tls();
            return Ok(());
        }
        let mut compressed = std::mem::take(&mut self.compress_scratch);
        compressed.clear();
        let was_compressed = self
            .assembler
            .deflate_mut()
            .is_some_and(|codec| codec.compress(payload, &mut compressed));
        let original_len = payload.len();
        let (payload, mut rsv) = if was_compressed {
            (&compressed[..], frame::RSV1)
        } else {
            (payload, 0)
        };
        let mut pieces = payload.chunks(fragment).peekable();
        let mut op = opcode;
        if payload.is_empty() {
            self.write_frame_with_rsv(true, rsv, op, payload);
        }
        while let Some(piece) = pieces.next() {
            // RFC 7692 §6.1: RSV1 on the first frame of the message only.
            self.write_frame_with_rsv(pieces.peek().is_none(), rsv, op, piece);
            op = OpCode::Continuation;
            rsv = 0;
        }
        self.stats.message_sent(original_len, payload.len());
        self.compress_scratch = compressed;
        if self.compress_scratch.capacity() > IDLE_BUFFER_CAPACITY {
            self.compress_scratch = Vec::new();
        }
        self.flush_tls();
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        if payload.len() > frame::MAX_CONTROL_PAYLOAD {
            return Err(Error::InvalidInput(format!(
                "control frame payload of {} bytes exceeds 125",
                payload.len()
            )));
        }
        self.writable_phase()?;
        self.reserve_output(payload.len() + frame::MAX_HEADER_LEN)?;
        self.write_frame(true, opcode, payload);
        self.flush_tls();
        Ok(())
    }

    fn write_frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8]) {
        self.write_frame_with_rsv(fin, 0, opcode, payload);
    }

    #[inline]
    fn write_frame_with_rsv(&mut self, fin: bool, rsv: u8, opcode: OpCode, payload: &[u8]) {
        let mask = match self.role {
            Role::Client => Some(self.next_mask_key()),
            Role::Server => None,
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let target = if matches!(self.phase, Phase::ClientHandshake(_)) {
            &mut self.early
        } else {
            self.ws_out()
        };
        frame::encode_frame(target, &header, payload);
    }

    /// A fresh masking key (RFC 6455 §5.3: unpredictable, from the random source).
    fn next_mask_key(&mut self) -> [u8; 4] {
        if self.mask_key_pos == MASK_KEY_BATCH {
            self.rng.fill(&mut self.mask_keys);
            self.mask_key_pos = 0;
        }
        let at = self.mask_key_pos;
        self.mask_key_pos += 4;
        let k = &self.mask_keys[at..at + 4];
        [k[0], k[1], k[2], k[3]]
    }

    /// Where WebSocket bytes go: straight to the wire, or to TLS for encryption.
    fn ws_out(&mut self) -> &mut Vec<u8> {
        if self.tls.is_some() {
            return &mut self.tls_plain;
        }
        self.compact_out();
        &mut self.out
    }

    /// Drops the already-written head of the output once it is half the buffer.
    fn compact_out(&mut self) {
        if self.out_start > 0 && self.out_start >= self.out.len() / 2 {
            self.out.drain(..self.out_start);
            self.out_start = 0;
        }
    }

    /// Encrypts pending WebSocket bytes into TLS records on the wire.
    fn flush_tls(&mut self) {
        if self.tls.is_none() {
            return;
        }
        self.compact_out();
        let Some(tls) = self.tls.as_mut() else {
            return;
        };
        let handshaking = tls.is_handshaking();
        if let Err(error) = tls.write(&mut self.tls_plain, &mut self.out) {
            // rustls stopped on a fatal error: nothing more can be sent.
            self.tls_failed = true;
            if !self.is_closed() {
                self.fail_tls(error, handshaking);
            }
        }
    }

    fn on_peer_activity(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Open) {
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
                Phase::ClientHandshake(hs) => match hs.parse_response(&self.input) {
                    Ok(None) => return,
                    Ok(Some(upgraded)) => self.open(upgraded, now),
                    Err(e) => return self.fail(e.into(), false),
                },
                Phase::ServerHandshake(hs) => match hs.parse_request(&self.input) {
                    Ok(None) => return,
                    Ok(Some(accepted)) => {
                        self.ws_out().extend_from_slice(&accepted.response);
                        self.open(accepted.upgraded, now);
                    }
                    Err(rejection) => {
                        self.ws_out().extend_from_slice(&rejection.response);
                        return self.fail(rejection.error.into(), false);
                    }
                },
                // Frames wait in `input` until `poll_event` asks for them.
                Phase::Open | Phase::Closing | Phase::Closed => return,
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
        if let (Some(agreed), Some(config)) = (deflate, &self.deflate_config) {
            self.decoder.set_allowed_rsv(frame::RSV1);
            let codec = DeflateCodec::new(&agreed, config, self.role == Role::Client);
            self.assembler.set_deflate(codec);
            self.stats.set_deflate();
        }
        self.phase = Phase::Open;
        self.timers.clear(Timer::Handshake);
        if self.close_after_open {
            self.phase = Phase::Closing;
            self.timers
                .set_after(Timer::Close, now, self.timeouts.close);
        } else {
            self.schedule_keepalive(now);
        }
        let early = std::mem::take(&mut self.early);
        self.ws_out().extend_from_slice(&early);
        logging::debug!(
            "WebSocket open ({:?}) after {:?}: 101 Switching Protocols, subprotocol {:?}, extensions {:?}",
            self.role,
            now.saturating_duration_since(self.created_at),
            info.protocol,
            info.extensions
        );
        self.events.push_back(Event::Open(info));
    }

    /// Decodes buffered frames until one event is queued; after the end of the
    /// transport, reports that end once nothing is left to decode.
    fn process_frames(&mut self) {
        self.settle_lent();
        if !matches!(self.phase, Phase::Open | Phase::Closing) {
            return;
        }
        while !self.is_closed() && self.events.is_empty() {
            let chunk = match self.decoder.decode(&mut self.input) {
                Ok(Some(chunk)) => chunk,
                Ok(None) if self.input_end.is_some() => {
                    let end = self.input_end.unwrap_or(InputEnd::Eof);
                    return self.report_end(end);
                }
                Ok(None) => {
                    // A large frame grew the buffer; give the memory back once idle.
                    if self.input.is_empty() && self.input.capacity() > IDLE_BUFFER_CAPACITY {
                        self.input = BytesMut::new();
                    }
                    return;
                }
                Err(e) => return self.fail(e, true),
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
                    Err(e) => return self.fail(e, true),
                }
            }
        }
    }

    /// Drops the bytes of the message `poll_event_ref` lent out last.
    fn settle_lent(&mut self) {
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
        let (opcode, header_len, len) = self.single_frame_message_ahead(from)?;
        (self.input.len() - from - header_len >= len).then_some((opcode, header_len, len))
    }

    /// Like `whole_message_ahead`, its payload complete or not.
    #[inline]
    fn single_frame_message_ahead(&self, from: usize) -> Option<(OpCode, usize, usize)> {
        if !self.events.is_empty()
            || !matches!(self.phase, Phase::Open | Phase::Closing)
            || self.decoder.is_mid_frame()
            || self.assembler.is_mid_message()
        {
            return None;
        }
        let input = &self.input[from..];
        let (header, header_len) = frame::decode_header(input, self.decoder.rules()).ok()??;
        let len = usize::try_from(header.payload_len).ok()?;
        let whole = header.fin
            && header.rsv == 0
            && header.mask.is_none()
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && len <= self.limits.max_message_size;
        whole.then_some((header.opcode, header_len, len))
    }

    fn on_control(&mut self, chunk: FrameChunk) {
        match chunk.header.opcode {
            OpCode::Ping => {
                if matches!(self.phase, Phase::Open) {
                    if self.buffered_amount() >= self.limits.max_buffered_output {
                        // The peer is not reading: answer only its latest ping (§5.5.3).
                        self.pending_pong = Some(chunk.data.clone());
                    } else {
                        self.write_frame(true, OpCode::Pong, &chunk.data);
                    }
                }
                self.events.push_back(Event::Ping(chunk.data));
            }
            OpCode::Pong => {
                self.stats.pong_received(&chunk.data, self.input_at);
                self.events.push_back(Event::Pong(chunk.data))
            }
            OpCode::Close => match close::parse_close_payload(&chunk.data) {
                Err(e) => self.fail(e.into(), true),
                Ok((code, reason)) => {
                    logging::debug!("close frame received: code {code}, reason {reason:?}");
                    if matches!(self.phase, Phase::Open) {
                        // §5.5.1: echo the status code received.
                        let payload = close::encode_close_payload(code, "");
                        self.write_frame(true, OpCode::Close, &payload);
                    }
                    self.finish(CloseInfo {
                        code,
                        reason,
                        was_clean: true,
                    });
                }
            },
            OpCode::Continuation | OpCode::Text | OpCode::Binary => {}
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): tells the peer why when the
    /// protocol allows (`send_close`), then reports the error and the close.
    fn fail(&mut self, error: Error, send_close: bool) {
        let code = error.close_code();
        let reason = close::truncate_reason(&error.to_string()).to_string();
        let sent = send_close && matches!(self.phase, Phase::Open) && code.is_allowed_on_wire();
        if sent {
            let payload = close::encode_close_payload(code, &reason);
            self.write_frame(true, OpCode::Close, &payload);
        }
        logging::warning!("connection failed (close code {code}): {error}");
        self.events.push_back(Event::Error(error));
        self.finish(CloseInfo {
            code: if sent { code } else { CloseCode::Abnormal },
            reason,
            was_clean: false,
        });
    }

    /// Fails the connection for a TLS error; a failed TLS handshake is reported
    /// with close code 1015.
    fn fail_tls(&mut self, error: TlsError, during_handshake: bool) {
        self.fail(Error::Tls(error), false);
        if during_handshake {
            if let Some(Event::Close(info)) = self.events.back_mut() {
                info.code = CloseCode::Tls;
            }
        }
    }

    /// Enters the terminal state and queues the last event; a TLS session ends
    /// with close_notify after the last WebSocket bytes.
    fn finish(&mut self, info: CloseInfo) {
        logging::debug!(
            "closed: code {}, reason {:?}, clean {}",
            info.code,
            info.reason,
            info.was_clean
        );
        self.phase = Phase::Closed;
        self.input_end = None;
        self.timers.clear_all();
        self.input = BytesMut::new();
        self.lent = 0;
        self.early = Vec::new();
        self.events.push_back(Event::Close(info));
        if !self.tls_failed {
            if let Some(tls) = self.tls.as_mut() {
                // A session rustls has stopped refuses the last bytes; the cause
                // being reported already is the one that stands, and no
                // close_notify follows on a broken session.
                if !tls.is_handshaking() && tls.write(&mut self.tls_plain, &mut self.out).is_ok() {
                    tls.send_close_notify(&mut self.out);
                }
            }
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("buffered_amount", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}
