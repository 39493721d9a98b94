//! [`Session`]: one core driven over one non-blocking socket registered in a
//! `mio::Poll`, the logic every backend runs. The backend owns the `Poll` (its
//! own, or the caller's) and calls in: readiness ([`Session::on_ready`]), a
//! wake-up ([`Session::on_wake`]), a deadline ([`Session::on_timeout`]); then
//! pulls events with [`Session::next_event`], which does the I/O they need.
//!
//! Rules: write until `WouldBlock`; read (into the room the core lends) until
//! `WouldBlock` or the read budget (so that a busy peer does not starve a
//! loop's other connections: readiness is remembered and `poll_timeout` says
//! "now"); decode one event at a time, so that what a callback answers is
//! queued before later frames are judged; ask for WRITABLE only while output
//! is pending. After the core's `Close`, our last bytes go out, our side is
//! shut, the peer's end is awaited up to [`LINGER`], the socket is dropped,
//! and only then is `Close` handed out: closed means closed.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use mio::event::Event as MioEvent;
use mio::{Interest, Registry, Token};
use sockette_core::{
    ClientConfig, CloseInfo, CommandError, Connection as Core, Error as CoreError,
    Event as CoreEvent, HandshakeError, RedirectError, TimeoutKind, WsUrl, REDIRECT_CODES,
};

use crate::connecting::{Connecting, Progress};
use crate::resolve::{attempt_order, Resolution};
use crate::sender::{Sender, SenderQueue, Wake};
use crate::stream::Stream;
use crate::{ConnectStep, Error, Event, SocketOptions, LINGER};

/// Bytes asked of the socket per read, into the room the core lends (its
/// input buffer's, so nothing is copied on the way in), at first: an idle
/// connection then holds little room (the core makes room for four reads).
const SMALL_READ: u32 = 1 << 10;

/// The most asked per read: a read that fills what it asked for asks four
/// times as much next, up to this.
const LARGE_READ: u32 = 32 << 10;

/// A wake-up that read less than this goes back to [`SMALL_READ`] (the
/// traffic is small messages, or none); after more, reads stay large.
const SMALL_WAKEUP: u32 = 16 << 10;

/// Reads per wake-up before yielding to a loop's other connections (1 MiB);
/// the rest is read when `poll_timeout` (which then says "now") is honoured.
const READ_BUDGET: u8 = 32;

/// One connection's driver: the core, the socket, the senders' queue, the
/// lifecycle from the name lookup to the last event.
pub struct Session {
    core: Core,
    stage: Stage,
    token: Option<Token>,
    /// The `host:port` (or peer address) errors name.
    target: String,
    /// The proxy gone through, as errors name it (no password).
    via: Option<String>,
    /// The `Open` event was handed out: failures are no longer opening failures.
    opened: bool,
    /// A socket error to report in place of the core's "connection lost".
    socket_error: Option<Error>,
    /// The text of the last error reported: the reason of a failure's `Close`.
    last_error: Option<String>,
    sender: Option<SenderQueue>,
    /// Sender commands accepted and never to be sent, reported before `Close`.
    not_sent: usize,
    /// Come back at once: reading stopped at its budget, or events wait.
    resume_now: bool,
    reads_left: u8,
    /// What the next read asks for, and what this wake-up read so far.
    read_size: u32,
    read_this_wakeup: u32,
    /// The end's events (`NotSent`, `Close`), held until the socket is gone.
    held: VecDeque<Event>,
    close_info: Option<CloseInfo>,
    peer: Option<SocketAddr>,
    /// What following redirects needs, when they are followed.
    redirects: Option<Box<Redirects>>,
    /// When the session was made: the lookup's and connect's timings in the log.
    #[cfg(feature = "log")]
    started_at: Instant,
}

/// Where the connection is, with what each stage needs.
#[derive(Debug)]
enum Stage {
    /// The host name (the server's or the proxy's) is being looked up; then
    /// TCP with these options.
    Resolving(Lookup),
    /// TCP attempts are under way.
    Connecting(Connecting),
    /// The stream is up: the core runs TLS, the upgrade, the WebSocket.
    Connected(Link),
    /// The core has closed: our last bytes go out and, after a clean close,
    /// the peer's end is awaited.
    Lingering(Link, Linger),
    /// No socket any more: the core's last events, then the held ones.
    Unlinked,
    /// Every event, `Close` last, was handed out.
    Finished,
}

