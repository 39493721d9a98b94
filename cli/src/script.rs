//! The two scripts of `sockette URL`: [`Interactive`] (stdin lines, read on a
//! helper thread that sends through a [`Sender`]) and [`SendList`] (`--send`:
//! send, wait for the replies or `--wait`, close).

use std::io::{self, BufRead, IsTerminal};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sockette_std::{CloseCode, CommandError, Event, Handle, Message, Sender};

use crate::exit::Status;
use crate::output::Printer;
use crate::session::{self, Script};

/// How long the stdin thread waits before retrying a send refused because the
/// outgoing buffer is full.
const BACKPRESSURE_WAIT: Duration = Duration::from_millis(10);

/// Each stdin line is a text message; end of input closes with 1000.
pub(crate) struct Interactive {
    /// Whether lines starting with `/` are commands.
    slash: bool,
    /// Set by the stdin thread if it dies: why the session failed.
    failure: Arc<Mutex<Option<String>>>,
}

impl Interactive {
    /// Reads stdin once open; `slash`: lines starting with `/` are commands.
    pub(crate) fn new(slash: bool) -> Interactive {
        Interactive {
            slash,
            failure: Arc::default(),
        }
    }
}

/// What the stdin thread says when it panics.
const STDIN_PANIC: &str = "the stdin reader failed (a bug in sockette); closing";

/// Ends the session if the stdin thread panics: without it the session would wait
/// forever for the end-of-input close that thread was to send. `on_panic` runs
/// only while the thread unwinds.
struct OnPanic<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnPanic<F> {
    fn drop(&mut self) {
        if thread::panicking() {
            (self.0)();
        }
    }
}

impl Script for Interactive {
    fn on_event(&mut self, ws: &mut Handle, event: &Event, out: &Printer) {
        // Stdin is read once open: an end of input before that would abandon the
        // opening (a close before `Open`), hiding why a connection failed.
        if !matches!(event, Event::Open(_)) {
            return;
        }
        let sender = ws.sender();
        let stdin_out = out.clone();
        let slash = self.slash;
        let failure = self.failure.clone();
        // Never joined: it may stay blocked in a read of stdin after the close,
        // and ends with the process.
        let spawned = thread::Builder::new().name("stdin".into()).spawn(move || {
            let (panic_sender, mut panic_out) = (sender.clone(), stdin_out.clone());
            let _on_panic = OnPanic(move || {
                *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(STDIN_PANIC.into());
                panic_out.error(STDIN_PANIC, None, Status::Failed);
                let _ = panic_sender.close(CloseCode::InternalError, "client input failed");
            });
            read_stdin(&sender, &stdin_out, slash);
        });
        if let Err(e) = spawned {
            out.warn(&format!("cannot read stdin: {e}"));
            session::close(ws, out, CloseCode::Normal, "");
        }
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The stdin thread: sends each line until end of input, then closes.
fn read_stdin(sender: &Sender, out: &Printer, slash: bool) {
    // Piped input is not on the screen: show what is sent.
    let echo = !io::stdin().is_terminal();
    let mut stdin = io::stdin().lock();
    let mut line = String::new();
    loop {
        line.clear();
        match stdin.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                out.warn(&format!("cannot read stdin: {e}"));
                break;
            }
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let command = if slash {
            Command::parse(text)
        } else {
            Ok(Command::Text(text.to_string()))
        };
        let command = match command {
            Ok(command) => command,
            Err(why) => {
                out.warn(&why);
                continue;
            }
        };
        // Shown first: the echo may arrive before `queue` returns.
        command.show(out, echo);
        match command.queue(sender) {
            Ok(()) => {}
            Err(e) if e.is_closed() => return,
            Err(e) => out.warn(&format!("not sent: {e}")),
        }
    }
    if sender.close(CloseCode::Normal, "").is_ok() {
        out.closing(CloseCode::Normal.as_u16(), "");
    }
}

/// One line of input with `--slash`.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Text(String),
    Binary(Vec<u8>),
    Ping(String),
    Close(u16, String),
}

impl Command {
    fn parse(line: &str) -> Result<Command, String> {
        if let Some(text) = line.strip_prefix("//") {
            return Ok(Command::Text(format!("/{text}")));
        }
        let Some(command) = line.strip_prefix('/') else {
            return Ok(Command::Text(line.to_string()));
        };
        let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
        match name {
            "ping" => Ok(Command::Ping(rest.to_string())),
            "binary" => parse_hex(rest).map(Command::Binary),
            "close" => {
                let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                let code = match code {
                    "" => 1000,
                    code => code
                        .parse()
                        .map_err(|_| format!("/close: {code:?} is not a close code"))?,
                };
                Ok(Command::Close(code, reason.to_string()))
            }
            _ => Err(format!(
                "unknown command /{name} (commands: /ping [TEXT], /close [CODE [REASON]], /binary HEX; //text sends /text)"
            )),
        }
    }

