//! The helper threads. They only move bytes and report what the OS said; the
//! state machine and every callback stay on the owner thread.
//!
//! - The *connector*, which then becomes the *reader*: resolves the host, connects,
//!   hands a clone of the socket to the owner, then loops on blocking reads into
//!   room the core lends ([`InputBuffer`]), which the owner hands it one at a
//!   time: the bytes read reach the core without a copy. On a stream upgraded
//!   elsewhere there is nothing to connect: the reader alone.
//! - The *writer*: writes the chunks the owner hands it, in order.
//!
//! Both report to the owner through one bounded channel of [`Input`]s, which is
//! also what [`Sender`](crate::Sender)s use to wake the owner. The bound gives
//! backpressure: a reader whose owner does not keep up blocks, and TCP flow
//! control slows the peer down.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use sockette_core::{InputBuffer, InputBytes};

use crate::connect;
use crate::error::ConnectStep;

/// The room the owner takes from the core for the reader, at least (the core
/// makes room for a few such reads): reads go into it until less than
/// [`MIN_READ`] is left, then the reader asks for more (one exchange per room,
/// not per read).
pub(crate) const READ_ROOM: usize = 64 << 10;

/// Below this much room left, the reader asks for new room rather than read
/// in small pieces.
const MIN_READ: usize = 16 << 10;

/// What the owner thread receives.
pub(crate) enum Input {
    /// The host name resolved; TCP connect attempts start.
    Resolved,
    /// TCP is connected: the owner's clone of the socket.
    Connected(TcpStream),
    /// Resolution or TCP connect failed.
    ConnectFailed(ConnectStep, io::Error),
    /// Bytes read from the socket into the room the owner gave;
    /// `room_used_up`: the reader waits for new room before reading again.
    Data {
        bytes: InputBytes,
        room_used_up: bool,
    },
    /// The peer closed its side (a read returned 0).
    Eof,
    /// A read failed.
    ReadFailed(io::Error),
    /// A write failed; the writer stopped.
    WriteFailed(io::Error),
    /// The writer finished writing everything it was given and stopped.
    WriterDone,
    /// Something changed (bytes written, a command queued): look again.
    Wake,
}

/// What the connector needs.
pub(crate) struct ConnectJob {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `None`: a timeout too long to be represented, so no deadline.
    pub(crate) deadline: Option<Instant>,
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) to_owner: SyncSender<Input>,
    /// Room to read into, from the owner, one at a time.
    pub(crate) rooms: Receiver<InputBuffer>,
}

/// Starts the connector/reader thread.
pub(crate) fn spawn_connector(job: ConnectJob) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("sockette-reader".into())
        .spawn(move || connect_then_read(job))
}

/// Starts the reader thread alone, on a stream already connected (and upgraded).
pub(crate) fn spawn_reader(
    mut stream: TcpStream,
    to_owner: SyncSender<Input>,
    rooms: Receiver<InputBuffer>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("sockette-reader".into())
        .spawn(move || {
            let _report = ReportPanic {
                tx: &to_owner,
                input: Input::ReadFailed,
                thread: "reader",
            };
            read_loop(&mut stream, &to_owner, &rooms);
        })
}

/// Reports a panic of a helper thread to the owner as a transport failure: the
/// session then ends with an `Error` event and a close instead of waiting forever
/// for input the dead thread will never send.
struct ReportPanic<'a> {
    tx: &'a SyncSender<Input>,
    input: fn(io::Error) -> Input,
    thread: &'static str,
}

impl Drop for ReportPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            let why = format!(
                "sockette's {} thread panicked (a bug in sockette)",
                self.thread
            );
            let _ = self.tx.send((self.input)(io::Error::other(why)));
        }
    }
}

fn connect_then_read(job: ConnectJob) {
    let tx = job.to_owner;
    let _report = ReportPanic {
        tx: &tx,
        input: Input::ReadFailed,
        thread: "reader",
    };
    #[cfg(feature = "log")]
    let started = Instant::now();
    let addrs = match connect::resolve(&job.host, job.port) {
        Ok(addrs) => addrs,
        Err(e) => {
            #[cfg(feature = "log")]
            log::warn!("cannot resolve {}: {e}", job.host);
            let _ = tx.send(Input::ConnectFailed(ConnectStep::Resolve, e));
            return;
        }
    };
    #[cfg(feature = "log")]
    log::debug!(
        "resolved {} in {:?}: {addrs:?}",
        job.host,
        started.elapsed()
    );
    #[cfg(feature = "log")]
    let started = Instant::now();
    if tx.send(Input::Resolved).is_err() {
        return;
    }
    let (mut stream, _addr): (TcpStream, SocketAddr) =
        match connect::connect_any(&addrs, job.deadline, &job.cancel) {
            Ok(ok) => ok,
            Err(e) => {
                #[cfg(feature = "log")]
                log::warn!("cannot connect to {}:{}: {e}", job.host, job.port);
                let _ = tx.send(Input::ConnectFailed(ConnectStep::Tcp, e));
                return;
            }
        };
    #[cfg(feature = "log")]
    log::debug!("TCP connected to {_addr} in {:?}", started.elapsed());
    let _ = stream.set_nodelay(true);
    let owner_copy = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Input::ConnectFailed(ConnectStep::Tcp, e));
            return;
        }
    };
    if job.cancel.load(Ordering::Acquire) || tx.send(Input::Connected(owner_copy)).is_err() {
        return;
    }
    read_loop(&mut stream, &tx, &job.rooms);
}

