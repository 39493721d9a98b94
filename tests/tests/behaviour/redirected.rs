//! The redirect scenarios of the behaviour suite: a server on loopback that
//! answers some paths with a redirect and serves the others as a WebSocket
//! echo, and both backends following it (relative and absolute locations,
//! across origins, a loop, one hop too many, none followed by default).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sockette_core::{
    Error as CoreError, Event as ServerEvent, HandshakeError, Message, RedirectError, ServerConfig,
};
use sockette_std::{ConnectCause, ConnectStep, Event};
use sockette_testkit::serve::serve;

use super::harness::{Backend, Entry, Settings, Transcript};
use super::{assert_failed_opening, connect_error, run, run_script};

/// What the server answers a path with: a redirect, or the echo.
type Rules = fn(&str, u16) -> Option<(u16, String)>;

/// A server answering by its [`Rules`]; it records every request head.
struct Redirector {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Redirector {
    fn start(rules: Rules) -> Redirector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (requests.clone(), stop.clone());
        let accept = thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(20);
            while !stopping.load(Ordering::Acquire) && Instant::now() < end {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let seen = seen.clone();
                        thread::spawn(move || answer(stream, rules, port, &seen));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Redirector {
            port,
            requests,
            stop,
            accept: Some(accept),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Redirector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Peeks at the request head, records it, and answers: the redirect its
/// rules give, else the echo (the core's server role reads the head itself).
fn answer(mut stream: TcpStream, rules: Rules, port: u16, seen: &Mutex<Vec<String>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 8192];
    let head = loop {
        let n = stream.peek(&mut buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            break text[..end + 4].to_string();
        }
        if n == 0 || n == buf.len() {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    };
    seen.lock().unwrap().push(head.clone());
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    match rules(&path, port) {
        Some((code, location)) => {
            let mut consumed = vec![0u8; head.len()];
            let _ = stream.read_exact(&mut consumed);
            let answer = format!(
                "HTTP/1.1 {code} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = stream.write_all(answer.as_bytes());
        }
        None => {
            serve(
                stream,
                ServerConfig::new(),
                Duration::from_secs(10),
                |conn, event, _| {
                    if let ServerEvent::Message(m) = event {
                        let _ = conn.send(m);
                    }
                    true
                },
            );
        }
    }
}

/// Relative locations, one absolute, ending in the echo.
fn chain_rules(path: &str, _port: u16) -> Option<(u16, String)> {
    match path {
        "/app/start" => Some((302, "next".into())),
        "/app/next" => Some((307, "../final?x=1".into())),
        _ => None,
    }
}

/// A message sent before the opening, echoed by the server at the end of a
/// chain of relative redirects; `OpenInfo::url` is the last URL.
pub(super) fn redirects_followed(backend: Backend) -> Transcript {
    let server = Redirector::start(chain_rules);
    let settings = Settings::new(server.url("/app/start")).max_redirects(5);
    let mut opened_at = None;
    let outcome = run(
        backend,
        &settings,
        |sender, _| sender.send_text("sent before the opening").unwrap(),
        |ws, event, _| match event {
            Event::Open(info) => opened_at = info.url.clone(),
            Event::Message(_) => {
                let _ = ws.close(sockette_core::CloseCode::Normal, "done");
            }
            _ => {}
        },
    );
    let t = outcome.transcript;
    assert!(outcome.errors.is_empty(), "{backend}:\n{t:?}");
    assert_eq!(
        opened_at.as_deref(),
        Some(server.url("/final?x=1").as_str()),
        "{backend}"
    );
    assert_eq!(
        t.messages(),
        [Entry::message(&Message::from("sent before the opening"))],
        "{backend}:\n{t:?}"
    );
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|h| h.split(' ').nth(1).unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        paths,
        ["/app/start", "/app/next", "/final?x=1"],
        "{backend}"
    );
    t
}

fn cross_origin_rules(path: &str, port: u16) -> Option<(u16, String)> {
    match path {
        "/here" => Some((301, "/same-origin".into())),
        // Another host (localhost is not 127.0.0.1 as an origin), same server.
        "/same-origin" => Some((308, format!("ws://localhost:{port}/elsewhere"))),
        _ => None,
    }
}

/// Credentials go along within the origin and are dropped when it changes.
pub(super) fn redirect_across_origins(backend: Backend) -> Transcript {
    let server = Redirector::start(cross_origin_rules);
    let settings = Settings::new(server.url("/here"))
        .max_redirects(3)
        .header("Authorization", "Bearer secret-token")
        .header("Cookie", "session=1")
        .header("X-Trace", "kept");
    let outcome = run_script(backend, &settings, |ws, event, _| {
        if let Event::Open(_) = event {
            let _ = ws.close(sockette_core::CloseCode::Normal, "done");
        }
    });
    assert!(
        outcome.errors.is_empty(),
        "{backend}:\n{:?}",
        outcome.transcript
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{backend}: {requests:?}");
    for head in &requests[..2] {
        assert!(
            head.contains("Authorization: Bearer secret-token"),
            "{backend}: {head}"
        );
        assert!(head.contains("Cookie: session=1"), "{backend}: {head}");
    }
    let last = &requests[2];
    assert!(last.starts_with("GET /elsewhere "), "{backend}: {last}");
    assert!(last.contains("Host: localhost:"), "{backend}: {last}");
    assert!(
        !last.contains("Authorization") && !last.contains("Cookie"),
        "{backend}: {last}"
    );
    assert!(last.contains("X-Trace: kept"), "{backend}: {last}");
    outcome.transcript
}

fn loop_rules(path: &str, _port: u16) -> Option<(u16, String)> {
    match path {
        "/a" => Some((302, "/b".into())),
        "/b" => Some((302, "/a".into())),
        "/c" => Some((302, "/d".into())),
        "/d" => Some((302, "/e".into())),
        _ => None,
    }
}

/// The redirect error of a failed opening, at the upgrade step.
fn redirect_error(backend: Backend, outcome: &super::harness::Outcome) -> RedirectError {
    assert_failed_opening(backend, outcome, 1006);
    let c = connect_error(backend, outcome.error());
    assert_eq!(c.step, ConnectStep::Upgrade, "{backend}: {c}");
    match &c.cause {
        ConnectCause::WebSocket(CoreError::Redirect(e)) => e.clone(),
        other => panic!("{backend}: not a redirect error: {other:?}"),
    }
}

/// A loop, and one hop more than allowed: errors listing the chain.
pub(super) fn redirect_loop_and_limit(backend: Backend) -> Transcript {
    let server = Redirector::start(loop_rules);
    let (a, b) = (server.url("/a"), server.url("/b"));
    let outcome = run_script(backend, &Settings::new(&a).max_redirects(10), |_, _, _| {});
    let error = redirect_error(backend, &outcome);
    assert_eq!(
        error,
        RedirectError::Loop {
            chain: vec![a.clone(), b.clone(), a.clone()]
        },
        "{backend}"
    );
    assert!(
        outcome.transcript.error_text().contains("redirect loop: "),
        "{backend}"
    );
    let mut transcript = outcome.transcript;

    let (c, d, e) = (server.url("/c"), server.url("/d"), server.url("/e"));
    let outcome = run_script(backend, &Settings::new(&c).max_redirects(1), |_, _, _| {});
    let error = redirect_error(backend, &outcome);
    assert_eq!(
        error,
        RedirectError::TooMany {
            max: 1,
            chain: vec![c, d, e]
        },
        "{backend}"
    );
    transcript.0.extend(outcome.transcript.0);

    // Not followed by default: the 302 itself, with its location.
    let outcome = run_script(backend, &Settings::new(&a), |_, _, _| {});
    assert_failed_opening(backend, &outcome, 1006);
    let c = connect_error(backend, outcome.error());
    assert!(
        matches!(
            &c.cause,
            ConnectCause::WebSocket(CoreError::Handshake(HandshakeError::Status { code: 302, location: Some(l), .. })) if l == "/b"
        ),
        "{backend}: {c:?}"
    );
    transcript.0.extend(outcome.transcript.0);
    transcript
}
