//! sockette-mio against real sockets on loopback: the project's own server role
//! over TLS (certificates made by rcgen), a thousand connections in one thread,
//! and the failures a client meets (refused, silent, reset, untrusted
//! certificate), each reported on the loop's thread without disturbing the others.
//!
//! The thousand-connection test needs about 2,100 file descriptors (client and
//! server sockets live in this process): `ulimit -n` must be at least 4096 (it
//! says so and stops otherwise).

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};
use sockette_mio::{
    ClientConfig, CloseCode, CommandError, ConnectCause, ConnectStep, Connection, Error, Event,
    EventLoop, Message, State, Timeouts,
};
use support::server::EchoServer;
use support::{refused_addr, resetting_server, silent_server, Pki, WssClient};

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Turns the loop until it is empty, failing the test after `limit`.
fn run_bounded<F>(event_loop: &mut EventLoop, limit: Duration, mut callback: F)
where
    F: FnMut(&mut sockette_mio::Handle<'_>, Event),
{
    let deadline = Instant::now() + limit;
    while !event_loop.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{} connections still open after {limit:?}",
            event_loop.len()
        );
        event_loop.turn(Some(left), &mut callback).unwrap();
    }
}

#[test]
fn a_thousand_wss_connections_in_one_thread_exchange_messages_and_close_cleanly() {
    const N: usize = 1000;
    const ROUNDS: usize = 3;
    let limit = support::soft_fd_limit();
    assert!(
        limit >= 4096,
        "`ulimit -n` is {limit}: this test needs 4096 file descriptors (raise it in the shell)"
    );
    let pki = Pki::new("sockette-mio test CA (thousand)");
    let server = EchoServer::start(Some(pki.server_tls()));
    let port = server.addr.port();
    let start = Instant::now();
    let mut event_loop = EventLoop::new().unwrap();
    for _ in 0..N {
        event_loop
            .connect_addr(pki.client(port, "/echo"), localhost(port))
            .unwrap();
    }
    let mut echoes: HashMap<Token, usize> = HashMap::new();
    let (mut opened, mut clean) = (0, 0);
    let mut opened_at = None;
    run_bounded(&mut event_loop, Duration::from_secs(25), |ws, event| {
        let token = ws.token().unwrap();
        match event {
            Event::Open(_) => {
                opened += 1;
                if opened == N {
                    opened_at = Some(start.elapsed());
                }
                ws.send_text(&format!("hello from {}", token.0)).unwrap();
            }
            Event::Message(message) => {
                let n = echoes.entry(token).or_default();
                *n += 1;
                match (&message, *n % 2) {
                    (Message::Text(t), 1) => {
                        assert_eq!(t.as_str(), format!("hello from {}", token.0))
                    }
                    (Message::Binary(b), 0) => assert_eq!(&b[..], &[token.0 as u8; 300][..]),
                    other => panic!("unexpected echo {other:?}"),
                }
                if *n == 2 * ROUNDS {
                    ws.close(CloseCode::Normal, "done").unwrap();
                } else if *n % 2 == 1 {
                    ws.send_binary(&[token.0 as u8; 300]).unwrap();
                } else {
                    ws.send_text(&format!("hello from {}", token.0)).unwrap();
                }
            }
            Event::Close(info) => {
                assert!(info.was_clean, "{info:?}");
                assert_eq!(info.code, CloseCode::Normal);
                clean += 1;
            }
            Event::Error(e) => panic!("connection {} failed: {e}", token.0),
            _ => {}
        }
    });
    let elapsed = start.elapsed();
    eprintln!(
        "{N} wss connections: all open after {:?}, all closed after {elapsed:?}",
        opened_at.unwrap()
    );
    assert_eq!((opened, clean), (N, N));
    assert!(echoes.values().all(|&n| n == 2 * ROUNDS));
    assert_eq!(
        server.stats.messages.load(Ordering::Relaxed),
        N * 2 * ROUNDS
    );
    // The server saw each close handshake complete.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stats.clean_closes.load(Ordering::Relaxed) < N && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.stats.clean_closes.load(Ordering::Relaxed), N);
}

/// What one connection reported, in order.
#[derive(Debug, Default)]
struct Log {
    events: Vec<String>,
    error: Option<Error>,
    close: Option<sockette_mio::CloseInfo>,
}