/// What a session keeps to follow a redirect with a new connection.
struct Redirects {
    /// The configuration for the next hop, as the caller gave it (the
    /// environment's proxy is chosen again for each URL), the credentials
    /// of every origin left behind already dropped.
    config: ClientConfig,
    options: SocketOptions,
    wake: Arc<dyn Wake>,
    /// Hops still allowed.
    left: u32,
    /// The URLs so far, the first one first.
    chain: Vec<String>,
    /// The first opening's deadline: the whole chain counts against it.
    deadline: Option<Instant>,
}

impl std::fmt::Debug for Redirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redirects")
            .field("left", &self.left)
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

/// A shared waker, for each hop's lookup.
struct SharedWake(Arc<dyn Wake>);

impl Wake for SharedWake {
    fn wake(&self) -> io::Result<()> {
        self.0.wake()
    }
}

/// The core of a client connection this driver dials: the environment's
/// proxy unless the configuration chose, the wall clock for certificates.
fn dialed_core(config: ClientConfig, now: Instant) -> Result<Core, Error> {
    let config = crate::with_environment_proxy(config)?;
    // The core reads no clock: certificates are checked against this time.
    let config = config.wall_clock(std::time::SystemTime::now());
    Ok(Core::client(config, now)?)
}

/// The names an opening looks up before it connects.
#[derive(Debug)]
struct Lookup {
    /// The host to connect to: the server's, or the proxy's.
    dial: Resolution,
    /// Its addresses, kept while the destination's lookup runs.
    dial_addrs: Option<Vec<SocketAddr>>,
    /// For a `socks5://` proxy: the server's name, resolved here because the
    /// proxy is given an address.
    destination: Option<Resolution>,
    options: SocketOptions,
}

impl Lookup {
    /// Looks up the host `core` connects to (the server's or its proxy's),
    /// and the server's too for a `socks5://` proxy; `wake` is called as
    /// each answer arrives.
    fn start(core: &Core, options: SocketOptions, wake: Box<dyn Wake>) -> Lookup {
        let url = core.url().expect("a client connection has a URL");
        let (host, port) = match core.proxy() {
            Some(proxy) => (proxy.host(), proxy.port()),
            None => (url.host(), url.port()),
        };
        let wake: Arc<dyn Wake> = Arc::from(wake);
        let dial = Resolution::start(host, port, Box::new(SharedWake(wake.clone())));
        let destination = core
            .proxy_destination_to_resolve()
            .map(|name| Resolution::start(name, url.port(), Box::new(SharedWake(wake))));
        Lookup {
            dial,
            dial_addrs: None,
            destination,
            options,
        }
    }
}

/// How long a closed connection keeps its socket, and what for.
#[derive(Debug)]
struct Linger {
    until: Instant,
    /// After a clean close the server ends TCP first (RFC 6455 §7.1.1): wait
    /// for it. After a failure there is nothing to wait for but our bytes.
    awaits_peer_end: bool,
}

/// A connected stream and what its readiness was last seen to be (mio is
/// edge-triggered: readiness holds until an operation would block, or one
/// comes back short, which means the socket was drained or filled then:
/// anything after makes a new edge, so the call that would say `WouldBlock`
/// is saved).
#[derive(Debug)]
struct Link {
    stream: Stream,
    /// What the stream is registered for; `None` when not registered.
    interest: Option<Interest>,
    readable: bool,
    writable: bool,
    /// The poll reported the peer's end or an error: read until a read says
    /// which (0 or the error), however short the reads before it, since no
    /// new edge will come for it.
    peer_ended: bool,
    read_closed: bool,
    write_shut: bool,
}

impl Link {
    fn new(stream: Stream, interest: Option<Interest>) -> Link {
        Link {
            stream,
            interest,
            // Try at once: a wasted call costs one `WouldBlock`.
            readable: true,
            writable: true,
            peer_ended: false,
            read_closed: false,
            write_shut: false,
        }
    }
}

