//! A ready-made loop for programs without one: one `Poll`, a slab of
//! [`Connection`]s keyed by their `Token`, one `Waker` for every `Sender`, and a
//! heap of the connections' deadlines. It only calls the `Connection` API; nothing
//! here knows the protocol.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token, Waker};
use sockette_core::{ClientConfig, CloseCode, CommandError};

use crate::connection::{Connection, Handle};
use crate::error::Error;
use crate::event::Event;
use crate::sender::Sender;
use sockette_driver::{LoopWake, ReadyList, SocketOptions, Stream};

/// The waker's token; connections use their slab index.
const WAKER: Token = Token(usize::MAX);

/// Many connections driven by one thread.
///
/// Every connection is a plain [`Connection`] registered under `Token(index)`;
/// [`turn`](Self::turn) waits for readiness or the next deadline and calls
/// `handle_event`, `handle_wake` and `handle_timeout` for you. A connection leaves
/// the loop once its `Close` has been delivered. The callback receives a
/// [`Handle`] whose [`token`](Handle::token) tells which connection spoke.
///
/// ```no_run
/// use sockette_mio::{Event, EventLoop};
///
/// let mut event_loop = EventLoop::new()?;
/// for _ in 0..100 {
///     event_loop.connect("ws://127.0.0.1:9001/echo")?; // never blocks
/// }
/// event_loop.run(|ws, event| match event {
///     Event::Open(_) => {
///         let _ = ws.send_text("hello");
///     }
///     Event::Message(_) => {
///         let _ = ws.close(sockette_mio::CloseCode::Normal, "done");
///     }
///     Event::Error(e) => eprintln!("{:?}: {e}", ws.token()),
///     _ => {}
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// To share the `Poll` with other sources (sockets, timers of your own), drive
/// [`Connection`]s from your own loop instead (see `examples/embed.rs`).
pub struct EventLoop {
    poll: Poll,
    events: Events,
    slab: Slab,
    waker: Arc<Waker>,
    ready: ReadyList,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    len: usize,
    /// Deadlines by connection; stale entries are skipped when popped.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Connections touched outside `turn` whose deadline must be read again.
    dirty: Vec<usize>,
}

#[derive(Default)]
struct Slot {
    conn: Option<Connection>,
    deadline: Option<Instant>,
}

impl Slab {
    /// The key the next connection will take (a free one, or a new slot).
    fn vacant_key(&mut self) -> usize {
        if let Some(&key) = self.free.last() {
            return key;
        }
        self.slots.push(Slot::default());
        self.free.push(self.slots.len() - 1);
        self.slots.len() - 1
    }

    fn get_mut(&mut self, key: usize) -> Option<&mut Connection> {
        self.slots.get_mut(key).and_then(|s| s.conn.as_mut())
    }

    /// After a connection ran: drops it if finished, else files its next deadline.
    fn touched(&mut self, key: usize) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let Some(conn) = slot.conn.as_ref() else {
            return;
        };
        if conn.is_finished() {
            slot.conn = None;
            slot.deadline = None;
            self.free.push(key);
            self.len -= 1;
            return;
        }
        let deadline = conn.poll_timeout();
        if deadline != slot.deadline {
            slot.deadline = deadline;
            if let Some(deadline) = deadline {
                self.timers.push(Reverse((deadline, key)));
            }
        }
        if self.timers.len() > 64 + 4 * self.len {
            self.rebuild_timers();
        }
    }

    fn rebuild_timers(&mut self) {
        self.timers = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(key, slot)| slot.deadline.map(|d| Reverse((d, key))))
            .collect();
    }

    /// The earliest live deadline, dropping stale entries on the way.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((deadline, key))) = self.timers.peek() {
            if self.slots.get(key).and_then(|s| s.deadline) == Some(deadline) {
                return Some(deadline);
            }
            self.timers.pop();
        }
        None
    }
}

impl EventLoop {
    /// An empty loop with its own `Poll` and `Waker`.
    pub fn new() -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(1024),
            slab: Slab::default(),
            waker,
            ready: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Opens a connection to a URL with default settings; never blocks: the
    /// host name is looked up on a thread of its own (see
    /// [`Connection::start`]) and the rest happens in [`turn`](Self::turn).
    pub fn connect(&mut self, url: &str) -> Result<Token, Error> {
        self.connect_with(ClientConfig::new(url)?)
    }

    /// Opens a connection with these settings; never blocks (see
    /// [`connect`](Self::connect)).
    pub fn connect_with(&mut self, config: ClientConfig) -> Result<Token, Error> {
        self.connect_with_options(config, SocketOptions::new())
    }

    /// [`connect_with`](Self::connect_with), the TCP socket set up with
    /// `options` (a local address, TCP keepalive, `TCP_NODELAY`).
    pub fn connect_with_options(
        &mut self,
        config: ClientConfig,
        options: SocketOptions,
    ) -> Result<Token, Error> {
        let key = self.slab.vacant_key();
        let wake = LoopWake::noting(self.waker.clone(), self.ready.clone(), Token(key));
        let conn = Connection::start_in_loop(config, options, wake)?;
        self.insert(conn).map_err(Error::Io)
    }

    /// Opens a client connection over a stream you connected (TCP, or a Unix
    /// socket); see [`Connection::over`].
    pub fn connect_over(
        &mut self,
        config: ClientConfig,
        stream: impl Into<Stream>,
    ) -> Result<Token, Error> {
        let conn = Connection::over(config, stream)?;
        self.insert(conn).map_err(Error::Io)
    }