/// Reads into the room the owner hands over until it is used up, then waits
/// for the next. Ends at EOF, on a read error, or when the owner is gone.
fn read_loop(stream: &mut TcpStream, tx: &SyncSender<Input>, rooms: &Receiver<InputBuffer>) {
    let Ok(mut room) = rooms.recv() else {
        return;
    };
    loop {
        let input = match stream.read(room.unfilled()) {
            Ok(0) => Input::Eof,
            Ok(n) => Input::Data {
                bytes: room.fill(n),
                room_used_up: room.len() < MIN_READ,
            },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Input::ReadFailed(e),
        };
        let (last, wants_room) = match &input {
            Input::Data { room_used_up, .. } => (false, *room_used_up),
            _ => (true, false),
        };
        if tx.send(input).is_err() || last {
            return;
        }
        if wants_room {
            match rooms.recv() {
                Ok(next) => room = next,
                Err(_) => return,
            }
        }
    }
}

/// The owner's end of the writer thread.
pub(crate) struct Writer {
    chunks: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    in_flight: Arc<AtomicUsize>,
    handle: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `stream`.
    pub(crate) fn spawn(stream: TcpStream, to_owner: SyncSender<Input>) -> io::Result<Writer> {
        let (chunks, rx) = std::sync::mpsc::channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counter = in_flight.clone();
        let handle = thread::Builder::new()
            .name("sockette-writer".into())
            .spawn(move || write_loop(stream, rx, &counter, &to_owner))?;
        Ok(Writer {
            chunks: Some(chunks),
            in_flight,
            handle: Some(handle),
        })
    }

    /// Bytes handed to the writer and not written yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Hands bytes to the writer; false if it has stopped (its failure is on the
    /// owner's channel).
    pub(crate) fn write(&self, chunk: Vec<u8>) -> bool {
        let len = chunk.len();
        self.in_flight.fetch_add(len, Ordering::AcqRel);
        match &self.chunks {
            Some(tx) if tx.send(chunk).is_ok() => true,
            _ => {
                self.in_flight.fetch_sub(len, Ordering::AcqRel);
                false
            }
        }
    }

    /// No more chunks: the writer writes what it holds, reports
    /// [`Input::WriterDone`] and exits.
    pub(crate) fn finish(&mut self) {
        self.chunks = None;
    }

    /// Waits for the thread; call after `finish` and after the socket is shut
    /// down (which unblocks a write stuck on a peer that does not read).
    pub(crate) fn join(&mut self) {
        self.chunks = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn write_loop(
    mut stream: TcpStream,
    chunks: Receiver<Vec<u8>>,
    in_flight: &AtomicUsize,
    tx: &SyncSender<Input>,
) {
    let _report = ReportPanic {
        tx,
        input: Input::WriteFailed,
        thread: "writer",
    };
    while let Ok(chunk) = chunks.recv() {
        if let Err(e) = stream.write_all(&chunk) {
            let _ = tx.send(Input::WriteFailed(e));
            return;
        }
        in_flight.fetch_sub(chunk.len(), Ordering::AcqRel);
        // A hint: if the channel is full the owner is about to look anyway.
        let _ = tx.try_send(Input::Wake);
    }
    let _ = tx.send(Input::WriterDone);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A helper thread that panics tells the owner, which then fails the
    /// connection; without the report the owner would wait forever.
    #[test]
    fn a_panicking_helper_thread_reports_a_failure_to_the_owner() {
        let (tx, rx) = mpsc::sync_channel(1);
        let helper = thread::spawn(move || {
            let _report = ReportPanic {
                tx: &tx,
                input: Input::ReadFailed,
                thread: "reader",
            };
            panic!("forced by the test");
        });
        assert!(helper.join().is_err());
        match rx.recv() {
            Ok(Input::ReadFailed(e)) => {
                assert_eq!(e.kind(), io::ErrorKind::Other);
                assert_eq!(
                    e.to_string(),
                    "sockette's reader thread panicked (a bug in sockette)"
                );
            }
            _ => panic!("expected ReadFailed"),
        }
        // A thread that ends normally reports nothing.
        let (tx, rx) = mpsc::sync_channel(1);
        thread::spawn(move || {
            let _report = ReportPanic {
                tx: &tx,
                input: Input::WriteFailed,
                thread: "writer",
            };
        })
        .join()
        .unwrap();
        assert!(
            rx.recv().is_err(),
            "no report from a thread that did not panic"
        );
    }
}
