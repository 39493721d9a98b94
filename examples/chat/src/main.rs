//! # sockette-chat
//!
//! A terminal chat client that shows the seed's promise on a UI loop: the
//! program's own loop draws the screen, reads the keys and, once a frame, calls
//! sockette-std's [`Client::dispatch`] with a frame's timeout (16 ms), so every
//! WebSocket event (open, message, close, error) is delivered to the UI thread,
//! in a callback that updates the screen's state directly: no channel, no lock,
//! and no network thread for the client (the UI thread does its reads and
//! writes inside `dispatch`).
//!
//! - Typing a line and Enter sends it; the server's messages appear below it.
//! - Esc, Ctrl-C, Ctrl-D or `/quit` close the connection (1000 "bye"); the
//!   program exits when the `Close` event arrives, with status 0 when the close
//!   was clean (1 otherwise), after printing how it ended. A close the user did
//!   not ask for (the server's, a failure to connect, a lost connection) stays
//!   on screen until a key is pressed.
//! - The status line follows the events (open; closed with its code and reason;
//!   the text of an error) and shows `buffered_amount()`, the bytes sent and not
//!   yet written to the socket.
//! - A second thread, a clock, sends `tick HH:MM:SS UTC` every 5 s through a
//!   [`Sender`](sockette_std::Sender): a send from another thread wakes the UI
//!   thread's `dispatch` at once. `--no-clock` turns it off.
//!
//! The connection is started with [`ClientBuilder::start`](sockette_std::ClientBuilder::start),
//! which returns at once (the opening goes on inside `dispatch`), so the UI
//! never waits for the network longer than a frame, not even to connect.
//!
//! ```sh
//! cargo run -p sockette-chat                      # an embedded echo server on a free loopback port, over ws://
//! cargo run -p sockette-chat -- wss://host/path   # a server of yours
//! cargo run -p sockette-chat -- --no-clock        # without the clock's ticks
//! ```
//!
//! The terminal is put back as it was (raw mode off, the main screen back) on
//! every way out: the close, an error, and a panic.

mod app;
mod clock;
mod echo;
mod ui;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use crossterm::event::{self, Event as TermEvent, KeyEventKind};
use sockette_std::Client;

use crate::app::{Action, App, Entry};
use crate::clock::Clock;

/// One frame: the longest `dispatch` waits for the network, so keys and the
/// screen are never more than a frame late (about 60 frames a second).
const FRAME: Duration = Duration::from_millis(16);

/// How often the clock sends a tick.
const CLOCK_EVERY: Duration = Duration::from_secs(5);

/// The path asked of the embedded echo server.
const ECHO_PATH: &str = "/chat";

