//! The chat's state and what changes it: sockette's events (handed over by the
//! `dispatch` callback) and the keys typed. Nothing here draws, waits or reads
//! the terminal, so every rule of the chat is in this one file.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sockette_std::{CloseCode, CloseInfo, Event, Handle, Message};

/// Lines of history kept; older ones are dropped, so a long session holds a
/// bounded amount of memory.
const MAX_ENTRIES: usize = 1000;

/// The reason sent with the close frame when the user leaves.
pub(crate) const CLOSE_REASON: &str = "bye";

/// The command that closes, as Esc and Ctrl-C do.
const QUIT_COMMAND: &str = "/quit";

/// Binary messages are shown as their size and at most this many bytes in hex.
const HEX_PREVIEW: usize = 16;

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A message this client sent (typed; the clock's arrive back as echoes).
    Sent(String),
    /// A message the server sent.
    Received(String),
    /// What happened to the connection: open, closing, closed.
    Note(String),
    /// An error: the connection's (`Event::Error`) or a refused send.
    Error(String),
}

/// Where the connection is, as the status line tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// `start()` returned; no `Open` yet.
    Connecting,
    /// `Open` arrived.
    Open,
    /// The user asked to close; the close frame is sent and the server's
    /// answer awaited (the `Close` event).
    Closing,
    /// The `Close` event arrived: the chat is over.
    Closed {
        /// The code, reason and clean flag of the `Close` event.
        info: CloseInfo,
        /// The text of the `Error` event before it, if there was one.
        error: Option<String>,
    },
}

/// What the UI loop does after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Go on drawing and dispatching.
    Continue,
    /// Leave now, without waiting for the `Close` event: the user asked twice.
    Leave,
}

/// Everything the screen shows.
#[derive(Debug)]
pub(crate) struct App {
    /// The URL connected to, for the status line.
    pub(crate) url: String,
    /// The history, oldest first.
    pub(crate) entries: VecDeque<Entry>,
    /// The line being typed.
    pub(crate) input: String,
    /// The connection's state, from its events.
    pub(crate) status: Status,
    /// Messages sent and received, for the status line.
    pub(crate) sent: u64,
    /// See `sent`.
    pub(crate) received: u64,
    /// The latest `Event::Error`, kept for the status line once `Close` follows.
    last_error: Option<String>,
    /// The user closed (Esc, Ctrl-C, `/quit`): the chat ends with the `Close`
    /// event. A close the user did not ask for (the server's, a failure) stays
    /// on screen until a key is pressed, so its cause and the last messages
    /// can be read.
    user_closed: bool,
}

impl App {
    /// A chat about to connect to `url`.
    pub(crate) fn new(url: &str) -> App {
        App {
            url: url.to_string(),
            entries: VecDeque::new(),
            input: String::new(),
            status: Status::Connecting,
            sent: 0,
            received: 0,
            last_error: None,
            user_closed: false,
        }
    }

    /// Adds a line to the history, dropping the oldest past the bound.
    pub(crate) fn push(&mut self, entry: Entry) {
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// True once the `Close` event has arrived: the connection is over.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.status, Status::Closed { .. })
    }

    /// True once the chat is over: closed after the user asked for it. The loop
    /// then draws once more and ends.
    pub(crate) fn is_finished(&self) -> bool {
        self.is_closed() && self.user_closed
    }

    /// The `Close` event's information, once it arrived.
    pub(crate) fn close_info(&self) -> Option<&CloseInfo> {
        match &self.status {
            Status::Closed { info, .. } => Some(info),
            _ => None,
        }
    }

    /// The status line's words.
    pub(crate) fn status_text(&self) -> String {
        match &self.status {
            Status::Connecting => format!("connecting to {}", self.url),
            Status::Open => format!("open: {}", self.url),
            Status::Closing => format!(
                "closing: sent {}, waiting for the server's answer",
                u16::from(CloseCode::Normal)
            ),
            Status::Closed { info, error } => {
                let mut text = format!("closed: {}", describe_close(info));
                // A failure's close reason is often the error's text already.
                if let Some(error) = error.as_ref().filter(|e| **e != info.reason) {
                    text.push_str(" - error: ");
                    text.push_str(error);
                }
                text
            }
        }
    }

    /// What the `dispatch` callback does with each event: the UI thread is the
    /// connection's owner, so this runs between two frames and needs no lock.
    pub(crate) fn on_event(&mut self, event: Event) {
        match event {
            Event::Open(info) => {
                self.status = Status::Open;
                let mut note = format!("open: {}", self.url);
                if let Some(protocol) = info.protocol {
                    note.push_str(&format!(", subprotocol {protocol}"));
                }
                if !info.extensions.is_empty() {
                    note.push_str(&format!(" ({})", info.extensions.join(", ")));
                }
                self.push(Entry::Note(note));
            }
            Event::Message(message) => {
                self.received += 1;
                self.push(Entry::Received(describe_message(&message)));
            }
            Event::Error(error) => {
                // Connect errors can span lines (one per address tried); the
                // status line has one.
                let text = error.to_string();
                self.push(Entry::Error(text.clone()));
                self.last_error = Some(text.lines().collect::<Vec<_>>().join("; "));
            }
            Event::Close(info) => {
                self.push(Entry::Note(format!("closed: {}", describe_close(&info))));
                let error = self.last_error.take();
                self.status = Status::Closed { info, error };
            }
            // Pings are answered by the connection itself; pongs answer
            // keepalive pings. Neither is worth a line in a chat.
            _ => {}
        }
    }

