//! Opening the TCP connection in the manner of RFC 8305 ("Happy Eyeballs"):
//! the addresses in [`attempt_order`](crate::resolve::attempt_order), a new
//! attempt started every [`ATTEMPT_DELAY`] while none has answered (and at
//! once when one fails), the first to connect wins and the others are dropped.
//! Every attempt lives within the opening's deadline, which the core times.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::{Attempts, SocketOptions};

/// How long an attempt has to connect before the next one starts beside it
/// (RFC 8305 §5 recommends 250 ms).
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// The attempts of one opening.
#[derive(Debug)]
pub(crate) struct Connecting {
    in_flight: Vec<Attempt>,
    waiting: VecDeque<SocketAddr>,
    /// When the next waiting address starts even though none has answered.
    next_attempt_at: Option<Instant>,
    failures: Attempts,
    options: SocketOptions,
}

#[derive(Debug)]
struct Attempt {
    socket: TcpStream,
    addr: SocketAddr,
}

/// Where the attempts stand.
pub(crate) enum Progress {
    Pending,
    Connected(TcpStream, SocketAddr),
    /// Every address failed: the error names each with its failure.
    Failed(io::Error),
}

/// Where one attempt stands.
enum Check {
    Pending,
    Connected,
    Failed(io::Error),
}

impl Connecting {
    /// Starts the first attempt (and the next ones at once while they fail
    /// immediately); sockets are registered under `token` when there is one
    /// (and a registry: without, [`register`](Self::register) does it later).
    pub(crate) fn start(
        addrs: VecDeque<SocketAddr>,
        options: SocketOptions,
        registry: Option<&Registry>,
        token: Option<Token>,
        now: Instant,
    ) -> Connecting {
        let mut connecting = Connecting {
            in_flight: Vec::new(),
            waiting: addrs,
            next_attempt_at: None,
            failures: Attempts::default(),
            options,
        };
        connecting.start_next(registry, token, now);
        connecting
    }

    fn start_next(&mut self, registry: Option<&Registry>, token: Option<Token>, now: Instant) {
        self.next_attempt_at = None;
        while let Some(addr) = self.waiting.pop_front() {
            let mut socket = match self.options.connect(addr) {
                Ok(socket) => socket,
                Err(e) => {
                    self.failures.failed(addr, &e);
                    continue;
                }
            };
            if let (Some(registry), Some(token)) = (registry, token) {
                let interest = Interest::READABLE | Interest::WRITABLE;
                if let Err(e) = registry.register(&mut socket, token, interest) {
                    self.failures.failed(addr, &e);
                    continue;
                }
            }
            self.in_flight.push(Attempt { socket, addr });
            if !self.waiting.is_empty() {
                self.next_attempt_at = now.checked_add(ATTEMPT_DELAY);
            }
            return;
        }
    }

    /// Registers the attempts in flight (the connection was registered after
    /// they started).
    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        for attempt in &mut self.in_flight {
            registry.register(&mut attempt.socket, token, interest)?;
        }
        Ok(())
    }

    /// Removes the attempts in flight from `registry`.
    pub(crate) fn deregister(&mut self, registry: &Registry) {
        for attempt in &mut self.in_flight {
            let _ = registry.deregister(&mut attempt.socket);
        }
    }

    /// True when no attempt is in flight: [`progress`](Self::progress)
    /// starts the next address or reports the failure.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// When [`progress`](Self::progress) must look again without an event.
    pub(crate) fn next_attempt_at(&self) -> Option<Instant> {
        self.next_attempt_at
    }

    /// Looks at every attempt (after a readiness event, or when the next
    /// attempt is due): drops the failed ones, starts the next address when
    /// none is left in flight or the delay passed, and hands over the first
    /// connected socket, deregistering the others.
    pub(crate) fn progress(
        &mut self,
        registry: &Registry,
        token: Option<Token>,
        now: Instant,
    ) -> Progress {
        let mut i = 0;
        while i < self.in_flight.len() {
            match check(&self.in_flight[i].socket) {
                Check::Pending => i += 1,
                Check::Connected => {
                    let winner = self.in_flight.remove(i);
                    if token.is_some() {
                        self.deregister(registry);
                    }
                    self.in_flight.clear();
                    self.options.apply_connected(&winner.socket);
                    return Progress::Connected(winner.socket, winner.addr);
                }
                Check::Failed(e) => {
                    let mut failed = self.in_flight.remove(i);
                    if token.is_some() {
                        let _ = registry.deregister(&mut failed.socket);
                    }
                    self.failures.failed(failed.addr, &e);
                }
            }
        }
        let due = self.next_attempt_at.is_some_and(|at| now >= at);
        if self.in_flight.is_empty() || due {
            self.start_next(Some(registry), token, now);
        }
        if self.in_flight.is_empty() {
            return Progress::Failed(std::mem::take(&mut self.failures).into_error());
        }
        Progress::Pending
    }

    /// The opening's deadline passed: the error names the attempts that never
    /// answered and the addresses never tried, after those that failed.
    pub(crate) fn timed_out(&mut self) -> io::Error {
        let mut failures = std::mem::take(&mut self.failures);
        for attempt in &self.in_flight {
            failures.no_answer(attempt.addr);
        }
        for addr in &self.waiting {
            failures.not_tried(*addr);
        }
        failures.into_error()
    }
}