    /// Opens a connection to an address resolved by the caller (never blocks).
    pub fn connect_addr(&mut self, config: ClientConfig, addr: SocketAddr) -> Result<Token, Error> {
        let conn = Connection::with_addr(config, addr)?;
        self.insert(conn).map_err(Error::Io)
    }

    /// Adds a connection made elsewhere, registering it under the returned token.
    /// (Take its [`Sender`]s from [`sender`](Self::sender) afterwards: a sender made
    /// before, with another waker, would not wake this loop.)
    pub fn insert(&mut self, mut conn: Connection) -> io::Result<Token> {
        let key = self.slab.vacant_key();
        // `vacant_key` gives the last free key: take it.
        self.slab.free.pop();
        if let Err(e) = conn.register(self.poll.registry(), Token(key)) {
            self.slab.free.push(key);
            return Err(e);
        }
        self.slab.slots[key].conn = Some(conn);
        self.slab.len += 1;
        self.slab.touched(key);
        Ok(Token(key))
    }

    /// Takes a connection out of the loop (deregistered), whatever its state.
    pub fn remove(&mut self, token: Token) -> Option<Connection> {
        let slot = self.slab.slots.get_mut(token.0)?;
        let mut conn = slot.conn.take()?;
        slot.deadline = None;
        self.slab.free.push(token.0);
        self.slab.len -= 1;
        let _ = conn.deregister(self.poll.registry());
        Some(conn)
    }

    /// The connection under `token`.
    pub fn get(&self, token: Token) -> Option<&Connection> {
        self.slab.slots.get(token.0).and_then(|s| s.conn.as_ref())
    }

    /// The connection under `token` and the registry its `Connection` methods
    /// take, for anything the loop does not wrap.
    pub fn get_mut(&mut self, token: Token) -> Option<(&mut Connection, &Registry)> {
        let conn = self.slab.slots.get_mut(token.0)?.conn.as_mut()?;
        self.slab.dirty.push(token.0);
        Some((conn, self.poll.registry()))
    }

    /// A [`Sender`] for other threads, waking this loop.
    pub fn sender(&mut self, token: Token) -> Option<Sender> {
        let (waker, ready) = (self.waker.clone(), self.ready.clone());
        let conn = self.slab.get_mut(token.0)?;
        Some(conn.sender_in_loop(waker, ready, token))
    }

    /// Sends a text message on a connection from outside a callback. A token
    /// the loop no longer holds (its connection finished and was removed) is
    /// refused with [`CommandError::Closed`]`(None)`.
    pub fn send_text(&mut self, token: Token, text: &str) -> Result<(), CommandError> {
        let (conn, registry) = self.get_mut(token).ok_or(CommandError::Closed(None))?;
        conn.send_text(registry, text)
    }

    /// Sends a binary message on a connection from outside a callback.
    pub fn send_binary(&mut self, token: Token, data: &[u8]) -> Result<(), CommandError> {
        let (conn, registry) = self.get_mut(token).ok_or(CommandError::Closed(None))?;
        conn.send_binary(registry, data)
    }

    /// Starts the close handshake of a connection from outside a callback.
    pub fn close(
        &mut self,
        token: Token,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), CommandError> {
        let (conn, registry) = self.get_mut(token).ok_or(CommandError::Closed(None))?;
        conn.close(registry, code, reason)
    }

    /// How many connections the loop holds.
    pub fn len(&self) -> usize {
        self.slab.len
    }

    /// True when the loop holds no connection.
    pub fn is_empty(&self) -> bool {
        self.slab.len == 0
    }

    /// The `Poll`'s registry.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Waits for readiness, a wake-up or the next deadline (at most `timeout`,
    /// forever if `None` and nothing is due), then drives the connections
    /// concerned, delivering their events to `callback`.
    pub fn turn<F>(&mut self, timeout: Option<Duration>, mut callback: F) -> io::Result<()>
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        let EventLoop {
            poll,
            events,
            slab,
            ready,
            ..
        } = self;
        for key in std::mem::take(&mut slab.dirty) {
            slab.touched(key);
        }
        let until_deadline = slab
            .next_deadline()
            .map(|d| d.saturating_duration_since(Instant::now()));
        let wait = match (timeout, until_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match poll.poll(events, wait) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            result => result?,
        }
        let registry = poll.registry();
        for event in events.iter() {
            if event.token() == WAKER {
                let woken = std::mem::take(&mut *ready.lock().unwrap_or_else(|e| e.into_inner()));
                for token in woken {
                    if let Some(conn) = slab.get_mut(token.0) {
                        conn.handle_wake(registry, &mut callback);
                        slab.touched(token.0);
                    }
                }
            } else if let Some(conn) = slab.get_mut(event.token().0) {
                conn.handle_event(registry, event, &mut callback);
                slab.touched(event.token().0);
            }
        }
        let now = Instant::now();
        while let Some(deadline) = slab.next_deadline() {
            if deadline > now {
                break;
            }
            let Some(Reverse((_, key))) = slab.timers.pop() else {
                break;
            };
            slab.slots[key].deadline = None;
            if let Some(conn) = slab.get_mut(key) {
                conn.handle_timeout(registry, now, &mut callback);
            }
            slab.touched(key);
        }
        Ok(())
    }

    /// Turns until every connection is finished.
    pub fn run<F>(&mut self, mut callback: F) -> io::Result<()>
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        while !self.is_empty() {
            self.turn(None, &mut callback)?;
        }
        Ok(())
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("connections", &self.slab.len)
            .finish_non_exhaustive()
    }
}
