//! Against scripted peers on sockette-core's server role: `--wait` with a silent
//! server, keepalive pongs, a server closing with an error code, a protocol
//! violation, an opening that never completes; and the handshake options on the
//! wire.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::{CloseCode, Event};
use support::{sockette, ws_peer};

#[test]
fn send_gives_up_after_wait_when_no_reply_comes() {
    let (url, peer) = ws_peer(|_, _, _| {}); // reads, never answers
    let started = Instant::now();
    let run = sockette(&[&url, "--send", "anyone?", "--wait", "0.5"], 30);
    let took = started.elapsed();
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        run.stdout.contains("- 0 of 1 replies after 500ms; closing"),
        "{run:?}"
    );
    let seen = peer.join().unwrap();
    assert!(matches!(&seen[1], Event::Message(m) if m.as_bytes() == b"anyone?"));
}

#[test]
fn ping_interval_sends_keepalive_pings() {
    let (url, peer) = ws_peer(|_, _, _| {});
    let run = sockette(
        &[&url, "--send", "x", "--wait", "1", "--ping-interval", "0.2"],
        30,
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.contains("< pong"), "{run:?}");
    let pings = peer
        .join()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Event::Ping(_)))
        .count();
    assert!(pings >= 2, "{pings} pings");
}

/// A server that completes the opening and then goes silent (it neither reads
/// nor answers pings) is noticed by keepalive: exit 8, a keepalive timeout,
/// close 1011. (Short explicit intervals here; the 20 s default is on without
/// any option, see `--help`.)
#[test]
fn a_silent_but_connected_server_is_detected_by_keepalive() {
    let (url, _peer) = ws_peer(|_, event, _| {
        // After the opening (the first message), alive at the TCP level only.
        if matches!(event, Event::Message(_)) {
            thread::sleep(Duration::from_secs(6));
        }
    });
    let run = sockette(
        &[
            &url,
            "--send",
            "x",
            "--wait",
            "20",
            "--ping-interval",
            "0.2",
        ],
        30,
    );
    assert_eq!(run.code(), 8, "{run:?}");
    assert!(run.stderr.contains("keepalive"), "{run:?}");
    assert!(run.stdout.contains("* close: 1011"), "{run:?}");
}

/// `--no-keepalive` turns the default pings off; it cannot be combined with
/// `--ping-interval`.
#[test]
fn no_keepalive_is_accepted_and_excludes_ping_interval() {
    let (url, _peer) = ws_peer(|conn, event, _| {
        if let Event::Message(m) = event {
            conn.send(m).unwrap();
        }
    });
    let run = sockette(&[&url, "--no-keepalive", "--send", "x"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    let both = sockette(
        &[
            &url,
            "--no-keepalive",
            "--ping-interval",
            "1",
            "--send",
            "x",
        ],
        30,
    );
    assert_eq!(both.code(), 2, "{both:?}");
}

#[test]
fn a_server_closing_with_an_error_code_exits_9() {
    let (url, _peer) = ws_peer(|conn, event, _| {
        if let Event::Message(_) = event {
            conn.close(Instant::now(), CloseCode::InternalError, "out of coffee")
                .unwrap();
        }
    });
    let run = sockette(&[&url, "--send", "hi"], 30);
    assert_eq!(run.code(), 9, "{run:?}");
    assert!(
        run.stdout
            .contains("* close: 1011 \"out of coffee\" (clean)"),
        "{run:?}"
    );
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert!(run.stderr.contains("1011"), "{run:?}");
}

#[test]
fn a_protocol_violation_exits_7() {
    let (url, _peer) = ws_peer(|_, event, stream| {
        if let Event::Message(_) = event {
            // A text frame with reserved opcode 0x3.
            stream.write_all(&[0x83, 0x00]).unwrap();
        }
    });
    let run = sockette(&[&url, "--send", "hi"], 30);
    assert_eq!(run.code(), 7, "{run:?}");
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert!(run.stderr.contains("protocol violation"), "{run:?}");
    assert!(run.stdout.contains("* close: 1002"), "{run:?}");
}

#[test]
fn an_opening_that_never_completes_exits_8() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let holder = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut sink = [0u8; 1024];
        // Read the request, answer nothing, until the client hangs up.
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });
    let run = sockette(&[&url, "--connect-timeout", "0.5", "--send", "x"], 30);
    assert_eq!(run.code(), 8, "{run:?}");
    assert_eq!(run.stderr_lines().len(), 1, "{run:?}");
    assert!(run.stderr.contains("timed out"), "{run:?}");
    holder.join().unwrap();
}

#[test]
fn headers_protocols_and_origin_are_offered() {
    let (url, peer) = ws_peer(|_, _, _| {});
    let run = sockette(
        &[
            &url,
            "-H",
            "X-Trace: abc:123",
            "--header",
            "Authorization: Bearer t",
            "--protocol",
            "chat.v2",
            "--protocol",
            "chat.v1",
            "--origin",
            "http://example.test",
            "--send",
            "x",
            "--wait",
            "0.2",
        ],
        30,
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let seen = peer.join().unwrap();
    let Event::Open(info) = &seen[0] else {
        panic!("{seen:?}")
    };
    assert_eq!(info.header("X-Trace"), Some("abc:123"));
    assert_eq!(info.header("Authorization"), Some("Bearer t"));
    assert_eq!(
        info.header("Sec-WebSocket-Protocol"),
        Some("chat.v2, chat.v1")
    );
    assert_eq!(info.header("Origin"), Some("http://example.test"));
}
