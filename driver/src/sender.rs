//! [`Sender`] (any thread) and [`SenderQueue`] (the thread that drives the
//! connection): commands wait in one shared queue, bounded by the output limit
//! the core applies, counted with the core's own [`SendCost`], and are applied
//! to the core in order by the driving thread. Which thread that is, and how
//! it is woken ([`Wake`]), is the backend's business; everything else is here.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use sockette_core::{CloseCode, CommandError, Connection, InvalidInput, SendCost, State};

/// How a [`Sender`] wakes the thread that drives its connection (a
/// `mio::Waker`, a message on a channel...). Called when a command lands in an
/// empty queue: the driving thread then calls [`SenderQueue::apply`].
pub trait Wake: Send + Sync {
    /// Wakes the driving thread. An error refuses the command that needed the
    /// wake-up ([`CommandError::WakeFailed`], nothing queued).
    fn wake(&self) -> io::Result<()>;
}

/// A command queued by a [`Sender`].
#[derive(Debug)]
enum Command {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(CloseCode, String),
}

impl Command {
    /// The bytes it holds of the output limit while queued: what the core will
    /// reserve for it (a close, never refused for room, counts its frame).
    fn cost(&self, cost: SendCost) -> usize {
        match self {
            Command::Text(text) => cost.message(text.len()),
            Command::Binary(data) => cost.message(data.len()),
            Command::Ping(payload) | Command::Pong(payload) => cost.control(payload.len()),
            Command::Close(_, reason) => cost.control(2 + reason.len()),
        }
    }

    fn apply(&self, core: &mut Connection, now: Instant) -> Result<(), CommandError> {
        match self {
            Command::Text(text) => core.send_text(text),
            Command::Binary(data) => core.send_binary(data),
            // Timed: its pong sets the round-trip time in the stats.
            Command::Ping(payload) => core.ping_at(now, payload),
            Command::Pong(payload) => core.pong(payload),
            Command::Close(code, reason) => core.close(now, *code, reason),
        }
    }
}

/// Whether the queue takes commands: an enum, so that a refusal always says why.
#[derive(Debug)]
enum Intake {
    Open,
    /// A sender queued a close: nothing may follow it.
    CloseQueued,
    /// The connection is closing or over: every command gets this answer.
    Refusing(CommandError),
}

#[derive(Debug)]
struct Queue {
    commands: VecDeque<Command>,
    /// The sum of the queued commands' costs.
    bytes: usize,
    intake: Intake,
}

struct Shared {
    queue: Mutex<Queue>,
    /// What the connection held at the driving thread's last
    /// [`SenderQueue::sync`] (its `buffered_amount`, plus the backend's own).
    buffered: AtomicUsize,
    limit: usize,
    cost: SendCost,
    wake: Box<dyn Wake>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock, and every update leaves the
        // queue consistent: a poisoned lock is still a good queue.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sends on a connection from any thread: `Send + Sync + Clone`, cheap.
///
/// Every command is checked at once and either refused, queuing nothing, or
/// accepted: then the thread that drives the connection applies it, in order
/// after the commands accepted before it (by any sender), at its next turn
/// (it is woken at once). Refusals, each the [`CommandError`] the connection
/// itself would give:
/// - [`CommandError::Invalid`]: a ping or pong payload over 125 bytes, a close
///   code that may not be sent, a reason without a code or over 123 bytes;
/// - [`CommandError::OutputFull`]: the bytes already waiting (queued here and
///   held by the connection, each counted as the core counts it,
///   [`SendCost`]) plus this command's would pass
///   [`Limits::max_buffered_output`](sockette_core::Limits); it says how much
///   is buffered and the limit. Wait for the output to drain and retry. A
///   message larger than the limit can never fit and is refused here, at once;
/// - [`CommandError::Closing`] once a close was queued here or the connection
///   is closing, [`CommandError::Closed`] once it is over (with the error that
///   failed it, if one did).
///
/// An accepted command that the connection cannot take when its turn comes,
/// because the output filled up meanwhile, waits at the head of the queue
/// until the output drains. One that can no longer be sent because the
/// connection closed first is counted, with the others, in the backend's
/// "not sent" error event just before its `Close` event: never dropped
/// silently.
#[derive(Clone)]
pub struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Queues a text message.
    pub fn send_text(&self, text: impl Into<String>) -> Result<(), CommandError> {
        self.push(Command::Text(text.into()))
    }

