//! The owner thread's loop: waits on the channel the helper threads and senders
//! feed, passes bytes and time to the core, hands the core's output to the writer,
//! and turns the core's events into this crate's. The WebSocket protocol is the
//! core's; this crate's own policy around the close lives here: commands are
//! refused once the core is closing (and what senders still queue is counted as
//! not sent), dropping an open client closes it with 1001, and after the close
//! the socket lingers up to [`LINGER`] for our last bytes and the peer's end.
//!
//! Rules:
//! - Only the owner thread touches the core; helper threads only move bytes.
//! - After any input or command: drain events, then transmit (the core's order).
//! - When the core reports `Close`, the socket is shut down and the threads are
//!   joined *before* the `Close` event is queued: "closed" means closed.

use std::collections::VecDeque;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sockette_core::{
    ClientConfig, CloseCode, CloseInfo, CommandError, Connection, Error as CoreError,
    Event as CoreEvent, InputBuffer, Role, State, UpgradedConfig, WsUrl,
};

use sockette_driver::LINGER;

use crate::error::{ConnectStep, Error};
use crate::event::Event;
use crate::io::{self, ConnectJob, Input, Writer};
use crate::sender::{ChannelWake, Sender, SenderQueue};

/// Inputs the owner's channel holds before the reader blocks. What the reader
/// reads ahead of the owner is bounded by the room it was given
/// ([`io::READ_ROOM`], or the rest of a large message in one frame).
const CHANNEL_BOUND: usize = 16;
/// Bytes handed to the writer thread at most (or `max_buffered_output` if
/// smaller); the rest waits in the core, whose `max_buffered_output` applies.
const WRITE_WINDOW: usize = 1 << 20;
/// Inputs processed per turn before events are delivered.
const INPUTS_PER_TURN: usize = 64;

/// Settings the driver needs beside the core's.
pub(crate) struct Options {
    pub(crate) connect_timeout: Duration,
    pub(crate) max_buffered_output: usize,
}

pub(crate) struct Driver {
    core: Connection,
    url: WsUrl,
    target: String,
    write_window: usize,
    rx: Option<Receiver<Input>>,
    tx: SyncSender<Input>,
    senders: SenderQueue,
    cancel: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    /// Where the reader gets room to read into; `None` once it is told to stop.
    rooms: Option<SyncSender<InputBuffer>>,
    /// The reader used up its room and waits for more: given at the next turn,
    /// once the events are drained (so that little is left undecoded to move).
    room_wanted: bool,
    socket: Option<TcpStream>,
    writer: Option<Writer>,
    step: ConnectStep,
    opened: bool,
    /// The reader reached the end of the socket: the peer's EOF (given to the
    /// core, which reports the end itself, so a later transport failure is not
    /// reported), or, during the linger after the close, EOF or a failed read
    /// (no peer end left to wait for).
    eof_seen: bool,
    /// A transport failure to report instead of the core's generic one.
    pending_error: Option<Error>,
    /// The text of the last error, which becomes the reason of a 1006 close.
    last_error: Option<String>,
    not_sent: usize,
    events: VecDeque<Event>,
    /// The `Close` event has been queued.
    finished: bool,
    close_info: Option<CloseInfo>,
}

