//! One WebSocket connection in a caller's `mio::Poll`: the shared driver
//! ([`sockette_driver::Session`]: the connect, reads and writes, timers, the
//! senders' queue, the close and linger) under this crate's API, and the
//! caller's callback receiving each event with a [`Handle`] to answer.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mio::event::Event as MioEvent;
use mio::net::TcpStream;
use mio::{Registry, Token, Waker};
use sockette_core::{
    ClientConfig, CloseCode, CommandError, Connection as Core, Message, Role, State, Stats,
    UpgradedConfig, WsUrl,
};
use sockette_driver::{LoopWake, ReadyList, Session, SocketOptions, Stream};

use crate::error::{ConnectCause, ConnectError, ConnectStep, Error};
use crate::event::Event;
use crate::sender::Sender;

/// A WebSocket client connection for a caller-owned `mio::Poll`.
///
/// Create it ([`start`](Self::start) looks the host name up on a thread of
/// its own and wakes your `Poll` when done; [`connect`](Self::connect) and
/// [`with_config`](Self::with_config) look it up on the calling thread, and
/// [`with_addr`](Self::with_addr) takes a resolved address), [`register`](Self::register) it
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
    session: Session,
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
    /// **Blocks** while the host name is resolved (use [`start`](Self::start)
    /// not to); the TCP connect itself does not block.
    pub fn connect(url: &str) -> Result<Connection, Error> {
        Self::with_config(ClientConfig::new(url)?)
    }

    /// Connects with these settings. **Blocks** while the host name (or the
    /// proxy's, see [`start`](Self::start)) is resolved (use
    /// [`start`](Self::start) not to); the addresses are then tried as
    /// [`start`](Self::start) says.
    pub fn with_config(config: ClientConfig) -> Result<Connection, Error> {
        let mut core = Self::client(config)?;
        let url = core.url().cloned().expect("a client connection has a URL");
        let via = core.proxy().map(ToString::to_string);
        let unresolved = |cause: io::Error| -> Error {
            let target = sockette_driver::target_of(&url);
            ConnectError::new(ConnectStep::Resolve, &target, ConnectCause::Io(cause))
                .via(via.clone())
                .into()
        };
        let (host, port) = match core.proxy() {
            Some(proxy) => (proxy.host().to_string(), proxy.port()),
            None => (url.host().to_string(), url.port()),
        };
        let addrs = sockette_driver::lookup(&host, port).map_err(unresolved)?;
        // A socks5:// proxy is given the server's address: resolved here too.
        if let Some(name) = core.proxy_destination_to_resolve().map(str::to_string) {
            let server = sockette_driver::lookup(&name, url.port()).map_err(unresolved)?;
            if let Some(first) = server.first() {
                core.resolve_proxy_destination(first.ip());
            }
        }
        Ok(Connection {
            session: Session::to_addrs(core, SocketOptions::new(), addrs),
        })
    }

    /// Connects without blocking: the host name is looked up on a thread of
    /// its own (an IP literal needs none), which wakes your `Poll` through
    /// `waker` when done; call [`handle_wake`](Self::handle_wake) when the
    /// waker's token comes up. The addresses are then tried in the manner of
    /// RFC 8305: IPv6 first, the families alternating, a new attempt every
    /// 250 ms while none has answered ([`sockette_driver::ATTEMPT_DELAY`]),
    /// the first to connect winning; all within the opening's deadline, and a
    /// failure names every address tried and what became of it.
    ///
    /// Through a proxy, the proxy's host is the one looked up and connected
    /// to: the one set with [`ClientConfig::proxy`], else the environment's
    /// (`wss_proxy`/`https_proxy` or `ws_proxy`/`http_proxy`, then
    /// `all_proxy`, minus `no_proxy` and loopback: see
    /// [`sockette_driver::ProxyChoice`]), unless
    /// [`ClientConfig::no_proxy`] says not to.
    pub fn start(config: ClientConfig, waker: Arc<Waker>) -> Result<Connection, Error> {
        Self::start_with_options(config, SocketOptions::new(), waker)
    }

    /// [`start`](Self::start), the TCP socket set up with `options` (a local
    /// address to bind, TCP keepalive, `TCP_NODELAY`) before it connects.
    pub fn start_with_options(
        config: ClientConfig,
        options: SocketOptions,
        waker: Arc<Waker>,
    ) -> Result<Connection, Error> {
        Ok(Connection {
            session: Session::start(config, options, LoopWake::new(waker))?,
        })
    }

    /// A client connection over a stream you connected (a `mio` TCP stream,
    /// or a `mio::net::UnixStream` to a server on a Unix socket): TLS (for
    /// `wss://`) and the HTTP upgrade run over it, the URL giving the `Host`
    /// header, the TLS server name and the path. [`register`](Self::register)
    /// it like any other; nothing is resolved or connected.
    ///
    /// ```no_run
    /// use mio::net::UnixStream;
    /// use sockette_mio::{ClientConfig, Connection};
    ///
    /// let stream = UnixStream::connect("/run/app/ws.sock")?;
    /// let ws = Connection::over(ClientConfig::new("ws://localhost/chat")?, stream)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn over(config: ClientConfig, stream: impl Into<Stream>) -> Result<Connection, Error> {
        let core = Self::client_as_given(config)?;
        Ok(Connection {
            session: Session::over_stream(core, stream.into()),
        })
    }

    /// [`start`](Self::start) for an [`EventLoop`](crate::EventLoop): the
    /// lookup's answer notes `token` in the loop's ready list.
    pub(crate) fn start_in_loop(
        config: ClientConfig,
        options: SocketOptions,
        wake: LoopWake,
    ) -> Result<Connection, Error> {
        Ok(Connection {
            session: Session::start(config, options, wake)?,
        })
    }

    /// Connects to `addr` with these settings, without resolving anything (the
    /// URL's host is still used for the `Host` header and TLS server name).
    /// No proxy is taken from the environment: with
    /// [`ClientConfig::proxy`], `addr` is the proxy's.
    pub fn with_addr(config: ClientConfig, addr: SocketAddr) -> Result<Connection, Error> {
        Self::with_addrs(config, vec![addr])
    }

    fn with_addrs(config: ClientConfig, addrs: Vec<SocketAddr>) -> Result<Connection, Error> {
        let core = Self::client_as_given(config)?;
        Ok(Connection {
            session: Session::to_addrs(core, SocketOptions::new(), addrs),
        })
    }

    /// The core for a connection this crate dials: the environment's proxy
    /// applies unless the configuration chose ([`ClientConfig::proxy`],
    /// [`ClientConfig::no_proxy`]).
    fn client(config: ClientConfig) -> Result<Core, Error> {
        Self::client_as_given(sockette_driver::with_environment_proxy(config)?)
    }

    /// The core for a stream or addresses the caller chose: no proxy from
    /// the environment (one set in `config` is where the stream leads).
    fn client_as_given(config: ClientConfig) -> Result<Core, Error> {
        // The core reads no clock: certificates are checked against this time.
        let config = config.wall_clock(std::time::SystemTime::now());
        Ok(Core::client(config, Instant::now())?)
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
        let _ = stream.set_nodelay(true);
        let core = Core::upgraded(role, config, Instant::now(), leftover)?;
        Ok(Connection {
            session: Session::over_stream(core, Stream::Tcp(stream)),
        })
    }

    // ----- getters -----

    /// The browser's `readyState`.
    pub fn state(&self) -> State {
        self.session.core().state()
    }

    /// Bytes accepted and not yet written: in the connection and queued by
    /// its [`Sender`]s (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.session.buffered_amount()
    }

    /// The URL connected to.
    pub fn url(&self) -> Option<&WsUrl> {
        self.session.core().url()
    }

    /// Messages and bytes both ways (the wire counts are bytes written to and
    /// read from the socket: TLS records for `wss://`), the compression ratio and
    /// the round-trip time of the latest answered ping; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.session.core().stats()
    }

    /// The address connected to, once TCP is connected.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.session.peer_addr()
    }

    /// The token given to [`register`](Self::register).
    pub fn token(&self) -> Option<Token> {
        self.session.token()
    }

    /// The sans-I/O connection underneath, for inspection.
    pub fn core(&self) -> &Core {
        self.session.core()
    }

    /// True once the last event ([`Event::Close`]) has been delivered, which
    /// happens once the socket is shut down and deregistered: the connection
    /// may be dropped.
    pub fn is_finished(&self) -> bool {
        self.session.is_finished()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the WebSocket
    /// timers (handshake, close, keepalive), the next connection attempt, the
    /// end of the lingering after the close, or "now" when events wait to be
    /// delivered or reading paused to let other connections run. `None`:
    /// nothing to time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    // ----- registration -----

    /// Registers the socket with `registry` under `token`; every `mio` event with
    /// this token goes to [`handle_event`](Self::handle_event).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.session.register(registry, token)
    }

    /// Removes the socket from `registry` (harmless if it is not registered).
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.session.deregister(registry)
    }

    /// A [`Sender`] for other threads: its commands wake the loop through `waker`
    /// (the `Poll`'s one `mio::Waker`); when the loop sees the waker's token, call
    /// [`handle_wake`](Self::handle_wake) on each connection that has a sender.
    /// Every call returns a handle to the same queue.
    pub fn sender(&mut self, waker: Arc<Waker>) -> Sender {
        self.session.sender(LoopWake::new(waker))
    }

    pub(crate) fn sender_in_loop(
        &mut self,
        waker: Arc<Waker>,
        ready: ReadyList,
        token: Token,
    ) -> Sender {
        self.session.sender(LoopWake::noting(waker, ready, token))
    }

    // ----- inputs -----

    /// Handles a `mio` event for this connection's token: goes on with the TCP
    /// connect, reads until `WouldBlock` or the read budget (32 reads per call;
    /// past it, [`poll_timeout`](Self::poll_timeout) says "now" and
    /// `handle_timeout` reads on), delivering every event to `callback`,
    /// writes until `WouldBlock`, and re-arms the interest (WRITABLE only while
    /// output is pending). Spurious events are harmless.
    pub fn handle_event<F>(&mut self, registry: &Registry, event: &MioEvent, mut callback: F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        let now = Instant::now();
        self.session.on_ready(registry, event, now);
        self.deliver(registry, now, &mut callback);
    }

    /// Runs the timers due at `now` (harmless when early or repeated): a handshake
    /// that took too long, the next connection attempt, a close the peer never
    /// answered, a keepalive, the end of the lingering after the close; delivers
    /// the resulting events.
    pub fn handle_timeout<F>(&mut self, registry: &Registry, now: Instant, mut callback: F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        self.session.on_timeout(registry, now);
        self.deliver(registry, now, &mut callback);
    }

    /// Takes the name lookup's answer (see [`start`](Self::start)) and applies
    /// the commands queued by this connection's [`Sender`]s, in order, and
    /// writes them. Call it when the `mio::Waker` given to
    /// [`start`](Self::start) or [`sender`](Self::sender) fires. A command that
    /// finds the output full waits until it drains; those the connection will
    /// never send (it closed first) are counted in one [`Error::NotSent`] just
    /// before the `Close` event.
    pub fn handle_wake<F>(&mut self, registry: &Registry, mut callback: F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        let now = Instant::now();
        self.session.on_wake(registry, now);
        self.deliver(registry, now, &mut callback);
    }

    /// Hands every event ready to the callback, then settles the senders and
    /// the interest.
    fn deliver<F>(&mut self, registry: &Registry, now: Instant, callback: &mut F)
    where
        F: FnMut(&mut Handle<'_>, Event),
    {
        let token = self.session.token();
        while let Some(event) = self.session.next_event(registry, now) {
            let mut handle = Handle {
                core: self.session.core_mut(),
                token,
                now,
            };
            callback(&mut handle, event);
        }
        self.session.settle(registry, now);
    }

    // ----- commands outside a callback -----

    /// Sends a text message from outside a callback; written at once as far as the
    /// socket allows, the rest when it becomes writable.
    pub fn send_text(&mut self, registry: &Registry, text: &str) -> Result<(), CommandError> {
        self.command(registry, |core, _| core.send_text(text))
    }

    /// Sends a binary message from outside a callback.
    pub fn send_binary(&mut self, registry: &Registry, data: &[u8]) -> Result<(), CommandError> {
        self.command(registry, |core, _| core.send_binary(data))
    }

    /// Sends a ping from outside a callback (at most 125 bytes of payload).
    pub fn ping(&mut self, registry: &Registry, payload: &[u8]) -> Result<(), CommandError> {
        self.command(registry, |core, now| core.ping_at(now, payload))
    }

    /// Sends an unsolicited pong from outside a callback (at most 125 bytes of
    /// payload).
    pub fn pong(&mut self, registry: &Registry, payload: &[u8]) -> Result<(), CommandError> {
        self.command(registry, |core, _| core.pong(payload))
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
        self.command(registry, |core, now| core.close(now, code, reason))
    }

    fn command(
        &mut self,
        registry: &Registry,
        command: impl FnOnce(&mut Core, Instant) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let now = Instant::now();
        command(self.session.core_mut(), now)?;
        self.session.after_command(registry, now);
        Ok(())
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("session", &self.session)
            .finish()
    }
}