impl Session {
    /// A client connection to its URL's host, or to its proxy's
    /// ([`Core::proxy`]): the name is looked up on a thread of its own (an IP
    /// literal needs none), which calls `wake` when done; the driving thread
    /// then calls [`on_wake`](Self::on_wake). For a `socks5://` proxy the
    /// server's name is looked up too, and its address given to the core.
    pub fn resolving(core: Core, options: SocketOptions, wake: impl Wake + 'static) -> Session {
        let lookup = Lookup::start(&core, options, Box::new(wake));
        let mut session = Session::new(core, Stage::Resolving(lookup));
        // An IP literal is known at once: the first call goes on from there.
        session.resume_now = true;
        session
    }

    /// A client connection made from `config` (the environment's proxy
    /// unless it chose, see [`with_environment_proxy`](crate::with_environment_proxy)),
    /// started as [`resolving`](Self::resolving) says; with
    /// [`ClientConfig::max_redirects`], the redirects it meets are followed,
    /// each with a new connection, within the first one's opening deadline.
    pub fn start(
        config: ClientConfig,
        options: SocketOptions,
        wake: impl Wake + Clone + 'static,
    ) -> Result<Session, Error> {
        let now = Instant::now();
        let core = dialed_core(config.clone(), now)?;
        let mut session = Session::resolving(core, options, wake.clone());
        if config.redirects_allowed() > 0 {
            session.redirects = Some(Box::new(Redirects {
                chain: vec![config.url().to_string()],
                left: config.redirects_allowed(),
                deadline: now.checked_add(config.configured_timeouts().handshake),
                config,
                options,
                wake: Arc::new(wake),
            }));
        }
        Ok(session)
    }

    /// A client connection to these addresses, tried as RFC 8305 says.
    /// The first attempt starts now; its socket is registered by
    /// [`register`](Self::register).
    pub fn to_addrs(core: Core, options: SocketOptions, addrs: Vec<SocketAddr>) -> Session {
        let connecting =
            Connecting::start(attempt_order(addrs), options, None, None, Instant::now());
        let mut session = Session::new(core, Stage::Connecting(connecting));
        // Every address may have failed at once: the first call reports it.
        session.resume_now = true;
        session
    }

    /// A connection over a stream connected already (the caller's, or one
    /// whose upgrade was done elsewhere: then `core` is an upgraded one).
    pub fn over_stream(core: Core, stream: Stream) -> Session {
        let peer = stream.peer_addr();
        let mut session = Session::new(core, Stage::Connected(Link::new(stream, None)));
        session.peer = peer;
        if session.core.url().is_none() {
            session.target = peer.map_or_else(|| "the stream".into(), |p| p.to_string());
        }
        session.resume_now = true;
        session
    }

    fn new(core: Core, stage: Stage) -> Session {
        let target = core.url().map(crate::target_of).unwrap_or_default();
        let via = core.proxy().map(ToString::to_string);
        Session {
            core,
            stage,
            token: None,
            target,
            via,
            opened: false,
            socket_error: None,
            last_error: None,
            sender: None,
            not_sent: 0,
            resume_now: false,
            reads_left: READ_BUDGET,
            read_size: SMALL_READ,
            read_this_wakeup: 0,
            held: VecDeque::new(),
            close_info: None,
            peer: None,
            redirects: None,
            #[cfg(feature = "log")]
            started_at: Instant::now(),
        }
    }

    // ----- getters -----

    /// The sans-I/O connection.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The sans-I/O connection, for commands (then call
    /// [`after_command`](Self::after_command), or let the next
    /// [`next_event`](Self::next_event) write them).
    pub fn core_mut(&mut self) -> &mut Core {
        &mut self.core
    }