impl Driver {
    /// Creates the connection and starts the connector thread; returns at once.
    pub(crate) fn start(config: ClientConfig, options: Options) -> Result<Driver, Error> {
        let now = Instant::now();
        let url = config.url().clone();
        // The core reads no clock: certificates are checked against this time.
        let config = config.wall_clock(std::time::SystemTime::now());
        let core = Connection::client(config, now)?;
        let (tx, rx) = mpsc::sync_channel(CHANNEL_BOUND);
        let senders = SenderQueue::new(&core, ChannelWake(tx.clone()));
        let cancel = Arc::new(AtomicBool::new(false));
        let (rooms, rooms_rx) = mpsc::sync_channel(1);
        let reader = io::spawn_connector(ConnectJob {
            host: url.host().to_string(),
            port: url.port(),
            deadline: now.checked_add(options.connect_timeout),
            cancel: cancel.clone(),
            to_owner: tx.clone(),
            rooms: rooms_rx,
        })
        .map_err(Error::Io)?;
        let target = sockette_driver::target_of(&url);
        Ok(Driver {
            core,
            url,
            target,
            write_window: WRITE_WINDOW.min(options.max_buffered_output).max(1),
            rx: Some(rx),
            tx,
            senders,
            cancel,
            reader: Some(reader),
            rooms: Some(rooms),
            room_wanted: false,
            socket: None,
            writer: None,
            step: ConnectStep::Resolve,
            opened: false,
            eof_seen: false,
            pending_error: None,
            last_error: None,
            not_sent: 0,
            events: VecDeque::new(),
            finished: false,
            close_info: None,
        })
    }

    /// A connection already open on `stream`, whose upgrade was done elsewhere:
    /// the reader and writer threads start on it at once, nothing is connected.
    /// The stream is made blocking, without read or write timeouts (the threads
    /// block on it), and with `TCP_NODELAY`, as the streams this crate connects.
    pub(crate) fn upgraded(
        stream: TcpStream,
        role: Role,
        config: UpgradedConfig,
        leftover: &[u8],
    ) -> Result<Driver, Error> {
        stream.set_nonblocking(false).map_err(Error::Io)?;
        stream.set_read_timeout(None).map_err(Error::Io)?;
        stream.set_write_timeout(None).map_err(Error::Io)?;
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().map_err(Error::Io)?;
        let url = WsUrl::parse(&format!("ws://{peer}/")).map_err(CoreError::from)?;
        let mut core = Connection::upgraded(role, config, Instant::now(), leftover)?;
        let max_buffered_output = core.limits().max_buffered_output;
        let (tx, rx) = mpsc::sync_channel(CHANNEL_BOUND);
        let senders = SenderQueue::new(&core, ChannelWake(tx.clone()));
        // The stream is open already: the reader's first room goes with it.
        let (rooms, rooms_rx) = mpsc::sync_channel(1);
        let _ = rooms.try_send(core.take_input_buffer(io::READ_ROOM));
        let writer =
            Writer::spawn(stream.try_clone().map_err(Error::Io)?, tx.clone()).map_err(Error::Io)?;
        let reader = io::spawn_reader(stream.try_clone().map_err(Error::Io)?, tx.clone(), rooms_rx)
            .map_err(Error::Io)?;
        Ok(Driver {
            core,
            url,
            target: peer.to_string(),
            write_window: WRITE_WINDOW.min(max_buffered_output).max(1),
            rx: Some(rx),
            tx,
            senders,
            cancel: Arc::new(AtomicBool::new(false)),
            reader: Some(reader),
            rooms: Some(rooms),
            room_wanted: false,
            socket: Some(stream),
            writer: Some(writer),
            step: ConnectStep::Upgrade,
            opened: false,
            eof_seen: false,
            pending_error: None,
            last_error: None,
            not_sent: 0,
            events: VecDeque::new(),
            finished: false,
            close_info: None,
        })
    }

    // ----- getters -----

    pub(crate) fn url(&self) -> &WsUrl {
        &self.url
    }

    pub(crate) fn state(&self) -> State {
        self.core.state()
    }

    pub(crate) fn buffered_amount(&self) -> usize {
        self.core.buffered_amount()
            + self.writer.as_ref().map_or(0, Writer::in_flight)
            + self.senders.queued_bytes()
    }

    pub(crate) fn stats(&self) -> sockette_core::Stats {
        self.core.stats()
    }

    pub(crate) fn close_info(&self) -> Option<&CloseInfo> {
        self.close_info.as_ref()
    }

