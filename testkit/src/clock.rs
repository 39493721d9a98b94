//! A clock that only moves when told.

use std::time::{Duration, Instant};

/// A clock that only moves when told.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub Instant);

impl Clock {
    /// A clock at the real time now (then moved only by [`Clock::advance`]).
    pub fn start() -> Clock {
        Clock(Instant::now())
    }

    /// Moves `ms` milliseconds forward and returns the new time.
    pub fn advance(&mut self, ms: u64) -> Instant {
        self.0 += Duration::from_millis(ms);
        self.0
    }
}
