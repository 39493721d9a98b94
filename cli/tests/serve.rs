//! `--send` against `sockette --serve`: plain and TLS echo, the certificate file,
//! `--insecure`, stdin sessions, JSON and quiet output.

mod support;

use serde_json::Value;
use support::{sockette, sockette_with_input, Server};

#[test]
fn send_against_serve_echoes_and_exits_0() {
    let server = Server::start(&[]);
    assert!(server.url.starts_with("ws://127.0.0.1:"), "{}", server.url);
    let run = sockette(&[&server.url, "--send", "hello", "--send", "wörld ✓"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    let lines = run.stdout_lines();
    assert!(lines[0].starts_with("* open: ws://127.0.0.1:"), "{lines:?}");
    assert_eq!(
        lines[1..],
        [
            "> hello",
            "> wörld ✓",
            "< hello",
            "< wörld ✓",
            "> close: 1000",
            "* close: 1000 (clean)"
        ]
    );
}

#[test]
fn quiet_send_prints_only_the_replies() {
    let server = Server::start(&[]);
    let run = sockette(&["-q", &server.url, "--send", "a", "--send", "b"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "a\nb\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn json_send_is_one_object_per_line() {
    let server = Server::start(&[]);
    let run = sockette(&["--json", &server.url, "--send", "{\"x\": 1}"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    let events: Vec<Value> = run
        .stdout_lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["open", "sent", "message", "sent-close", "close"]);
    assert_eq!(events[2]["data"], "{\"x\": 1}");
}

#[test]
fn stdin_lines_are_sent_and_end_of_input_closes() {
    let server = Server::start(&[]);
    let run = sockette_with_input(&[&server.url], Some("line one\nline two\n"), 30);
    assert_eq!(run.code(), 0, "{run:?}");
    let lines = run.stdout_lines();
    for line in ["< line one", "< line two", "* close: 1000 (clean)"] {
        assert!(lines.contains(&line), "{line:?} missing in {lines:?}");
    }
    assert!(lines[0].starts_with("* open"), "{lines:?}");
    assert_eq!(lines.last(), Some(&"* close: 1000 (clean)"));
}

#[test]
fn slash_commands_send_pings_binary_and_close_codes() {
    let server = Server::start(&[]);
    let input = "/ping hi\n/binary cafe\n//slash\n/close 4001 bye\n";
    let run = sockette_with_input(&["--slash", &server.url], Some(input), 30);
    // The server echoes the close code: a clean close with an application code.
    assert_eq!(run.code(), 9, "{run:?}");
    let lines = run.stdout_lines();
    for line in [
        "< pong: \"hi\"",
        "< binary (2 bytes): ca fe",
        "< /slash",
        "* close: 4001 (clean)",
    ] {
        assert!(lines.contains(&line), "{line:?} missing in {lines:?}");
    }
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert!(run.stderr.contains("code 4001"), "{run:?}");
}

#[test]
fn tls_serve_with_its_certificate_file_echoes() {
    let server = Server::start(&["--tls"]);
    assert!(server.url.starts_with("wss://127.0.0.1:"), "{}", server.url);
    let cert = server.cert.clone().unwrap();
    let run = sockette(&["--ca", &cert, &server.url, "--send", "secure"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout_lines().contains(&"< secure"), "{run:?}");
    // The certificate names localhost too.
    let localhost = server.url.replace("127.0.0.1", "localhost");
    let run = sockette(&["--ca", &cert, &localhost, "--send", "by name"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
}

#[test]
fn insecure_accepts_an_untrusted_certificate_with_a_warning() {
    let server = Server::start(&["--tls"]);
    let run = sockette(&["--insecure", "-q", &server.url, "--send", "risky"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "risky\n");
    assert!(run.stderr.contains("NOT verified"), "{run:?}");
}

#[test]
fn binary_output_modes() {
    let server = Server::start(&[]);
    let input = "/binary 00 ff 41\n";
    let raw = sockette_with_input(&["--binary", "-q", "--slash", &server.url], Some(input), 30);
    assert_eq!(raw.code(), 0, "{raw:?}");
    assert_eq!(raw.stdout_bytes, b"\x00\xff\x41");
    let hex = sockette_with_input(&["--hex", "--slash", &server.url], Some(input), 30);
    assert_eq!(hex.code(), 0, "{hex:?}");
    assert!(
        hex.stdout_lines().contains(&"< binary (3 bytes): 00 ff 41"),
        "{hex:?}"
    );
    let long = format!("/binary {}\n", "ab".repeat(40));
    let preview = sockette_with_input(&["--slash", &server.url], Some(&long), 30);
    let shown = format!("< binary (40 bytes): {} …", ["ab"; 32].join(" "));
    assert!(
        preview.stdout_lines().contains(&shown.as_str()),
        "{preview:?}"
    );
}

/// `/binary aé0` used to panic the stdin thread (a `String` sliced inside the
/// "é"), and the session then hung: the end-of-input close was never sent. Now the
/// line is refused with a message and the session goes on, then closes on EOF.
#[test]
fn bad_slash_input_is_refused_and_the_session_goes_on() {
    let server = Server::start(&[]);
    let input = "/binary aé0\nstill here\n";
    let run = sockette_with_input(&["--slash", &server.url], Some(input), 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(
        run.stderr_lines()
            .contains(&"sockette: warning: /binary: \"aé0\" is not hex"),
        "{run:?}"
    );
    let lines = run.stdout_lines();
    // (Not "> close: 1000": the stdin thread prints it after queueing the close,
    // and the process may exit first.)
    for line in ["< still here", "* close: 1000 (clean)"] {
        assert!(lines.contains(&line), "{line:?} missing in {lines:?}");
    }
}

/// Runs `sockette ARGS` with stdout and stderr on a terminal (a pty made by
/// util-linux `script`, part of every Debian system); returns what the terminal
/// received. `NO_COLOR` keeps color codes out, so any ESC byte is the server's.
#[cfg(target_os = "linux")]
fn on_a_terminal(args: &[&str]) -> Vec<u8> {
    use std::process::{Command, Stdio};
    // Arguments travel as environment variables, so no shell quoting is needed.
    let mut command_line = String::from("exec \"$SOCKETTE_BIN\"");
    let mut cmd = Command::new("script");
    for (i, arg) in args.iter().enumerate() {
        command_line.push_str(&format!(" \"$ARG{i}\""));
        cmd.env(format!("ARG{i}"), arg);
    }
    let mut child = cmd
        .args(["-qec", &command_line, "/dev/null"])
        .env("SOCKETTE_BIN", support::BIN)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the CLI on a pty");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
        bytes
    });
    let status = support::wait_bounded(&mut child, std::time::Duration::from_secs(30), args);
    assert!(status.success(), "{status:?}");
    reader.join().unwrap()
}

/// A server's text used to reach the terminal raw, so it could retitle the
/// window, clear the screen or move the cursor. On a terminal, control
/// characters are now shown escaped; `--no-escape` keeps them; a pipe is
/// unchanged.
#[cfg(target_os = "linux")]
#[test]
fn control_characters_from_the_server_are_escaped_on_a_terminal() {
    let server = Server::start(&[]);
    let hostile = "\x1b]0;owned\x07\x1b[2Jgone";
    let escaped = r"< \x1b]0;owned\x07\x1b[2Jgone";

    let tty = String::from_utf8(on_a_terminal(&[&server.url, "--send", hostile])).unwrap();
    assert!(
        !tty.contains('\x1b'),
        "a raw ESC reached the terminal: {tty:?}"
    );
    assert!(tty.lines().any(|l| l.trim_end() == escaped), "{tty:?}");

    let raw = String::from_utf8(on_a_terminal(&[
        &server.url,
        "--no-escape",
        "--send",
        hostile,
    ]))
    .unwrap();
    assert!(raw.contains(&format!("< {hostile}")), "{raw:?}");

    let piped = sockette(&[&server.url, "--send", hostile], 30);
    assert_eq!(piped.code(), 0, "{piped:?}");
    assert!(
        piped
            .stdout_lines()
            .contains(&format!("< {hostile}").as_str()),
        "{piped:?}"
    );
}
