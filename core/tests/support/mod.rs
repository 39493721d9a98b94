//! Test support for the integration tests of `sockette-core`.
//!
//! - [`Pair`]: a client `Connection` and a server `Connection` joined by an in-memory
//!   transport with a simulated clock. Bytes are delivered in a configurable
//!   [`Chunking`] (whole, one byte at a time, random sizes from a seeded xorshift);
//!   `drive()` runs until nothing moves, `drive_bounded(n)` panics on a livelock.
//! - [`Raw`]: one connection driven by hand-crafted peer bytes: a client already past
//!   a valid handshake (`Raw::open_client`), or a server past a valid request
//!   (`Raw::open_server`), so tests can inject any frame.
//! - A frame encoder and decoder written independently of the core's `frame` module
//!   (a peer built from our own codec would share its bugs).
//!
//! Every random choice is seeded: a failing test fails the same way every time.

// Each test binary uses a different part of this module, and `pub` marks the
// module's API for the test files that include it (it is never reachable from
// outside the test binary, which is what `unreachable_pub` would flag).
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use sockette_core::{
    accept_key, ChaChaSource, ClientConfig, CloseCode, CloseInfo, Connection, Error, Event,
    Message, ServerConfig,
};

/// The URL most tests connect to.
pub const URL: &str = "ws://example.com/chat";

/// A client configuration with deterministic randomness.
pub fn client_config(url: &str) -> ClientConfig {
    client_config_seeded(url, 1)
}

/// A client configuration with the random source seeded by `seed`.
pub fn client_config_seeded(url: &str, seed: u64) -> ClientConfig {
    ClientConfig::new(url)
        .expect("test URL is valid")
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .random_source(ChaChaSource::from_seed(seed))
}

/// A server configuration with deterministic randomness.
pub fn server_config() -> ServerConfig {
    ServerConfig::new().random_source(ChaChaSource::from_seed(2))
}

// ----------------------------------------------------------------------------------
// Deterministic chunk sizes
// ----------------------------------------------------------------------------------

/// xorshift64*: small, seeded, good enough to pick chunk sizes.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator; a zero seed is replaced (xorshift would stay at zero).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `1..=max`.
    pub fn between_1_and(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max.max(1) as u64) as usize
    }
}

/// How the in-memory transport cuts the bytes it delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Everything pending in one `handle_input` call.
    Whole,
    /// One byte per `handle_input` call.
    OneByte,
    /// Pieces of `1..=max` bytes, sizes drawn from a seeded xorshift.
    Random {
        /// The largest piece.
        max: usize,
        /// The xorshift seed.
        seed: u64,
    },
}

/// Cuts `len` bytes into pieces following `chunking`.
pub fn cut(len: usize, chunking: Chunking, rng: &mut XorShift) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = match chunking {
            Chunking::Whole => left,
            Chunking::OneByte => 1,
            Chunking::Random { max, .. } => rng.between_1_and(max).min(left),
        };
        sizes.push(n);
        left -= n;
    }
    sizes
}

// ----------------------------------------------------------------------------------
// Pair: client <-> server in memory
// ----------------------------------------------------------------------------------

/// Which end of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client connection.
    Client,
    /// The server connection.
    Server,
}

/// A client and a server joined by an in-memory transport, with a simulated clock.
pub struct Pair {
    /// The client end.
    pub client: Connection,
    /// The server end.
    pub server: Connection,
    /// The simulated clock; only [`Pair::advance`] moves it.
    pub now: Instant,
    /// How bytes are cut on delivery.
    pub chunking: Chunking,
    /// When a side is closed and has flushed its output, shut the transport down:
    /// the other side gets `handle_eof` (as a backend would do).
    pub shutdown_when_closed: bool,
    /// Events each side emitted, in order, since the last `take_*_events`.
    pub client_events: Vec<Event>,
    /// See `client_events`.
    pub server_events: Vec<Event>,
    /// Every event each side ever emitted (checked by `check_event_order`).
    pub client_history: Vec<Event>,
    /// See `client_history`.
    pub server_history: Vec<Event>,
    /// Bytes each side wrote to the transport, in total.
    pub client_sent: Vec<u8>,
    /// See `client_sent`.
    pub server_sent: Vec<u8>,
    rng: XorShift,
    eof_sent_to: [bool; 2],
}

