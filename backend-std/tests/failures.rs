//! Failures, each a clear error that names what went wrong, returned promptly:
//! connection refused, a server that never answers, one that hangs up in the
//! middle of the handshake, one that resets in the middle of a message.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::Error as CoreError;
use sockette_core::{Event as ServerEvent, ServerConfig};
use sockette_std::{
    Client, CloseCode, CommandError, ConnectCause, ConnectStep, Error, Event, Limits,
};
use sockette_testkit::serve;
use support::{bounded, read_request, TestServer};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn connect_error(e: Error) -> Box<sockette_std::ConnectError> {
    match e {
        Error::Connect(c) => c,
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[test]
fn connection_refused_names_the_tcp_step() {
    bounded(10, || {
        let started = Instant::now();
        let url = format!("ws://127.0.0.1:{}/", closed_port());
        let err = connect_error(Client::connect(&url).unwrap_err());
        assert_eq!(err.step, ConnectStep::Tcp);
        match &err.cause {
            ConnectCause::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("TCP connect"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(started.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn asynchronous_form_reports_a_failure_to_connect_as_events() {
    bounded(10, || {
        let owner = thread::current().id();
        let url = format!("ws://localhost:{}/", closed_port());
        let mut client = Client::start(&url).unwrap();
        let mut events = Vec::new();
        let info = client
            .run(|_, event| {
                assert_eq!(thread::current().id(), owner);
                events.push(event);
            })
            .unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        match &events[0] {
            Event::Error(Error::Connect(c)) => assert_eq!(c.step, ConnectStep::Tcp),
            other => panic!("{other:?}"),
        }
        assert!(matches!(events[1], Event::Close(_)));
        assert_eq!(info.code, CloseCode::Abnormal);
        assert!(!info.was_clean);
        assert!(info.reason.contains("TCP connect"), "{}", info.reason);
    });
}

#[test]
fn server_that_never_answers_times_out_within_the_deadline() {
    bounded(10, || {
        let server = TestServer::start(|stream| {
            thread::sleep(Duration::from_secs(3));
            drop(stream);
        });
        let started = Instant::now();
        let err = Client::builder(&server.url("/"))
            .connect_timeout(Duration::from_millis(500))
            .connect()
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(err.is_timeout(), "{err}");
        let err = connect_error(err);
        assert_eq!(err.step, ConnectStep::Upgrade);
        assert!(matches!(err.cause, ConnectCause::Timeout(d) if d == Duration::from_millis(500)));
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    });
}

#[test]
fn server_closing_mid_handshake_is_a_handshake_error() {
    bounded(10, || {
        let server = TestServer::start(|mut stream| {
            read_request(&mut stream);
            stream
                .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgr")
                .unwrap();
            drop(stream);
        });
        let started = Instant::now();
        let err = connect_error(Client::connect(&server.url("/")).unwrap_err());
        assert_eq!(err.step, ConnectStep::Upgrade);
        assert!(
            matches!(
                &err.cause,
                ConnectCause::WebSocket(sockette_core::Error::Handshake(
                    sockette_core::HandshakeError::Incomplete
                )) | ConnectCause::Io(_)
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("HTTP upgrade"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn server_refusing_the_upgrade_reports_its_status() {
    bounded(10, || {
        let server = TestServer::start(|mut stream| {
            read_request(&mut stream);
            stream
                .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            thread::sleep(Duration::from_millis(200));
        });
        let err = connect_error(Client::connect(&server.url("/")).unwrap_err());
        assert_eq!(err.step, ConnectStep::Upgrade);
        assert!(
            matches!(
                &err.cause,
                ConnectCause::WebSocket(CoreError::Handshake(
                    sockette_core::HandshakeError::Status { code: 403, .. }
                ))
            ),
            "{err:?}"
        );
        // The message a person reads names the status.
        assert!(err.to_string().contains("403"), "{err}");
    });
}

#[test]
fn server_reset_mid_message_is_an_error_then_close_1006() {
    bounded(10, || {
        let server = TestServer::start(|stream| {
            let (_conn, mut stream) = serve(
                stream,
                ServerConfig::new(),
                Duration::from_secs(5),
                |_, event, _| !matches!(event, ServerEvent::Open(_)),
            );
            // Half a binary frame announcing 1000 bytes, then a reset.
            stream.write_all(&[0x82, 126, 0x03, 0xE8]).unwrap();
            stream.write_all(&[0u8; 10]).unwrap();
            support::reset(stream);
        });
        let mut client = Client::connect(&server.url("/")).unwrap();
        let started = Instant::now();
        let mut events = Vec::new();
        let info = client
            .run(|ws, event| {
                if matches!(event, Event::Open(_)) {
                    // Unread by the server: its close then sends a reset.
                    ws.send_text("are you there?").unwrap();
                }
                events.push(event);
            })
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(3));
        let error = events
            .iter()
            .find_map(|e| match e {
                Event::Error(e) => Some(e),
                _ => None,
            })
            .expect("an Error event");
        // A reset (ECONNRESET) or, if the kernel delivered the data first, the
        // end of the stream in the middle of the frame.
        let text = error.to_string();
        println!("reset reported as: {text}");
        assert!(
            error.io_error().is_some() || text.contains("in the middle of a message"),
            "{text}"
        );
        assert!(matches!(events.last(), Some(Event::Close(_))));
        assert_eq!(info.code, CloseCode::Abnormal);
        assert!(!info.was_clean);
        assert_eq!(info.reason, text);
    });
}

#[test]
fn invalid_url_is_refused_before_anything_starts() {
    let err = Client::start("http://example.org/").unwrap_err();
    assert!(
        matches!(err, Error::WebSocket(sockette_core::Error::Url(_))),
        "{err:?}"
    );
}

#[test]
fn a_full_outgoing_buffer_refuses_sends_and_drop_still_returns_promptly() {
    bounded(20, || {
        // Completes the handshake, then never reads again.
        let server = TestServer::start(|stream| {
            let (_conn, stream) = serve(
                stream,
                ServerConfig::new(),
                Duration::from_secs(5),
                |_, event, _| !matches!(event, ServerEvent::Open(_)),
            );
            thread::sleep(Duration::from_secs(4));
            drop(stream);
        });
        let limit = 256 << 10;
        let mut client = Client::builder(&server.url("/"))
            .limits(Limits::default().max_buffered_output(limit))
            .connect()
            .unwrap();
        let chunk = vec![0u8; 16 << 10];
        let mut sent = 0usize;
        let err = loop {
            match client.send_binary(&chunk) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            // The kernel's socket buffers take a few MiB first.
            assert!(sent < 4096, "64 MiB accepted by a peer that does not read");
        };
        assert!(
            matches!(err, CommandError::OutputFull { limit: l, .. } if l == limit),
            "{err:?}"
        );
        assert!(
            client.buffered_amount() >= limit - chunk.len(),
            "{}",
            client.buffered_amount()
        );
        let sender_err = client.sender().send_binary(&chunk[..]).unwrap_err();
        assert!(
            matches!(sender_err, CommandError::OutputFull { .. }),
            "{sender_err:?}"
        );
        // The writer thread is stuck on a full socket: dropping must still
        // shut down and join promptly.
        let started = Instant::now();
        drop(client);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    });
}