    pub(crate) fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.socket.as_ref().and_then(|s| s.peer_addr().ok())
    }

    pub(crate) fn sender(&self) -> Sender {
        self.senders.sender()
    }

    /// True once every event, `Close` included, has been handed out.
    pub(crate) fn is_done(&self) -> bool {
        self.finished && self.events.is_empty()
    }

    // ----- commands from the owner thread -----

    /// Runs a command on the core, after what senders queued before it; the
    /// core's refusal is returned as it is.
    pub(crate) fn command(
        &mut self,
        f: impl FnOnce(&mut Connection, Instant) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let now = Instant::now();
        self.apply_sender_commands(now);
        f(&mut self.core, now)?;
        self.flush();
        self.sync_shared();
        Ok(())
    }

    // ----- driving -----

    /// Blocks until the connection is open; the `Open` event stays queued. On
    /// failure, returns the error and the connection is already shut down.
    pub(crate) fn wait_open(&mut self) -> Result<(), Error> {
        loop {
            let got_one = self.collect(|driver| driver.opened || driver.finished);
            if self.opened {
                return Ok(());
            }
            if self.finished {
                let error = self.events.drain(..).find_map(|e| match e {
                    Event::Error(e) => Some(e),
                    _ => None,
                });
                return Err(error.unwrap_or(Error::Closed));
            }
            if !got_one {
                self.turn(None);
            }
        }
    }

    /// The next event, waiting until `deadline` (`None`: as long as it takes).
    /// `None` when the deadline passed, or when every event was handed out.
    pub(crate) fn next_event(&mut self, deadline: Option<Instant>) -> Option<Event> {
        loop {
            self.collect_event();
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.finished {
                return None;
            }
            let expired = deadline.is_some_and(|d| Instant::now() >= d);
            self.turn(deadline);
            if expired {
                self.collect_event();
                return self.events.pop_front();
            }
        }
    }

    /// Sends what commands inside a callback produced.
    pub(crate) fn after_callback(&mut self) {
        self.flush();
        self.sync_shared();
    }

    /// One turn: wait for input (until `deadline` or the core's next timer),
    /// process what arrived, run due timers and queued commands, flush.
    fn turn(&mut self, deadline: Option<Instant>) {
        if self.room_wanted {
            self.give_room();
        }
        let Some(rx) = &self.rx else { return };
        let now = Instant::now();
        let wake_at = match (deadline, self.core.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let first = match wake_at {
            None => rx.recv().ok(),
            Some(at) => rx.recv_timeout(at.saturating_duration_since(now)).ok(),
        };
        let mut inputs: Vec<Input> = first.into_iter().collect();
        while !inputs.is_empty() && inputs.len() < INPUTS_PER_TURN {
            match rx.try_recv() {
                Ok(input) => inputs.push(input),
                Err(_) => break,
            }
        }
        for input in inputs {
            self.handle(input);
        }
        let now = Instant::now();
        self.core.handle_timeout(now);
        self.apply_sender_commands(now);
        self.flush();
        self.sync_shared();
    }

    fn handle(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Resolved => self.step = ConnectStep::Tcp,
            Input::Connected(stream) => self.on_connected(stream),
            Input::ConnectFailed(step, e) => {
                self.step = step;
                self.fail_transport(e);
            }
            Input::Data {
                bytes,
                room_used_up,
            } => {
                self.core.handle_input_bytes(now, bytes);
                self.room_wanted |= room_used_up;
            }
            Input::Eof => {
                self.eof_seen = true;
                self.core.handle_eof(now);
            }
            Input::ReadFailed(e) | Input::WriteFailed(e) => self.fail_transport(e),
            Input::WriterDone | Input::Wake => {}
        }
    }

    fn on_connected(&mut self, stream: TcpStream) {
        if self.core.is_closed() {
            // Abandoned while connecting.
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let writer = stream
            .try_clone()
            .and_then(|clone| Writer::spawn(clone, self.tx.clone()));
        self.socket = Some(stream);
        match writer {
            Ok(writer) => {
                self.writer = Some(writer);
                self.give_room();
                self.step = if self.url.is_secure() {
                    ConnectStep::Tls
                } else {
                    ConnectStep::Upgrade
                };
            }
            Err(e) => self.fail_transport(e),
        }
    }

    /// Hands the reader new room from the core to read into.
    fn give_room(&mut self) {
        self.room_wanted = false;
        if let Some(rooms) = &self.rooms {
            // The reader took the last room before asking: there is space.
            let _ = rooms.try_send(self.core.take_input_buffer(io::READ_ROOM));
        }
    }

    /// The transport failed: the core ends the connection (1006) and this error,
    /// more precise than the core's, is reported in place of its own.
    fn fail_transport(&mut self, e: std::io::Error) {
        // After the peer's EOF the core reports the end itself, once the frames
        // buffered before it are polled; a later failure is its consequence.
        if self.core.is_closed() || self.eof_seen {
            return;
        }
        let opened = self.core.state() != State::Connecting;
        self.pending_error = Some(sockette_driver::socket_failure(
            e,
            opened,
            self.step,
            &self.core,
            &self.target,
        ));
        self.core.handle_eof(Instant::now());
    }

    /// Hands the senders' commands to the core, in order (a command the core
    /// cannot take yet for lack of room waits at the head of their queue).
    fn apply_sender_commands(&mut self, now: Instant) {
        self.not_sent += self.senders.apply(&mut self.core, now);
    }

    /// Moves the core's output to the writer, up to the write window.
    fn flush(&mut self) {
        #[cfg(unix)]
        self.write_directly();
        let Some(writer) = &self.writer else { return };
        while writer.in_flight() < self.write_window {
            let Some(bytes) = self.core.poll_transmit() else {
                break;
            };
            let n = bytes.len().min(self.write_window - writer.in_flight());
            if !writer.write(bytes[..n].to_vec()) {
                break;
            }
            self.core.advance_transmit(n);
        }
    }

    /// While the writer thread is idle, this thread writes what the socket takes
    /// at once (a non-blocking send on the blocking socket): a small message then
    /// costs no thread switch. What the socket does not take now, and any error,
    /// is left to the writer thread, so order and error reporting are unchanged.
    #[cfg(unix)]
    fn write_directly(&mut self) {
        let (Some(writer), Some(socket)) = (&self.writer, &self.socket) else {
            return;
        };
        if writer.in_flight() != 0 {
            return;
        }
        let socket = socket2::SockRef::from(socket);
        #[cfg(target_os = "linux")]
        let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MSG_DONTWAIT;
        while let Some(bytes) = self.core.poll_transmit() {
            match socket.send_with_flags(bytes, flags) {
                Ok(n) if n > 0 => self.core.advance_transmit(n),
                _ => return,
            }
        }
    }

    /// Tells the senders what the connection holds (in the core and in the
    /// writer's hands), and once it is closing, refuses them.
    fn sync_shared(&mut self) {
        let in_flight = self.writer.as_ref().map_or(0, Writer::in_flight);
        self.not_sent += self.senders.sync(&self.core, in_flight);
    }

    // ----- events -----

    /// Takes one event from the core when none is waiting here. One at a time:
    /// the core decodes frames as its events are polled, so whatever the callback
    /// answers to this event is sent before later frames are judged (a message
    /// then a malformed frame: the echo of the message still goes out).
    /// Returns whether an event is waiting.
    fn collect_event(&mut self) -> bool {
        self.collect(|driver| !driver.events.is_empty())
    }

    /// Takes events from the core until `enough` holds or the core has none left;
    /// returns whether any event is waiting here.
    fn collect(&mut self, enough: impl Fn(&Self) -> bool) -> bool {
        while !enough(self) {
            let Some(event) = self.core.poll_event() else {
                break;
            };
            let event = match event {
                CoreEvent::Open(info) => {
                    self.opened = true;
                    Event::Open(*info)
                }
                CoreEvent::Message(m) => Event::Message(m),
                CoreEvent::Ping(p) => Event::Ping(p),
                CoreEvent::Pong(p) => Event::Pong(p),
                CoreEvent::Error(e) => {
                    let error = match self.pending_error.take() {
                        Some(error) => error,
                        None => self.map_error(*e),
                    };
                    self.last_error = Some(error.to_string());
                    Event::Error(error)
                }
                CoreEvent::Close(mut info) => {
                    self.shutdown(info.was_clean);
                    sockette_driver::explain_close(&mut info, self.last_error.take());
                    if self.not_sent > 0 {
                        let messages = std::mem::take(&mut self.not_sent);
                        self.events
                            .push_back(Event::Error(Error::NotSent { messages }));
                    }
                    self.close_info = Some(info.clone());
                    self.finished = true;
                    Event::Close(info)
                }
                // A kind of event this backend does not know yet.
                _ => continue,
            };
            self.events.push_back(event);
        }
        !self.events.is_empty()
    }

    /// Before `Open`, a core error is a failed opening at the current step.
    fn map_error(&self, e: CoreError) -> Error {
        sockette_driver::core_failure(e, self.opened, self.step, &self.core, &self.target)
    }

    // ----- shutting down -----

    /// Writes the last bytes, shuts the socket down, joins the threads. A clean
    /// close also waits (up to [`LINGER`]) for the peer to close its side.
    fn shutdown(&mut self, clean: bool) {
        self.cancel.store(true, Ordering::Release);
        self.sync_shared();
        let Some(mut writer) = self.writer.take() else {
            // Never connected: the connector thread may still be in the system
            // resolver or a connect attempt, which std cannot interrupt. It was
            // cancelled, holds no socket the owner needs, and exits by itself
            // once that call returns; it is not waited for.
            self.rx = None;
            self.rooms = None;
            self.reader = None;
            self.socket = None;
            return;
        };
        while let Some(bytes) = self.core.poll_transmit() {
            let n = bytes.len();
            if !writer.write(bytes.to_vec()) {
                break;
            }
            self.core.advance_transmit(n);
        }
        writer.finish();
        let linger = Instant::now() + LINGER;
        self.wait_for(linger, |i| {
            matches!(i, Input::WriterDone | Input::WriteFailed(_))
        });
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(Shutdown::Write);
        }
        if clean && !self.eof_seen {
            self.wait_for(linger, |i| matches!(i, Input::Eof | Input::ReadFailed(_)));
        }
        if let Some(socket) = self.socket.take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        // Dropping the receiver unblocks a reader waiting for space in the
        // channel; dropping the room sender, one waiting for room to read into.
        self.rx = None;
        self.rooms = None;
        writer.join();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.not_sent += self.senders.sync(&self.core, 0);
    }

    fn wait_for(&mut self, deadline: Instant, done: impl Fn(&Input) -> bool) {
        loop {
            let Some(rx) = &self.rx else { return };
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(input) = rx.recv_timeout(left) else {
                return;
            };
            if matches!(input, Input::Eof | Input::ReadFailed(_)) {
                self.eof_seen = true;
            }
            // The reader must go on to the end of the stream: give it room.
            if matches!(
                input,
                Input::Data {
                    room_used_up: true,
                    ..
                }
            ) {
                self.give_room();
            }
            if done(&input) {
                return;
            }
        }
    }
}

impl Drop for Driver {
    /// Dropping an open client closes it with 1001 (going away) without waiting
    /// for the peer's answer, then shuts the socket down and joins the threads.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let now = Instant::now();
        if matches!(self.core.state(), State::Open | State::Connecting) {
            let _ = self.core.close(now, CloseCode::GoingAway, "");
        }
        self.shutdown(false);
    }
}
