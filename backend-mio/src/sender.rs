//! The handle other threads use: commands go into a queue shared with the
//! connection, and a `mio::Waker` wakes the loop that drives it. The loop applies
//! them in order; after the close they are refused, never silently dropped.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use mio::{Token, Waker};
use sockette_core::{CloseCode, CommandError};

use crate::error::SendError;

/// A command queued by another thread.
pub(crate) enum Command {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Close(CloseCode, String),
}

/// Tokens of connections with queued commands, shared by every sender of an
/// [`EventLoop`](crate::EventLoop) so that a wake-up visits only those.
pub(crate) type ReadyList = Arc<Mutex<Vec<Token>>>;

struct Queue {
    commands: VecDeque<Command>,
    /// Set by the loop when the connection's last event is delivered: what
    /// every later command is refused with.
    refusal: Option<CommandError>,
}

pub(crate) struct Shared {
    queue: Mutex<Queue>,
    waker: Arc<Waker>,
    ready: Option<(ReadyList, Token)>,
}

impl Shared {
    pub(crate) fn new(waker: Arc<Waker>, ready: Option<(ReadyList, Token)>) -> Arc<Shared> {
        Arc::new(Shared {
            queue: Mutex::new(Queue {
                commands: VecDeque::new(),
                refusal: None,
            }),
            waker,
            ready,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding this lock leaves a consistent queue.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the queued commands (the loop's side).
    pub(crate) fn take(&self) -> VecDeque<Command> {
        std::mem::take(&mut self.lock().commands)
    }

    /// Refuses further commands with `refusal`; returns how many were queued and
    /// never applied.
    pub(crate) fn close(&self, refusal: CommandError) -> usize {
        let mut queue = self.lock();
        queue.refusal = Some(refusal);
        let left = queue.commands.len();
        queue.commands.clear();
        left
    }

    fn push(&self, command: Command) -> Result<(), SendError> {
        let mut queue = self.lock();
        if let Some(refusal) = &queue.refusal {
            return Err(SendError::Refused(refusal.clone()));
        }
        let was_empty = queue.commands.is_empty();
        queue.commands.push_back(command);
        if was_empty {
            // The loop takes the whole queue at once: only the first command after
            // a take needs to wake it.
            if let Some((ready, token)) = &self.ready {
                ready.lock().unwrap_or_else(|e| e.into_inner()).push(*token);
            }
            if let Err(e) = self.waker.wake() {
                queue.commands.pop_back();
                return Err(SendError::Wake(e));
            }
        }
        Ok(())
    }
}

/// Sends to a connection from any thread: `Send + Sync + Clone`.
///
/// Each command is queued and the loop is woken through its `mio::Waker`; the
/// loop applies the commands in order when it handles the wake-up
/// ([`Connection::handle_wake`](crate::Connection::handle_wake), done for you by
/// [`EventLoop`](crate::EventLoop)). Once the connection has delivered its
/// [`Event::Close`](crate::Event::Close), commands are refused with
/// [`SendError::Refused`] holding [`CommandError::Closed`] (with the WebSocket
/// layer's error when a failure ended the connection); commands still queued at
/// that moment are reported by an [`Error::NotSent`](crate::Error::NotSent)
/// event just before the `Close`.
#[derive(Clone)]
pub struct Sender {
    pub(crate) shared: Arc<Shared>,
}

impl Sender {
    /// Queues a text message.
    pub fn send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.shared.push(Command::Text(text.into()))
    }

    /// Queues a binary message.
    pub fn send_binary(&self, data: impl Into<Vec<u8>>) -> Result<(), SendError> {
        self.shared.push(Command::Binary(data.into()))
    }

    /// Queues a ping (at most 125 bytes of payload). The length is not checked
    /// here: a longer payload is queued, refused by the connection when the loop
    /// applies it, and counted in the `Event::Error(Error::NotSent { .. })` the
    /// callback then receives.
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), SendError> {
        self.shared.push(Command::Ping(payload.into()))
    }

    /// Queues the start of the close handshake (ignored if the connection is
    /// already closing).
    pub fn close(&self, code: CloseCode, reason: impl Into<String>) -> Result<(), SendError> {
        self.shared.push(Command::Close(code, reason.into()))
    }

    /// True once the connection has closed: every command is then refused.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.lock().refusal.is_some()
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
