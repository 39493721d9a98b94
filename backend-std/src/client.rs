//! [`Client`], the owned connection, and [`Handle`], what a callback receives to
//! answer from inside it. Both only translate calls into the driver's.

use std::net::{SocketAddr, TcpStream};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use sockette_core::{
    CloseCode, CloseInfo, CommandError, Message, Role, State, Stats, UpgradedConfig, WsUrl,
};

use crate::builder::ClientBuilder;
use crate::driver::Driver;
use crate::error::Error;
use crate::event::Event;
use crate::sender::Sender;

/// Events delivered by one [`Client::dispatch`] call at most, so that a flood of
/// messages cannot keep a UI thread inside it.
const DISPATCH_BUDGET: usize = 256;

/// The connection's commands and getters, as a callback sees it (the `ws` in
/// `client.run(|ws, event| ...)`). A [`Client`] has them all too. What a
/// callback sends is written when it returns, all in one go (as in
/// sockette-mio); outside a callback, at once.
///
/// Commands return the WebSocket layer's [`CommandError`], and queue nothing:
/// [`Closing`](CommandError::Closing) once the close handshake has started,
/// [`Closed`](CommandError::Closed) once the connection is over (with the
/// WebSocket layer's error when a failure ended it: for a socket error,
/// [`ConnectionLost`](sockette_core::Error::ConnectionLost); the socket's own
/// error was the [`Event::Error`]), [`OutputFull`](CommandError::OutputFull) when
/// the outgoing buffer is full, [`Invalid`](CommandError::Invalid) for an
/// argument that cannot be sent.
pub struct Handle {
    driver: Driver,
}

impl Handle {
    /// Sends a text message. Before `Open`, it is held and sent right after.
    pub fn send_text(&mut self, text: &str) -> Result<(), CommandError> {
        self.driver.command(|c, _| c.send_text(text))
    }

    /// Sends a binary message. Before `Open`, it is held and sent right after.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), CommandError> {
        self.driver.command(|c, _| c.send_binary(data))
    }

    /// Sends a message.
    pub fn send(&mut self, message: &Message) -> Result<(), CommandError> {
        self.driver.command(|c, _| c.send(message))
    }

    /// Sends a ping (at most 125 bytes); the pong arrives as [`Event::Pong`],
    /// and its round-trip time becomes [`Stats::latest_rtt`] in [`stats`](Self::stats).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        self.driver.command(|c, now| c.ping_at(now, payload))
    }

    /// Sends an unsolicited pong (at most 125 bytes), a one-way heartbeat
    /// (RFC 6455 §5.5.3). Pings from the peer are answered without this.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), CommandError> {
        self.driver.command(|c, _| c.pong(payload))
    }

    /// Starts the close handshake (WLanguage's `SocketFerme`). Messages keep
    /// arriving until the peer answers; then [`Event::Close`] reports its code.
    /// Before `Open`: if messages were sent (they are held until open), the close
    /// frame is held after them, the opening goes on, and `Open` is followed by
    /// the close handshake; with nothing sent, the opening is abandoned (a
    /// `Close` with code 1006).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), CommandError> {
        self.driver.command(|c, now| c.close(now, code, reason))
    }

    /// The browser's `readyState`: connecting, open, closing or closed.
    pub fn state(&self) -> State {
        self.driver.state()
    }

    /// Bytes queued and not yet written to the socket: in the connection's
    /// buffer, or queued by [`Sender`]s.
    pub fn buffered_amount(&self) -> usize {
        self.driver.buffered_amount()
    }

    /// A handle other threads use to send; see [`Sender`].
    pub fn sender(&self) -> Sender {
        self.driver.sender()
    }

    /// The URL connected to; `ws://<peer address>/` for a connection made with
    /// [`Client::from_upgraded_stream`].
    pub fn url(&self) -> &WsUrl {
        self.driver.url()
    }

    /// The address of the peer (the server, or the client of a stream upgraded
    /// as a server), once TCP is connected and until the close.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.driver.peer_addr()
    }

    /// Messages and bytes both ways, the compression ratio and the round-trip time
    /// of the latest answered ping (a keepalive or [`ping`](Self::ping)). The wire
    /// counts are bytes written to and read from the socket (TLS
    /// records for `wss://`); see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.driver.stats()
    }

    /// How the connection ended, once the `Close` event has been produced.
    pub fn close_info(&self) -> Option<&CloseInfo> {
        self.driver.close_info()
    }
}