#[test]
fn failures_are_error_events_on_the_loop_thread_and_leave_the_others_alone() {
    let pki = Pki::new("sockette-mio test CA (failures)");
    let good = EchoServer::start(Some(pki.server_tls()));
    let stranger = Pki::new("someone else's CA");
    let untrusted = EchoServer::start(Some(stranger.server_tls()));
    let (silent, silent_thread) = silent_server(Duration::from_secs(3));
    let (reset, reset_thread) = resetting_server();
    let refused = refused_addr();

    let short = Timeouts::default().handshake(Duration::from_millis(700));
    let mut event_loop = EventLoop::new().unwrap();
    let mut name = HashMap::new();
    let mut add = |event_loop: &mut EventLoop, what: &'static str, config: ClientConfig, addr| {
        let token = event_loop
            .connect_addr(config.timeouts(short), addr)
            .unwrap();
        name.insert(token, what);
    };
    add(
        &mut event_loop,
        "refused",
        pki.client(refused.port(), "/"),
        refused,
    );
    add(
        &mut event_loop,
        "silent",
        pki.client(silent.port(), "/"),
        silent,
    );
    add(
        &mut event_loop,
        "reset",
        pki.client(reset.port(), "/"),
        reset,
    );
    let port = untrusted.addr.port();
    add(
        &mut event_loop,
        "untrusted",
        pki.client(port, "/"),
        localhost(port),
    );
    let port = good.addr.port();
    for _ in 0..10 {
        add(
            &mut event_loop,
            "good",
            pki.client(port, "/"),
            localhost(port),
        );
    }

    let loop_thread = thread::current().id();
    let mut logs: HashMap<Token, Log> = HashMap::new();
    run_bounded(&mut event_loop, Duration::from_secs(10), |ws, event| {
        assert_eq!(
            thread::current().id(),
            loop_thread,
            "callbacks run on the loop's thread"
        );
        let log = logs.entry(ws.token().unwrap()).or_default();
        assert!(log.close.is_none(), "nothing after Close");
        match event {
            Event::Open(_) => {
                log.events.push("open".into());
                ws.send_text("ping?").unwrap();
            }
            Event::Message(_) => {
                log.events.push("message".into());
                ws.close(CloseCode::Normal, "").unwrap();
            }
            Event::Error(e) => {
                log.events.push("error".into());
                log.error = Some(e);
            }
            Event::Close(info) => {
                log.events.push("close".into());
                log.close = Some(info);
            }
            _ => {}
        }
    });
    for (token, log) in &logs {
        let what = name[token];
        let close = log
            .close
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no Close: {log:?}"));
        if what == "good" {
            assert_eq!(log.events, ["open", "message", "close"], "{what}");
            assert!(close.was_clean);
            continue;
        }
        assert_eq!(log.events, ["error", "close"], "{what}: {log:?}");
        assert!(!close.was_clean, "{what}");
        let error = log.error.as_ref().unwrap();
        eprintln!("{what}: {error} / close {} {:?}", close.code, close.reason);
        match what {
            "refused" => {
                assert!(
                    matches!(error, Error::Connect(c) if c.step == ConnectStep::Tcp
                        && matches!(&c.cause, ConnectCause::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)),
                    "{error:?}"
                );
                assert_eq!(close.code, CloseCode::Abnormal);
                assert!(close.reason.contains("refused"), "{close:?}");
            }
            "silent" => {
                assert!(error.is_timeout(), "{error:?}");
                assert_eq!(close.code, CloseCode::Abnormal);
            }
            "reset" => assert!(
                error
                    .io_error()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
                "{error:?}"
            ),
            "untrusted" => {
                let Error::Connect(c) = error else {
                    panic!("{error:?}");
                };
                assert_eq!(c.step, ConnectStep::Tls, "{c}");
                let ConnectCause::WebSocket(sockette_core::Error::Tls(tls)) = &c.cause else {
                    panic!("{error:?}");
                };
                assert_eq!(tls.kind(), sockette_core::TlsErrorKind::UnknownIssuer);
                assert_eq!(close.code, CloseCode::Tls);
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(logs.len(), 14);
    reset_thread.join().unwrap();
    drop(silent_thread); // it ends by itself
}

#[test]
fn a_sender_on_another_thread_delivers_in_order_and_is_refused_after_the_close() {
    let pki = Pki::new("sockette-mio test CA (sender)");
    let server = EchoServer::start(Some(pki.server_tls()));
    let port = server.addr.port();
    let mut event_loop = EventLoop::new().unwrap();
    let token = event_loop
        .connect_addr(pki.client(port, "/"), localhost(port))
        .unwrap();
    let sender = event_loop.sender(token).unwrap();
    // Queued before the connection opens: held until it does, in order.
    let producer = {
        let sender = sender.clone();
        thread::spawn(move || {
            for i in 0..500 {
                sender.send_text(format!("{i}")).unwrap();
                if i % 100 == 0 {
                    thread::sleep(Duration::from_millis(5));
                }
            }
            sender.close(CloseCode::Normal, "producer done").unwrap();
        })
    };
    let mut received = Vec::new();
    let mut closed = None;
    let mut stats = None;
    run_bounded(
        &mut event_loop,
        Duration::from_secs(10),
        |ws, event| match event {
            Event::Message(Message::Text(t)) => received.push(t.as_str().parse::<usize>().unwrap()),
            Event::Close(info) => {
                closed = Some(info);
                stats = Some(ws.stats());
            }
            Event::Error(e) => panic!("{e}"),
            _ => {}
        },
    );
    producer.join().unwrap();
    assert_eq!(received, (0..500).collect::<Vec<_>>());
    // The handle's stats count what the sender queued and the echoes.
    let stats = stats.unwrap();
    let digits: u64 = (0..500).map(|i: u64| i.to_string().len() as u64).sum();
    assert_eq!(stats.messages_sent, 500);
    assert_eq!(stats.messages_received, 500);
    assert_eq!(stats.payload_bytes_sent, digits);
    assert_eq!(stats.payload_bytes_received, digits);
    assert!(closed.unwrap().was_clean);
    assert!(sender.is_closed());
    assert!(
        matches!(sender.send_text("late"), Err(CommandError::Closed(None))),
        "a clean close leaves no cause"
    );
}

#[test]
fn commands_queued_when_the_connection_closes_are_reported_not_dropped() {
    let pki = Pki::new("sockette-mio test CA (not sent)");
    let server = EchoServer::start(Some(pki.server_tls()));
    let port = server.addr.port();
    let mut event_loop = EventLoop::new().unwrap();
    let token = event_loop
        .connect_addr(pki.client(port, "/"), localhost(port))
        .unwrap();
    let sender = event_loop.sender(token).unwrap();
    let mut events = Vec::new();
    run_bounded(&mut event_loop, Duration::from_secs(10), |ws, event| {
        if let Event::Open(_) = event {
            ws.close(CloseCode::Normal, "").unwrap();
            // Accepted by the queue, but the connection is closing: refused later.
            sender.send_text("too late").unwrap();
        }
        events.push(event);
    });
    assert!(
        matches!(
            &events[..],
            [
                Event::Open(_),
                Event::Error(Error::NotSent { messages: 1 }),
                Event::Close(_)
            ]
        ),
        "{events:?}"
    );
}

#[test]
fn a_sender_is_bounded_like_the_connection_and_loses_nothing_under_backpressure() {
    const LIMIT: usize = 64 << 10;
    const MESSAGES: usize = 200;
    let pki = Pki::new("sockette-mio test CA (bounded sender)");
    let server = EchoServer::start(Some(pki.server_tls()));
    let port = server.addr.port();
    let config = pki
        .client(port, "/")
        .limits(sockette_mio::Limits::default().max_buffered_output(LIMIT));
    let mut event_loop = EventLoop::new().unwrap();
    let token = event_loop.connect_addr(config, localhost(port)).unwrap();
    let sender = event_loop.sender(token).unwrap();
    // What can never fit is refused at once, saying why; nothing is queued.
    match sender.send_binary(vec![0u8; 64 << 20]) {
        Err(CommandError::OutputFull { limit, needed, .. }) => {
            assert_eq!(limit, LIMIT);
            assert!(needed > 64 << 20);
        }
        other => panic!("expected OutputFull at once, got {other:?}"),
    }
    // A producer faster than the socket: every refusal is OutputFull and a
    // retry later gets through; every accepted message is echoed, in order.
    let producer = {
        let sender = sender.clone();
        thread::spawn(move || {
            let mut refusals = 0;
            for i in 0..MESSAGES {
                let mut payload = vec![(i % 251) as u8; 16 << 10];
                payload[..4].copy_from_slice(&(i as u32).to_be_bytes());
                loop {
                    match sender.send_binary(payload.clone()) {
                        Ok(()) => break,
                        Err(CommandError::OutputFull { .. }) => {
                            refusals += 1;
                            thread::sleep(Duration::from_micros(200));
                        }
                        Err(e) => panic!("message {i}: {e}"),
                    }
                }
            }
            sender.close(CloseCode::Normal, "all sent").unwrap();
            refusals
        })
    };
    let mut received = Vec::new();
    let mut clean = false;
    run_bounded(
        &mut event_loop,
        Duration::from_secs(20),
        |_ws, event| match event {
            Event::Message(Message::Binary(b)) => {
                received.push(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
            }
            Event::Close(info) => clean = info.was_clean,
            Event::Error(e) => panic!("{e}"),
            _ => {}
        },
    );
    let refusals = producer.join().unwrap();
    assert_eq!(received, (0..MESSAGES).collect::<Vec<_>>());
    assert!(clean);
    assert!(refusals > 0, "the producer never met the bound");
}

#[test]
fn a_large_message_goes_through_backpressure_and_the_buffers_shrink_back() {
    let pki = Pki::new("sockette-mio test CA (large)");
    let server = EchoServer::start(Some(pki.server_tls()));
    let port = server.addr.port();
    let payload: Vec<u8> = (0..8u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let mut event_loop = EventLoop::new().unwrap();
    let token = event_loop
        .connect_addr(pki.client(port, "/"), localhost(port))
        .unwrap();
    let mut max_buffered = 0;
    let mut echoed = false;
    let mut buffered_after = usize::MAX;
    run_bounded(
        &mut event_loop,
        Duration::from_secs(20),
        |ws, event| match event {
            Event::Open(_) => {
                ws.send_binary(&payload).unwrap();
                max_buffered = ws.buffered_amount();
            }
            Event::Message(Message::Binary(b)) => {
                assert!(b[..] == payload[..]);
                echoed = true;
                buffered_after = ws.buffered_amount();
                ws.close(CloseCode::Normal, "").unwrap();
            }
            Event::Error(e) => panic!("{e}"),
            _ => {}
        },
    );
    assert!(echoed);
    assert!(max_buffered >= payload.len(), "{max_buffered}");
    assert_eq!(buffered_after, 0);
    assert!(event_loop.get(token).is_none(), "removed once finished");
}

#[test]
fn an_idle_open_connection_gets_no_wakeups_in_a_callers_own_poll() {
    let pki = Pki::new("sockette-mio test CA (idle)");
    let server = EchoServer::start(Some(pki.server_tls()));
    let port = server.addr.port();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    // Keepalive (on by default) is the one timer of an open connection.
    let config = pki.client(port, "/").no_keepalive();
    let mut ws = Connection::with_addr(config, localhost(port)).unwrap();
    ws.register(poll.registry(), Token(3)).unwrap();
    let mut opened = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !opened {
        assert!(Instant::now() < deadline);
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for event in events.iter() {
            ws.handle_event(
                poll.registry(),
                event,
                |_: &mut sockette_mio::Handle<'_>, e| {
                    opened |= matches!(e, Event::Open(_));
                },
            );
        }
    }
    assert_eq!(ws.state(), State::Open);
    assert_eq!(
        ws.poll_timeout(),
        None,
        "no timer while open without keepalive"
    );
    // Idle: no readiness at all for a while (no WRITABLE interest left armed).
    let idle_start = Instant::now();
    let mut wakeups = 0;
    while idle_start.elapsed() < Duration::from_millis(300) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        wakeups += events.iter().count();
    }
    assert_eq!(wakeups, 0, "an idle connection is never woken");
    // Still alive: a send from outside a callback goes out and is echoed.
    ws.send_text(poll.registry(), "still there?").unwrap();
    let mut echoed = false;
    while !echoed {
        assert!(Instant::now() < deadline);
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for event in events.iter() {
            ws.handle_event(
                poll.registry(),
                event,
                |_: &mut sockette_mio::Handle<'_>, e| {
                    echoed |= matches!(&e, Event::Message(Message::Text(t)) if t == "still there?");
                },
            );
        }
    }
    ws.close(poll.registry(), CloseCode::Normal, "").unwrap();
    while !ws.is_finished() {
        assert!(Instant::now() < deadline);
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for event in events.iter() {
            ws.handle_event(
                poll.registry(),
                event,
                |_: &mut sockette_mio::Handle<'_>, _| {},
            );
        }
        ws.handle_timeout(
            poll.registry(),
            Instant::now(),
            |_: &mut sockette_mio::Handle<'_>, _| {},
        );
    }
}

#[test]
fn a_standalone_sender_wakes_a_callers_own_poll() {
    let server = EchoServer::start(None);
    let mut poll = Poll::new().unwrap();
    let waker = std::sync::Arc::new(Waker::new(poll.registry(), Token(99)).unwrap());
    let mut events = Events::with_capacity(16);
    let config = ClientConfig::new(&format!("ws://{}/", server.addr)).unwrap();
    let mut ws = Connection::with_addr(config, server.addr).unwrap();
    ws.register(poll.registry(), Token(1)).unwrap();
    let sender = ws.sender(waker);
    let producer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        sender.send_binary(vec![1, 2, 3]).unwrap();
        sender.close(CloseCode::Normal, "bye").unwrap();
        sender
    });
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut on_event = |_: &mut sockette_mio::Handle<'_>, e: Event| log.push(e);
    while !ws.is_finished() {
        assert!(Instant::now() < deadline, "{log:?}");
        let timeout = ws
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout.or(Some(Duration::from_millis(200))))
            .unwrap();
        for event in events.iter() {
            match event.token() {
                Token(99) => ws.handle_wake(poll.registry(), &mut on_event),
                _ => ws.handle_event(poll.registry(), event, &mut on_event),
            }
        }
        ws.handle_timeout(poll.registry(), Instant::now(), &mut on_event);
    }
    let sender = producer.join().unwrap();
    assert!(
        matches!(
            &log[..],
            [Event::Open(_), Event::Message(Message::Binary(bytes)), Event::Close(info)]
                if bytes[..] == [1, 2, 3] && info.was_clean && info.code == CloseCode::Normal
        ),
        "{log:?}"
    );
    assert!(matches!(
        sender.send_text("x"),
        Err(CommandError::Closed(None))
    ));
}