impl Pair {
    /// A pair with default (seeded) configurations, delivering whole reads.
    pub fn new() -> Pair {
        Pair::with_configs(client_config(URL), server_config(), Chunking::Whole)
    }

    /// A pair with the given configurations and chunking.
    pub fn with_configs(client: ClientConfig, server: ServerConfig, chunking: Chunking) -> Pair {
        let now = Instant::now();
        let seed = match chunking {
            Chunking::Random { seed, .. } => seed,
            _ => 7,
        };
        Pair {
            client: Connection::client(client, now).expect("client config is valid"),
            server: Connection::server(server, now).expect("server config is valid"),
            now,
            chunking,
            shutdown_when_closed: true,
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_history: Vec::new(),
            server_history: Vec::new(),
            client_sent: Vec::new(),
            server_sent: Vec::new(),
            rng: XorShift::new(seed),
            eof_sent_to: [false; 2],
        }
    }

    /// A pair driven through the opening handshake; both `Open` events are consumed.
    pub fn open(client: ClientConfig, server: ServerConfig, chunking: Chunking) -> Pair {
        let mut pair = Pair::with_configs(client, server, chunking);
        pair.drive();
        let c = pair.take_client_events();
        let s = pair.take_server_events();
        assert!(matches!(c.as_slice(), [Event::Open(_)]), "client: {c:?}");
        assert!(matches!(s.as_slice(), [Event::Open(_)]), "server: {s:?}");
        pair
    }

    /// A default pair, opened.
    pub fn open_default() -> Pair {
        Pair::open(client_config(URL), server_config(), Chunking::Whole)
    }

    /// Moves pending bytes once in each direction and drains events. Returns true
    /// when anything moved.
    pub fn step(&mut self) -> bool {
        let a = self.transfer(Side::Client);
        let b = self.transfer(Side::Server);
        self.collect_events();
        let c = self.maybe_shutdown();
        self.collect_events();
        a || b || c
    }

    /// Steps until nothing moves; panics after a million steps.
    pub fn drive(&mut self) {
        self.drive_bounded(1_000_000);
    }

    /// Steps until nothing moves; panics (livelock) if that takes more than `max`.
    pub fn drive_bounded(&mut self, max: usize) {
        for _ in 0..max {
            if !self.step() {
                return;
            }
        }
        assert!(
            !self.step(),
            "livelock: the pair is still busy after {max} steps"
        );
    }

    /// Moves the clock forward by `by`, firing every deadline on the way in order and
    /// driving the transport after each.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= target => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    self.client.handle_timeout(now);
                    self.server.handle_timeout(now);
                    self.collect_events();
                    self.drive();
                }
                _ => break,
            }
        }
        self.now = target;
    }

    /// Events the client emitted since the last call.
    pub fn take_client_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.client_events)
    }

    /// Events the server emitted since the last call.
    pub fn take_server_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.server_events)
    }

    /// The messages a side received so far (from its whole history).
    pub fn messages(&self, side: Side) -> Vec<Message> {
        let history = match side {
            Side::Client => &self.client_history,
            Side::Server => &self.server_history,
        };
        history
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    fn transfer(&mut self, from: Side) -> bool {
        let now = self.now;
        let (src, dst, log) = match from {
            Side::Client => (&mut self.client, &mut self.server, &mut self.client_sent),
            Side::Server => (&mut self.server, &mut self.client, &mut self.server_sent),
        };
        let Some(bytes) = src.poll_transmit() else {
            return false;
        };
        let bytes = bytes.to_vec();
        src.advance_transmit(bytes.len());
        log.extend_from_slice(&bytes);
        let mut at = 0;
        for n in cut(bytes.len(), self.chunking, &mut self.rng) {
            dst.handle_input(now, &bytes[at..at + n]);
            at += n;
        }
        true
    }

    fn maybe_shutdown(&mut self) -> bool {
        if !self.shutdown_when_closed {
            return false;
        }
        let now = self.now;
        let mut moved = false;
        if self.client.is_closed() && self.client.poll_transmit().is_none() && !self.eof_sent_to[1]
        {
            self.eof_sent_to[1] = true;
            self.server.handle_eof(now);
            moved = true;
        }
        if self.server.is_closed() && self.server.poll_transmit().is_none() && !self.eof_sent_to[0]
        {
            self.eof_sent_to[0] = true;
            self.client.handle_eof(now);
            moved = true;
        }
        moved
    }

    fn collect_events(&mut self) {
        while let Some(e) = self.client.poll_event() {
            self.client_history.push(e.clone());
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_history.push(e.clone());
            self.server_events.push(e);
        }
    }
}

