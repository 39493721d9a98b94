//! One WebSocket connection over a non-blocking `mio::net::TcpStream`: bytes move
//! between the socket and [`sockette_core::Connection`], events go to the caller's
//! callback. Rules: write until `WouldBlock`, and read (into the room the core
//! lends) until `WouldBlock` or the read budget (32 reads per call, so that a busy
//! peer does not starve the loop's other connections; readiness is remembered and
//! `poll_timeout` says "now" to come back for the rest: mio is edge-triggered);
//! after each read,
//! deliver every event before writing; ask for WRITABLE only while output is
//! pending; a socket failure becomes an `Error` event, then the `Close`.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Instant;

use mio::event::Event as MioEvent;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token, Waker};
use sockette_core::{
    ClientConfig, CloseCode, CommandError, Connection as Core, Event as CoreEvent, Message, Role,
    State, Stats, UpgradedConfig, WsUrl,
};

use sockette_driver::{Attempts, LINGER};

use crate::error::{ConnectCause, ConnectError, ConnectStep, Error};
use crate::event::Event;
use crate::sender::{MioWake, ReadyList, Sender, SenderQueue};

/// Bytes asked of the socket per read, into the room the core lends (its input
/// buffer's, so nothing is copied on the way in).
const READ_CHUNK: usize = 32 << 10;

/// Reads per call before yielding to the other connections of the loop (1 MiB):
/// the rest is read when `poll_timeout` (which then says "now") is honoured.
const READ_BUDGET: usize = 32;

/// A WebSocket client connection for a caller-owned `mio::Poll`.
///
/// Create it (name resolution, if any, blocks: pass a [`SocketAddr`] with
/// [`with_addr`](Self::with_addr) to avoid it), [`register`](Self::register) it
/// under a token of yours, then for every `mio` event with that token call
/// [`handle_event`](Self::handle_event), and call
/// [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)
/// is reached. Events reach your callback on that thread, with a [`Handle`] to
/// answer (send, close) from inside it. Once [`is_finished`](Self::is_finished), the
/// last event has been delivered and the socket deregistered: drop the connection.
///
/// ```no_run
/// use std::time::Instant;
/// use mio::{Events, Poll, Token};
/// use sockette_mio::{Connection, Event};
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(64);
/// let mut ws = Connection::connect("ws://127.0.0.1:9001/chat")?; // resolves (blocks)
/// ws.register(poll.registry(), Token(7))?;
/// let mut on_event = |h: &mut sockette_mio::Handle<'_>, event: Event| match event {
///     Event::Open(_) => {
///         let _ = h.send_text("hello");
///     }
///     Event::Message(m) => println!("received {m:?}"),
///     Event::Close(c) => println!("closed: {} {}", c.code, c.reason),
///     Event::Error(e) => eprintln!("error: {e}"),
///     _ => {}
/// };
/// while !ws.is_finished() {
///     let timeout = ws.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
///     poll.poll(&mut events, timeout)?;
///     for event in events.iter() {
///         if event.token() == Token(7) {
///             ws.handle_event(poll.registry(), event, &mut on_event);
///         }
///     }
///     ws.handle_timeout(poll.registry(), Instant::now(), &mut on_event);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Connection {
    core: Core,
    /// `None` only when every address failed at once (the error is then an event).
    socket: Option<TcpStream>,
    target: SocketAddr,
    /// Addresses still to try if the current one refuses.
    fallbacks: VecDeque<SocketAddr>,
    /// The addresses that failed so far, for the error if all do.
    attempts: Attempts,
    token: Option<Token>,
    interest: Option<Interest>,
    connected: bool,
    /// Readiness last reported and not yet exhausted (edge-triggered).
    readable: bool,
    writable: bool,
    read_closed: bool,
    write_shut: bool,
    /// The socket failed: no more reads or writes.
    dead: bool,
    /// Set once the core is closed: flush and wait for the peer's end until then.
    linger: Option<Instant>,
    finished: bool,
    /// Call again at once: events may wait in the core (after a command made
    /// outside a callback), or reading stopped at its budget with data left.
    resume_now: bool,
    /// The `host:port` (or peer address) errors name.
    target_name: String,
    /// The `Open` event was delivered: failures are no longer opening failures.
    opened: bool,
    /// A socket error to report in place of the core's generic "connection lost".
    socket_error: Option<Error>,
    /// The text of the last error reported: the reason of a failure's `Close`.
    last_error: Option<String>,
    sender: Option<SenderQueue>,
    /// Commands senders had queued that the connection will never send,
    /// reported in one `NotSent` error just before the `Close` event.
    not_sent: usize,
    /// When the connection was created: the TCP connect's timing in the log.
    #[cfg(feature = "log")]
    started_at: Instant,
}

