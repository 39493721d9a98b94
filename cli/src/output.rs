//! How events are shown: human lines (colored only on a terminal), quiet (received
//! messages only) or one JSON object per line. Every line of the session goes
//! through [`Printer`], so the three forms stay in step.
//!
//! On a terminal, control characters in what the server chose (message text,
//! error details) are shown escaped by [`escape_controls`], so a server cannot
//! move the cursor, retitle the window or hide lines; `--no-escape` turns that
//! off. Pipes, files and `--json` get the text unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use serde_json::{json, Value};
use sockette_std::sockette_core::{Error as CoreError, HandshakeError};
use sockette_std::{CloseInfo, ConnectCause, Error, Message, OpenInfo, Stats};

use crate::exit::Status;

/// Bytes of a binary message shown by default (the rest is counted, not shown).
const HEX_PREVIEW: usize = 32;

/// How received binary messages are displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryDisplay {
    /// Size and the first [`HEX_PREVIEW`] bytes in hex.
    Preview,
    /// Every byte in hex.
    Hex,
    /// The raw bytes, unmarked.
    Raw,
}

/// The output form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Marked lines for a person.
    Human,
    /// Received messages only.
    Quiet,
    /// One JSON object per event.
    Json,
}

/// ANSI colors of the human form.
#[derive(Debug, Clone, Copy)]
enum Color {
    Green,
    Cyan,
    Magenta,
    Yellow,
    Red,
    Dim,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Green => "32",
            Color::Cyan => "36",
            Color::Magenta => "35",
            Color::Yellow => "33",
            Color::Red => "31",
            Color::Dim => "2",
        }
    }
}

/// Prints the session's events in the chosen form.
#[derive(Debug, Clone)]
pub(crate) struct Printer {
    form: Form,
    binary: BinaryDisplay,
    color_out: bool,
    color_err: bool,
    /// Show control characters escaped on stdout / stderr (they are terminals).
    escape_out: bool,
    escape_err: bool,
    /// The text of the last error shown, not repeated as a close reason.
    last_error: Option<String>,
    /// `-v`: the handshake heads and the final statistics too.
    verbose: bool,
}

impl Printer {
    /// A printer; colors when the stream is a terminal and `NO_COLOR` is unset;
    /// control characters escaped when the stream is a terminal, unless
    /// `raw_text` (`--no-escape`) or the form is JSON. The one place that asks
    /// whether the output is a terminal.
    pub(crate) fn new(form: Form, binary: BinaryDisplay, raw_text: bool) -> Printer {
        let colors = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let (out_tty, err_tty) = (io::stdout().is_terminal(), io::stderr().is_terminal());
        Printer {
            form,
            binary,
            color_out: colors && form == Form::Human && out_tty,
            color_err: colors && err_tty,
            escape_out: !raw_text && form != Form::Json && out_tty,
            escape_err: !raw_text && err_tty,
            last_error: None,
            verbose: false,
        }
    }

    /// `-v`: also print the handshake heads and, at the end, the statistics.
    pub(crate) fn set_verbose(&mut self, verbose: bool) {
        self.verbose = verbose;
    }

    /// The output form.
    pub(crate) fn form(&self) -> Form {
        self.form
    }

    /// A note about the run (what is being connected to, the demo's server).
    pub(crate) fn note(&self, kind: &str, text: &str, fields: Value) {
        match self.form {
            Form::Human => self.line(Color::Dim, &format!("- {text}")),
            Form::Quiet => {}
            Form::Json => self.json(kind, fields),
        }
    }

    /// A line shown in every form (`--serve`'s address): plain, or a JSON object.
    pub(crate) fn banner(&self, kind: &str, text: &str, fields: Value) {
        match self.form {
            Form::Json => self.json(kind, fields),
            _ => self.plain(text),
        }
    }