    /// Queues a binary message.
    pub fn send_binary(&self, data: impl Into<Vec<u8>>) -> Result<(), CommandError> {
        self.push(Command::Binary(data.into()))
    }

    /// Queues a ping (at most 125 bytes of payload); its pong's round-trip time
    /// becomes the connection's `latest_rtt`.
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), CommandError> {
        let payload = payload.into();
        InvalidInput::check_control_payload(payload.len())?;
        self.push(Command::Ping(payload))
    }

    /// Queues an unsolicited pong (at most 125 bytes of payload), a one-way
    /// heartbeat (RFC 6455 §5.5.3).
    pub fn pong(&self, payload: impl Into<Vec<u8>>) -> Result<(), CommandError> {
        let payload = payload.into();
        InvalidInput::check_control_payload(payload.len())?;
        self.push(Command::Pong(payload))
    }

    /// Queues the start of the close handshake, after the commands queued
    /// before it; every later command, from any sender, is refused with
    /// [`CommandError::Closing`]. Not bounded by the output limit: a close
    /// always gets its turn. If the connection is already closing when its
    /// turn comes, what was asked is under way and nothing is reported.
    pub fn close(&self, code: CloseCode, reason: impl Into<String>) -> Result<(), CommandError> {
        let reason = reason.into();
        InvalidInput::check_close(code, &reason)?;
        self.push(Command::Close(code, reason))
    }

    /// True once commands are refused: a close was queued, or the connection
    /// is closing or over.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        !matches!(self.shared.lock().intake, Intake::Open)
    }

    /// Bytes waiting to be sent, as of the driving thread's last turn plus
    /// what senders queued since (the browser's `bufferedAmount`).
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        let queued = self.shared.lock().bytes;
        self.shared.buffered.load(Ordering::Acquire) + queued
    }

    fn push(&self, command: Command) -> Result<(), CommandError> {
        let shared = &*self.shared;
        let needed = command.cost(shared.cost);
        let closes = matches!(command, Command::Close(..));
        let mut queue = shared.lock();
        match &queue.intake {
            Intake::Open => {}
            Intake::CloseQueued => return Err(CommandError::Closing),
            Intake::Refusing(refusal) => return Err(refusal.clone()),
        }
        if !closes {
            let buffered = shared.buffered.load(Ordering::Acquire) + queue.bytes;
            if buffered.saturating_add(needed) > shared.limit {
                return Err(CommandError::OutputFull {
                    buffered,
                    needed,
                    limit: shared.limit,
                });
            }
        }
        // The driving thread takes every queued command at each turn: only a
        // command landing in an empty queue needs to wake it.
        let needs_wake = queue.commands.is_empty();
        if needs_wake {
            shared
                .wake
                .wake()
                .map_err(|e| CommandError::WakeFailed(e.to_string()))?;
        }
        queue.bytes += needed;
        queue.commands.push_back(command);
        if closes {
            queue.intake = Intake::CloseQueued;
        }
        Ok(())
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .field("buffered_amount", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}

/// The driving thread's side of a connection's [`Sender`]s: one per
/// connection, owned by the backend next to its core.
///
/// The backend calls [`apply`](Self::apply) when woken and whenever the
/// connection's output drained (a command may wait for room), and
/// [`sync`](Self::sync) after every turn that may have changed the
/// connection's buffered bytes or state. When the connection is over,
/// `sync` (or [`end`](Self::end)) returns how many accepted commands were
/// never applied: the backend reports them before the `Close` event.
pub struct SenderQueue {
    shared: Arc<Shared>,
}

impl SenderQueue {
    /// A queue for `core`'s senders, bounded by its `max_buffered_output` and
    /// counting with its [`SendCost`]; `wake` wakes the driving thread.
    pub fn new(core: &Connection, wake: impl Wake + 'static) -> SenderQueue {
        let queue = SenderQueue {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    commands: VecDeque::new(),
                    bytes: 0,
                    intake: Intake::Open,
                }),
                buffered: AtomicUsize::new(core.buffered_amount()),
                limit: core.limits().max_buffered_output,
                cost: core.send_cost(),
                wake: Box::new(wake),
            }),
        };
        // A sender made after the end is refused at once.
        queue.sync(core, 0);
        queue
    }

    /// A new handle on this queue (all handles share it).
    pub fn sender(&self) -> Sender {
        Sender {
            shared: self.shared.clone(),
        }
    }

    /// Applies the queued commands to `core`, in order, until one finds the
    /// output full (it waits at the head for the next call) or none is left.
    /// Returns how many the connection refused because it closed before their
    /// turn: accepted and never sent, for the backend to report. A close
    /// refused because the connection is already closing is not counted: what
    /// it asked is under way.
    pub fn apply(&self, core: &mut Connection, now: Instant) -> usize {
        let mut batch = std::mem::take(&mut self.shared.lock().commands);
        if batch.is_empty() {
            return 0;
        }
        let (mut done_bytes, mut refused) = (0, 0);
        while let Some(command) = batch.pop_front() {
            match command.apply(core, now) {
                Err(CommandError::OutputFull { .. }) => {
                    batch.push_front(command);
                    break;
                }
                Err(e) if !(e.is_closed() && matches!(command, Command::Close(..))) => {
                    refused += 1;
                }
                _ => {}
            }
            done_bytes += command.cost(self.shared.cost);
        }
        let mut queue = self.shared.lock();
        queue.bytes -= done_bytes;
        if !batch.is_empty() {
            // What senders queued meanwhile goes after what waits.
            batch.append(&mut queue.commands);
            queue.commands = batch;
        }
        refused
    }

    /// Publishes what `core` holds (plus `backend_buffered`, bytes the backend
    /// took from the core and has not written yet) for the senders' limit, and
    /// once the connection is closing or over refuses every later command with
    /// its answer. Returns how many accepted commands will now never be sent.
    pub fn sync(&self, core: &Connection, backend_buffered: usize) -> usize {
        self.shared
            .buffered
            .store(core.buffered_amount() + backend_buffered, Ordering::Release);
        match core.state() {
            State::Closing => self.end(CommandError::Closing),
            State::Closed => self.end(CommandError::Closed(core.failure().cloned().map(Box::new))),
            _ => 0,
        }
    }

    /// Refuses every later command with `refusal` and drops the queued ones;
    /// returns how many of those were messages, pings or pongs (a dropped close
    /// asked for what is happening anyway).
    pub fn end(&self, refusal: CommandError) -> usize {
        let mut queue = self.shared.lock();
        queue.intake = Intake::Refusing(refusal);
        queue.bytes = 0;
        let dropped = std::mem::take(&mut queue.commands);
        dropped
            .iter()
            .filter(|c| !matches!(c, Command::Close(..)))
            .count()
    }

    /// Bytes queued by senders and not yet applied.
    #[must_use]
    pub fn queued_bytes(&self) -> usize {
        self.shared.lock().bytes
    }

    /// True while commands wait to be applied.
    #[must_use]
    pub fn has_commands(&self) -> bool {
        !self.shared.lock().commands.is_empty()
    }
}

impl fmt::Debug for SenderQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queue = self.shared.lock();
        f.debug_struct("SenderQueue")
            .field("commands", &queue.commands.len())
            .field("bytes", &queue.bytes)
            .field("intake", &queue.intake)
            .finish_non_exhaustive()
    }
}
