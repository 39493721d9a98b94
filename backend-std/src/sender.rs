//! [`Sender`]: how other threads queue messages and a close. Commands wait in a
//! shared queue; a wake-up on the owner's channel makes the owner hand them to the
//! connection, in order, at its next turn. The queue is bounded by the same limit
//! as the connection's outgoing buffer, and refuses everything once closing, with
//! the same [`CommandError`] the connection would return.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard};

use sockette_core::{CloseCode, CommandError, InvalidInput};

use crate::io::Input;

/// Frame header bytes counted per queued message (RFC 6455 §5.2: at most 14).
const HEADER_ALLOWANCE: usize = 14;

/// A command queued by a [`Sender`].
#[derive(Debug)]
pub(crate) enum Command {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Close(CloseCode, String),
}

impl Command {
    fn cost(&self) -> usize {
        HEADER_ALLOWANCE
            + match self {
                Command::Text(t) => t.len(),
                Command::Binary(b) | Command::Ping(b) => b.len(),
                Command::Close(_, r) => r.len() + 2,
            }
    }
}

#[derive(Default)]
struct Queue {
    commands: VecDeque<Command>,
    bytes: usize,
    /// `None` while commands are accepted; once a close is queued or the
    /// connection is closing, what every command is refused with.
    refusal: Option<CommandError>,
}

/// State shared by the owner and its senders.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    /// The owner's `buffered_amount`, refreshed after each of its turns.
    buffered: AtomicUsize,
    limit: usize,
}

impl Shared {
    pub(crate) fn new(limit: usize) -> Arc<Shared> {
        Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            buffered: AtomicUsize::new(0),
            limit,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A sender that panicked while holding the lock left a consistent queue.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The owner's next command.
    pub(crate) fn pop(&self) -> Option<Command> {
        let mut q = self.lock();
        let cmd = q.commands.pop_front()?;
        q.bytes -= cmd.cost();
        Some(cmd)
    }

    /// Puts back a command the connection could not take yet (buffer full).
    pub(crate) fn push_front(&self, cmd: Command) {
        let mut q = self.lock();
        q.bytes += cmd.cost();
        q.commands.push_front(cmd);
    }

    /// Refuses every later command with `refusal` (the connection's own answer
    /// in its state: closing, or closed with its cause); returns those still
    /// queued.
    pub(crate) fn close(&self, refusal: CommandError) -> VecDeque<Command> {
        let mut q = self.lock();
        q.refusal = Some(refusal);
        q.bytes = 0;
        std::mem::take(&mut q.commands)
    }

    /// Bytes queued by senders and not yet handed to the connection.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    pub(crate) fn set_buffered(&self, n: usize) {
        self.buffered.store(n, Ordering::Release);
    }
}

/// A handle other threads use to send on a [`Client`](crate::Client): `Send`,
/// `Clone`, cheap.
///
/// Commands are queued and the owner thread is woken at once; it hands them to the
/// connection in order at its next turn (inside `run`, `dispatch`, `next_event` or
/// `recv_timeout`; a program that calls none of them does not send). Messages
/// queued while the connection is opening go out after `Open`, in order.
///
/// A command returns a [`CommandError`], and nothing is queued, when:
/// - a close was queued or the connection is closing
///   ([`CommandError::Closing`]), or it is over ([`CommandError::Closed`], with
///   the WebSocket layer's error when a failure ended it: for a socket error,
///   [`ConnectionLost`](sockette_core::Error::ConnectionLost); the socket's own
///   error was the [`Event::Error`](crate::Event::Error));
/// - the bytes waiting (in this queue and in the connection's outgoing buffer)
///   would exceed [`Limits::max_buffered_output`](sockette_core::Limits)
///   ([`CommandError::OutputFull`]): wait for the buffer to drain and retry;
/// - the ping payload or the close code or reason cannot be sent
///   ([`CommandError::Invalid`]).
///
/// A message accepted here can still miss the connection if it closes before the
/// owner's next turn: such messages are counted in one
/// [`Error::NotSent`](crate::Error::NotSent) event just before the `Close`
/// event, never dropped silently.
///
/// ```no_run
/// let mut client = sockette_std::Client::connect("ws://127.0.0.1:9001/")?;
/// let sender = client.sender();
/// std::thread::spawn(move || sender.send_text("hello from another thread"));
/// client.run(|_ws, event| println!("{event:?}"))?;
/// # Ok::<(), sockette_std::Error>(())
/// ```
#[derive(Clone)]
pub struct Sender {
    shared: Arc<Shared>,
    wake: SyncSender<Input>,
}