    /// The connection is open.
    pub(crate) fn open(&self, url: &str, info: &OpenInfo) {
        // After redirects (-L), the URL finally connected to.
        let url = info.url.as_deref().unwrap_or(url);
        if self.verbose {
            self.handshake(info);
        }
        match self.form {
            Form::Human => {
                let mut text = format!("* open: {url}");
                if let Some(p) = &info.protocol {
                    text.push_str(&format!(" (subprotocol {p})"));
                }
                for extension in &info.extensions {
                    text.push_str(&format!(" ({extension})"));
                }
                self.line(Color::Green, &text);
            }
            Form::Quiet => {}
            Form::Json => self.json(
                "open",
                json!({ "url": url, "protocol": info.protocol, "extensions": info.extensions }),
            ),
        }
    }

    /// `-v`: the request and response heads, as curl shows them (`>` sent, `<`
    /// received), on stderr; with --json, one `handshake` object on stdout.
    fn handshake(&self, info: &OpenInfo) {
        if self.form == Form::Json {
            return self.json(
                "handshake",
                json!({ "request": info.request_head, "response": info.response_head }),
            );
        }
        for (marker, head) in [(">", &info.request_head), ("<", &info.response_head)] {
            for line in head.split("\r\n").filter(|l| !l.is_empty()) {
                self.stderr(Color::Dim, &format!("{marker} {line}"));
            }
        }
    }

    /// `-v`: a refused upgrade's answer, its headers and body (stderr, `<`
    /// received, as curl shows them; a `refusal` object with --json). The
    /// status line is in the error itself.
    pub(crate) fn refusal(&self, error: &Error) {
        if !self.verbose {
            return;
        }
        let Some(HandshakeError::Status {
            code,
            reason,
            headers,
            body,
            ..
        }) = refused_upgrade(error)
        else {
            return;
        };
        let body_text = String::from_utf8_lossy(body);
        if self.form == Form::Json {
            let headers: Vec<_> = headers.iter().map(|(n, v)| json!([n, v])).collect();
            return self.json(
                "refusal",
                json!({ "status": code, "reason": reason, "headers": headers, "body": body_text }),
            );
        }
        self.stderr(Color::Dim, &format!("< HTTP {code} {reason}"));
        for (name, value) in headers {
            self.stderr(Color::Dim, &format!("< {name}: {value}"));
        }
        for line in body_text.lines() {
            self.stderr(Color::Dim, &format!("<| {line}"));
        }
    }

    /// `-v`: the connection's statistics at the end (stderr; a `stats` object on
    /// stdout with --json).
    pub(crate) fn stats(&self, stats: &Stats) {
        if !self.verbose {
            return;
        }
        let rtt_ms = stats.latest_rtt.map(|d| d.as_secs_f64() * 1000.0);
        if self.form == Form::Json {
            return self.json(
                "stats",
                json!({
                    "messages_sent": stats.messages_sent,
                    "messages_received": stats.messages_received,
                    "payload_bytes_sent": stats.payload_bytes_sent,
                    "payload_bytes_received": stats.payload_bytes_received,
                    "wire_bytes_sent": stats.wire_bytes_sent,
                    "wire_bytes_received": stats.wire_bytes_received,
                    "compression_ratio": stats.compression_ratio,
                    "latest_rtt_ms": rtt_ms,
                }),
            );
        }
        let mut text = format!(
            "- stats: sent {} messages ({} bytes), received {} ({} bytes); on the wire {} bytes sent, {} received",
            stats.messages_sent,
            stats.payload_bytes_sent,
            stats.messages_received,
            stats.payload_bytes_received,
            stats.wire_bytes_sent,
            stats.wire_bytes_received
        );
        if let Some(ratio) = stats.compression_ratio {
            text.push_str(&format!("; compression {ratio:.2}x"));
        }
        if let Some(ms) = rtt_ms {
            text.push_str(&format!("; ping round trip {ms:.3} ms"));
        }
        self.stderr(Color::Dim, &text);
    }

    /// A message arrived.
    pub(crate) fn received(&self, message: &Message) {
        self.message("message", "<", Color::Cyan, message);
    }

    /// A message was sent.
    pub(crate) fn sent(&self, message: &Message) {
        if self.form != Form::Quiet {
            self.message("sent", ">", Color::Magenta, message);
        }
    }

