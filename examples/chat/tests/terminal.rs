//! End to end: the real `sockette-chat` binary in a pseudo-terminal of 100x30,
//! against its embedded echo server, its output parsed by a terminal emulator
//! (vt100) into the screen a person would see. Both are Rust crates, so this
//! needs no tmux or other system package.
//!
//! Every wait is bounded ([`WAIT`]) and the child is killed if the test fails,
//! so the test always stops by itself.

use std::io::{Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};

/// The terminal's size.
const ROWS: u16 = 30;
/// See `ROWS`.
const COLS: u16 = 100;
/// The status line: the fourth row from the bottom (the input box's three rows
/// are below it; see the layout in `src/ui.rs`).
const STATUS_ROW: u16 = ROWS - 4;
/// The longest any one step may take.
const WAIT: Duration = Duration::from_secs(10);
/// What the program writes to leave the alternate screen, on its way out.
const LEAVE_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049l";

/// The program's screen, as parsed from everything it wrote so far.
struct Screen {
    parser: vt100::Parser,
    /// Every byte the program wrote (to find the alternate screen's end).
    raw: Vec<u8>,
    /// How much of `raw` the parser has seen.
    fed: usize,
    /// The alternate screen's rows as they were just before the program left it:
    /// its last frame, which the main screen replaces at once.
    last_frame: Option<Vec<String>>,
    output: Receiver<Vec<u8>>,
}

impl Screen {
    fn new(output: Receiver<Vec<u8>>) -> Screen {
        Screen {
            parser: vt100::Parser::new(ROWS, COLS, 0),
            raw: Vec::new(),
            fed: 0,
            last_frame: None,
            output,
        }
    }

    /// The rows on screen now.
    fn rows(&self) -> Vec<String> {
        self.parser.screen().rows(0, COLS).collect()
    }

    fn status(&self) -> String {
        self.rows()[usize::from(STATUS_ROW)].trim().to_string()
    }

    /// Feeds `bytes` to the parser, keeping a copy of the alternate screen just
    /// before it is left: the program's last frame, shown for no time at all.
    fn feed(&mut self, bytes: &[u8]) {
        let from = self.raw.len().saturating_sub(LEAVE_ALTERNATE_SCREEN.len());
        self.raw.extend_from_slice(bytes);
        let leave = self.raw[from..]
            .windows(LEAVE_ALTERNATE_SCREEN.len())
            .position(|w| w == LEAVE_ALTERNATE_SCREEN)
            .map(|p| from + p);
        if let Some(at) = leave {
            // The sequence may have begun in an earlier chunk: what was fed of
            // it is an unfinished escape, which changed nothing yet.
            let at = at.max(self.fed);
            self.parser.process(&self.raw[self.fed..at]);
            self.fed = at;
            if self.parser.screen().alternate_screen() {
                self.last_frame = Some(self.rows());
            }
        }
        self.parser.process(&self.raw[self.fed..]);
        self.fed = self.raw.len();
    }

    /// Reads the program's output until `done` holds (true) or [`WAIT`] passes
    /// (false). Also false if the program ends its output first.
    fn wait_for(&mut self, mut done: impl FnMut(&Screen) -> bool) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            if done(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.feed(&bytes),
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) => return done(self),
            }
        }
    }

    fn dump(&self) -> String {
        self.rows().join("\n")
    }
}

/// Kills the child if the test fails before it exits.
struct KillOnDrop(Box<dyn Child + Send + Sync>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
    }
}

#[test]
fn a_line_typed_comes_back_and_esc_closes_with_1000() {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_sockette-chat"));
    command.arg("--no-clock");
    command.env("TERM", "xterm-256color");
    let child = pty
        .slave
        .spawn_command(command)
        .expect("sockette-chat runs");
    let mut child = KillOnDrop(child);
    // Only the child holds the terminal's other end now: once it exits, reads
    // from ours end.
    drop(pty.slave);

    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut keys = pty.master.take_writer().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = Screen::new(rx);

    assert!(
        screen.wait_for(|s| s.status().starts_with("open: ws://127.0.0.1:")),
        "the status line never showed the open:\n{}",
        screen.dump()
    );

    let line = "hello from the pty test";
    keys.write_all(line.as_bytes()).unwrap();
    keys.write_all(b"\r").unwrap();
    keys.flush().unwrap();
    let echo = format!("< {line}");
    assert!(
        screen.wait_for(|s| s.rows().iter().any(|r| r.contains(&echo))),
        "the echo never appeared:\n{}",
        screen.dump()
    );
    assert!(
        screen
            .rows()
            .iter()
            .any(|r| r.contains(&format!("> {line}"))),
        "the line sent is not in the history:\n{}",
        screen.dump()
    );
    assert!(screen.status().contains("sent 1 · received 1"));
    // What the README shows of a run.
    println!("--- the screen with the echo ---\n{}", screen.dump());

    // Esc, alone: the program reads a lone escape byte as the key.
    keys.write_all(b"\x1b").unwrap();
    keys.flush().unwrap();
    assert!(
        screen.wait_for(|s| s.last_frame.is_some()),
        "the program never left its screen:\n{}",
        screen.dump()
    );
    let last_frame = screen.last_frame.clone().unwrap();
    let status = last_frame[usize::from(STATUS_ROW)].trim();
    // The code and reason are the server's answer: this one echoes the code
    // and gives no reason.
    assert!(
        status.starts_with("closed: 1000 (normal closure), clean"),
        "the last frame's status line is not the clean close: {status:?}\n{}",
        last_frame.join("\n")
    );
    println!("--- the last frame ---\n{}", last_frame.join("\n"));

    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "sockette-chat did not exit");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "sockette-chat exited with {status}");
    // Back on the main screen, the program's last word stays.
    assert!(
        screen.wait_for(|s| s
            .rows()
            .iter()
            .any(|r| r.contains("sockette-chat: closed: 1000 (normal closure)"))),
        "no closing line on the main screen:\n{}",
        screen.dump()
    );
}
