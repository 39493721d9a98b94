//! Helpers shared by the fuzz targets: the operation list that drives whole
//! sessions, and the count of the heap a connection holds. The invariant checks
//! on a connection's events and wire output are `sockette-testkit`'s
//! ([`EventCheck`], [`WireCheck`]), shared with the core's property tests; here
//! they run with the connection's calls inside [`in_conn`]. Everything goes
//! through `sockette-core`'s public API only. Each target's check is in
//! [`targets`].

pub mod targets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::time::Instant;

use arbitrary::Arbitrary;
use flate2::{Compress, Compression, FlushCompress};
use sockette_core::frame::{self, FrameHeader, OpCode};
use sockette_core::{CloseCode, Connection, DeflateConfig, Limits};
use sockette_testkit::response_101;
pub use sockette_testkit::{Clock, EventCheck, WireCheck};

/// What a connection may queue beyond `max_buffered_output` without a send being
/// refused: one pong answered while under the limit, one close frame and one
/// keepalive ping, each at most a full header plus 125 bytes. (Keepalive pings are
/// skipped while the buffer is at its limit, so at most one can be over it.)
pub const BUFFER_SLACK: usize = 3 * (frame::MAX_HEADER_LEN + frame::MAX_CONTROL_PAYLOAD);

/// The tail a sync flush leaves (RFC 7692 §7.2.1), removed before sending.
const SYNC_FLUSH_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The largest message the fuzzed peer compresses (a little over the largest
/// `max_message_size` a session can set, so that inflation can exceed it).
const MAX_DEFLATED_MESSAGE: usize = 80_000;

// ----- the heap a connection holds -----
//
// Every allocation made while the harness is inside a call on the connection
// (`in_conn`) is tagged as the connection's, and counted until it is freed,
// wherever that happens: an event handed out stays the connection's until the
// harness drops it. The tag lives in a header in front of each allocation.
//
// The flag and the counts are per thread: the regression replays run as
// parallel tests, each session on its own thread, and a global count would add
// one session's heap to another's (a session frees on the thread it allocated
// on, so a thread's count is its session's).

/// The system allocator, tagging and counting the connection's allocations.
pub struct Tagging;

thread_local! {
    // `const` and free of destructors: safe to read from inside the allocator.
    static IN_CONN: Cell<bool> = const { Cell::new(false) };
    static CONN_LIVE: Cell<usize> = const { Cell::new(0) };
    static CONN_PEAK: Cell<usize> = const { Cell::new(0) };
}

fn tagging_now() -> bool {
    IN_CONN.try_with(Cell::get).unwrap_or(false)
}

fn conn_shrank(by: usize) {
    let _ = CONN_LIVE.try_with(|live| live.set(live.get().saturating_sub(by)));
}

/// Header in front of each allocation: its tag, padded to the alignment.
fn header_len(layout: Layout) -> usize {
    layout.align().max(16)
}

fn with_header(layout: Layout) -> Option<Layout> {
    let size = layout.size().checked_add(header_len(layout))?;
    Layout::from_size_align(size, header_len(layout)).ok()
}

fn conn_grew(by: usize) {
    let _ = CONN_LIVE.try_with(|live| {
        live.set(live.get() + by);
        let _ = CONN_PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

// SAFETY: each block is the system allocator's, `header_len` bytes longer and at
// least 16-aligned; the pointer handed out is `header_len` past its start (still
// aligned as asked, since `header_len` is a multiple of the alignment), and the
// tag byte is written and read at the block's start, inside the block.
unsafe impl GlobalAlloc for Tagging {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(outer) = with_header(layout) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `outer` has a non-zero size (the header).
        let base = unsafe { System.alloc(outer) };
        if base.is_null() {
            return base;
        }
        let tagged = tagging_now();
        // SAFETY: `base` points to at least `header_len` writable bytes.
        unsafe { base.write(u8::from(tagged)) };
        if tagged {
            conn_grew(layout.size());
        }
        // SAFETY: within the block (its size is `header_len` + `layout.size()`).
        unsafe { base.add(header_len(layout)) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc`/`realloc` with this layout: its block
        // starts `header_len` bytes before it.
        let base = unsafe { ptr.sub(header_len(layout)) };
        // SAFETY: the tag byte written by `alloc`.
        if unsafe { base.read() } == 1 {
            conn_shrank(layout.size());
        }
        if let Some(outer) = with_header(layout) {
            // SAFETY: the block was allocated with `outer`.
            unsafe { System.dealloc(base, outer) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let header = header_len(layout);
        let (Some(outer), Some(new_outer)) = (with_header(layout), new_size.checked_add(header))
        else {
            return std::ptr::null_mut();
        };
        // SAFETY: as in `dealloc`.
        let base = unsafe { ptr.sub(header) };
        // SAFETY: the tag byte written by `alloc`; `realloc` keeps the block's
        // alignment and its first bytes, so the tag stays where it is.
        let tagged = unsafe { base.read() } == 1;
        // SAFETY: the block was allocated with `outer`; `new_outer` is non-zero.
        let new_base = unsafe { System.realloc(base, outer, new_outer) };
        if new_base.is_null() {
            return new_base;
        }
        if tagged {
            conn_shrank(layout.size());
            conn_grew(new_size);
        }
        // SAFETY: within the new block.
        unsafe { new_base.add(header) }
    }
}

#[global_allocator]
static GLOBAL: Tagging = Tagging;

/// Runs `f` (a call on the connection) with its allocations counted as the
/// connection's. Compute the arguments before, so that theirs are not.
pub fn in_conn<T>(f: impl FnOnce() -> T) -> T {
    let outer = IN_CONN.with(|flag| flag.replace(true));
    let value = f();
    IN_CONN.with(|flag| flag.set(outer));
    value
}

/// The most heap the connection held at once since the last `reset_conn_peak`.
pub fn conn_peak() -> usize {
    CONN_PEAK.with(Cell::get)
}

/// Starts measuring the connection's peak from the heap it holds now.
pub fn reset_conn_peak() {
    CONN_PEAK.with(|peak| peak.set(CONN_LIVE.with(Cell::get)));
}

/// The heap the connection holds now.
pub fn conn_live() -> usize {
    CONN_LIVE.with(Cell::get)
}

/// The upgrade request of RFC 6455 §1.3, offering a subprotocol.
pub const UPGRADE_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Completes a client's handshake with a valid 101 answer (its request goes through
/// `wire`); the `Open` event is left queued.
pub fn handshake_client(conn: &mut Connection, wire: &mut WireCheck, now: Instant) {
    handshake_client_with(conn, wire, now, "");
}

/// Like [`handshake_client`], with `extra_headers` (each ending in CRLF) in the
/// answer; the answer may then fail the handshake.
pub fn handshake_client_with(
    conn: &mut Connection,
    wire: &mut WireCheck,
    now: Instant,
    extra_headers: &str,
) {
    let request = conn.poll_transmit().expect("no request").to_vec();
    transmit(wire, conn, usize::MAX);
    let answer = response_101(&String::from_utf8_lossy(&request), extra_headers);
    conn.handle_input(now, answer.as_bytes());
}

/// Drains `conn`'s events through `events` ([`EventCheck::drain`]), each taken
/// inside [`in_conn`]: decoding happens as events are polled, and its heap is
/// the connection's.
pub fn drain(events: &mut EventCheck, conn: &mut Connection, limits: &Limits) {
    events.drain_with(conn, limits, |conn| in_conn(|| conn.poll_event()));
}

/// Takes up to `n` bytes of `conn`'s output through `wire`
/// ([`WireCheck::transmit`]), marking them written inside [`in_conn`].
pub fn transmit(wire: &mut WireCheck, conn: &mut Connection, n: usize) {
    let Some(out) = conn.poll_transmit() else {
        return;
    };
    let n = n.min(out.len());
    let written = out[..n].to_vec();
    in_conn(|| conn.advance_transmit(n));
    wire.written(&written);
}

/// Encodes one frame with the core's encoder; reserved opcodes map onto valid ones.
pub fn encode(f: &FrameSpec) -> Vec<u8> {
    let opcode = OpCode::from_u8(f.opcode & 0x0f).unwrap_or(OpCode::Binary);
    let header = FrameHeader {
        fin: f.fin,
        rsv: f.rsv & 0x07,
        opcode,
        mask: f.mask,
        payload_len: f.payload.len() as u64,
    };
    let mut out = Vec::new();
    frame::encode_frame(&mut out, &header, &f.payload);
    out
}

/// A frame the peer sends, encoded by [`encode`].
#[derive(Arbitrary, Debug, Clone)]
pub struct FrameSpec {
    /// FIN bit.
    pub fin: bool,
    /// RSV bits (low three).
    pub rsv: u8,
    /// Opcode (low four bits; reserved values become binary).
    pub opcode: u8,
    /// Masking key.
    pub mask: Option<[u8; 4]>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// Settings a session is fuzzed under (small limits, so they are reached).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Seed of the connection's random source.
    pub seed: u8,
    /// `Limits::max_frame_size`.
    pub max_frame: u16,
    /// `Limits::max_message_size`.
    pub max_message: u16,
    /// `Limits::max_buffered_output`.
    pub max_buffered: u16,
    /// Fragment size of outgoing messages (0: no fragmentation).
    pub fragment: u8,
    /// Keepalive interval in ms (0: off); the timeout is the same.
    pub keepalive_ms: u8,
    /// permessage-deflate offered (client) or accepted (server) with these settings.
    pub deflate: Option<DeflateSpec>,
}

/// Fuzzer-chosen [`DeflateConfig`]: window bits map onto 8..=15, except 255,
/// which stays out of range (the configuration must then be refused).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct DeflateSpec {
    /// `client_max_window_bits`.
    pub client_bits: u8,
    /// `server_max_window_bits`.
    pub server_bits: Option<u8>,
    /// `client_no_context_takeover`.
    pub client_reset: bool,
    /// `server_no_context_takeover`.
    pub server_reset: bool,
    /// zlib level (modulo 10).
    pub level: u8,
    /// `min_compress_size`.
    pub min_size: u8,
}

impl DeflateSpec {
    /// The configuration these choices make.
    pub fn config(&self) -> DeflateConfig {
        let bits = |b: u8| if b == 255 { 16 } else { 8 + b % 8 };
        DeflateConfig::default()
            .client_max_window_bits(bits(self.client_bits))
            .server_max_window_bits(self.server_bits.map(bits))
            .client_no_context_takeover(self.client_reset)
            .server_no_context_takeover(self.server_reset)
            .level((self.level % 10).into())
            .min_compress_size(self.min_size.into())
    }
}

/// A `Sec-WebSocket-Extensions` header built from fuzzer choices: the server's
/// answer in `client_session`, the client's offer in `server_session`.
#[derive(Arbitrary, Debug, Clone)]
pub struct ExtensionsHeader {
    /// Extension elements, each a name and parameters.
    pub elements: Vec<(ExtName, Vec<ExtParam>)>,
}

/// An extension's name.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ExtName {
    /// `permessage-deflate`.
    Deflate,
    /// `PerMessage-Deflate` (names are case-insensitive).
    DeflateMixedCase,
    /// An extension nobody offered.
    Other,
}

/// One parameter of an extension element.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ExtParam {
    /// `server_no_context_takeover`.
    ServerNoContextTakeover,
    /// `client_no_context_takeover`.
    ClientNoContextTakeover,
    /// `server_max_window_bits[=N]`.
    ServerMaxWindowBits(Option<u8>),
    /// `client_max_window_bits[=N]`.
    ClientMaxWindowBits(Option<u8>),
    /// `server_max_window_bits="N"`.
    QuotedServerBits(u8),
    /// Something odd, from a small table.
    Odd(u8),
}

impl ExtensionsHeader {
    /// The header line, CRLF-terminated (empty without elements).
    pub fn line(&self) -> String {
        const ODD: [&str; 8] = [
            "foo",
            "server_no_context_takeover=1",
            "client_max_window_bits=09",
            "server_max_window_bits=",
            "=",
            "client_max_window_bits=\"\"",
            "SERVER_MAX_WINDOW_BITS=10",
            " ",
        ];
        if self.elements.is_empty() {
            return String::new();
        }
        let mut value = String::new();
        for (i, (name, params)) in self.elements.iter().enumerate() {
            if i > 0 {
                value.push_str(", ");
            }
            value.push_str(match name {
                ExtName::Deflate => "permessage-deflate",
                ExtName::DeflateMixedCase => "PerMessage-Deflate",
                ExtName::Other => "x-webkit-deflate-frame",
            });
            for param in params {
                value.push_str("; ");
                let _ = match param {
                    ExtParam::ServerNoContextTakeover => {
                        write!(value, "server_no_context_takeover")
                    }
                    ExtParam::ClientNoContextTakeover => {
                        write!(value, "client_no_context_takeover")
                    }
                    ExtParam::ServerMaxWindowBits(None) => write!(value, "server_max_window_bits"),
                    ExtParam::ServerMaxWindowBits(Some(b)) => {
                        write!(value, "server_max_window_bits={b}")
                    }
                    ExtParam::ClientMaxWindowBits(None) => write!(value, "client_max_window_bits"),
                    ExtParam::ClientMaxWindowBits(Some(b)) => {
                        write!(value, "client_max_window_bits={b}")
                    }
                    ExtParam::QuotedServerBits(b) => {
                        write!(value, "server_max_window_bits=\"{b}\"")
                    }
                    ExtParam::Odd(k) => write!(value, "{}", ODD[usize::from(*k) % ODD.len()]),
                };
            }
        }
        format!("Sec-WebSocket-Extensions: {value}\r\n")
    }
}

/// A message the peer compresses with its own zlib stream (kept across messages
/// unless `reset`), sent with RSV1 on its first frame and split into fragments.
#[derive(Arbitrary, Debug, Clone)]
pub struct DeflatedSpec {
    /// Text (else binary).
    pub text: bool,
    /// FIN on the last fragment.
    pub fin: bool,
    /// Masking key of every fragment.
    pub mask: Option<[u8; 4]>,
    /// The peer's window (9 + n % 7).
    pub window_bits: u8,
    /// The peer starts a new compression context for this message.
    pub reset: bool,
    /// zlib level (modulo 10).
    pub level: u8,
    /// Fragment size (0: one frame).
    pub split: u8,
    /// The message is `data` repeated `1 + repeat²` times (up to 80 000 bytes),
    /// so that small inputs can inflate past the message size limit.
    pub repeat: u8,
    /// The message's bytes.
    pub data: Vec<u8>,
}

/// The peer's compressor, kept across messages with context takeover.
#[derive(Default)]
pub struct PeerDeflate {
    compressor: Option<(u8, u32, Compress)>,
}

impl PeerDeflate {
    /// The frames that carry the compressed message `spec` describes.
    pub fn frames(&mut self, spec: &DeflatedSpec) -> Vec<u8> {
        let times = 1 + usize::from(spec.repeat).pow(2);
        let mut message = Vec::new();
        for _ in 0..times {
            if message.len() + spec.data.len() > MAX_DEFLATED_MESSAGE {
                break;
            }
            message.extend_from_slice(&spec.data);
        }
        let (bits, level) = (9 + spec.window_bits % 7, u32::from(spec.level % 10));
        if spec.reset || !matches!(self.compressor, Some((b, l, _)) if b == bits && l == level) {
            let compress = Compress::new_with_window_bits(Compression::new(level), false, bits);
            self.compressor = Some((bits, level, compress));
        }
        let (_, _, compressor) = self.compressor.as_mut().unwrap();
        let mut payload = Vec::with_capacity(message.len() / 2 + 128);
        let before = compressor.total_in();
        loop {
            if payload.capacity() - payload.len() < 64 {
                payload.reserve(payload.capacity());
            }
            let consumed = (compressor.total_in() - before) as usize;
            compressor
                .compress_vec(&message[consumed..], &mut payload, FlushCompress::Sync)
                .expect("compress");
            let consumed = (compressor.total_in() - before) as usize;
            if consumed == message.len() && payload.len() < payload.capacity() {
                break;
            }
        }
        if payload.ends_with(&SYNC_FLUSH_TAIL) {
            payload.truncate(payload.len() - SYNC_FLUSH_TAIL.len());
        }
        let split = if spec.split == 0 {
            payload.len().max(1)
        } else {
            spec.split.into()
        };
        let pieces: Vec<&[u8]> = if payload.is_empty() {
            vec![&[]]
        } else {
            payload.chunks(split).collect()
        };
        let mut out = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let opcode = match (i, spec.text) {
                (0, true) => OpCode::Text,
                (0, false) => OpCode::Binary,
                _ => OpCode::Continuation,
            };
            let header = FrameHeader {
                fin: spec.fin && i + 1 == pieces.len(),
                rsv: if i == 0 { frame::RSV1 } else { 0 },
                opcode,
                mask: spec.mask,
                payload_len: piece.len() as u64,
            };
            frame::encode_frame(&mut out, &header, piece);
        }
        out
    }
}

impl SessionConfig {
    /// The limits this configuration sets.
    pub fn limits(&self) -> Limits {
        Limits::default()
            .max_frame_size(self.max_frame.into())
            .max_message_size(self.max_message.into())
            .max_buffered_output(self.max_buffered.into())
    }
}

/// One step of a fuzzed session.
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    /// The next `n` raw bytes of the session's wire data arrive from the peer.
    Input(u8),
    /// The same, read into the room the connection lends (`input_buffer` of
    /// at least `min` bytes, then `handle_read`).
    Read {
        /// Bytes read, at most.
        n: u8,
        /// The room asked for.
        min: u16,
    },
    /// The harness takes new room for reads made elsewhere (`take_input_buffer`
    /// of at least `min` bytes), dropping the room it held.
    TakeRoom(u16),
    /// The next `n` raw bytes of the wire data are read into the room taken
    /// (at most what is left of it) and handed over (`handle_input_bytes`).
    ReadIntoRoom(u8),
    /// A valid upgrade request arrives from the peer ([`UPGRADE_REQUEST`]), with
    /// the session's `Sec-WebSocket-Extensions` line if any.
    Upgrade,
    /// A frame built by the core's encoder arrives from the peer.
    Frame(FrameSpec),
    /// A message compressed by the peer arrives (RSV1, valid raw deflate).
    Deflated(DeflatedSpec),
    /// The user sends text (the bytes, lossily made UTF-8).
    SendText(Vec<u8>),
    /// The user sends binary data.
    SendBinary(Vec<u8>),
    /// The user pings.
    Ping(Vec<u8>),
    /// The user sends an unsolicited pong.
    Pong(Vec<u8>),
    /// The user closes with a code and a reason.
    Close(u16, Vec<u8>),
    /// Time passes (ms), then `handle_timeout`.
    Tick(u16),
    /// Time jumps to the next deadline, then `handle_timeout`.
    TickToDeadline,
    /// Up to `n` bytes of output are written.
    Transmit(u16),
    /// All output is written.
    TransmitAll,
    /// The transport ends.
    Eof,
}

/// A session: settings, the steps, then the raw bytes `Op::Input` draws from.
#[derive(Arbitrary, Debug)]
pub struct Session<'a> {
    /// Settings.
    pub config: SessionConfig,
    /// The server's `Sec-WebSocket-Extensions` answer (client) or the one in the
    /// client's upgrade request (server).
    pub extensions: Option<ExtensionsHeader>,
    /// Steps.
    pub ops: Vec<Op>,
    /// Raw peer bytes.
    pub wire: &'a [u8],
}

/// The heap a connection may hold at once (README's memory promise): one message
/// of `max_message_size`, its input buffer (at most twice the bytes fed; one more
/// such buffer may stay pinned by a ping payload waiting to be answered), its
/// output (`max_buffered_output` and what may go over it, held twice while a
/// message is compressed into it), and a fixed amount: bookkeeping, plus the
/// zlib state when permessage-deflate may be agreed. Room lent for reads
/// (`input_buffer`, `take_input_buffer`) comes on top: new room holds four
/// reads of the size asked for, and `run_session` adds twice that for the
/// largest size asked (the room made, and the one it replaces).
pub fn held_bound(limits: &Limits, fed: usize, handshake_output: usize, deflate: bool) -> usize {
    const FIXED: usize = 16 << 10;
    const ZLIB_STATE: usize = 512 << 10;
    limits.max_message_size
        + 4 * fed
        + 2 * (limits.max_buffered_output + BUFFER_SLACK + handshake_output)
        + FIXED
        + if deflate { ZLIB_STATE } else { 0 }
}

/// Runs `ops` against `conn`, checking every invariant after each step; ends with
/// EOF so that the terminal event is always reached. The heap the connection
/// holds at once stays within [`held_bound`].
pub fn run_session(
    conn: &mut Connection,
    clock: &mut Clock,
    session: &Session<'_>,
    events: &mut EventCheck,
    wire: &mut WireCheck,
) {
    let limits = session.config.limits();
    let mut input = session.wire;
    let mut peer_deflate = PeerDeflate::default();
    let upgrade = match &session.extensions {
        Some(ext) => {
            let head = &UPGRADE_REQUEST[..UPGRADE_REQUEST.len() - 2];
            [head, ext.line().as_bytes(), b"\r\n"].concat()
        }
        None => UPGRADE_REQUEST.to_vec(),
    };
    wire.note_open(events);
    let last = [Op::Eof, Op::TransmitAll];
    // The server's HTTP answer is queued whatever the limit (a rejection's body
    // echoes the request): output queued while the handshake runs is allowed.
    let mut handshake_output = 0;
    // Sessions with an odd seed play a caller whose reader runs ahead of its
    // polling: input is fed without draining the events, which the next other
    // step (EOF at the latest) drains.
    let read_ahead = session.config.seed % 2 == 1;
    // Bytes fed in this session: a bound on the input the connection buffers.
    let mut fed = 0;
    // The largest room asked for by `Read` and `TakeRoom`, and the room held.
    let mut lent = 0;
    let mut room: Option<sockette_core::InputBuffer> = None;
    reset_conn_peak();
    let held_before = conn_live();
    for op in session.ops.iter().chain(&last) {
        let now = clock.0;
        let handshaking = !events.opened && !events.closed;
        // Commands may be refused; they must never panic.
        match op {
            Op::Input(n) => {
                let (now_in, rest) = input.split_at((*n as usize).min(input.len()));
                input = rest;
                fed += now_in.len();
                in_conn(|| conn.handle_input(now, now_in));
            }
            Op::Read { n, min } => {
                let min = usize::from(*min);
                lent = lent.max(min);
                in_conn(|| {
                    let buffer = conn.input_buffer(min);
                    assert!(buffer.len() >= min.max(1), "room shorter than asked");
                    let n = usize::from(*n).min(input.len()).min(buffer.len());
                    let (now_in, rest) = input.split_at(n);
                    buffer[..n].copy_from_slice(now_in);
                    input = rest;
                    fed += n;
                    conn.handle_read(now, n);
                });
            }
            Op::TakeRoom(min) => {
                let min = usize::from(*min);
                lent = lent.max(min);
                // One room at a time, as a backend holds it.
                drop(room.take());
                let taken = in_conn(|| conn.take_input_buffer(min));
                assert!(taken.len() >= min.max(1), "room shorter than asked");
                room = Some(taken);
            }
            Op::ReadIntoRoom(n) => {
                if let Some(room) = room.as_mut() {
                    let n = usize::from(*n).min(input.len()).min(room.len());
                    let (now_in, rest) = input.split_at(n);
                    room.unfilled()[..n].copy_from_slice(now_in);
                    input = rest;
                    fed += n;
                    let bytes = room.fill(n);
                    in_conn(|| conn.handle_input_bytes(now, bytes));
                }
            }
            Op::Upgrade => {
                fed += upgrade.len();
                in_conn(|| conn.handle_input(now, &upgrade));
            }
            Op::Frame(f) => {
                let bytes = encode(f);
                fed += bytes.len();
                in_conn(|| conn.handle_input(now, &bytes));
            }
            Op::Deflated(d) => {
                let bytes = peer_deflate.frames(d);
                fed += bytes.len();
                in_conn(|| conn.handle_input(now, &bytes));
            }
            Op::SendText(t) => {
                let text = String::from_utf8_lossy(t);
                if in_conn(|| conn.send_text(&text)).is_ok() {
                    wire.sent(text.as_bytes());
                }
            }
            Op::SendBinary(b) => {
                if in_conn(|| conn.send_binary(b)).is_ok() {
                    wire.sent(b);
                }
            }
            Op::Ping(p) => drop(in_conn(|| conn.ping(p))),
            Op::Pong(p) => drop(in_conn(|| conn.pong(p))),
            Op::Close(code, reason) => {
                let reason = String::from_utf8_lossy(reason);
                drop(in_conn(|| conn.close(now, CloseCode::from(*code), &reason)))
            }
            Op::Tick(ms) => {
                let at = clock.advance((*ms).into());
                in_conn(|| conn.handle_timeout(at));
            }
            Op::TickToDeadline => {
                if let Some(at) = conn.poll_timeout() {
                    clock.0 = clock.0.max(at);
                    in_conn(|| conn.handle_timeout(clock.0));
                }
            }
            Op::Transmit(n) => transmit(wire, conn, (*n).into()),
            Op::TransmitAll => transmit(wire, conn, usize::MAX),
            Op::Eof => in_conn(|| conn.handle_eof(now)),
        }
        let feeds_input = matches!(
            op,
            Op::Input(_)
                | Op::Read { .. }
                | Op::ReadIntoRoom(_)
                | Op::Upgrade
                | Op::Frame(_)
                | Op::Deflated(_)
        );
        if !(read_ahead && feeds_input) {
            drain(events, conn, &limits);
        }
        wire.note_open(events);
        if handshaking {
            handshake_output = conn.buffered_amount();
        }
        // Keepalive on or off: pings are skipped while the buffer is at its limit.
        assert!(
            conn.buffered_amount() <= limits.max_buffered_output + BUFFER_SLACK + handshake_output,
            "buffered_amount {} over the limit {} (+{BUFFER_SLACK} +{handshake_output})",
            conn.buffered_amount(),
            limits.max_buffered_output
        );
        let held = conn_peak().saturating_sub(held_before);
        let bound = held_bound(
            &limits,
            fed,
            handshake_output,
            session.config.deflate.is_some(),
        ) + 8 * lent;
        assert!(
            held <= bound,
            "the connection held {held} bytes of heap at once, over {bound} \
             (max_message_size {}, {fed} bytes fed, max_buffered_output {})",
            limits.max_message_size,
            limits.max_buffered_output
        );
        if let Some(at) = conn.poll_timeout() {
            assert!(
                !conn.is_closed(),
                "a closed connection still has a timer at {at:?}"
            );
        }
    }
    assert!(events.closed, "no Close after EOF");
}