    fn message(&self, kind: &str, marker: &str, color: Color, message: &Message) {
        // Binary, and any kind a later sockette-core adds, is shown as bytes.
        let b = message.as_bytes();
        match (self.form, message.as_text()) {
            (Form::Json, Some(t)) => self.json(kind, json!({ "type": "text", "data": t })),
            (Form::Json, None) => self.json(
                kind,
                json!({ "type": "binary", "len": b.len(), "hex": compact_hex(b) }),
            ),
            (Form::Quiet, Some(t)) => self.plain(t),
            (Form::Human, Some(t)) => self.line(color, &format!("{marker} {t}")),
            (_, None) if self.binary == BinaryDisplay::Raw && marker == "<" => {
                let mut out = io::stdout().lock();
                let _ = out.write_all(b);
                let _ = out.flush();
            }
            (Form::Quiet, None) => self.plain(&hex(b, self.hex_limit())),
            (Form::Human, None) => {
                let text = format!(
                    "{marker} binary ({} bytes): {}",
                    b.len(),
                    hex(b, self.hex_limit())
                );
                self.line(color, text.trim_end());
            }
        }
    }

    fn hex_limit(&self) -> usize {
        match self.binary {
            BinaryDisplay::Preview => HEX_PREVIEW,
            _ => usize::MAX,
        }
    }

    /// A ping or pong; `outgoing` for one we sent.
    pub(crate) fn control(&self, kind: &str, outgoing: bool, payload: &[u8]) {
        match self.form {
            Form::Human => {
                let marker = if outgoing { ">" } else { "<" };
                self.line(
                    Color::Yellow,
                    &format!("{marker} {kind}: {}", shown(payload)),
                );
            }
            Form::Quiet => {}
            Form::Json => {
                let kind = if outgoing {
                    format!("sent-{kind}")
                } else {
                    kind.to_string()
                };
                self.json(
                    &kind,
                    json!({ "data": String::from_utf8_lossy(payload), "hex": compact_hex(payload) }),
                )
            }
        }
    }

    /// We started the close handshake.
    pub(crate) fn closing(&self, code: u16, reason: &str) {
        match self.form {
            Form::Human if reason.is_empty() => {
                self.line(Color::Yellow, &format!("> close: {code}"))
            }
            Form::Human => self.line(Color::Yellow, &format!("> close: {code} {reason:?}")),
            Form::Quiet => {}
            Form::Json => self.json("sent-close", json!({ "code": code, "reason": reason })),
        }
    }

    /// The connection is closed.
    pub(crate) fn closed(&self, info: &CloseInfo) {
        let code = info.code.as_u16();
        match self.form {
            Form::Human => {
                let clean = if info.was_clean { "clean" } else { "not clean" };
                let text = if self.last_error.as_deref() == Some(info.reason.as_str()) {
                    format!("* close: {code} ({clean}, see the error above)")
                } else if info.reason.is_empty() {
                    format!("* close: {code} ({clean})")
                } else {
                    format!("* close: {code} {:?} ({clean})", info.reason)
                };
                let color = if info.was_clean {
                    Color::Green
                } else {
                    Color::Red
                };
                self.line(color, &text);
            }
            Form::Quiet => {}
            Form::Json => self.json(
                "close",
                json!({ "code": code, "reason": info.reason, "clean": info.was_clean }),
            ),
        }
    }

    /// An error event, with its class; human and quiet forms write it to stderr.
    pub(crate) fn error(&mut self, text: &str, hint: Option<&str>, status: Status) {
        self.last_error = Some(text.to_string());
        if self.form == Form::Json {
            self.json(
                "error",
                json!({ "class": status.name(), "exit_code": status as u8, "message": text, "hint": hint }),
            );
            return;
        }
        let mut line = format!("! error: {text}");
        if let Some(hint) = hint {
            line.push_str(&format!(" (hint: {hint})"));
        }
        self.stderr(Color::Red, &line);
    }

    /// A warning, always on stderr (even with --json and --quiet).
    pub(crate) fn warn(&self, text: &str) {
        self.stderr(Color::Yellow, &format!("sockette: warning: {text}"));
    }