// ----------------------------------------------------------------------------------
// Raw: one connection fed hand-crafted peer bytes
// ----------------------------------------------------------------------------------

/// One connection whose peer is the test itself.
pub struct Raw {
    /// The connection under test.
    pub conn: Connection,
    /// The simulated clock.
    pub now: Instant,
    /// The client's handshake request (for `open_client`/`connecting_client`).
    pub request: String,
    /// Every event the connection emitted (checked by `check_event_order`).
    pub history: Vec<Event>,
}

impl Raw {
    /// A client that sent its request and got no answer yet. The request is read
    /// from `poll_transmit` (and marked as written).
    pub fn connecting_client(config: ClientConfig) -> Raw {
        let now = Instant::now();
        let mut conn = Connection::client(config, now).expect("client config is valid");
        let request = take_output(&mut conn);
        Raw {
            conn,
            now,
            request: String::from_utf8(request).expect("the request is ASCII"),
            history: Vec::new(),
        }
    }

    /// A client past a valid handshake (its `Open` event consumed).
    pub fn open_client(config: ClientConfig) -> Raw {
        let mut raw = Raw::connecting_client(config);
        let response = response_101(&raw.request, "");
        let events = raw.feed(response.as_bytes());
        assert!(matches!(events.as_slice(), [Event::Open(_)]), "{events:?}");
        raw
    }

    /// A default client past a valid handshake.
    pub fn client() -> Raw {
        Raw::open_client(client_config(URL))
    }

    /// A server that accepted a valid request (its `Open` event consumed and its
    /// 101 answer taken from `poll_transmit`).
    pub fn open_server(config: ServerConfig) -> Raw {
        let now = Instant::now();
        let conn = Connection::server(config, now).expect("server config is valid");
        let mut raw = Raw {
            conn,
            now,
            request: String::new(),
            history: Vec::new(),
        };
        let events = raw.feed(VALID_REQUEST.as_bytes());
        assert!(matches!(events.as_slice(), [Event::Open(_)]), "{events:?}");
        let answer = raw.take_output();
        assert!(answer.starts_with(b"HTTP/1.1 101 "));
        raw
    }

    /// A default server past a valid request.
    pub fn server() -> Raw {
        Raw::open_server(server_config())
    }

    /// Feeds `bytes` in one read; returns the events that followed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.conn.handle_input(self.now, bytes);
        self.events()
    }

    /// Feeds `bytes` one byte per read; returns the events that followed.
    pub fn feed_bytewise(&mut self, bytes: &[u8]) -> Vec<Event> {
        for b in bytes {
            self.conn.handle_input(self.now, std::slice::from_ref(b));
        }
        self.events()
    }

    /// Signals the end of the transport; returns the events that followed.
    pub fn eof(&mut self) -> Vec<Event> {
        self.conn.handle_eof(self.now);
        self.events()
    }

    /// Moves the clock forward and runs the timers; returns the events that followed.
    pub fn advance(&mut self, by: Duration) -> Vec<Event> {
        self.now += by;
        self.conn.handle_timeout(self.now);
        self.events()
    }

    /// Drains the pending events.
    pub fn events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            self.history.push(e.clone());
            out.push(e);
        }
        out
    }

    /// Takes everything the connection wants to write.
    pub fn take_output(&mut self) -> Vec<u8> {
        take_output(&mut self.conn)
    }

    /// Takes and decodes the frames the connection wrote. A client's frames must be
    /// masked, a server's must not.
    pub fn sent_frames(&mut self) -> Vec<WireFrame> {
        let bytes = self.take_output();
        let frames = parse_frames(&bytes);
        let expect_masked = self.conn.role() == sockette_core::Role::Client;
        for f in &frames {
            assert_eq!(f.mask.is_some(), expect_masked, "mask bit of {f:?}");
        }
        frames
    }
}