/// Timeouts too long for an `Instant` (`now + Duration::MAX` overflows) mean no
/// deadline, in the connection's timers and in `turn`'s own timeout; they used
/// to panic ("overflow when adding duration to instant").
#[test]
fn huge_timeouts_mean_no_deadline_instead_of_a_panic() {
    let server = EchoServer::start(None);
    let port = server.addr.port();
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let huge = Timeouts::default()
            .handshake(Duration::MAX)
            .close(Duration::MAX)
            .keepalive_interval(Some(Duration::MAX))
            .keepalive_timeout(Duration::MAX);
        let config = ClientConfig::new(&format!("ws://127.0.0.1:{port}/"))
            .unwrap()
            .timeouts(huge);
        let mut event_loop = EventLoop::new().unwrap();
        event_loop.connect_addr(config, localhost(port)).unwrap();
        let mut echoed = None;
        let mut closed = None;
        while !event_loop.is_empty() {
            event_loop
                .turn(Some(Duration::MAX), |h, event| match event {
                    Event::Open(_) => h.send_text("one").unwrap(),
                    Event::Message(m) => {
                        echoed = Some(m);
                        h.close(CloseCode::Normal, "").unwrap();
                    }
                    Event::Close(info) => closed = Some(info),
                    _ => {}
                })
                .unwrap();
        }
        let _ = done.send((echoed, closed));
    });
    let (echoed, closed) = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the loop finished within 20 s");
    assert_eq!(echoed, Some(Message::Text("one".into())));
    assert!(closed.expect("a Close event").was_clean);
}

