//! `Connection::from_upgraded_stream` on loopback: the HTTP upgrade is done by
//! hand over raw `std` streams, then the client end is handed to the loop and
//! the server end to the core's `Connection::upgraded` (driven by a blocking
//! loop here); both exchange messages and a close.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::{accept_key, Connection as Core, Event as CoreEvent};
use sockette_mio::{CloseCode, Connection, Event, EventLoop, Message, Role, UpgradedConfig};
use sockette_testkit::read_head_and;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The server's end: answers the upgrade by hand with an unmasked "early" text
/// frame right behind its head, then echoes every message through the core
/// until the close. Returns the messages it received.
fn serve_one(listener: TcpListener) -> Vec<String> {
    let (mut stream, _) = listener.accept().unwrap();
    let (request, leftover) = read_head_and(&mut stream, 0);
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
    let mut answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(KEY)
    )
    .into_bytes();
    answer.extend([0x81, 5]);
    answer.extend(b"early");
    stream.write_all(&answer).unwrap();
    let mut core = Core::upgraded(
        Role::Server,
        UpgradedConfig::new(),
        Instant::now(),
        &leftover,
    )
    .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        while let Some(event) = core.poll_event() {
            if let CoreEvent::Message(m) = event {
                received.push(m.as_text().unwrap().to_string());
                core.send(&m).unwrap();
            }
        }
        while let Some(bytes) = core.poll_transmit() {
            let n = bytes.len();
            stream.write_all(bytes).unwrap();
            core.advance_transmit(n);
        }
        if core.is_closed() {
            return received;
        }
        match stream.read(&mut buf).unwrap() {
            0 => core.handle_eof(Instant::now()),
            n => core.handle_input(Instant::now(), &buf[..n]),
        }
    }
}

#[test]
fn a_stream_upgraded_by_hand_runs_in_the_loop_and_closes_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || serve_one(listener));

    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let (response, leftover) = read_head_and(&mut stream, 7);
    assert!(response.starts_with("HTTP/1.1 101 "), "{response}");
    assert_eq!(
        leftover, b"\x81\x05early",
        "the frame behind the 101's head"
    );
    stream.set_nonblocking(true).unwrap();
    let stream = mio::net::TcpStream::from_std(stream);
    let conn =
        Connection::from_upgraded_stream(stream, Role::Client, UpgradedConfig::new(), &leftover)
            .unwrap();
    assert!(conn.url().is_none());
    let mut event_loop = EventLoop::new().unwrap();
    let token = event_loop.insert(conn).unwrap();

    let mut seen = Vec::new();
    let started = Instant::now();
    while !event_loop.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stuck: {seen:?}"
        );
        event_loop
            .turn(Some(Duration::from_millis(100)), |ws, event| {
                assert_eq!(ws.token(), Some(token));
                match event {
                    Event::Open(_) => {
                        ws.send_text("hello").unwrap();
                        seen.push("open".to_string());
                    }
                    Event::Message(Message::Text(t)) => {
                        if t == "hello" {
                            ws.close(CloseCode::Normal, "done").unwrap();
                        }
                        seen.push(t.to_string());
                    }
                    Event::Close(c) => {
                        assert!(c.was_clean && c.code == CloseCode::Normal, "{c:?}");
                        seen.push("close".to_string());
                    }
                    other => panic!("{other:?}"),
                }
            })
            .unwrap();
    }
    assert_eq!(seen, ["open", "early", "hello", "close"]);
    assert_eq!(server.join().unwrap(), ["hello"]);
}
