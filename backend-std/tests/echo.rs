//! The client against the project's own server role over real TCP on loopback:
//! echo of every kind of message, close in both directions, ping/pong,
//! keepalive, and every callback on the owner thread.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use sockette_core::Event as ServerEvent;
use sockette_std::{Client, CloseCode, CommandError, Error, Event, Message, State};
use sockette_testkit::serve;
use support::{bounded, echo_server, TestServer};

fn text(m: &Message) -> &str {
    m.as_text()
        .unwrap_or_else(|| panic!("expected text, got {m:?}"))
}

#[test]
fn echoes_text_binary_empty_and_large_messages_on_the_owner_thread() {
    bounded(60, || {
        let (server, _events) = echo_server();
        let owner = thread::current().id();
        let large: Vec<u8> = (0..5 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
        let large_text = "é".repeat(1024 * 1024); // 2 MiB of two-byte characters
        let mut client = Client::connect(&server.url("/echo")).unwrap();
        assert_eq!(client.state(), State::Open);
        let mut received = Vec::new();
        let (large2, large_text2) = (large.clone(), large_text.clone());
        let info = client
            .run(|ws, event| {
                assert_eq!(
                    thread::current().id(),
                    owner,
                    "callback off the owner thread"
                );
                match event {
                    Event::Open(_) => {
                        ws.send_text("hello").unwrap();
                        ws.send_binary(&[1, 2, 3]).unwrap();
                        ws.send_text("").unwrap();
                        ws.send_binary(&[]).unwrap();
                        ws.send_binary(&large2).unwrap();
                        ws.send_text(&large_text2).unwrap();
                    }
                    Event::Message(m) => {
                        received.push(m);
                        if received.len() == 6 {
                            ws.close(CloseCode::Normal, "done").unwrap();
                        }
                    }
                    Event::Close(_) => {}
                    other => panic!("unexpected {other:?}"),
                }
            })
            .unwrap();
        assert!(info.was_clean, "{info:?}");
        assert_eq!(info.code, CloseCode::Normal);
        assert_eq!(text(&received[0]), "hello");
        assert_eq!(received[1], Message::Binary(vec![1, 2, 3].into()));
        assert_eq!(text(&received[2]), "");
        assert_eq!(received[3], Message::Binary(Vec::new().into()));
        assert_eq!(received[4].as_bytes(), &large[..]);
        assert_eq!(text(&received[5]), large_text);
        assert_eq!(client.state(), State::Closed);
        assert!(matches!(client.run(|_, _| {}), Err(Error::Closed)));
        assert_eq!(client.send_text("late"), Err(CommandError::Closed(None)));
    });
}

#[test]
fn client_close_carries_code_and_reason_to_the_server() {
    bounded(20, || {
        let (server, events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        client
            .close(CloseCode::Application(4001), "client bye")
            .unwrap();
        assert_eq!(client.state(), State::Closing);
        let info = client.run(|_, _| {}).unwrap();
        assert!(info.was_clean);
        assert_eq!(info.code, CloseCode::Application(4001));
        let server_close = events
            .iter()
            .find_map(|e| match e {
                ServerEvent::Close(c) => Some(c),
                _ => None,
            })
            .unwrap();
        assert_eq!(server_close.code, CloseCode::Application(4001));
        assert_eq!(server_close.reason, "client bye");
        assert!(server_close.was_clean);
    });
}

#[test]
fn server_close_carries_code_and_reason_to_the_client() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        client.send_text("close:4002:server bye").unwrap();
        let mut closes = Vec::new();
        let info = client
            .run(|_, event| {
                if let Event::Close(c) = event {
                    closes.push(c);
                }
            })
            .unwrap();
        assert_eq!(closes.len(), 1, "Close is delivered exactly once");
        assert!(info.was_clean);
        assert_eq!(info.code, CloseCode::Application(4002));
        assert_eq!(info.reason, "server bye");
        assert_eq!(client.close_info(), Some(&info));
    });
}