/// The usage, for `--help` and a bad argument.
const USAGE: &str = "\
usage: sockette-chat [URL] [--no-clock]

  URL         ws://host[:port]/path or wss://host[:port]/path; without it, an
              embedded echo server on a free loopback port (ws://)
  --no-clock  no clock thread sending a tick every 5 s

Enter sends the line typed; Esc, Ctrl-C, Ctrl-D or /quit close (1000) and exit.";

/// The command line.
#[derive(Debug, Default)]
struct Args {
    /// The server; `None` for the embedded echo server.
    url: Option<String>,
    /// False with `--no-clock`.
    clock: bool,
}

impl Args {
    /// Reads the arguments; `Err` holds what to print (the usage for `--help`).
    fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            url: None,
            clock: true,
        };
        for arg in args {
            match arg.as_str() {
                "--no-clock" => parsed.clock = false,
                "-h" | "--help" => return Err(USAGE.to_string()),
                flag if flag.starts_with('-') => {
                    return Err(format!("unknown option {flag}\n\n{USAGE}"))
                }
                _ if parsed.url.is_some() => return Err(format!("one URL only\n\n{USAGE}")),
                _ => parsed.url = Some(arg),
            }
        }
        Ok(parsed)
    }
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(text) if text == USAGE => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(text) => {
            eprintln!("sockette-chat: {text}");
            return ExitCode::from(2);
        }
    };

    // Everything that can fail before the first frame fails here, on the
    // ordinary screen, where its message stays readable.
    let (url, server_note) = match &args.url {
        Some(url) => (url.clone(), None),
        None => match echo::start() {
            Ok(addr) => (
                format!("ws://{addr}{ECHO_PATH}"),
                Some(format!("embedded echo server on ws://{addr}/")),
            ),
            Err(e) => {
                eprintln!("sockette-chat: cannot start the echo server: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    // `start`, not `connect`: it returns at once, and the opening's outcome
    // (Open, or Error then Close) arrives as events inside `dispatch`.
    let mut client = match Client::builder(&url).start() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("sockette-chat: {url}: {e}");
            return ExitCode::from(2);
        }
    };
    let clock = if args.clock {
        match Clock::start(client.sender(), CLOCK_EVERY) {
            Ok(clock) => Some(clock),
            Err(e) => {
                eprintln!("sockette-chat: cannot start the clock thread: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };

    let mut app = App::new(&url);
    if let Some(note) = server_note {
        app.push(Entry::Note(note));
    }
    app.push(Entry::Note(format!("connecting to {url}")));

    let outcome = run(&mut client, &mut app);
    // Stops the clock's thread and waits for it, before the connection it
    // sends through goes (an open one, left without waiting, closes with 1001).
    drop(clock);
    drop(client);

    // The terminal is restored by now: this goes to the ordinary screen, and
    // stays there after the program.
    let mut stdout = io::stdout();
    match (outcome, app.close_info()) {
        (Err(e), _) => {
            eprintln!("sockette-chat: terminal: {e}");
            ExitCode::FAILURE
        }
        (Ok(()), Some(info)) => {
            let _ = writeln!(
                stdout,
                "sockette-chat: closed: {}",
                app::describe_close(info)
            );
            if info.was_clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        (Ok(()), None) => {
            let _ = writeln!(stdout, "sockette-chat: left without waiting for the close");
            ExitCode::FAILURE
        }
    }
}

/// The UI loop, on the thread that owns the connection: draw, read the keys
/// that are waiting, then let sockette deliver its events for up to a frame.
/// Returns after drawing the frame that shows the `Close` the user asked for,
/// after a key once the server (or a failure) closed, or when the user leaves
/// without waiting for the `Close`.
fn run(client: &mut Client, app: &mut App) -> io::Result<()> {
    // Raw mode and the alternate screen; ratatui also installs a panic hook
    // that restores the terminal before the panic's message is printed.
    let mut terminal = ratatui::try_init()?;
    let _restore = RestoreOnDrop;
    loop {
        terminal.draw(|frame| ui::draw(frame, app, client.buffered_amount()))?;
        if app.is_finished() {
            return Ok(());
        }
        // Only the keys already typed: the frame's wait is `dispatch`'s, which
        // wakes for the network; a key typed meanwhile waits at most a frame.
        while event::poll(Duration::ZERO)? {
            // Press only: some terminals (Windows) report releases as well.
            if let TermEvent::Key(key) = event::read()? {
                if key.kind == KeyEventKind::Press && app.on_key(key, client) == Action::Leave {
                    return Ok(());
                }
            }
        }
        if app.is_closed() {
            // The connection is over and the close stays on screen: only keys
            // are left to wait for.
            event::poll(FRAME)?;
            continue;
        }
        // The callback runs here, on this thread, for the events ready within
        // the frame. `Err` only once every event, `Close` included, has been
        // delivered, which `is_closed` has seen already.
        if client
            .dispatch(FRAME, |_ws, event| app.on_event(event))
            .is_err()
        {
            return Ok(());
        }
    }
}

/// Restores the terminal when the UI loop ends, however it ends (an I/O
/// error's `?` included; a panic is the hook's).
struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        ratatui::restore();
        // The cursor was hidden while drawing when no input was shown.
        let _ = crossterm::execute!(io::stdout(), crossterm::cursor::Show);
    }
}