/// A WebSocket client connection over `std::net`, owned by one thread.
///
/// Every event is delivered on the thread that calls [`run`](Self::run),
/// [`dispatch`](Self::dispatch), [`next_event`](Self::next_event) or the
/// `recv` family ([`recv`](Self::recv), [`recv_timeout`](Self::recv_timeout),
/// [`try_recv`](Self::try_recv), [`messages`](Self::messages)), and only
/// inside those calls: that
/// thread is the owner. Other threads send through a [`Sender`].
///
/// ```no_run
/// use sockette_std::{Client, CloseCode, Event};
///
/// let mut client = Client::connect("ws://127.0.0.1:9001/chat")?;
/// client.run(|ws, event| match event {
///     Event::Open(_) => {
///         let _ = ws.send_text("hello from sockette");
///     }
///     Event::Message(msg) => {
///         println!("received {msg:?}");
///         let _ = ws.close(CloseCode::Normal, "bye");
///     }
///     Event::Close(info) => println!("closed: {} {}", info.code, info.reason),
///     Event::Error(err) => eprintln!("socket error: {err}"),
///     _ => {}
/// })?;
/// # Ok::<(), sockette_std::Error>(())
/// ```
///
/// # Threads
/// None beside yours: the owner thread does every read and write itself,
/// through a readiness poll (`mio::Poll`) of the connection's own, which also
/// wakes when a [`Sender`] queues a command; a waiting call never blocks past
/// its timeout. The host name is looked up on a short-lived thread (the
/// system's lookup blocks and cannot be interrupted; an IP literal needs
/// none), so [`start`](Self::start) returns at once. When the connection
/// ends, the socket is shut down before the `Close` event is delivered, and
/// dropping an open client closes it (1001), flushing for up to 1 s.
///
/// # Connecting
/// Every address of the host is tried in the manner of RFC 8305: IPv6 first,
/// the families alternating, a new attempt every 250 ms while none has
/// answered, the first to connect winning; all within the opening's deadline
/// ([`ClientBuilder::connect_timeout`]). A failure names every address tried
/// and what became of it.
///
/// # Backpressure
/// Outgoing bytes wait in the connection's buffer, bounded by
/// [`Limits::max_buffered_output`](sockette_core::Limits) (64 MiB by default).
/// A send that would exceed the bound is refused with
/// [`CommandError::OutputFull`] and nothing is queued: watch
/// [`buffered_amount`](Handle::buffered_amount) and retry when it drops.
/// Incoming bytes are read only while the owner thread is in a call that
/// delivers events, at most 1 MiB per wake-up; then TCP flow control slows
/// the peer down, so a slow callback never makes memory grow.
pub struct Client {
    handle: Handle,
}

impl Client {
    /// Connects to `url` (`ws://` or `wss://`) with default settings, blocking
    /// until open; see [`ClientBuilder::connect`].
    pub fn connect(url: &str) -> Result<Client, Error> {
        ClientBuilder::new(url).connect()
    }

    /// Starts connecting to `url` and returns at once; see
    /// [`ClientBuilder::start`].
    pub fn start(url: &str) -> Result<Client, Error> {
        ClientBuilder::new(url).start()
    }

    /// Settings: subprotocols, headers, limits, deadlines, keepalive.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// A connection already open on `stream`, whose HTTP upgrade was done
    /// elsewhere (a small HTTP server of your own, a proxy library), as
    /// tungstenite's `from_raw_socket`. `role` is the side this end played in
    /// that handshake: `Role::Server` for a stream your server accepted and
    /// answered `101`, `Role::Client` for one you upgraded as the client.
    /// `config` carries what the handshake agreed (subprotocol,
    /// permessage-deflate: see [`UpgradedConfig`]) and the limits, deadlines and
    /// keepalive; `leftover` is whatever was read from `stream` past the end of
    /// the handshake's HTTP head (frames the peer sent right behind it).
    ///
    /// From then on it is a [`Client`] like any other: the same events,
    /// commands and close, driven by the owner thread (the stream is made
    /// non-blocking, with `TCP_NODELAY`). The first event is `Open` (no HTTP heads: the handshake was not
    /// seen here), and [`url`](Handle::url) is `ws://<peer address>/`, since no
    /// URL was given. The stream is plain TCP: for TLS, drive
    /// `sockette_core::Connection::upgraded` over your own TLS stream. Fails
    /// if the stream cannot be set up (made non-blocking, its peer address)
    /// or the poll cannot be created.
    ///
    /// ```no_run
    /// use std::net::TcpListener;
    /// use sockette_std::{Client, Event, Role, UpgradedConfig};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:9001")?;
    /// let (stream, _) = listener.accept()?;
    /// // ... read the request, answer "101 Switching Protocols" yourself ...
    /// let leftover: Vec<u8> = Vec::new(); // what was read past the request's head
    /// let mut ws = Client::from_upgraded_stream(stream, Role::Server, UpgradedConfig::new(), &leftover)?;
    /// ws.run(|ws, event| {
    ///     if let Event::Message(m) = event {
    ///         let _ = ws.send(&m); // echo
    ///     }
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_upgraded_stream(
        stream: TcpStream,
        role: Role,
        config: UpgradedConfig,
        leftover: &[u8],
    ) -> Result<Client, Error> {
        Ok(Client::from_driver(Driver::upgraded(
            stream, role, config, leftover,
        )?))
    }

    pub(crate) fn from_driver(driver: Driver) -> Client {
        Client {
            handle: Handle { driver },
        }
    }

    pub(crate) fn driver_mut(&mut self) -> &mut Driver {
        &mut self.handle.driver
    }