#[test]
fn ping_is_answered_with_a_pong() {
    bounded(20, || {
        let (server, events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        client.ping(b"are you there").unwrap();
        let pong = loop {
            match client.next_event(Some(Duration::from_secs(5))).unwrap() {
                Some(Event::Pong(p)) => break p,
                Some(Event::Open(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(&pong[..], b"are you there");
        // The pong answered our ping: its round trip is measured.
        assert!(client.stats().latest_rtt.is_some());
        client.close(CloseCode::Normal, "").unwrap();
        client.run(|_, _| {}).unwrap();
        assert!(events
            .iter()
            .any(|e| matches!(e, ServerEvent::Ping(p) if &p[..] == b"are you there")));
    });
}

#[test]
fn keepalive_detects_a_silent_server() {
    bounded(20, || {
        // Completes the handshake, then neither reads nor writes.
        let server = TestServer::start(|stream| {
            let mut opened = false;
            let (conn, stream) = serve(
                stream,
                sockette_core::ServerConfig::new(),
                Duration::from_secs(10),
                |_, event, _| {
                    opened |= matches!(event, ServerEvent::Open(_));
                    !opened
                },
            );
            thread::sleep(Duration::from_secs(3));
            drop((conn, stream));
        });
        let started = Instant::now();
        let mut client = Client::builder(&server.url("/"))
            .keepalive(Duration::from_millis(200), Duration::from_millis(300))
            .connect()
            .unwrap();
        let mut error = None;
        let info = client
            .run(|_, event| {
                if let Event::Error(e) = event {
                    error = Some(e);
                }
            })
            .unwrap();
        let error = error.expect("an Error event before Close");
        assert!(
            matches!(
                error,
                Error::WebSocket(sockette_core::Error::Timeout(
                    sockette_core::TimeoutKind::Keepalive
                ))
            ),
            "{error:?}"
        );
        // The message a person reads names the cause.
        assert!(error.to_string().contains("keepalive"), "{error}");
        // 1011 is sent, in case the server still reads.
        assert_eq!(info.code, CloseCode::InternalError);
        assert!(!info.was_clean);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    });
}

#[test]
fn senders_on_other_threads_reach_the_server_and_callbacks_stay_on_the_owner() {
    bounded(30, || {
        let (server, _events) = echo_server();
        let owner = thread::current().id();
        let mut client = Client::connect(&server.url("/")).unwrap();
        const THREADS: usize = 4;
        const EACH: usize = 50;
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let sender = client.sender();
                thread::spawn(move || {
                    for i in 0..EACH {
                        sender.send_text(format!("{t}:{i}")).unwrap();
                    }
                })
            })
            .collect();
        let mut per_thread = vec![Vec::new(); THREADS];
        let mut total = 0;
        client
            .run(|ws, event| {
                assert_eq!(thread::current().id(), owner);
                if let Event::Message(m) = event {
                    let (t, i) = text(&m).split_once(':').unwrap();
                    per_thread[t.parse::<usize>().unwrap()].push(i.parse::<usize>().unwrap());
                    total += 1;
                    if total == THREADS * EACH {
                        ws.close(CloseCode::Normal, "").unwrap();
                    }
                }
            })
            .unwrap();
        for w in workers {
            w.join().unwrap();
        }
        for got in per_thread {
            assert_eq!(
                got,
                (0..EACH).collect::<Vec<_>>(),
                "each sender's order is kept"
            );
        }
    });
}

#[test]
fn messages_queued_while_opening_go_out_in_order_after_open() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::start(&server.url("/")).unwrap();
        assert_eq!(client.state(), State::Connecting);
        let sender = client.sender();
        sender.send_text("one").unwrap();
        client.send_text("two").unwrap();
        sender.send_text("three").unwrap();
        let mut seen = Vec::new();
        client
            .run(|ws, event| match event {
                Event::Open(_) => seen.push("open".to_string()),
                Event::Message(m) => {
                    seen.push(text(&m).to_string());
                    if seen.len() == 4 {
                        ws.close(CloseCode::Normal, "").unwrap();
                    }
                }
                _ => {}
            })
            .unwrap();
        assert_eq!(seen, ["open", "one", "two", "three"]);
        assert_eq!(sender.send_text("late"), Err(CommandError::Closed(None)));
        assert!(sender.is_closed());
    });
}

