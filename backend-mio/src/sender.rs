//! [`Sender`] is the one every backend shares (`sockette-driver`: checks, the
//! bound, the order, the close and the end are there); this crate supplies how
//! it wakes the loop: the `Poll`'s `mio::Waker`, after noting which connection
//! has commands so that an [`EventLoop`](crate::EventLoop) visits only those.

use std::io;
use std::sync::{Arc, Mutex};

use mio::{Token, Waker};
pub use sockette_driver::Sender;
pub(crate) use sockette_driver::SenderQueue;
use sockette_driver::Wake;

/// Tokens of connections with queued commands, shared by every sender of an
/// [`EventLoop`](crate::EventLoop) so that a wake-up visits only those.
pub(crate) type ReadyList = Arc<Mutex<Vec<Token>>>;

/// Wakes a loop through its `mio::Waker`.
pub(crate) struct MioWake {
    pub(crate) waker: Arc<Waker>,
    pub(crate) ready: Option<(ReadyList, Token)>,
}

impl Wake for MioWake {
    fn wake(&self) -> io::Result<()> {
        if let Some((ready, token)) = &self.ready {
            ready.lock().unwrap_or_else(|e| e.into_inner()).push(*token);
        }
        self.waker.wake()
    }
}
