//! The owner thread's loop: the shared driver ([`Session`]) inside a
//! `mio::Poll` of this connection's own, with a `mio::Waker` for the
//! [`Sender`]s and the name lookup. The owner thread does every read and
//! write itself; the only other thread is the short-lived resolver (the
//! system's lookup blocks), so nothing here waits past the caller's deadline.
//!
//! This crate's own policy: dropping an open client closes it with 1001,
//! flushing for up to [`LINGER`] without waiting for the peer's answer.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use sockette_core::{
    ClientConfig, CloseCode, CloseInfo, CommandError, Connection, Error as CoreError, Role, State,
    UpgradedConfig, WsUrl,
};
use sockette_driver::{LoopWake, Session, SocketOptions, Stream, LINGER};

use crate::error::Error;
use crate::event::Event;
use crate::sender::Sender;

/// The socket's token in this connection's own `Poll`.
const SOCKET: Token = Token(0);
/// The waker's: senders and the resolver.
const WAKER: Token = Token(1);

pub(crate) struct Driver {
    poll: Poll,
    events: Events,
    session: Session,
    /// A handle to the session's sender queue (made at once: `sender()`
    /// takes `&self`).
    sender: Sender,
    url: WsUrl,
    /// An event taken early (`wait_open`'s `Open`), handed out first.
    stash: Option<Event>,
    /// Where commands come from: inside a callback they are written when it
    /// returns, all at once (as in sockette-mio); outside, at once.
    caller: Caller,
}

/// Who is making commands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// The owner thread, outside any callback.
    Owner,
    /// A callback of `run` or `dispatch`.
    Callback,
}

impl Driver {
    /// Creates the connection; the name lookup starts on its own thread and
    /// everything else happens in `next_event`. Returns at once.
    pub(crate) fn start(config: ClientConfig, options: SocketOptions) -> Result<Driver, Error> {
        let url = config.url().clone();
        let (poll, waker) = new_poll()?;
        let session = Session::start(config, options, LoopWake::new(waker.clone()))?;
        Driver::with(poll, waker, session, url)
    }

    /// A client connection over a stream the caller connected.
    pub(crate) fn over(config: ClientConfig, stream: Stream) -> Result<Driver, Error> {
        let url = config.url().clone();
        let (poll, waker) = new_poll()?;
        let session = Session::over_stream(client(config)?, stream);
        Driver::with(poll, waker, session, url)
    }

    /// A connection already open on `stream`, whose upgrade was done
    /// elsewhere. The stream is made non-blocking, with `TCP_NODELAY`.
    pub(crate) fn upgraded(
        stream: std::net::TcpStream,
        role: Role,
        config: UpgradedConfig,
        leftover: &[u8],
    ) -> Result<Driver, Error> {
        stream.set_nonblocking(true).map_err(Error::Io)?;
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().map_err(Error::Io)?;
        let url = WsUrl::parse(&format!("ws://{peer}/")).map_err(CoreError::from)?;
        let core = Connection::upgraded(role, config, Instant::now(), leftover)?;
        let stream = Stream::Tcp(mio::net::TcpStream::from_std(stream));
        let (poll, waker) = new_poll()?;
        Driver::with(poll, waker, Session::over_stream(core, stream), url)
    }

    fn with(
        poll: Poll,
        waker: Arc<Waker>,
        mut session: Session,
        url: WsUrl,
    ) -> Result<Driver, Error> {
        session
            .register(poll.registry(), SOCKET)
            .map_err(Error::Io)?;
        let sender = session.sender(LoopWake::new(waker));
        Ok(Driver {
            poll,
            events: Events::with_capacity(8),
            session,
            sender,
            url,
            stash: None,
            caller: Caller::Owner,
        })
    }

    // ----- getters -----

    pub(crate) fn url(&self) -> &WsUrl {
        &self.url
    }

    pub(crate) fn state(&self) -> State {
        self.session.core().state()
    }

    pub(crate) fn buffered_amount(&self) -> usize {
        self.session.buffered_amount()
    }

    pub(crate) fn stats(&self) -> sockette_core::Stats {
        self.session.core().stats()
    }

    pub(crate) fn close_info(&self) -> Option<&CloseInfo> {
        self.session.close_info()
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        if self.session.is_finished() {
            return None;
        }
        self.session.peer_addr()
    }

    pub(crate) fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// True once every event, `Close` included, has been handed out.
    pub(crate) fn is_done(&self) -> bool {
        self.session.is_finished() && self.stash.is_none()
    }

    // ----- commands from the owner thread -----