    /// Drives the connection until it is closed, calling `callback` on this
    /// thread for each event, `Close` last. The callback answers through its
    /// [`Handle`]. Returns how the connection ended, or [`Error::Closed`] if every
    /// event had already been delivered.
    pub fn run<F>(&mut self, mut callback: F) -> Result<CloseInfo, Error>
    where
        F: FnMut(&mut Handle, Event),
    {
        if self.handle.driver.is_done() {
            return Err(Error::Closed);
        }
        while let Some(event) = self.handle.driver.next_event(None) {
            self.handle.driver.before_callback();
            callback(&mut self.handle, event);
            self.handle.driver.after_callback();
        }
        self.handle
            .driver
            .close_info()
            .cloned()
            .ok_or(Error::Closed)
    }

    /// For a program with its own main loop (a UI thread): waits up to `timeout`
    /// for something to happen, calls `callback` for the events ready by then (at
    /// most 256), and returns how many there were. `Err(Error::Closed)` once every
    /// event, `Close` included, has been delivered.
    pub fn dispatch<F>(&mut self, timeout: Duration, mut callback: F) -> Result<usize, Error>
    where
        F: FnMut(&mut Handle, Event),
    {
        if self.handle.driver.is_done() {
            return Err(Error::Closed);
        }
        // A timeout too long for an `Instant` to hold is no deadline at all.
        let mut deadline = Instant::now().checked_add(timeout);
        let mut delivered = 0;
        while delivered < DISPATCH_BUDGET {
            let Some(event) = self.handle.driver.next_event(deadline) else {
                break;
            };
            self.handle.driver.before_callback();
            callback(&mut self.handle, event);
            self.handle.driver.after_callback();
            delivered += 1;
            // After the first event, only what is ready now.
            deadline = Some(Instant::now());
        }
        Ok(delivered)
    }

    /// The next event, waiting up to `timeout` (`None`: as long as it takes);
    /// `Ok(None)` when the timeout passed. `Err(Error::Closed)` once every event
    /// has been delivered.
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Event>, Error> {
        if self.handle.driver.is_done() {
            return Err(Error::Closed);
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        Ok(self.handle.driver.next_event(deadline))
    }

    /// The next message, blocking until one arrives (WLanguage's `SocketRead`).
    /// Other events are consumed: `Open`, pings and pongs silently; an error is
    /// returned as `Err` (the close follows it); the close as
    /// `Err(Error::Closed)`, with its code and reason in
    /// [`close_info`](Handle::close_info).
    ///
    /// ```no_run
    /// let mut ws = sockette_std::Client::connect("ws://127.0.0.1:9001/")?;
    /// ws.send_text("hello")?;
    /// let reply = ws.recv()?;
    /// println!("{reply:?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv(&mut self) -> Result<Message, Error> {
        loop {
            // Without a deadline, only the end stops the wait (as `Err`).
            if let Some(message) = self.recv_until(None)? {
                return Ok(message);
            }
        }
    }

    /// [`recv`](Self::recv), waiting at most `timeout`: `Ok(None)` when it
    /// passed without a message.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Message>, Error> {
        // A timeout too long for an `Instant` to hold is no deadline at all.
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// [`recv`](Self::recv) without waiting: a message that is already there
    /// (received, or readable at once), or `Ok(None)`.
    pub fn try_recv(&mut self) -> Result<Option<Message>, Error> {
        self.recv_until(Some(Instant::now()))
    }

    /// The messages, until the close: `for message in &mut client`. An error
    /// is yielded as `Err`, then the iteration ends with the close, whose code
    /// and reason stay in [`close_info`](Handle::close_info). Other events are
    /// consumed, as by [`recv`](Self::recv).
    ///
    /// ```no_run
    /// let mut ws = sockette_std::Client::connect("ws://127.0.0.1:9001/")?;
    /// ws.send_text("hello")?;
    /// for message in ws.messages() {
    ///     println!("{:?}", message?);
    /// }
    /// println!("closed: {:?}", ws.close_info());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn messages(&mut self) -> Messages<'_> {
        Messages { client: self }
    }

    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<Option<Message>, Error> {
        loop {
            if self.handle.driver.is_done() {
                return Err(Error::Closed);
            }
            match self.handle.driver.next_event(deadline) {
                None => return Ok(None),
                Some(Event::Message(m)) => return Ok(Some(m)),
                Some(Event::Error(e)) => return Err(e),
                Some(Event::Close(_)) => return Err(Error::Closed),
                Some(_) => {}
            }
        }
    }
}

/// The messages of a [`Client`], until its close: see [`Client::messages`].
#[derive(Debug)]
pub struct Messages<'a> {
    client: &'a mut Client,
}

impl Iterator for Messages<'_> {
    type Item = Result<Message, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.client.recv() {
            Ok(message) => Some(Ok(message)),
            Err(Error::Closed) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// `for message in &mut client`: [`Client::messages`].
impl<'a> IntoIterator for &'a mut Client {
    type Item = Result<Message, Error>;
    type IntoIter = Messages<'a>;

    fn into_iter(self) -> Messages<'a> {
        self.messages()
    }
}

impl Deref for Client {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        &self.handle
    }
}

impl DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Handle {
        &mut self.handle
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("url", self.driver.url())
            .field("state", &self.driver.state())
            .field("buffered_amount", &self.driver.buffered_amount())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}