fn check(socket: &TcpStream) -> Check {
    match socket.take_error() {
        Ok(Some(e)) | Err(e) => Check::Failed(e),
        Ok(None) => match socket.peer_addr() {
            Ok(_) => Check::Connected,
            // The connect is still under way.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Check::Pending,
            Err(e) => Check::Failed(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};

    fn drive(connecting: &mut Connecting, poll: &mut Poll, token: Token) -> Progress {
        let mut events = Events::with_capacity(8);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = Instant::now();
            assert!(now < deadline, "no outcome within 5 s");
            match connecting.progress(poll.registry(), Some(token), now) {
                Progress::Pending => {}
                outcome => return outcome,
            }
            let wait = connecting
                .next_attempt_at()
                .map_or(Duration::from_millis(50), |at| {
                    at.saturating_duration_since(now)
                });
            poll.poll(&mut events, Some(wait)).unwrap();
        }
    }

    fn closed_port() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    #[test]
    fn refused_addresses_are_skipped_and_every_failure_named() {
        let mut poll = Poll::new().unwrap();
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (dead_a, dead_b) = (closed_port(), closed_port());
        let addrs = VecDeque::from([dead_a, live.local_addr().unwrap()]);
        let mut connecting = Connecting::start(
            addrs,
            SocketOptions::new(),
            Some(poll.registry()),
            Some(Token(1)),
            Instant::now(),
        );
        match drive(&mut connecting, &mut poll, Token(1)) {
            Progress::Connected(_, addr) => assert_eq!(addr, live.local_addr().unwrap()),
            _ => panic!("expected the live address to win"),
        }
        let addrs = VecDeque::from([dead_a, dead_b]);
        let mut connecting = Connecting::start(
            addrs,
            SocketOptions::new(),
            Some(poll.registry()),
            Some(Token(1)),
            Instant::now(),
        );
        match drive(&mut connecting, &mut poll, Token(1)) {
            Progress::Failed(e) => {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
                let text = e.to_string();
                assert!(
                    text.contains(&dead_a.to_string()) && text.contains(&dead_b.to_string()),
                    "{text}"
                );
            }
            _ => panic!("expected both to fail"),
        }
    }

    /// An address that never answers does not hold the next one back more
    /// than the attempt delay, and a deadline names it.
    #[test]
    fn a_silent_address_gives_way_to_the_next_after_the_attempt_delay() {
        let mut poll = Poll::new().unwrap();
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let silent = sockette_testkit::silent::SilentAddr::new();
        let started = Instant::now();
        let addrs = VecDeque::from([silent.addr(), live.local_addr().unwrap()]);
        let mut connecting = Connecting::start(
            addrs,
            SocketOptions::new(),
            Some(poll.registry()),
            Some(Token(1)),
            started,
        );
        match drive(&mut connecting, &mut poll, Token(1)) {
            Progress::Connected(_, addr) => assert_eq!(addr, live.local_addr().unwrap()),
            _ => panic!("expected the live address to win"),
        }
        let took = started.elapsed();
        assert!(
            took >= ATTEMPT_DELAY,
            "the second attempt waited its turn: {took:?}"
        );
        assert!(took < ATTEMPT_DELAY * 4, "and no longer: {took:?}");

        let later = closed_port();
        let mut timed_out = Connecting::start(
            VecDeque::from([silent.addr(), later]),
            SocketOptions::new(),
            None,
            None,
            Instant::now(),
        );
        let error = timed_out.timed_out();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let text = error.to_string();
        assert!(
            text.contains(&format!("{}: no answer", silent.addr())),
            "{text}"
        );
        assert!(text.contains(&format!("{later}: not tried")), "{text}");
    }
}
