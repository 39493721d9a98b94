//! Failures give a non-zero exit code (one per class, see `--help`) and one clear
//! line on stderr: an untrusted certificate, a refused port, a server that is not
//! a WebSocket server, bad arguments.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::thread;

use support::{sockette, Server};

/// Asserts exactly one stderr line, containing every one of `words`.
fn one_line_with(run: &support::Run, words: &[&str]) {
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{run:?}");
    for word in words {
        assert!(
            lines[0].contains(word),
            "{word:?} missing in {:?}",
            lines[0]
        );
    }
}

#[test]
fn an_untrusted_certificate_fails_with_exit_5() {
    let server = Server::start(&["--tls"]);
    let run = sockette(&[&server.url, "--send", "x"], 30);
    assert_eq!(run.code(), 5, "{run:?}");
    one_line_with(&run, &["TLS handshake", "not trusted", "--ca"]);
    // In the interactive form too.
    let run = sockette(&[&server.url], 30);
    assert_eq!(run.code(), 5, "{run:?}");
}

#[test]
fn a_refused_port_fails_with_exit_4() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let url = format!("ws://127.0.0.1:{port}/");
    let run = sockette(&[&url, "--send", "x"], 30);
    assert_eq!(run.code(), 4, "{run:?}");
    one_line_with(&run, &["TCP connect", "refused"]);
}

#[test]
fn an_http_server_that_is_not_websocket_fails_with_exit_6() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let head = support::read_head(&mut stream);
        let body = "just a web page";
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).unwrap();
        head
    });
    let url = format!("ws://127.0.0.1:{port}/chat");
    let run = sockette(&[&url, "--send", "x"], 30);
    assert_eq!(run.code(), 6, "{run:?}");
    one_line_with(&run, &["HTTP upgrade", "HTTP 200"]);
    let head = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(head.starts_with("GET /chat HTTP/1.1\r\n"), "{head}");
}

#[test]
fn a_plain_client_on_a_tls_server_fails_with_a_hint() {
    let server = Server::start(&["--tls"]);
    let url = server.url.replacen("wss://", "ws://", 1);
    let run = sockette(&[&url, "--send", "x"], 30);
    assert_ne!(run.code(), 0, "{run:?}");
    one_line_with(&run, &["wss://"]);
}

/// The hint comes from the TLS error's kind (`NotTls`), not from its text.
#[test]
fn a_tls_client_on_a_plain_server_fails_with_exit_5_and_a_hint() {
    let server = Server::start(&[]);
    let url = server.url.replacen("ws://", "wss://", 1);
    let run = sockette(&[&url, "--send", "x"], 30);
    assert_eq!(run.code(), 5, "{run:?}");
    one_line_with(&run, &["TLS handshake", "try ws://"]);
}

#[test]
fn json_errors_are_objects_and_the_reason_is_on_stderr() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}/");
    let run = sockette(&["--json", &url], 30);
    assert_eq!(run.code(), 4, "{run:?}");
    let events: Vec<serde_json::Value> = run
        .stdout_lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "error");
    assert_eq!(events[0]["class"], "tcp");
    assert_eq!(events[0]["exit_code"], 4);
    assert_eq!(events[1]["event"], "close");
    assert_eq!(events[1]["code"], 1006);
    one_line_with(&run, &["refused"]);
}

/// Durations too long to represent used to panic the CLI ("overflow when adding
/// duration to instant", exit 101); now each flag refuses them with a sentence.
#[test]
fn durations_out_of_range_fail_with_exit_2_and_say_the_limit() {
    // A server that accepts and never answers: without the check, the session
    // gets as far as computing its deadlines.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    for flag in ["--connect-timeout", "--ping-interval", "--wait"] {
        let run = sockette(&[&url, "--send", "x", flag, "1e19"], 30);
        assert_eq!(run.code(), 2, "{flag}: {run:?}");
        let stderr = run.stderr_lines().join("\n");
        assert!(
            stderr.contains(flag)
                && stderr.contains("1e19 seconds is too long: at most 31536000 seconds (one year)"),
            "{flag}: {stderr}"
        );
    }
}

#[test]
fn bad_arguments_fail_with_exit_2() {
    for args in [
        &["ws://127.0.0.1:1/", "-H", "no colon here"][..],
        &["http://127.0.0.1/"],
        &["--ca", "/nonexistent/ca.pem", "wss://127.0.0.1:1/"],
        &["--serve", "0", "ws://127.0.0.1:1/"],
        &["--send", "x"],
        &["--connect-timeout", "soon", "ws://127.0.0.1:1/"],
        &["--serve", "not a port"],
    ] {
        let run = sockette(args, 30);
        assert_eq!(run.code(), 2, "{args:?}: {run:?}");
        assert!(!run.stderr.is_empty(), "{args:?}: {run:?}");
    }
}