    /// Runs a command on the core, after what senders queued before it; the
    /// core's refusal is returned as it is.
    pub(crate) fn command(
        &mut self,
        f: impl FnOnce(&mut Connection, Instant) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let now = Instant::now();
        let registry = self.poll.registry();
        if self.caller == Caller::Callback {
            // Written with the callback's other answers when it returns.
            return f(self.session.core_mut(), now);
        }
        self.session.on_wake(registry, now);
        f(self.session.core_mut(), now)?;
        self.session.after_command(registry, now);
        Ok(())
    }

    /// A callback is about to run: its commands wait for its end.
    pub(crate) fn before_callback(&mut self) {
        self.caller = Caller::Callback;
    }

    /// Sends what commands inside a callback produced.
    pub(crate) fn after_callback(&mut self) {
        self.caller = Caller::Owner;
        self.session
            .after_command(self.poll.registry(), Instant::now());
    }

    // ----- driving -----

    /// Blocks until the connection is open; the `Open` event stays queued. On
    /// failure, returns the error and the connection is already shut down.
    pub(crate) fn wait_open(&mut self) -> Result<(), Error> {
        let mut failure = None;
        loop {
            match self.next_event(None) {
                Some(open @ Event::Open(_)) => {
                    self.stash = Some(open);
                    return Ok(());
                }
                Some(Event::Error(e)) => {
                    failure.get_or_insert(e);
                }
                Some(Event::Close(_)) | None => return Err(failure.unwrap_or(Error::Closed)),
                Some(_) => {}
            }
        }
    }

    /// The next event, waiting until `deadline` (`None`: as long as it takes).
    /// `None` when the deadline passed, or when every event was handed out.
    pub(crate) fn next_event(&mut self, deadline: Option<Instant>) -> Option<Event> {
        loop {
            if let Some(event) = self.ready_event() {
                return Some(event);
            }
            if self.session.is_finished() {
                return None;
            }
            let now = Instant::now();
            let expired = deadline.is_some_and(|d| now >= d);
            let wake_at = match (deadline, self.session.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.turn(wake_at.map(|at| at.saturating_duration_since(now)));
            if expired {
                // What was ready at once has been read: that is all for now.
                return self.ready_event();
            }
        }
    }

    /// An event already there, or one the I/O ready now produces.
    fn ready_event(&mut self) -> Option<Event> {
        if let Some(event) = self.stash.take() {
            return Some(event);
        }
        let registry = self.poll.registry();
        let now = Instant::now();
        let event = self.session.next_event(registry, now);
        if event.is_none() {
            self.session.settle(registry, now);
        }
        event
    }

    /// Waits for readiness, a wake-up or `wait`, and tells the session.
    fn turn(&mut self, wait: Option<Duration>) {
        let Driver {
            poll,
            events,
            session,
            ..
        } = self;
        if let Err(e) = poll.poll(events, wait) {
            if e.kind() != io::ErrorKind::Interrupted {
                session.fail_socket(poll.registry(), e, Instant::now());
            }
            return;
        }
        let registry = poll.registry();
        let now = Instant::now();
        let mut woken = false;
        for event in events.iter() {
            if event.token() == WAKER {
                woken = true;
            } else {
                session.on_ready(registry, event, now);
            }
        }
        if woken {
            session.on_wake(registry, now);
        }
        // Read the clock after `poll_timeout`, whose "now" (events wait,
        // reading paused at its budget) must count as due.
        if session
            .poll_timeout()
            .is_some_and(|at| at <= Instant::now())
        {
            session.on_timeout(registry, Instant::now());
        }
    }
}

fn client(config: ClientConfig) -> Result<Connection, Error> {
    // The core reads no clock: certificates are checked against this time.
    let config = config.wall_clock(std::time::SystemTime::now());
    Ok(Connection::client(config, Instant::now())?)
}

fn new_poll() -> Result<(Poll, Arc<Waker>), Error> {
    let poll = Poll::new().map_err(Error::Io)?;
    let waker = Waker::new(poll.registry(), WAKER).map_err(Error::Io)?;
    Ok((poll, Arc::new(waker)))
}

impl Drop for Driver {
    /// Dropping an open client closes it with 1001 (going away) without waiting
    /// for the peer's answer: the close frame is flushed for up to [`LINGER`],
    /// then the socket is shut down.
    fn drop(&mut self) {
        if self.session.is_finished() {
            return;
        }
        let now = Instant::now();
        if matches!(self.state(), State::Open | State::Connecting) {
            let _ = self.session.core_mut().close(now, CloseCode::GoingAway, "");
        }
        let until = now + LINGER;
        loop {
            self.session.flush(self.poll.registry(), Instant::now());
            let left = until.saturating_duration_since(Instant::now());
            if !self.session.has_output() || left.is_zero() {
                break;
            }
            self.turn(Some(left));
        }
        self.session.shut_down(self.poll.registry());
    }
}