/// A close from outside a callback before the opening, with nothing sent,
/// ends the connection at once: no I/O will come to deliver its `Close`, so
/// `poll_timeout` says "now" and the next `handle_timeout` delivers it.
#[test]
fn a_close_before_the_opening_is_delivered_by_the_next_timeout() {
    let silent = sockette_testkit::silent::SilentAddr::new();
    let poll = Poll::new().unwrap();
    let config = ClientConfig::new(&format!("ws://{}/", silent.addr())).unwrap();
    let mut ws = Connection::with_addr(config, silent.addr()).unwrap();
    ws.register(poll.registry(), Token(1)).unwrap();
    // The connect is under way (the address never answers): nothing is due.
    ws.handle_timeout(
        poll.registry(),
        Instant::now(),
        |_: &mut sockette_mio::Handle<'_>, e| panic!("no event yet: {e:?}"),
    );
    assert!(ws.poll_timeout().expect("the opening's deadline") > Instant::now());
    ws.close(poll.registry(), CloseCode::Normal, "never mind")
        .unwrap();
    let due = ws.poll_timeout().expect("a deadline");
    assert!(
        due <= Instant::now(),
        "the Close is due now, not at the opening's deadline"
    );
    let mut events = Vec::new();
    ws.handle_timeout(
        poll.registry(),
        Instant::now(),
        |_: &mut sockette_mio::Handle<'_>, e| events.push(e),
    );
    match events.last() {
        Some(Event::Close(info)) => assert_eq!(info.code, CloseCode::Abnormal),
        other => panic!("expected the Close, got {other:?} in {events:?}"),
    }
    assert!(ws.is_finished());
}
