//! `-L` follows redirects during the opening (`--max-redirects`); without it
//! the redirect is the error, with its location.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::thread::{self, JoinHandle};

use support::{sockette, Server};

/// Answers each of `count` requests with a 302 to `location`.
fn redirecting(location: String, count: usize) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        for _ in 0..count {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            support::read_head(&mut stream);
            let answer =
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    (format!("ws://127.0.0.1:{port}/old"), server)
}

#[test]
fn dash_l_follows_a_redirect_to_the_echo_server() {
    let echo = Server::start(&[]);
    let (url, server) = redirecting(echo.url.clone(), 1);
    let run = sockette(&[&url, "-L", "--send", "moved"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("* open: {}", echo.url)),
        "{run:?}"
    );
    assert!(run.stdout.contains("moved"), "{run:?}");
    server.join().unwrap();
}

#[test]
fn without_dash_l_the_redirect_is_the_error_and_max_redirects_bounds_it() {
    let echo = Server::start(&[]);
    let (url, server) = redirecting(echo.url.clone(), 1);
    let run = sockette(&[&url, "--send", "x"], 30);
    assert_eq!(run.code(), 6, "{run:?}");
    assert!(run.stderr.contains("HTTP 302 Found"), "{run:?}");
    assert!(
        run.stderr.contains(&format!("redirect to {}", echo.url)),
        "{run:?}"
    );
    server.join().unwrap();

    // Two hops, one allowed: the error lists the chain.
    let (second, second_server) = redirecting(echo.url.clone(), 1);
    let (first, first_server) = redirecting(second.clone(), 1);
    let run = sockette(&[&first, "-L", "--max-redirects", "1", "--send", "x"], 30);
    assert_eq!(run.code(), 6, "{run:?}");
    let chain = format!(
        "more than 1 redirect(s): {first} -> {second} -> {}",
        echo.url
    );
    assert!(run.stderr.contains(&chain), "{chain} not in {run:?}");
    first_server.join().unwrap();
    second_server.join().unwrap();
}
