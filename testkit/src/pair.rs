//! Two connections joined in memory: [`Pair`], a client and a server with a
//! simulated clock and a transport that cuts bytes as told, and [`drive`], any
//! two connections pumped into each other until they go quiet.

use std::time::{Duration, Instant};

use sockette_core::{ClientConfig, Connection, Event, Message, ServerConfig};

use crate::chunking::{cut, Chunking, XorShift};
use crate::config::{client_config, server_config, URL};

/// Which end of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client connection.
    Client,
    /// The server connection.
    Server,
}

/// A client and a server joined by an in-memory transport, with a simulated clock.
/// Bytes are delivered in the [`Chunking`] given; `drive()` runs until nothing
/// moves, `drive_bounded(n)` panics on a livelock.
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

impl Default for Pair {
    fn default() -> Self {
        Pair::new()
    }
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

/// Moves bytes both ways, at most `chunk` bytes of one `poll_transmit` at a time,
/// until nothing moves, all at the time of the call; returns the events of each
/// side. Panics if the two never go quiet.
pub fn drive(a: &mut Connection, b: &mut Connection, chunk: usize) -> (Vec<Event>, Vec<Event>) {
    drive_at(a, b, chunk, Instant::now())
}

/// [`drive`], every input arriving at `now`.
pub fn drive_at(
    a: &mut Connection,
    b: &mut Connection,
    chunk: usize,
    now: Instant,
) -> (Vec<Event>, Vec<Event>) {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    for _ in 0..1_000_000 {
        let moved = transfer(a, b, chunk, now) | transfer(b, a, chunk, now);
        ea.extend(std::iter::from_fn(|| a.poll_event()));
        eb.extend(std::iter::from_fn(|| b.poll_event()));
        if !moved {
            return (ea, eb);
        }
    }
    panic!("the pair never went quiet");
}

fn transfer(from: &mut Connection, to: &mut Connection, chunk: usize, now: Instant) -> bool {
    let Some(bytes) = from.poll_transmit() else {
        return false;
    };
    let n = bytes.len().min(chunk);
    let piece = bytes[..n].to_vec();
    from.advance_transmit(n);
    to.handle_input(now, &piece);
    true
}
