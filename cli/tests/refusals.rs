//! A refused upgrade: the status line in the error, and with `-v` the
//! answer's headers and body; `--auth` sends Basic credentials, as
//! credentials in the URL do; the default `User-Agent` names sockette.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::thread::{self, JoinHandle};

use support::sockette;

/// A server that answers one request with `answer` and returns the request.
fn answering(answer: &'static str) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let head = support::read_head(&mut stream);
        stream.write_all(answer.as_bytes()).unwrap();
        String::from_utf8(head).unwrap()
    });
    (format!("ws://127.0.0.1:{port}/api"), server)
}

const UNAUTHORIZED: &str = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"api\"\r\n\
                            Content-Length: 22\r\n\r\nthe password is wrong\n";

#[test]
fn a_401_prints_its_status_and_with_v_its_headers_and_body() {
    let (url, server) = answering(UNAUTHORIZED);
    let run = sockette(&[&url, "-v", "--send", "x"], 30);
    assert_eq!(run.code(), 6, "{run:?}");
    let stderr = &run.stderr;
    assert!(stderr.contains("HTTP 401 Unauthorized"), "{stderr}");
    assert!(
        stderr.contains("< WWW-Authenticate: Basic realm=\"api\""),
        "{stderr}"
    );
    assert!(stderr.contains("<| the password is wrong"), "{stderr}");
    let request = server.join().unwrap();
    let agent = format!("\r\nUser-Agent: sockette/{}\r\n", env!("CARGO_PKG_VERSION"));
    assert!(request.contains(&agent), "{request}");

    // Without -v: the status line only.
    let (url, server) = answering(UNAUTHORIZED);
    let run = sockette(&[&url, "--send", "x"], 30);
    assert_eq!(run.code(), 6, "{run:?}");
    assert!(run.stderr.contains("HTTP 401 Unauthorized"), "{run:?}");
    assert!(!run.stderr.contains("the password is wrong"), "{run:?}");
    server.join().unwrap();
}

#[test]
fn auth_and_url_credentials_are_sent_as_basic() {
    let (url, server) = answering(UNAUTHORIZED);
    let run = sockette(&[&url, "--auth", "alice:s3:cret", "--send", "x"], 30);
    assert_eq!(run.code(), 6, "{run:?}");
    let request = server.join().unwrap();
    // base64("alice:s3:cret")
    assert!(
        request.contains("\r\nAuthorization: Basic YWxpY2U6czM6Y3JldA==\r\n"),
        "{request}"
    );

    let (url, server) = answering(UNAUTHORIZED);
    let url = url.replace("ws://", "ws://bob:p%40ss@");
    let run = sockette(&[&url, "--send", "x"], 30);
    assert_eq!(run.code(), 6, "{run:?}");
    assert!(
        !run.stderr.contains("p%40ss") && !run.stderr.contains("p@ss"),
        "{run:?}"
    );
    let request = server.join().unwrap();
    // base64("bob:p@ss")
    assert!(
        request.contains("\r\nAuthorization: Basic Ym9iOnBAc3M=\r\n"),
        "{request}"
    );
    assert!(request.contains("\r\nHost: 127.0.0.1:"), "{request}");
}

#[test]
fn the_urls_password_is_never_printed() {
    let server = support::Server::start(&[]);
    let url = server.url.replace("ws://", "ws://carol:hunter2@");
    let run = sockette(&[&url, "-v", "--send", "hi"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.contains("* open: ws://127.0.0.1:"), "{run:?}");
    assert!(
        !run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"),
        "{run:?}"
    );
}