impl Sender {
    pub(crate) fn new(shared: Arc<Shared>, wake: SyncSender<Input>) -> Sender {
        Sender { shared, wake }
    }

    /// Queues a text message.
    pub fn send_text(&self, text: &str) -> Result<(), CommandError> {
        self.push(Command::Text(text.to_owned()), false)
    }

    /// Queues a binary message.
    pub fn send_binary(&self, data: &[u8]) -> Result<(), CommandError> {
        self.push(Command::Binary(data.to_vec()), false)
    }

    /// Queues a ping (at most 125 bytes of payload, else
    /// [`InvalidInput::ControlPayloadTooLong`]).
    pub fn ping(&self, payload: &[u8]) -> Result<(), CommandError> {
        if payload.len() > 125 {
            let len = payload.len();
            return Err(InvalidInput::ControlPayloadTooLong { len }.into());
        }
        self.push(Command::Ping(payload.to_vec()), false)
    }

    /// Queues the start of the close handshake, after the messages queued before
    /// it. Later commands, from any sender, are refused with
    /// [`CommandError::Closing`]. A code that may not be sent (1005, 1006, 1015,
    /// reserved ones), a reason without a code or a reason over 123 bytes is
    /// refused at once with [`CommandError::Invalid`].
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), CommandError> {
        if code != CloseCode::NoStatus && !code.is_allowed_on_wire() {
            return Err(InvalidInput::CloseCodeNotSendable { code }.into());
        }
        if code == CloseCode::NoStatus && !reason.is_empty() {
            return Err(InvalidInput::ReasonWithoutCode.into());
        }
        if reason.len() > sockette_core::MAX_REASON_LEN {
            let len = reason.len();
            return Err(InvalidInput::CloseReasonTooLong { len }.into());
        }
        self.push(Command::Close(code, reason.to_owned()), true)
    }

    /// Whether the connection still accepts commands.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.lock().refusal.is_some()
    }

    fn push(&self, cmd: Command, closing: bool) -> Result<(), CommandError> {
        {
            let mut q = self.shared.lock();
            if let Some(refusal) = &q.refusal {
                return Err(refusal.clone());
            }
            let needed = cmd.cost();
            let buffered = self.shared.buffered.load(Ordering::Acquire) + q.bytes;
            if !closing && buffered.saturating_add(needed) > self.shared.limit {
                return Err(CommandError::OutputFull {
                    buffered,
                    needed,
                    limit: self.shared.limit,
                });
            }
            q.bytes += needed;
            q.commands.push_back(cmd);
            if closing {
                q.refusal = Some(CommandError::Closing);
            }
        }
        // Full: the owner has input waiting and looks at the queue after it.
        // Disconnected: the owner closed the queue first, so the command is
        // counted in its `NotSent` report.
        let _ = self.wake.try_send(Input::Wake);
        Ok(())
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(limit: usize) -> Sender {
        let (wake, _owner) = std::sync::mpsc::sync_channel(16);
        Sender::new(Shared::new(limit), wake)
    }

    /// Each refusal a sender makes on its own, before the owner sees anything,
    /// is the connection's own kind of refusal.
    #[test]
    fn a_sender_refuses_by_kind_and_queues_nothing() {
        let sender = sender(100);
        assert_eq!(
            sender.ping(&[0; 126]),
            Err(InvalidInput::ControlPayloadTooLong { len: 126 }.into())
        );
        assert_eq!(
            sender.close(CloseCode::Abnormal, ""),
            Err(InvalidInput::CloseCodeNotSendable {
                code: CloseCode::Abnormal
            }
            .into())
        );
        assert_eq!(
            sender.close(CloseCode::NoStatus, "why"),
            Err(InvalidInput::ReasonWithoutCode.into())
        );
        assert_eq!(
            sender.close(CloseCode::Normal, &"x".repeat(124)),
            Err(InvalidInput::CloseReasonTooLong { len: 124 }.into())
        );
        assert_eq!(
            sender.send_binary(&[0; 100]),
            Err(CommandError::OutputFull {
                buffered: 0,
                needed: 100 + HEADER_ALLOWANCE,
                limit: 100
            })
        );
        assert_eq!(sender.shared.queued_bytes(), 0, "refusals queue nothing");
        sender.close(CloseCode::Normal, "").unwrap();
        assert_eq!(sender.send_text("late"), Err(CommandError::Closing));
        assert!(sender.is_closed());
    }
}