/// What a callback uses to answer: commands on the connection that delivered the
/// event. Output is written when the callback returns.
pub struct Handle<'a> {
    core: &'a mut Core,
    token: Option<Token>,
    now: Instant,
}

impl Handle<'_> {
    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), CommandError> {
        self.core.send_text(text)
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), CommandError> {
        self.core.send_binary(data)
    }

    /// Sends a message (an echo: `h.send(&message)`).
    pub fn send(&mut self, message: &Message) -> Result<(), CommandError> {
        self.core.send(message)
    }

    /// Sends a ping (at most 125 bytes of payload); its pong's round-trip time
    /// becomes [`Stats::latest_rtt`].
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        self.core.ping_at(Instant::now(), payload)
    }

    /// Sends an unsolicited pong (at most 125 bytes of payload), a one-way
    /// heartbeat (RFC 6455 §5.5.3). Pings from the peer are answered without this.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        self.core.pong(payload)
    }

    /// Messages and bytes both ways, the compression ratio and the latest ping's
    /// round-trip time; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// Starts the close handshake; [`Event::Close`] follows when the peer answers.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), CommandError> {
        self.core.close(self.now, code, reason)
    }

    /// The browser's `readyState`.
    pub fn state(&self) -> State {
        self.core.state()
    }

    /// Bytes queued and not yet written (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.core.buffered_amount()
    }

    /// The token the connection is registered under.
    pub fn token(&self) -> Option<Token> {
        self.token
    }
}

impl fmt::Debug for Handle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("token", &self.token)
            .field("state", &self.core.state())
            .finish()
    }
}

impl Connection {
    /// Connects to a `ws://` or `wss://` URL with default settings.
    ///
    /// **Blocks** while the host name is resolved (use [`with_addr`](Self::with_addr)
    /// to resolve yourself); the TCP connect itself does not block.
    pub fn connect(url: &str) -> Result<Connection, Error> {
        Self::with_config(ClientConfig::new(url)?)
    }