    /// The one-line reason of a failure not already shown as a human error line.
    pub(crate) fn exit_reason(&self, text: &str) {
        self.stderr(Color::Red, &format!("sockette: {text}"));
    }

    fn line(&self, color: Color, text: &str) {
        let text = self.for_stdout(text);
        if self.color_out {
            self.write_line(&format!("\x1b[{}m{text}\x1b[0m", color.code()));
        } else {
            self.write_line(&text);
        }
    }

    /// A line of text, escaped on a terminal.
    fn plain(&self, text: &str) {
        self.write_line(&self.for_stdout(text));
    }

    fn for_stdout<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.escape_out {
            escape_controls(text)
        } else {
            Cow::Borrowed(text)
        }
    }

    fn write_line(&self, text: &str) {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn stderr(&self, color: Color, text: &str) {
        let text = if self.escape_err {
            escape_controls(text)
        } else {
            Cow::Borrowed(text)
        };
        let mut err = io::stderr().lock();
        let _ = if self.color_err {
            writeln!(err, "\x1b[{}m{text}\x1b[0m", color.code())
        } else {
            writeln!(err, "{text}")
        };
    }

    fn json(&self, kind: &str, fields: Value) {
        let mut object = json!({ "event": kind });
        if let (Value::Object(target), Value::Object(extra)) = (&mut object, fields) {
            target.extend(extra);
        }
        self.write_line(&object.to_string());
    }
}

/// `text` with every control character a terminal would act on shown as an
/// escape instead: C0 but tab and newline, DEL (`\x1b`, `\x7f`), and C1
/// (`\u{9b}`). Everything else, other Unicode included, is unchanged.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    let acts = |c: char| c.is_control() && c != '\t' && c != '\n';
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !acts(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Hex bytes separated by spaces, at most `limit` of them, then `…`.
pub(crate) fn hex(bytes: &[u8], limit: usize) -> String {
    let mut out = bytes
        .iter()
        .take(limit)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    if bytes.len() > limit {
        out.push_str(" …");
    }
    out
}

/// Every byte as two hex digits, unseparated (the `--json` form).
fn compact_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A control payload: quoted text when it is printable UTF-8, hex otherwise.
fn shown(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(s) if !s.chars().any(char::is_control) => format!("{s:?}"),
        _ => hex(payload, usize::MAX),
    }
}

/// The server's refusal of the upgrade, when that is what `error` is.
fn refused_upgrade(error: &Error) -> Option<&HandshakeError> {
    let core = match error {
        Error::Connect(c) => match &c.cause {
            ConnectCause::WebSocket(e) => e,
            _ => return None,
        },
        Error::WebSocket(e) => e,
        _ => return None,
    };
    match core {
        CoreError::Handshake(refusal @ HandshakeError::Status { .. }) => Some(refusal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_bounded() {
        assert_eq!(hex(&[0xde, 0xad], 32), "de ad");
        assert_eq!(hex(&[1, 2, 3], 2), "01 02 …");
        assert_eq!(hex(&[], 2), "");
        assert_eq!(shown(b"hi"), "\"hi\"");
        assert_eq!(shown(&[0, 255]), "00 ff");
    }

    #[test]
    fn control_characters_are_escaped_for_a_terminal() {
        // Retitle the window, move the cursor, erase the line: all shown, none acted on.
        assert_eq!(
            escape_controls("\x1b]0;owned\x07\x1b[2J\r\x08x"),
            "\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x08x"
        );
        assert_eq!(escape_controls("a\x00b\x7fc"), "a\\x00b\\x7fc");
        // C1 controls (U+0080..U+009F), e.g. the single-character CSI.
        assert_eq!(escape_controls("\u{9b}31m\u{85}"), "\\u{9b}31m\\u{85}");
        // Tab, newline and ordinary Unicode are left alone, without a copy.
        let kept = "tab\tline\nété 日本 \\x1b";
        assert!(matches!(escape_controls(kept), Cow::Borrowed(s) if s == kept));
    }
}
