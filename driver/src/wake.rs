//! [`LoopWake`]: how a [`Sender`](crate::Sender) or the resolver thread wakes
//! the thread that drives a connection: the `mio::Waker` of its `Poll`, after
//! noting which connection has news so that a loop of many visits only those.

use std::io;
use std::sync::{Arc, Mutex};

use mio::{Token, Waker};

use crate::sender::Wake;

/// Tokens of the connections with news (queued commands, a resolved name),
/// shared by everything that wakes one loop.
pub type ReadyList = Arc<Mutex<Vec<Token>>>;

/// Wakes a `mio::Poll` through its `Waker`, first noting `token` in the
/// loop's [`ReadyList`] when there is one.
#[derive(Clone)]
pub struct LoopWake {
    waker: Arc<Waker>,
    ready: Option<(ReadyList, Token)>,
}

impl LoopWake {
    /// Wakes through `waker`; the driving thread then looks at every
    /// connection it holds.
    pub fn new(waker: Arc<Waker>) -> LoopWake {
        LoopWake { waker, ready: None }
    }

    /// Wakes through `waker` after noting `token` in `ready`.
    pub fn noting(waker: Arc<Waker>, ready: ReadyList, token: Token) -> LoopWake {
        LoopWake {
            waker,
            ready: Some((ready, token)),
        }
    }

    /// Takes the tokens noted since the last call.
    pub fn take_ready(ready: &ReadyList) -> Vec<Token> {
        std::mem::take(&mut *ready.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Wake for LoopWake {
    fn wake(&self) -> io::Result<()> {
        if let Some((ready, token)) = &self.ready {
            ready.lock().unwrap_or_else(|e| e.into_inner()).push(*token);
        }
        self.waker.wake()
    }
}