    /// A key typed. `ws` is the connection (the `Client` derefs to it): sends
    /// and the close go through it directly, on this thread.
    pub(crate) fn on_key(&mut self, key: KeyEvent, ws: &mut Handle) -> Action {
        if self.is_closed() {
            // Any key ends a chat the server (or a failure) closed.
            self.user_closed = true;
            return Action::Continue;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => self.quit(ws),
            KeyCode::Char('c' | 'd') if ctrl => self.quit(ws),
            KeyCode::Enter => {
                let line = std::mem::take(&mut self.input);
                if line.trim() == QUIT_COMMAND {
                    return self.quit(ws);
                }
                if !line.is_empty() {
                    self.send(ws, line);
                }
                Action::Continue
            }
            KeyCode::Backspace => {
                self.input.pop();
                Action::Continue
            }
            KeyCode::Char(c) if !ctrl => {
                self.input.push(c);
                Action::Continue
            }
            _ => Action::Continue,
        }
    }

    /// Sends a typed line. Before `Open` the connection holds it and sends it
    /// right after, so typing early is fine.
    fn send(&mut self, ws: &mut Handle, line: String) {
        match ws.send_text(&line) {
            Ok(()) => {
                self.sent += 1;
                self.push(Entry::Sent(escape(&line)));
            }
            Err(e) => self.push(Entry::Error(format!("not sent: {e}"))),
        }
    }

    /// Esc, Ctrl-C, Ctrl-D or `/quit`: starts the close handshake (1000) and
    /// lets the loop wait for the `Close` event. Asked again while closing, it
    /// leaves at once, for a server that never answers (the connection's own
    /// close timeout would end it too, later).
    fn quit(&mut self, ws: &mut Handle) -> Action {
        if self.status == Status::Closing {
            return Action::Leave;
        }
        self.user_closed = true;
        match ws.close(CloseCode::Normal, CLOSE_REASON) {
            Ok(()) => {
                self.status = Status::Closing;
                self.push(Entry::Note(format!(
                    "closing with {} \"{CLOSE_REASON}\"",
                    u16::from(CloseCode::Normal)
                )));
                Action::Continue
            }
            // Closing or closed already (the server's close frame came first,
            // or a failure): its `Close` event is on its way, as always; wait
            // for it like for ours, a second press still leaving at once.
            Err(_) => {
                self.status = Status::Closing;
                Action::Continue
            }
        }
    }
}

/// `1000 (normal closure) "bye", clean`.
pub(crate) fn describe_close(info: &CloseInfo) -> String {
    let mut text = info.code.to_string();
    if !info.reason.is_empty() {
        text.push_str(&format!(" \"{}\"", escape(&info.reason)));
    }
    text.push_str(if info.was_clean {
        ", clean"
    } else {
        ", not clean"
    });
    text
}

/// A received message as one history line: text as it is (control characters
/// escaped), binary as its size and first bytes.
fn describe_message(message: &Message) -> String {
    if let Message::Text(text) = message {
        return escape(text.as_str());
    }
    let bytes = message.as_bytes();
    let hex: Vec<String> = bytes
        .iter()
        .take(HEX_PREVIEW)
        .map(|b| format!("{b:02x}"))
        .collect();
    let more = if bytes.len() > HEX_PREVIEW {
        " ..."
    } else {
        ""
    };
    format!("binary ({} bytes): {}{more}", bytes.len(), hex.join(" "))
}

/// Control characters escaped (`\x1b`), line breaks kept: a server's text must
/// not reach the terminal as escape sequences that move the cursor or retitle
/// the window (the screen library writes cells as they are).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape("c1\u{9b}"), "c1\\u{9b}");
        assert_eq!(escape("two\nlines"), "two\nlines");
    }

    #[test]
    fn a_close_reads_with_its_code_and_reason() {
        let info = CloseInfo::new(CloseCode::Normal, "bye", true);
        assert_eq!(
            describe_close(&info),
            "1000 (normal closure) \"bye\", clean"
        );
    }

    #[test]
    fn the_history_is_bounded() {
        let mut app = App::new("ws://127.0.0.1:1/");
        for i in 0..MAX_ENTRIES + 10 {
            app.push(Entry::Note(i.to_string()));
        }
        assert_eq!(app.entries.len(), MAX_ENTRIES);
        assert_eq!(app.entries[0], Entry::Note("10".into()));
    }
}