    /// Bytes accepted and not yet written: in the core and queued by senders
    /// (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.core.buffered_amount() + self.sender.as_ref().map_or(0, SenderQueue::queued_bytes)
    }

    /// The address connected to, once TCP is connected.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The token given to [`register`](Self::register).
    pub fn token(&self) -> Option<Token> {
        self.token
    }

    /// How the connection ended, once its `Close` was handed out.
    pub fn close_info(&self) -> Option<&CloseInfo> {
        self.close_info.as_ref()
    }

    /// True once every event, `Close` last, was handed out (the socket is
    /// gone by then).
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Finished)
    }

    /// When to call [`on_timeout`](Self::on_timeout) next: the core's timers,
    /// the next connection attempt, the end of the linger, or "now" when
    /// events wait or reading paused at its budget. `None`: nothing to time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let own = match &self.stage {
            Stage::Finished => return None,
            _ if self.resume_now => return Some(Instant::now()),
            // The end's events wait to be handed out.
            Stage::Unlinked if self.core.is_closed() => return Some(Instant::now()),
            Stage::Unlinked => None,
            Stage::Connecting(c) => c.next_attempt_at(),
            Stage::Lingering(_, linger) => Some(linger.until),
            Stage::Resolving(..) | Stage::Connected(_) => None,
        };
        match (self.core.poll_timeout(), own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A [`Sender`] for other threads; the first call sets how they wake the
    /// driving thread, which then calls [`on_wake`](Self::on_wake). Every call
    /// returns a handle to the same queue.
    pub fn sender(&mut self, wake: impl Wake + 'static) -> Sender {
        let core = &self.core;
        self.sender
            .get_or_insert_with(|| SenderQueue::new(core, wake))
            .sender()
    }

    // ----- registration -----

    /// Registers the socket (or the connection attempts) under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.token = Some(token);
        match &mut self.stage {
            Stage::Connecting(c) => c.register(registry, token)?,
            Stage::Connected(link) | Stage::Lingering(link, _) => {
                let interest = Interest::READABLE | Interest::WRITABLE;
                registry.register(&mut link.stream, token, interest)?;
                link.interest = Some(interest);
            }
            Stage::Resolving(..) | Stage::Unlinked | Stage::Finished => {}
        }
        Ok(())
    }

    /// Removes the socket from `registry`.
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.token = None;
        match &mut self.stage {
            Stage::Connecting(c) => c.deregister(registry),
            Stage::Connected(link) | Stage::Lingering(link, _) => {
                if link.interest.take().is_some() {
                    registry.deregister(&mut link.stream)?;
                }
            }
            Stage::Resolving(..) | Stage::Unlinked | Stage::Finished => {}
        }
        Ok(())
    }

    // ----- inputs -----

    /// The socket (or an attempt) is ready: remember how, and go on with the
    /// connect. Spurious events are harmless.
    pub fn on_ready(&mut self, registry: &Registry, event: &MioEvent, now: Instant) {
        self.reads_left = READ_BUDGET;
        let failed = event.is_error() || event.is_read_closed() || event.is_write_closed();
        match &mut self.stage {
            Stage::Connecting(_) => self.progress_connect(registry, now),
            Stage::Connected(link) | Stage::Lingering(link, _) => {
                link.readable |= event.is_readable() || failed;
                link.writable |= event.is_writable() || failed;
                link.peer_ended |= failed;
            }
            _ => {}
        }
    }

    /// Something woke the driving thread: the name lookup's answer, or
    /// commands queued by senders.
    pub fn on_wake(&mut self, registry: &Registry, now: Instant) {
        self.reads_left = READ_BUDGET;
        self.take_resolution(registry, now);
        if let Some(queue) = &self.sender {
            self.not_sent += queue.apply(&mut self.core, now);
        }
    }

    /// Runs what is due at `now` (harmless when early or repeated): the
    /// core's timers, the next connection attempt, the end of the linger.
    pub fn on_timeout(&mut self, registry: &Registry, now: Instant) {
        self.reads_left = READ_BUDGET;
        self.resume_now = false;
        match &self.stage {
            Stage::Resolving(..) => self.take_resolution(registry, now),
            // The next attempt may be due, or every address failed at once.
            Stage::Connecting(_) => self.progress_connect(registry, now),
            // The peer neither took our last bytes nor ended in time.
            Stage::Lingering(_, linger) if now >= linger.until => self.unlink(registry),
            _ => {}
        }
        self.core.handle_timeout(now);
    }

    /// Writes what the core holds, as far as the socket takes it, then
    /// re-arms the interest: call after commands made outside a callback.
    pub fn after_command(&mut self, registry: &Registry, now: Instant) {
        self.flush(registry, now);
        // A close before the opening ends the connection at once: its events
        // wait in the core, with no I/O to bring the driver back.
        self.resume_now |= self.core.is_closed();
    }

    /// Writes what the core holds, as far as the socket takes it, then
    /// settles (see [`settle`](Self::settle)): after a callback's answers.
    pub fn flush(&mut self, registry: &Registry, now: Instant) {
        self.write(registry, now);
        self.settle(registry, now);
    }

    /// After a batch of events: tells the senders what the connection holds
    /// (refusing them once it is closing) and re-arms the interest.
    pub fn settle(&mut self, registry: &Registry, now: Instant) {
        if let Some(queue) = &self.sender {
            self.not_sent += queue.sync(&self.core, 0);
        }
        if let Err(e) = self.rearm(registry) {
            self.fail_socket(registry, e, now);
        }
    }

    /// The next event, after the I/O it needs (reads within the budget,
    /// writes, the connect, the linger); `None` when there is none for now.
    pub fn next_event(&mut self, registry: &Registry, now: Instant) -> Option<Event> {
        loop {
            if matches!(self.stage, Stage::Finished) {
                return None;
            }
            if let Some(event) = self.core.poll_event() {
                match self.translate(registry, event, now) {
                    Some(event) => return Some(event),
                    None => continue,
                }
            }
            if matches!(self.stage, Stage::Unlinked) {
                match self.held.pop_front() {
                    Some(event) => {
                        if self.held.is_empty() {
                            self.finish();
                        }
                        return Some(event);
                    }
                    // The core still reports the end (its events come first).
                    None if !self.core.is_closed() => return None,
                    None => {
                        self.finish();
                        return None;
                    }
                }
            }
            match &self.stage {
                Stage::Resolving(..) => self.take_resolution(registry, now),
                // Every address failed at once: say so.
                Stage::Connecting(c) if c.is_exhausted() => self.progress_connect(registry, now),
                _ => {}
            }
            self.write(registry, now);
            if self.core.poll_transmit().is_none()
                && self.sender.as_ref().is_some_and(SenderQueue::has_commands)
            {
                // A command waited for the output to drain.
                if let Some(queue) = &self.sender {
                    self.not_sent += queue.apply(&mut self.core, now);
                }
                self.write(registry, now);
            }
            if self.linger_done() {
                self.unlink(registry);
                continue;
            }
            if !self.can_read() {
                // Everything that could be done now is done.
                self.resume_now = false;
                return None;
            }
            if self.reads_left == 0 {
                self.resume_now = true;
                return None;
            }
            self.reads_left -= 1;
            self.read(registry, now);
        }
    }

    /// Shuts the socket down and drops it at once, without waiting for the
    /// peer (a backend's drop); the core's events remain.
    pub fn shut_down(&mut self, registry: &Registry) {
        self.unlink(registry);
    }

    /// True while the core holds bytes to write and a socket could take them.
    pub fn has_output(&self) -> bool {
        matches!(self.stage, Stage::Connected(_) | Stage::Lingering(..))
            && self.core.poll_transmit().is_some()
    }

    // ----- the lifecycle -----

    fn take_resolution(&mut self, registry: &Registry, now: Instant) {
        let Stage::Resolving(lookup) = &mut self.stage else {
            return;
        };
        if lookup.dial_addrs.is_none() {
            match lookup.dial.take() {
                None => {}
                Some(Ok(addrs)) => {
                    #[cfg(feature = "log")]
                    log::debug!(
                        "resolved {} in {:?}: {addrs:?}",
                        match self.core.proxy() {
                            Some(proxy) => proxy.host(),
                            None => self.core.url().map_or("", |u| u.host()),
                        },
                        now.saturating_duration_since(self.started_at)
                    );
                    lookup.dial_addrs = Some(addrs);
                }
                Some(Err(e)) => {
                    let e = match self.core.proxy() {
                        Some(proxy) => io::Error::new(
                            e.kind(),
                            format!("the proxy's host {}: {e}", proxy.host()),
                        ),
                        None => e,
                    };
                    return self.fail_socket(registry, e, now);
                }
            }
        }
        if let Some(destination) = &mut lookup.destination {
            match destination.take() {
                None => return,
                // The resolver's first choice: the proxy connects to one.
                Some(Ok(addrs)) => {
                    lookup.destination = None;
                    if let Some(first) = addrs.first() {
                        self.core.resolve_proxy_destination(first.ip());
                    }
                }
                Some(Err(e)) => {
                    let e = io::Error::new(
                        e.kind(),
                        format!("the server's host, resolved here for a socks5:// proxy: {e}"),
                    );
                    return self.fail_socket(registry, e, now);
                }
            }
        }
        let Stage::Resolving(lookup) = &mut self.stage else {
            return;
        };
        let Some(addrs) = lookup.dial_addrs.take() else {
            return;
        };
        let addrs = attempt_order(addrs);
        let connecting = Connecting::start(addrs, lookup.options, Some(registry), self.token, now);
        self.stage = Stage::Connecting(connecting);
        self.progress_connect(registry, now);
    }

    fn progress_connect(&mut self, registry: &Registry, now: Instant) {
        let Stage::Connecting(connecting) = &mut self.stage else {
            return;
        };
        match connecting.progress(registry, self.token, now) {
            Progress::Pending => {}
            Progress::Connected(socket, addr) => {
                #[cfg(feature = "log")]
                log::debug!(
                    "TCP connected to {addr} in {:?}",
                    now.saturating_duration_since(self.started_at)
                );
                let interest = self.token.map(|_| Interest::READABLE | Interest::WRITABLE);
                self.stage = Stage::Connected(Link::new(Stream::Tcp(socket), interest));
                self.peer = Some(addr);
                self.resume_now = true;
            }
            Progress::Failed(e) => {
                #[cfg(feature = "log")]
                log::warn!("cannot connect to {}: {e}", self.target);
                self.fail_socket(registry, e, now)
            }
        }
    }

    /// The core has closed and our side is done: our last bytes are out (or
    /// the socket failed) and the peer ended its side.
    fn linger_done(&mut self) -> bool {
        let Stage::Lingering(link, linger) = &mut self.stage else {
            return false;
        };
        if !link.write_shut && self.core.poll_transmit().is_none() {
            // Our last bytes (close frame, close_notify) are out: end our side.
            let _ = link.stream.shutdown(Shutdown::Write);
            link.write_shut = true;
        }
        link.write_shut && (link.read_closed || !linger.awaits_peer_end)
    }

    /// Drops the socket (or the attempts): nothing more is read or written.
    fn unlink(&mut self, registry: &Registry) {
        match std::mem::replace(&mut self.stage, Stage::Unlinked) {
            Stage::Connecting(mut c) => c.deregister(registry),
            Stage::Connected(mut link) | Stage::Lingering(mut link, _) => {
                if link.interest.take().is_some() {
                    let _ = registry.deregister(&mut link.stream);
                }
                let _ = link.stream.shutdown(Shutdown::Both);
            }
            Stage::Finished => self.stage = Stage::Finished,
            Stage::Resolving(..) | Stage::Unlinked => {}
        }
        self.resume_now = true;
    }

    fn finish(&mut self) {
        self.stage = Stage::Finished;
        self.resume_now = false;
        if let Some(queue) = &self.sender {
            // Refused since the `Close`: nothing can be queued any more.
            queue.end(self.refusal());
        }
    }

    /// What a sender is refused with once the connection is over.
    fn refusal(&self) -> CommandError {
        CommandError::Closed(self.core.failure().cloned().map(Box::new))
    }

    // ----- events -----

    /// The backend's form of a core event; `None` for one held or dropped.
    fn translate(&mut self, registry: &Registry, event: CoreEvent, now: Instant) -> Option<Event> {
        match event {
            CoreEvent::Open(info) => {
                self.opened = true;
                Some(Event::Open(*info))
            }
            CoreEvent::Message(message) => Some(Event::Message(message)),
            CoreEvent::Ping(payload) => Some(Event::Ping(payload)),
            CoreEvent::Pong(payload) => Some(Event::Pong(payload)),
            CoreEvent::Error(e) => {
                let error = match (self.redirect_location(&e), self.socket_error.take()) {
                    (Some(location), _) => match self.follow(registry, &location, now) {
                        // The old connection's end is not this one's.
                        Ok(()) => return None,
                        Err(refused) => refused,
                    },
                    // The core only knows the stream ended; say why.
                    (None, Some(socket_error)) => socket_error,
                    (None, None) => self.explain(*e),
                };
                self.last_error = Some(error.to_string());
                Some(Event::Error(error))
            }
            CoreEvent::Close(mut info) => {
                crate::explain_close(&mut info, self.last_error.take());
                let ended = self.sender.as_ref().map_or(0, |s| s.end(self.refusal()));
                let messages = std::mem::take(&mut self.not_sent) + ended;
                if messages > 0 {
                    self.held
                        .push_back(Event::Error(Error::NotSent { messages }));
                }
                let clean = info.was_clean;
                self.close_info = Some(info.clone());
                self.held.push_back(Event::Close(info));
                match std::mem::replace(&mut self.stage, Stage::Unlinked) {
                    Stage::Connected(link) => {
                        let linger = Linger {
                            until: now + LINGER,
                            awaits_peer_end: clean,
                        };
                        self.stage = Stage::Lingering(link, linger);
                    }
                    other => {
                        self.stage = other;
                        self.unlink(registry);
                    }
                }
                None
            }
            // A kind of event this driver does not know yet.
            _ => None,
        }
    }

    /// Where a refused opening redirects to, when redirects are followed.
    fn redirect_location(&self, error: &CoreError) -> Option<String> {
        match (error, &self.redirects) {
            (
                CoreError::Handshake(HandshakeError::Status {
                    code,
                    location: Some(location),
                    ..
                }),
                Some(_),
            ) if !self.opened && REDIRECT_CODES.contains(code) => Some(location.clone()),
            _ => None,
        }
    }

    /// Follows a redirect to `location`: a new core for the next URL, looked
    /// up and connected afresh, what was sent before the opening carried
    /// over. The error when it is not followed (a downgrade, a loop, too
    /// many hops, a configuration the next URL cannot be opened with).
    fn follow(&mut self, registry: &Registry, location: &str, now: Instant) -> Result<(), Error> {
        let next = self.next_hop(location).map_err(|refused| {
            let error = CoreError::Redirect(refused);
            crate::core_failure(error, false, ConnectStep::Upgrade, &self.core, &self.target)
        })?;
        let Some(redirects) = self.redirects.as_mut() else {
            return Ok(());
        };
        let shown = next.to_string();
        redirects.chain.push(shown.clone());
        redirects.left -= 1;
        redirects.config = redirects.config.clone().redirected(next);
        // What is left of the first opening's deadline.
        let timeouts = redirects.config.configured_timeouts();
        let left = redirects
            .deadline
            .map_or(timeouts.handshake, |d| d.saturating_duration_since(now));
        let config = redirects.config.clone().timeouts(timeouts.handshake(left));
        let wake: Box<dyn Wake> = Box::new(SharedWake(redirects.wake.clone()));
        let options = redirects.options;
        let mut core = dialed_core(config, now)?;
        #[cfg(feature = "log")]
        log::debug!("redirected to {shown}");
        core.take_queued_before_open(&mut self.core);
        self.unlink(registry);
        self.core = core;
        self.target = self.core.url().map(crate::target_of).unwrap_or_default();
        self.via = self.core.proxy().map(ToString::to_string);
        self.peer = None;
        self.stage = Stage::Resolving(Lookup::start(&self.core, options, wake));
        self.resume_now = true;
        Ok(())
    }

    /// The URL a redirect to `location` leads to, unless it is refused: a
    /// downgrade, an unusable location, a loop, one hop too many.
    fn next_hop(&self, location: &str) -> Result<WsUrl, RedirectError> {
        let (Some(redirects), Some(current)) = (&self.redirects, self.core.url()) else {
            return Err(RedirectError::TooMany {
                max: 0,
                chain: Vec::new(),
            });
        };
        let next = current.redirect(location)?;
        let mut chain = redirects.chain.clone();
        chain.push(next.to_string());
        if redirects.chain.contains(&next.to_string()) {
            return Err(RedirectError::Loop { chain });
        }
        if redirects.left == 0 {
            let max = u32::try_from(redirects.chain.len().saturating_sub(1)).unwrap_or(u32::MAX);
            return Err(RedirectError::TooMany { max, chain });
        }
        Ok(next)
    }

    /// The core's error as the user sees it; an opening that timed out while
    /// connecting names every address and what became of it.
    fn explain(&mut self, error: CoreError) -> Error {
        if let (Stage::Connecting(c), CoreError::Timeout(TimeoutKind::Handshake)) =
            (&mut self.stage, &error)
        {
            let attempts = c.timed_out();
            let error =
                crate::socket_failure(attempts, false, ConnectStep::Tcp, &self.core, &self.target);
            return self.naming_proxy(error);
        }
        let step = self.opening_step();
        let error = crate::core_failure(error, self.opened, step, &self.core, &self.target);
        self.naming_proxy(error)
    }

    /// An opening's error, naming the proxy gone through.
    fn naming_proxy(&self, error: Error) -> Error {
        match error {
            Error::Connect(c) => Error::Connect(Box::new(c.via(self.via.clone()))),
            other => other,
        }
    }

    /// The opening step under way: DNS, TCP, the proxy's, then TLS
    /// (`wss://`) or the HTTP upgrade.
    fn opening_step(&self) -> ConnectStep {
        match &self.stage {
            Stage::Resolving(..) => ConnectStep::Resolve,
            Stage::Connecting(_) => ConnectStep::Tcp,
            _ if self.core.is_proxying() => ConnectStep::Proxy,
            _ if self.core.is_tls() => ConnectStep::Tls,
            _ => ConnectStep::Upgrade,
        }
    }

    /// The socket (or the backend's poll) failed, or could not be opened: no
    /// more I/O; the core reports the end with this error in place of its
    /// own, then the close.
    pub fn fail_socket(&mut self, registry: &Registry, error: io::Error, now: Instant) {
        let step = self.opening_step();
        let error = crate::socket_failure(error, self.opened, step, &self.core, &self.target);
        let error = self.naming_proxy(error);
        let eof_seen =
            matches!(&self.stage, Stage::Connected(l) | Stage::Lingering(l, _) if l.read_closed);
        self.unlink(registry);
        // After EOF the core reports the end itself, once the frames buffered
        // before it are delivered; a later failure is its consequence.
        if !self.core.is_closed() && !eof_seen {
            self.socket_error = Some(error);
            self.core.handle_eof(now);
        }
    }

    // ----- I/O -----

    fn can_read(&self) -> bool {
        matches!(&self.stage, Stage::Connected(l) | Stage::Lingering(l, _) if l.readable && !l.read_closed)
    }

    /// Writes until the core has nothing more or the socket would block.
    fn write(&mut self, registry: &Registry, now: Instant) {
        let (Stage::Connected(link) | Stage::Lingering(link, _)) = &mut self.stage else {
            return;
        };
        let mut failure = None;
        while link.writable && !link.write_shut {
            let Some(bytes) = self.core.poll_transmit() else {
                break;
            };
            match link.stream.write(bytes) {
                Ok(0) => {
                    failure = Some(io::ErrorKind::WriteZero.into());
                    break;
                }
                Ok(n) => {
                    // Short: the socket's buffer is full now.
                    link.writable = n == bytes.len();
                    self.core.advance_transmit(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => link.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            self.fail_socket(registry, e, now);
        }
    }

    /// Reads one chunk into the core, straight into the room it lends.
    fn read(&mut self, registry: &Registry, now: Instant) {
        let (Stage::Connected(link) | Stage::Lingering(link, _)) = &mut self.stage else {
            return;
        };
        let asked = self.read_size;
        let room = self.core.input_buffer(asked as usize);
        let room_len = room.len();
        let drained = match link.stream.read(room) {
            Ok(0) => {
                link.read_closed = true;
                self.core.handle_eof(now);
                false
            }
            Ok(n) => {
                self.core.handle_read(now, n);
                let short = n < room_len && !link.peer_ended;
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                self.read_this_wakeup = self.read_this_wakeup.saturating_add(n);
                if n >= asked {
                    self.read_size = (asked * 4).min(LARGE_READ);
                }
                short
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
            Err(e) => {
                self.fail_socket(registry, e, now);
                false
            }
        };
        if drained {
            if let Stage::Connected(link) | Stage::Lingering(link, _) = &mut self.stage {
                link.readable = false;
            }
            if std::mem::take(&mut self.read_this_wakeup) < SMALL_WAKEUP {
                self.read_size = SMALL_READ;
            }
        }
    }

    /// READABLE always; WRITABLE while output is pending.
    fn rearm(&mut self, registry: &Registry) -> io::Result<()> {
        let pending = self.core.poll_transmit().is_some();
        let (Stage::Connected(link) | Stage::Lingering(link, _)) = &mut self.stage else {
            return Ok(());
        };
        let (Some(token), Some(current)) = (self.token, link.interest) else {
            return Ok(()); // not registered
        };
        let wanted = if pending && !link.write_shut {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if wanted != current {
            registry.reregister(&mut link.stream, token, wanted)?;
            link.interest = Some(wanted);
        }
        Ok(())
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .field("stage", &self.stage)
            .field("state", &self.core.state())
            .finish_non_exhaustive()
    }
}