#[test]
fn sender_close_is_ordered_after_earlier_messages_and_refuses_later_ones() {
    bounded(20, || {
        let (server, events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        let sender = client.sender();
        let worker = thread::spawn(move || {
            sender.send_text("last words").unwrap();
            sender
                .close(CloseCode::Application(4100), "from a thread")
                .unwrap();
            sender.send_text("too late")
        });
        let late = worker.join().unwrap();
        assert_eq!(late, Err(CommandError::Closing));
        let mut messages = Vec::new();
        let info = client
            .run(|_, event| {
                if let Event::Message(m) = event {
                    messages.push(text(&m).to_string());
                }
            })
            .unwrap();
        assert_eq!(info.code, CloseCode::Application(4100));
        assert!(info.was_clean);
        let server_messages: Vec<_> = support::until_close(&events)
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::Message(m) => Some(text(&m).to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(server_messages, ["last words"]);
    });
}

#[test]
fn recv_try_recv_and_iterating_until_the_close() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        assert!(
            client.try_recv().unwrap().is_none(),
            "nothing sent, nothing there"
        );
        client.send_text("one").unwrap();
        assert_eq!(text(&client.recv().unwrap()), "one");
        // Sent from another thread, the close last: the iteration yields the
        // echoes in order and ends with the close, whose code stays reachable.
        let sender = client.sender();
        thread::spawn(move || {
            for word in ["two", "three", "four"] {
                sender.send_text(word).unwrap();
            }
            sender.close(CloseCode::Normal, "enough").unwrap();
        });
        let mut got = Vec::new();
        for message in &mut client {
            got.push(text(&message.unwrap()).to_string());
        }
        assert_eq!(got, ["two", "three", "four"]);
        let info = client.close_info().expect("the close is kept");
        assert_eq!(info.code, CloseCode::Normal);
        assert!(info.was_clean);
        assert!(matches!(client.try_recv(), Err(Error::Closed)));
        assert_eq!(client.messages().count(), 0, "nothing after the close");
    });
}

#[test]
fn pull_api_and_dispatch() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        // Nothing yet: a short timeout returns None.
        client.send_text("pulled").unwrap();
        let m = client.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(text(&m.unwrap()), "pulled");
        let started = Instant::now();
        assert!(client
            .recv_timeout(Duration::from_millis(100))
            .unwrap()
            .is_none());
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(started.elapsed() < Duration::from_secs(2));

        // A UI-style main loop.
        client.send_text("dispatched").unwrap();
        let mut got = Vec::new();
        let mut turns = 0;
        loop {
            turns += 1;
            match client.dispatch(Duration::from_millis(20), |ws, event| match event {
                Event::Message(m) => {
                    got.push(text(&m).to_string());
                    ws.close(CloseCode::Normal, "").unwrap();
                }
                Event::Close(c) => got.push(format!("close {}", c.code.as_u16())),
                _ => {}
            }) {
                Ok(_) => {}
                Err(Error::Closed) => break,
                Err(e) => panic!("{e}"),
            }
            assert!(turns < 500);
        }
        assert_eq!(got, ["dispatched", "close 1000"]);
        assert!(matches!(client.recv(), Err(Error::Closed)));
    });
}

#[test]
fn buffered_amount_drains_to_zero() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        client.send_binary(&vec![7u8; 3 << 20]).unwrap();
        // What the socket took at once is no longer buffered; the rest is counted.
        assert!(client.buffered_amount() <= (3 << 20) + 14);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut echoed = false;
        while !(echoed && client.buffered_amount() == 0) {
            assert!(
                Instant::now() < deadline,
                "still buffered: {}",
                client.buffered_amount()
            );
            if let Some(m) = client.recv_timeout(Duration::from_millis(50)).unwrap() {
                assert_eq!(m.len(), 3 << 20);
                echoed = true;
            }
        }
    });
}

#[test]
fn dropping_an_open_client_says_going_away() {
    bounded(20, || {
        let (server, events) = echo_server();
        let client = Client::connect(&server.url("/")).unwrap();
        drop(client);
        let close = events
            .iter()
            .find_map(|e| match e {
                ServerEvent::Close(c) => Some(c),
                _ => None,
            })
            .unwrap();
        assert_eq!(close.code, CloseCode::GoingAway);
    });
}

