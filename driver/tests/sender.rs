//! The one sender policy, against a real core: checks at once, the output
//! limit counted as the core counts, order, waiting for room, the close, and
//! the end (accepted commands counted, never dropped silently).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sockette_core::{CloseCode, CommandError, InvalidInput, Limits};
use sockette_driver::{SenderQueue, Wake};
use sockette_testkit::config::client_config;
use sockette_testkit::raw::Raw;

/// Counts wake-ups; fails them while `broken` is set.
#[derive(Clone, Default)]
struct Counter {
    wakes: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
}

impl Wake for Counter {
    fn wake(&self) -> io::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(io::Error::other("the eventfd is gone"));
        }
        self.wakes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn open_client(max_buffered_output: usize) -> Raw {
    let limits = Limits::default().max_buffered_output(max_buffered_output);
    Raw::open_client(client_config("ws://example.com/").limits(limits))
}

fn queue_of(raw: &Raw) -> (SenderQueue, Counter) {
    let counter = Counter::default();
    (SenderQueue::new(&raw.conn, counter.clone()), counter)
}

/// The data frames the client wrote, as (opcode, payload).
fn sent(raw: &mut Raw) -> Vec<(u8, Vec<u8>)> {
    raw.sent_frames()
        .into_iter()
        .map(|f| (f.opcode, f.payload))
        .collect()
}

#[test]
fn invalid_commands_are_refused_at_once_by_the_cores_own_checks() {
    let raw = open_client(1 << 20);
    let (queue, counter) = queue_of(&raw);
    let sender = queue.sender();
    assert_eq!(
        sender.ping(vec![0; 126]),
        Err(InvalidInput::ControlPayloadTooLong { len: 126 }.into())
    );
    assert_eq!(
        sender.pong(vec![0; 200]),
        Err(InvalidInput::ControlPayloadTooLong { len: 200 }.into())
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
        sender.close(CloseCode::Normal, "x".repeat(124)),
        Err(InvalidInput::CloseReasonTooLong { len: 124 }.into())
    );
    assert!(!queue.has_commands(), "refusals queue nothing");
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 0);
}

#[test]
fn a_message_larger_than_the_limit_is_refused_when_sent_never_parked() {
    let raw = open_client(64 << 10);
    let (queue, _) = queue_of(&raw);
    let sender = queue.sender();
    let huge = vec![0u8; 64 << 20];
    let needed = raw.conn.send_cost().message(huge.len());
    assert_eq!(
        sender.send_binary(huge),
        Err(CommandError::OutputFull {
            buffered: 0,
            needed,
            limit: 64 << 10
        })
    );
    assert_eq!(queue.queued_bytes(), 0);
    // What fits is still taken, counted the way the core counts it.
    sender.send_text("fits").unwrap();
    assert_eq!(queue.queued_bytes(), raw.conn.send_cost().message(4));
}

#[test]
fn the_limit_counts_what_the_connection_holds_and_what_is_queued() {
    let mut raw = open_client(10_000);
    let (queue, _) = queue_of(&raw);
    let sender = queue.sender();
    // The connection holds 6000 bytes the socket has not taken.
    raw.conn.send_binary(&[1; 6000]).unwrap();
    queue.sync(&raw.conn, 0);
    let held = raw.conn.buffered_amount();
    assert_eq!(sender.buffered_amount(), held);
    let needed = raw.conn.send_cost().message(4000);
    assert_eq!(
        sender.send_binary(vec![2; 4000]),
        Err(CommandError::OutputFull {
            buffered: held,
            needed,
            limit: 10_000
        })
    );
    sender.send_binary(vec![3; 3000]).unwrap();
    let queued = queue.queued_bytes();
    assert_eq!(sender.buffered_amount(), held + queued);
    // The core would refuse a second one as well: the two agree.
    assert!(matches!(
        sender.send_binary(vec![4; 3000]),
        Err(CommandError::OutputFull { .. })
    ));
}

#[test]
fn commands_are_applied_in_order_and_one_wake_serves_a_batch() {
    let mut raw = open_client(1 << 20);
    let (queue, counter) = queue_of(&raw);
    let (a, b) = (queue.sender(), queue.sender());
    a.send_text("one").unwrap();
    b.send_binary(&b"two"[..]).unwrap();
    a.ping(&b"three"[..]).unwrap();
    b.pong(&b"four"[..]).unwrap();
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 1, "woken once");
    assert_eq!(queue.apply(&mut raw.conn, raw.now), 0);
    assert_eq!(queue.queued_bytes(), 0);
    assert_eq!(
        sent(&mut raw),
        vec![
            (0x1, b"one".to_vec()),
            (0x2, b"two".to_vec()),
            (0x9, b"three".to_vec()),
            (0xA, b"four".to_vec()),
        ]
    );
    // The queue is empty again: the next command wakes the thread again.
    a.send_text("five").unwrap();
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 2);
}