/// Takes everything `conn` wants to write, marking it written.
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len();
        out.extend_from_slice(bytes);
        conn.advance_transmit(n);
    }
    out
}

// ----------------------------------------------------------------------------------
// Handshake helpers
// ----------------------------------------------------------------------------------

/// A valid client request, as a browser would send it.
pub const VALID_REQUEST: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The value of header `name` (case-insensitive) in an HTTP head.
pub fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The `Sec-WebSocket-Key` of a client request.
pub fn key_of(request: &str) -> &str {
    header_value(request, "Sec-WebSocket-Key").expect("request has a Sec-WebSocket-Key")
}

/// A valid 101 answer to `request`, with `extra` header lines (each ending in CRLF).
pub fn response_101(request: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key_of(request))
    )
}

// ----------------------------------------------------------------------------------
// Frames, written by hand
// ----------------------------------------------------------------------------------

/// Opcodes as numbers (RFC 6455 §5.2).
pub mod op {
    /// Continuation.
    pub const CONT: u8 = 0x0;
    /// Text.
    pub const TEXT: u8 = 0x1;
    /// Binary.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;
}

/// Encodes a frame with an explicit first byte (FIN, RSV, opcode), minimal length.
pub fn raw_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
    }
    out
}

/// An unmasked frame (what a server sends).
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(if fin { 0x80 } else { 0 } | opcode, payload, None)
}

/// A masked frame (what a client sends).
pub fn masked_frame(fin: bool, opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    raw_frame(if fin { 0x80 } else { 0 } | opcode, payload, Some(key))
}

/// A close frame's payload: the code big-endian, then the reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// A frame as seen on the wire, payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// FIN bit.
    pub fin: bool,
    /// RSV1-3 as the low three bits.
    pub rsv: u8,
    /// The opcode number.
    pub opcode: u8,
    /// The masking key, if the mask bit was set.
    pub mask: Option<[u8; 4]>,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

impl WireFrame {
    /// The close code of a close frame (None for an empty payload).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, op::CLOSE, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Decodes a whole byte stream of frames; panics on a partial or malformed frame.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "partial frame header: {bytes:x?}");
        let (b0, b1) = (bytes[0], bytes[1]);
        let mut pos = 2;
        let len = match b1 & 0x7f {
            126 => {
                pos += 2;
                u16::from_be_bytes([bytes[2], bytes[3]]) as usize
            }
            127 => {
                pos += 8;
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize
            }
            n => n as usize,
        };
        let mask = (b1 & 0x80 != 0).then(|| {
            let key = [bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]];
            pos += 4;
            key
        });
        assert!(bytes.len() >= pos + len, "partial frame payload");
        let mut payload = bytes[pos..pos + len].to_vec();
        if let Some(key) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        frames.push(WireFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x07,
            opcode: b0 & 0x0f,
            mask,
            payload,
        });
        bytes = &bytes[pos + len..];
    }
    frames
}

// ----------------------------------------------------------------------------------
// Event checks
// ----------------------------------------------------------------------------------

/// Checks the rules every event sequence obeys: at most one `Close`, and it is last;
/// every `Error` is followed by a `Close`; `Open` comes first if at all.
pub fn check_event_order(events: &[Event]) {
    let closes = events
        .iter()
        .filter(|e| matches!(e, Event::Close(_)))
        .count();
    assert!(closes <= 1, "{closes} Close events: {events:?}");
    if closes == 1 {
        assert!(
            matches!(events.last(), Some(Event::Close(_))),
            "Close is not the last event: {events:?}"
        );
    }
    if events.iter().any(|e| matches!(e, Event::Error(_))) {
        assert_eq!(closes, 1, "an Error without a Close: {events:?}");
    }
    for (i, e) in events.iter().enumerate() {
        if matches!(e, Event::Open(_)) {
            assert_eq!(i, 0, "Open is not the first event: {events:?}");
        }
    }
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
            Event::Error(err) => Some(err),
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