    /// Prints what is about to be sent (a text line only when `echo`).
    fn show(&self, out: &Printer, echo: bool) {
        match self {
            Command::Text(text) if echo => out.sent(&Message::Text(text.as_str().into())),
            Command::Text(_) => {}
            Command::Binary(data) => out.sent(&Message::Binary(data.clone().into())),
            Command::Ping(text) => out.control("ping", true, text.as_bytes()),
            Command::Close(code, reason) => out.closing(*code, reason),
        }
    }

    /// Queues the command; waits while the outgoing buffer is full (input faster
    /// than the network), so no line is dropped.
    fn queue(&self, sender: &Sender) -> Result<(), CommandError> {
        loop {
            let result = match self {
                Command::Text(text) => sender.send_text(text),
                Command::Binary(data) => sender.send_binary(data.as_slice()),
                Command::Ping(text) => sender.ping(text.as_bytes()),
                Command::Close(code, reason) => sender.close(CloseCode::from(*code), reason),
            };
            match result {
                Err(CommandError::OutputFull { .. }) => thread::sleep(BACKPRESSURE_WAIT),
                other => return other,
            }
        }
    }
}

/// "de ad be ef" or "deadbeef" → bytes. Works on characters, not bytes: the
/// line may hold any UTF-8 ("aé0" is refused, not sliced inside the "é").
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| format!("/binary: {text:?} is not hex"))?;
    if digits.len() % 2 != 0 {
        return Err(format!("/binary: odd number of hex digits in {text:?}"));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| (pair[0] << 4) | pair[1])
        .collect())
}

/// `--send`: sends the messages once open, waits for as many replies (or the
/// deadline), then closes with 1000.
pub(crate) struct SendList {
    messages: Vec<String>,
    wait: Duration,
    deadline: Option<Instant>,
    replies: usize,
    closing: bool,
}

impl SendList {
    /// Sends `messages`; waits at most `wait` after the opening.
    pub(crate) fn new(messages: Vec<String>, wait: Duration) -> SendList {
        SendList {
            messages,
            wait,
            deadline: None,
            replies: 0,
            closing: false,
        }
    }

    fn close(&mut self, ws: &mut Handle, out: &Printer) {
        if !self.closing {
            self.closing = true;
            session::close(ws, out, CloseCode::Normal, "");
        }
    }
}

impl Script for SendList {
    fn on_event(&mut self, ws: &mut Handle, event: &Event, out: &Printer) {
        match event {
            Event::Open(_) => {
                // `None` (never) only for a wait too long to represent.
                self.deadline = Instant::now().checked_add(self.wait);
                for text in &self.messages {
                    session::send(ws, out, &Message::Text(text.as_str().into()));
                }
            }
            Event::Message(_) => {
                self.replies += 1;
                if self.replies >= self.messages.len() {
                    self.close(ws, out);
                }
            }
            Event::Close(_) => self.closing = true,
            _ => {}
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.deadline.filter(|_| !self.closing)
    }

    fn on_deadline(&mut self, ws: &mut Handle, out: &Printer) {
        out.note(
            "timeout",
            &format!(
                "{} of {} replies after {:?}; closing",
                self.replies,
                self.messages.len(),
                self.wait
            ),
            serde_json::json!({ "replies": self.replies, "expected": self.messages.len() }),
        );
        self.close(ws, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn on_panic_runs_only_when_the_thread_panics() {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let quiet = thread::spawn(move || {
            let _guard = OnPanic(|| flag.store(true, Ordering::SeqCst));
        });
        quiet.join().unwrap();
        assert!(!ran.load(Ordering::SeqCst), "ran without a panic");
        let flag = ran.clone();
        let panicking = thread::spawn(move || {
            let _guard = OnPanic(|| flag.store(true, Ordering::SeqCst));
            panic!("forced by the test");
        });
        assert!(panicking.join().is_err());
        assert!(ran.load(Ordering::SeqCst), "did not run on a panic");
    }

    #[test]
    fn slash_commands_parse() {
        assert_eq!(Command::parse("hi"), Ok(Command::Text("hi".into())));
        assert_eq!(Command::parse("//hi"), Ok(Command::Text("/hi".into())));
        assert_eq!(Command::parse("/ping"), Ok(Command::Ping("".into())));
        assert_eq!(Command::parse("/ping a b"), Ok(Command::Ping("a b".into())));
        assert_eq!(
            Command::parse("/close"),
            Ok(Command::Close(1000, "".into()))
        );
        assert_eq!(
            Command::parse("/close 4000 see you"),
            Ok(Command::Close(4000, "see you".into()))
        );
        assert_eq!(
            Command::parse("/binary de ad BEEF"),
            Ok(Command::Binary(vec![0xde, 0xad, 0xbe, 0xef]))
        );
        assert!(Command::parse("/binary abc").is_err());
        // Multi-byte characters: refused, never sliced through.
        assert_eq!(
            Command::parse("/binary aé0"),
            Err("/binary: \"aé0\" is not hex".to_string())
        );
        assert!(Command::parse("/binary éé").is_err());
        assert_eq!(Command::parse("/binary "), Ok(Command::Binary(vec![])));
        assert!(Command::parse("/close x").is_err());
        assert!(Command::parse("/nope").is_err());
    }
}