#[test]
fn a_command_that_finds_the_output_full_waits_at_the_head_until_it_drains() {
    let mut raw = open_client(10_000);
    let (queue, _) = queue_of(&raw);
    let sender = queue.sender();
    // Accepted while the connection held nothing...
    sender.send_binary(vec![1; 6000]).unwrap();
    sender.close(CloseCode::Normal, "done").unwrap();
    // ...then the owner's own send filled the output before the senders' turn.
    raw.conn.send_binary(&[0; 6000]).unwrap();
    assert_eq!(queue.apply(&mut raw.conn, raw.now), 0, "nothing refused");
    assert!(
        queue.has_commands(),
        "the message waits, and the close after it"
    );
    let frames = sent(&mut raw); // the socket takes the output
    assert_eq!(frames.len(), 1);
    queue.sync(&raw.conn, 0);
    assert_eq!(queue.apply(&mut raw.conn, raw.now), 0);
    assert!(!queue.has_commands());
    let frames = sent(&mut raw);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!((frames[0].0, frames[0].1.len()), (0x2, 6000));
    assert_eq!(frames[1].0, 0x8, "the close comes last");
}

#[test]
fn after_a_queued_close_everything_is_refused_with_closing_then_closed() {
    let mut raw = open_client(1 << 20);
    let (queue, _) = queue_of(&raw);
    let sender = queue.sender();
    sender.close(CloseCode::Normal, "bye").unwrap();
    assert!(sender.is_closed());
    assert_eq!(sender.send_text("late"), Err(CommandError::Closing));
    queue.apply(&mut raw.conn, raw.now);
    assert_eq!(queue.sync(&raw.conn, 0), 0);
    assert_eq!(sender.ping(vec![]), Err(CommandError::Closing));
    // The server answers the close: the connection is over.
    let mut close = vec![0x88, 0x02];
    close.extend_from_slice(&1000u16.to_be_bytes());
    raw.feed(&close);
    raw.eof();
    assert!(raw.conn.is_closed());
    assert_eq!(queue.sync(&raw.conn, 0), 0);
    assert_eq!(sender.send_text("later"), Err(CommandError::Closed(None)));
}

#[test]
fn accepted_commands_the_connection_never_took_are_counted_at_the_end() {
    let mut raw = open_client(1 << 20);
    let (queue, _) = queue_of(&raw);
    let sender = queue.sender();
    sender.send_text("a").unwrap();
    sender.send_binary(vec![1]).unwrap();
    sender.close(CloseCode::Normal, "").unwrap();
    // The peer vanishes before the driving thread's turn.
    raw.eof();
    assert!(raw.conn.is_closed());
    assert_eq!(
        queue.sync(&raw.conn, 0),
        2,
        "two messages, the close not counted"
    );
    let refusal = sender.send_text("after").unwrap_err();
    assert!(
        matches!(&refusal, CommandError::Closed(Some(_))),
        "the failure is the answer: {refusal:?}"
    );
}

#[test]
fn commands_refused_by_a_connection_that_closed_first_are_counted() {
    let mut raw = open_client(1 << 20);
    let (queue, _) = queue_of(&raw);
    let sender = queue.sender();
    sender.send_text("a").unwrap();
    sender.send_text("b").unwrap();
    // The owner closes from its own thread before applying the senders' queue.
    raw.conn
        .close(Instant::now(), CloseCode::Normal, "")
        .unwrap();
    assert_eq!(queue.apply(&mut raw.conn, raw.now), 2);
}

#[test]
fn a_failed_wake_refuses_the_command_and_queues_nothing() {
    let raw = open_client(1 << 20);
    let (queue, counter) = queue_of(&raw);
    let sender = queue.sender();
    counter.broken.store(true, Ordering::SeqCst);
    let refusal = sender.send_text("lost?").unwrap_err();
    assert!(
        matches!(&refusal, CommandError::WakeFailed(reason) if reason.contains("eventfd")),
        "{refusal:?}"
    );
    assert!(refusal.to_string().contains("nothing was queued"));
    assert!(!queue.has_commands());
    assert!(
        !sender.is_closed(),
        "a failed close does not close the intake"
    );
    counter.broken.store(false, Ordering::SeqCst);
    sender.close(CloseCode::Normal, "").unwrap();
    assert!(sender.is_closed());
}