    /// Connects with these settings. **Blocks** while the host name is resolved;
    /// every resolved address is tried in turn if the previous one refuses.
    pub fn with_config(config: ClientConfig) -> Result<Connection, Error> {
        let url = config.url();
        #[cfg(feature = "log")]
        let started = Instant::now();
        let unresolved = |cause: io::Error| -> Error {
            let target = sockette_driver::target_of(url);
            ConnectError::new(ConnectStep::Resolve, &target, ConnectCause::Io(cause)).into()
        };
        let addrs: Vec<SocketAddr> = (url.host(), url.port())
            .to_socket_addrs()
            .map_err(unresolved)?
            .collect();
        #[cfg(feature = "log")]
        log::debug!(
            "resolved {} in {:?}: {addrs:?}",
            url.host(),
            started.elapsed()
        );
        if addrs.is_empty() {
            return Err(unresolved(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} has no address", url.host()),
            )));
        }
        Self::with_addrs(config, addrs)
    }

    /// Connects to `addr` with these settings, without resolving anything (the
    /// URL's host is still used for the `Host` header and TLS server name).
    pub fn with_addr(config: ClientConfig, addr: SocketAddr) -> Result<Connection, Error> {
        Self::with_addrs(config, vec![addr])
    }

    fn with_addrs(config: ClientConfig, addrs: Vec<SocketAddr>) -> Result<Connection, Error> {
        let now = Instant::now();
        // The core reads no clock: certificates are checked against this time.
        let config = config.wall_clock(std::time::SystemTime::now());
        let core = Core::client(config, now)?;
        let mut fallbacks: VecDeque<SocketAddr> = addrs.into();
        let target = fallbacks.pop_front().expect("at least one address");
        let mut conn = Connection::from_parts(core, target, now);
        conn.fallbacks = fallbacks;
        conn.start_connect(None, now);
        Ok(conn)
    }

    /// A connection already open on `stream`, whose HTTP upgrade was done
    /// elsewhere (a proxy library, an HTTP server of your own), as tungstenite's
    /// `from_raw_socket`. `role` is the side this end played in that handshake
    /// (`Role::Server` for a stream your server accepted and answered `101`);
    /// `config` carries what it agreed (subprotocol, permessage-deflate: see
    /// [`UpgradedConfig`]) and the limits, deadlines and keepalive; `leftover`
    /// is whatever was read from the stream past the end of the handshake's
    /// HTTP head, decoded first.
    ///
    /// `stream` is non-blocking, as mio's are (from a `std` one:
    /// `set_nonblocking(true)`, then `TcpStream::from_std`); `TCP_NODELAY` is
    /// set. Then [`register`](Self::register) it (or
    /// [`EventLoop::insert`](crate::EventLoop::insert) it) like any other: the
    /// first event is `Open` (no HTTP heads: the handshake was not seen here),
    /// delivered by the first `handle_event` or `handle_timeout`
    /// ([`poll_timeout`](Self::poll_timeout) says "now"). [`url`](Self::url) is
    /// `None`. The stream is plain TCP: for TLS, drive
    /// `sockette_core::Connection::upgraded` over your own TLS stream.
    pub fn from_upgraded_stream(
        stream: TcpStream,
        role: Role,
        config: UpgradedConfig,
        leftover: &[u8],
    ) -> Result<Connection, Error> {
        let now = Instant::now();
        let target = stream.peer_addr().map_err(Error::Io)?;
        let _ = stream.set_nodelay(true);
        let core = Core::upgraded(role, config, now, leftover)?;
        let mut conn = Connection::from_parts(core, target, now);
        conn.socket = Some(stream);
        conn.connected = true;
        // Whatever the socket holds is read at the first call, and the `Open`
        // event (and the leftover's) delivered then, without waiting for an event.
        conn.readable = true;
        conn.writable = true;
        conn.resume_now = true;
        Ok(conn)
    }

    /// A connection around `core`, not connected, without a socket yet.
    fn from_parts(core: Core, target: SocketAddr, _now: Instant) -> Connection {
        let target_name = core
            .url()
            .map_or_else(|| target.to_string(), sockette_driver::target_of);
        Connection {
            core,
            socket: None,
            target,
            fallbacks: VecDeque::new(),
            attempts: Attempts::default(),
            token: None,
            interest: None,
            connected: false,
            readable: false,
            writable: false,
            read_closed: false,
            write_shut: false,
            dead: false,
            linger: None,
            finished: false,
            resume_now: false,
            target_name,
            opened: false,
            socket_error: None,
            last_error: None,
            sender: None,
            not_sent: 0,
            #[cfg(feature = "log")]
            started_at: _now,
        }
    }

    /// Starts a non-blocking connect to `target`, then to the fallbacks if the
    /// operating system refuses at once. The socket is registered if we are.
    fn start_connect(&mut self, registry: Option<&Registry>, now: Instant) {
        loop {
            match TcpStream::connect(self.target) {
                Ok(mut socket) => {
                    if let (Some(registry), Some(token)) = (registry, self.token) {
                        let interest = Interest::READABLE | Interest::WRITABLE;
                        if let Err(e) = registry.register(&mut socket, token, interest) {
                            self.socket = Some(socket);
                            return self.fail_socket(e, now);
                        }
                        self.interest = Some(interest);
                    }
                    self.socket = Some(socket);
                    return;
                }
                Err(e) => {
                    self.attempts.failed(self.target, &e);
                    match self.fallbacks.pop_front() {
                        Some(next) => self.target = next,
                        None => return self.fail_every_address(now),
                    }
                }
            }
        }
    }

    // ----- getters -----

    /// The browser's `readyState`.
    pub fn state(&self) -> State {
        self.core.state()
    }

    /// Bytes queued and not yet written (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.core.buffered_amount()
    }

    /// The URL connected to.
    pub fn url(&self) -> Option<&WsUrl> {
        self.core.url()
    }

    /// Messages and bytes both ways (the wire counts are bytes written to and
    /// read from the socket: TLS records for `wss://`), the compression ratio and
    /// the round-trip time of the latest answered ping; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// The address connected to (or being tried).
    pub fn peer_addr(&self) -> SocketAddr {
        self.target
    }

    /// The token given to [`register`](Self::register).
    pub fn token(&self) -> Option<Token> {
        self.token
    }

    /// The sans-I/O connection underneath, for inspection.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// True once the last event ([`Event::Close`]) has been delivered and the
    /// socket is shut down and deregistered: the connection may be dropped.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the WebSocket
    /// timers (handshake, close, keepalive), the end of the lingering after the
    /// close, or "now" when events wait to be delivered or reading paused to let
    /// other connections run. `None`: nothing to time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        if self.resume_now {
            return Some(Instant::now());
        }
        match (self.core.poll_timeout(), self.linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- registration -----

    /// Registers the socket with `registry` under `token`; every `mio` event with
    /// this token goes to [`handle_event`](Self::handle_event).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.token = Some(token);
        let interest = self.wanted_interest();
        match (self.socket.as_mut(), interest) {
            (Some(socket), Some(interest)) => {
                registry.register(socket, token, interest)?;
                self.interest = Some(interest);
            }
            _ => self.interest = None,
        }
        Ok(())
    }

    /// Removes the socket from `registry` (harmless if it is not registered).
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.token = None;
        if self.interest.take().is_some() {
            if let Some(socket) = self.socket.as_mut() {
                registry.deregister(socket)?;
            }
        }
        Ok(())
    }

    /// A [`Sender`] for other threads: its commands wake the loop through `waker`
    /// (the `Poll`'s one `mio::Waker`); when the loop sees the waker's token, call
    /// [`handle_wake`](Self::handle_wake) on each connection that has a sender.
    /// Every call returns a handle to the same queue.
    pub fn sender(&mut self, waker: Arc<Waker>) -> Sender {
        self.sender_with(waker, None)
    }

    pub(crate) fn sender_with(
        &mut self,
        waker: Arc<Waker>,
        ready: Option<(ReadyList, Token)>,
    ) -> Sender {
        let core = &self.core;
        let queue = self
            .sender
            .get_or_insert_with(|| SenderQueue::new(core, MioWake { waker, ready }));
        queue.sender()
    }

    // ----- inputs -----

    /// Handles a `mio` event for this connection's token: finishes the TCP connect,
    /// reads until `WouldBlock` or the read budget (32 reads per call; past it,
    /// [`poll_timeout`](Self::poll_timeout) says "now" and `handle_timeout` reads
    /// on), feeding the core and delivering every event to `callback` after each
    /// read, writes until `WouldBlock`, and re-arms the interest (WRITABLE only
    /// while output is pending). Spurious events are harmless.
    pub fn handle_event<F>(&mut self, registry: &Registry, event: &MioEvent, mut callback: F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        if self.finished {
            return;
        }
        let now = Instant::now();
        let failed = event.is_error() || event.is_read_closed() || event.is_write_closed();
        self.readable |= event.is_readable() || failed;
        self.writable |= event.is_writable() || failed;
        if !self.connected && self.socket.is_some() && !self.dead {
            self.finish_connect(registry, failed, now);
        }
        self.pump(registry, now, &mut callback);
    }

    /// Runs the timers due at `now` (harmless when early or repeated): a handshake
    /// that took too long, a close the peer never answered, a keepalive, the end of
    /// the lingering after the close; delivers the resulting events.
    pub fn handle_timeout<F>(&mut self, registry: &Registry, now: Instant, mut callback: F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        if self.finished {
            return;
        }
        if self.linger.is_some_and(|deadline| now >= deadline) {
            // The peer neither read our last bytes nor ended the stream in time.
            self.deliver(now, &mut callback);
            return self.finish(registry);
        }
        self.core.handle_timeout(now);
        self.pump(registry, now, &mut callback);
    }

    /// Applies the commands queued by this connection's [`Sender`]s, in order, and
    /// writes them. Call it when the `mio::Waker` given to [`sender`](Self::sender)
    /// fires. A command that finds the output full waits until it drains; those
    /// the connection will never send (it closed first) are counted in one
    /// [`Error::NotSent`] just before the `Close` event.
    pub fn handle_wake<F>(&mut self, registry: &Registry, mut callback: F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        if self.finished || self.sender.is_none() {
            return;
        }
        let now = Instant::now();
        self.apply_senders(now);
        self.pump(registry, now, &mut callback);
    }

    /// Hands the senders' commands to the core.
    fn apply_senders(&mut self, now: Instant) {
        if let Some(queue) = &self.sender {
            self.not_sent += queue.apply(&mut self.core, now);
        }
    }

    /// Tells the senders what the connection holds, and refuses them once it
    /// is closing.
    fn sync_senders(&mut self) {
        if let Some(queue) = &self.sender {
            self.not_sent += queue.sync(&self.core, 0);
        }
    }

    // ----- commands outside a callback -----

    /// Sends a text message from outside a callback; written at once as far as the
    /// socket allows, the rest when it becomes writable.
    pub fn send_text(&mut self, registry: &Registry, text: &str) -> Result<(), CommandError> {
        let result = self.core.send_text(text);
        self.after_command(registry, result)
    }

    /// Sends a binary message from outside a callback.
    pub fn send_binary(&mut self, registry: &Registry, data: &[u8]) -> Result<(), CommandError> {
        let result = self.core.send_binary(data);
        self.after_command(registry, result)
    }

    /// Sends a ping from outside a callback (at most 125 bytes of payload).
    pub fn ping(&mut self, registry: &Registry, payload: &[u8]) -> Result<(), CommandError> {
        let result = self.core.ping_at(Instant::now(), payload);
        self.after_command(registry, result)
    }

    /// Sends an unsolicited pong from outside a callback (at most 125 bytes of
    /// payload).
    pub fn pong(&mut self, registry: &Registry, payload: &[u8]) -> Result<(), CommandError> {
        let result = self.core.pong(payload);
        self.after_command(registry, result)
    }

    /// Starts the close handshake from outside a callback. Before the opening
    /// completes: if messages were sent (held until open), the close frame is
    /// held after them, the opening goes on, and `Open` is followed by the close
    /// handshake; with nothing sent, the connection ends at once (code 1006), its
    /// `Close` event delivered by the next `handle_timeout`
    /// ([`poll_timeout`](Self::poll_timeout) says "now").
    pub fn close(
        &mut self,
        registry: &Registry,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), CommandError> {
        let result = self.core.close(Instant::now(), code, reason);
        self.resume_now = true;
        self.after_command(registry, result)
    }

    fn after_command(
        &mut self,
        registry: &Registry,
        result: Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        result?;
        if !self.finished {
            let now = Instant::now();
            self.write(now);
            self.sync_senders();
            if let Err(e) = self.rearm(registry) {
                // Reported by the next `handle_timeout` (`poll_timeout` says now).
                self.fail_socket(e, now);
            }
        }
        Ok(())
    }

    // ----- the driver -----

    /// Step 3 of a non-blocking connect: writable → `take_error` → `peer_addr`.
    fn finish_connect(&mut self, registry: &Registry, failed: bool, now: Instant) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let error = match socket.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match socket.peer_addr() {
                Ok(_) => None,
                // Not connected yet: a spurious wake-up; wait for the next event.
                Err(_) if !failed => return,
                Err(e) => Some(e),
            },
        };
        match error {
            None => {
                self.connected = true;
                #[cfg(feature = "log")]
                log::debug!(
                    "TCP connected to {} in {:?}",
                    self.target,
                    now.saturating_duration_since(self.started_at)
                );
                // Small frames go out at once; WebSocket does its own batching.
                let _ = socket.set_nodelay(true);
            }
            Some(e) => {
                self.attempts.failed(self.target, &e);
                match self.fallbacks.pop_front() {
                    Some(next) => {
                        if self.interest.take().is_some() {
                            let _ = registry.deregister(socket);
                        }
                        self.socket = None;
                        self.target = next;
                        self.readable = false;
                        self.writable = false;
                        self.start_connect(Some(registry), now);
                    }
                    None => {
                        #[cfg(feature = "log")]
                        log::warn!("cannot connect to {}: {e}", self.target);
                        self.fail_every_address(now)
                    }
                }
            }
        }
    }

    /// Delivers events, writes, reads one chunk, and again, until the socket has
    /// nothing more to read; then re-arms the interest.
    fn pump<F>(&mut self, registry: &Registry, now: Instant, callback: &mut F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        self.resume_now = false;
        let mut budget = READ_BUDGET;
        loop {
            self.deliver(now, callback);
            self.write(now);
            if self.core.poll_transmit().is_none()
                && self.sender.as_ref().is_some_and(SenderQueue::has_commands)
            {
                // A command waited for the output to drain.
                self.apply_senders(now);
                self.write(now);
            }
            if self.core.is_closed() {
                if !self.connected || self.dead {
                    self.deliver(now, callback);
                    return self.finish(registry);
                }
                if self.core.poll_transmit().is_none() && !self.write_shut {
                    // Our last bytes (close frame, close_notify) are out: end our side.
                    let _ = self.socket.as_ref().map(|s| s.shutdown(Shutdown::Write));
                    self.write_shut = true;
                }
                if self.write_shut && self.read_closed {
                    return self.finish(registry);
                }
            }
            if !self.connected || self.dead || self.read_closed || !self.readable {
                break;
            }
            if budget == 0 {
                // Fairness: a busy peer must not starve the others. Readiness is
                // remembered; `poll_timeout` says "now" to come back for the rest.
                self.resume_now = true;
                break;
            }
            budget -= 1;
            if !self.read(now) {
                break;
            }
        }
        self.deliver(now, callback);
        self.sync_senders();
        if let Err(e) = self.rearm(registry) {
            self.fail_socket(e, now);
            self.pump(registry, now, callback);
        }
    }

    /// Hands every event the core has to the callback.
    fn deliver<F>(&mut self, now: Instant, callback: &mut F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        while let Some(event) = self.core.poll_event() {
            let event = match event {
                CoreEvent::Open(info) => {
                    self.opened = true;
                    Event::Open(*info)
                }
                CoreEvent::Message(message) => Event::Message(message),
                CoreEvent::Ping(payload) => Event::Ping(payload),
                CoreEvent::Pong(payload) => Event::Pong(payload),
                CoreEvent::Error(e) => {
                    let error = match self.socket_error.take() {
                        // The core only knows the stream ended; say why.
                        Some(socket_error) => socket_error,
                        None => sockette_driver::core_failure(
                            *e,
                            self.opened,
                            self.opening_step(),
                            &self.core,
                            &self.target_name,
                        ),
                    };
                    self.last_error = Some(error.to_string());
                    Event::Error(error)
                }
                CoreEvent::Close(mut info) => {
                    sockette_driver::explain_close(&mut info, self.last_error.take());
                    self.linger = Some(now + LINGER);
                    let refusal = self.refusal();
                    let ended = self.sender.as_ref().map_or(0, |s| s.end(refusal));
                    let not_sent = std::mem::take(&mut self.not_sent) + ended;
                    if not_sent > 0 {
                        let error = Error::NotSent { messages: not_sent };
                        self.call(now, callback, Event::Error(error));
                    }
                    Event::Close(info)
                }
                _ => continue,
            };
            self.call(now, callback, event);
        }
    }

    fn call<F>(&mut self, now: Instant, callback: &mut F, event: Event)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        let mut handle = Handle {
            core: &mut self.core,
            token: self.token,
            now,
        };
        callback(&mut handle, event);
    }

    /// Writes until the core has nothing more or the socket would block.
    fn write(&mut self, now: Instant) {
        while self.connected && self.writable && !self.dead && !self.write_shut {
            let (Some(socket), Some(bytes)) = (self.socket.as_mut(), self.core.poll_transmit())
            else {
                return;
            };
            match socket.write(bytes) {
                Ok(0) => self.fail_socket(io::ErrorKind::WriteZero.into(), now),
                Ok(n) => self.core.advance_transmit(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.fail_socket(e, now),
            }
        }
    }

    /// Reads one chunk into the core, straight into the room it lends (no copy
    /// between the socket and the core); false once the socket would block.
    fn read(&mut self, now: Instant) -> bool {
        let Some(socket) = self.socket.as_mut() else {
            return false;
        };
        let room = self.core.input_buffer(READ_CHUNK);
        match socket.read(room) {
            Ok(0) => {
                self.read_closed = true;
                self.core.handle_eof(now);
                true
            }
            Ok(n) => {
                self.core.handle_read(now, n);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                false
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(e) => {
                self.fail_socket(e, now);
                true
            }
        }
    }

    /// What a [`Sender`] is refused with once the connection is over: the
    /// core's own answer, with the core's error when a failure ended it.
    fn refusal(&self) -> CommandError {
        CommandError::Closed(self.core.failure().cloned().map(Box::new))
    }

    /// The socket failed: no more I/O; the core reports the end (our error in
    /// place of its own), then the close.
    /// The last opening step started: TCP until connected, then TLS
    /// (`wss://`) or the HTTP upgrade.
    fn opening_step(&self) -> ConnectStep {
        if !self.connected {
            ConnectStep::Tcp
        } else if self.core.is_tls() {
            ConnectStep::Tls
        } else {
            ConnectStep::Upgrade
        }
    }

    /// No address could be connected to: the error names each with its failure.
    fn fail_every_address(&mut self, now: Instant) {
        let error = std::mem::take(&mut self.attempts).into_error();
        self.fail_socket(error, now);
    }

    /// The socket failed: an opening failure naming its step before `Open`,
    /// a socket error after.
    fn fail_socket(&mut self, error: io::Error, now: Instant) {
        let step = self.opening_step();
        let error = sockette_driver::socket_failure(
            error,
            self.opened,
            step,
            &self.core,
            &self.target_name,
        );
        self.fail(error, now);
    }

    fn fail(&mut self, error: Error, now: Instant) {
        self.dead = true;
        self.resume_now = true;
        // After EOF the core reports the end itself, once the frames buffered
        // before it are delivered; a later failure is its consequence.
        if !self.core.is_closed() && !self.read_closed {
            self.socket_error = Some(error);
            self.core.handle_eof(now);
        }
    }

    /// READABLE always; WRITABLE while connecting and while output is pending.
    fn wanted_interest(&self) -> Option<Interest> {
        if self.finished || self.socket.is_none() {
            None
        } else if self.dead {
            // Leave it as it is until finished.
            self.interest
        } else if !self.connected || (!self.write_shut && self.core.poll_transmit().is_some()) {
            Some(Interest::READABLE | Interest::WRITABLE)
        } else {
            Some(Interest::READABLE)
        }
    }

    fn rearm(&mut self, registry: &Registry) -> io::Result<()> {
        if self.interest.is_none() {
            return Ok(()); // not registered
        }
        let wanted = self.wanted_interest();
        if let (Some(token), Some(socket), Some(interest)) =
            (self.token, self.socket.as_mut(), wanted)
        {
            if Some(interest) != self.interest {
                registry.reregister(socket, token, interest)?;
                self.interest = Some(interest);
            }
        }
        Ok(())
    }

    fn finish(&mut self, registry: &Registry) {
        self.finished = true;
        self.linger = None;
        self.resume_now = false;
        if let Some(socket) = self.socket.as_mut() {
            if self.interest.take().is_some() {
                let _ = registry.deregister(socket);
            }
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.socket = None;
        if let Some(queue) = &self.sender {
            // Refused since the `Close` was delivered: nothing can be queued.
            queue.end(self.refusal());
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target)
            .field("token", &self.token)
            .field("state", &self.core.state())
            .field("connected", &self.connected)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}