#[test]
fn subprotocol_and_headers_reach_the_server() {
    bounded(20, || {
        let (server, events) =
            support::echo_server_with(|| sockette_core::ServerConfig::new().protocol("chat.v2"));
        let mut client = Client::builder(&server.url("/room?x=1"))
            .protocol("chat.v1")
            .protocol("chat.v2")
            .origin("http://127.0.0.1")
            .header("X-Test", "yes")
            .connect()
            .unwrap();
        match client.next_event(None).unwrap() {
            Some(Event::Open(info)) => assert_eq!(info.protocol.as_deref(), Some("chat.v2")),
            other => panic!("{other:?}"),
        }
        let open = events
            .iter()
            .find_map(|e| match e {
                ServerEvent::Open(info) => Some(info),
                _ => None,
            })
            .unwrap();
        assert_eq!(open.resource, "/room?x=1");
        assert_eq!(open.header("x-test"), Some("yes"));
        assert_eq!(open.header("origin"), Some("http://127.0.0.1"));
        client.close(CloseCode::Normal, "").unwrap();
        client.run(|_, _| {}).unwrap();
    });
}

#[test]
fn connects_over_ipv6_loopback() {
    bounded(20, || {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let server = TestServer::start_on("[::1]:0", move |stream| {
            let tx = tx.lock().unwrap().clone();
            serve(
                stream,
                sockette_core::ServerConfig::new(),
                Duration::from_secs(10),
                |conn, event, _| {
                    if let ServerEvent::Message(m) = event {
                        conn.send(m).unwrap();
                    }
                    let _ = tx.send(());
                    !matches!(event, ServerEvent::Close(_))
                },
            );
        });
        let url = format!("ws://[::1]:{}/", server.port);
        let mut client = Client::connect(&url).unwrap();
        assert!(client.peer_addr().unwrap().is_ipv6());
        client.send_text("over v6").unwrap();
        let m = client.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(text(&m.unwrap()), "over v6");
        client.close(CloseCode::Normal, "").unwrap();
        assert!(client.run(|_, _| {}).unwrap().was_clean);
        drop(rx);
    });
}

#[test]
fn stats_count_the_messages_and_bytes_of_a_session() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        for text in ["one", "two", "three"] {
            client.send_text(text).unwrap();
        }
        let mut echoed = 0;
        while echoed < 3 {
            match client.next_event(Some(Duration::from_secs(5))).unwrap() {
                Some(Event::Message(_)) => echoed += 1,
                Some(Event::Open(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        let stats = client.stats();
        assert_eq!(stats.messages_sent, 3);
        assert_eq!(stats.messages_received, 3);
        assert_eq!(stats.payload_bytes_sent, 11);
        assert_eq!(stats.payload_bytes_received, 11);
        // The handshake and the frame headers are on the wire too.
        assert!(stats.wire_bytes_sent > 11 && stats.wire_bytes_received > 11);
        assert_eq!(stats.compression_ratio, None);
        assert_eq!(stats.latest_rtt, None);
        client.close(CloseCode::Normal, "").unwrap();
        client.run(|_, _| {}).unwrap();
    });
}

/// A message of many wake-ups' read budgets (1 MiB each) both ways: reading
/// resumes after each budget without any timer armed to wake it.
#[test]
fn a_message_of_many_read_budgets_is_echoed_whole_without_a_timer() {
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::builder(&server.url("/"))
            .no_keepalive()
            .connect()
            .unwrap();
        let large: Vec<u8> = (0..8 << 20).map(|i| (i % 251) as u8).collect();
        client.send_binary(&large).unwrap();
        let started = Instant::now();
        let echo = client
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("the echo within 10 s (no timer is armed to wake a stalled read)");
        assert_eq!(echo.as_bytes(), &large[..]);
        assert!(started.elapsed() < Duration::from_secs(10));
        client.close(CloseCode::Normal, "").unwrap();
        client.run(|_, _| {}).unwrap();
    });
}
