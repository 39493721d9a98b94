//! The connection's deadlines. Time is only ever passed in; `next()` tells the
//! caller when to call back, and expiry is checked against the `now` it gives.

use std::time::{Duration, Instant};

/// The timers a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The opening handshake must complete.
    Handshake = 0,
    /// The peer must answer our close frame.
    Close = 1,
    /// Time to send a keepalive ping.
    KeepalivePing = 2,
    /// The peer must show signs of life after a keepalive ping.
    KeepaliveDeadline = 3,
}

const ALL: [Timer; 4] = [
    Timer::Handshake,
    Timer::Close,
    Timer::KeepalivePing,
    Timer::KeepaliveDeadline,
];

#[derive(Debug, Default, Clone)]
pub(crate) struct Timers {
    deadlines: [Option<Instant>; 4],
}

impl Timers {
    /// Arms `timer` to expire `after` from `now`. A deadline beyond what an
    /// `Instant` can hold (a timeout of `Duration::MAX`, say) is never reached, so
    /// the timer is simply left unarmed rather than overflowing.
    pub(crate) fn set_after(&mut self, timer: Timer, now: Instant, after: Duration) {
        self.deadlines[timer as usize] = now.checked_add(after);
    }

    pub(crate) fn clear(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(crate) fn clear_all(&mut self) {
        self.deadlines = [None; 4];
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Removes and returns one timer whose deadline is at or before `now`.
    pub(crate) fn expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = ALL
            .into_iter()
            .find(|t| self.deadlines[*t as usize].is_some_and(|at| at <= now))?;
        self.clear(timer);
        Some(timer)
    }
}
