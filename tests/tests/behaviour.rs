//! One behaviour suite for both backends, so that they cannot drift apart:
//! every scenario is one function, listed once in the table at the end
//! (`scenarios!`), and runs against a real peer on loopback through the
//! backends' public APIs only (`harness`: sockette-std's `Client::builder`,
//! `start`, `dispatch`, `sender`...; sockette-mio's `EventLoop::new`,
//! `connect_with`, `turn`, `sender`...). The table generates three tests per
//! scenario, named `<scenario>::on_std`, `<scenario>::on_mio` (the scenario's
//! expectations on that backend) and `<scenario>::backends_agree` (both
//! backends at once: each meets its expectations, and both record the same
//! transcript: events, message contents, close code, reason and
//! `was_clean`, error kinds and texts, and the answers the scripts noted).
//!
//! Each run is bounded (the run's own deadline, and a watchdog around the
//! scenario) and every peer stops by itself.

#[path = "behaviour/harness.rs"]
mod harness;
#[path = "behaviour/peers.rs"]
mod peers;
#[path = "behaviour/proxied.rs"]
mod proxied;
#[path = "behaviour/redirected.rs"]
mod redirected;

use std::cell::{OnceCell, RefCell};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use harness::{run, Backend, Entry, Log, Outcome, Settings, Transcript, Ws};
use proxied::{
    microsocks_socks5, proxy_http_credentials, proxy_http_echo, proxy_https_echo, proxy_silent,
    proxy_socks5_echo, tinyproxy_http,
};
use redirected::{redirect_across_origins, redirect_loop_and_limit, redirects_followed};
use sockette_core::{CloseCode, CommandError, DeflateConfig, Message, TlsErrorKind};
use sockette_std::{ConnectCause, ConnectStep, Error, Event, Sender};
use sockette_testkit::pki::{self, Pki};
use sockette_testkit::PythonEchoServer;

// ----- helpers -----

/// A run whose script needs no [`Sender`].
fn run_script(
    backend: Backend,
    settings: &Settings,
    on_event: impl FnMut(&mut dyn Ws, &Event, &mut Log),
) -> Outcome {
    run(backend, settings, |_, _| {}, on_event)
}

/// What a command answered, as a note: `accepted`, or the refusal's text.
fn answer(result: Result<(), CommandError>) -> String {
    result.map_or_else(|e| format!("refused: {e}"), |()| "accepted".to_string())
}

/// In the `Close` callback: the state, and what a send is answered.
fn note_after_close(ws: &mut dyn Ws, log: &mut Log) {
    log.note(format!("state in the Close callback: {:?}", ws.state()));
    log.note(format!(
        "send_text in the Close callback: {}",
        answer(ws.send_text("too late"))
    ));
}

/// Sends `messages` on open, closes with 1000 "done" once all are echoed;
/// expects exactly the echoes and a clean close.
fn echo_exchange(backend: Backend, settings: &Settings, messages: Vec<Message>) -> Transcript {
    let expected: Vec<Entry> = messages.iter().map(Entry::message).collect();
    let mut echoed = 0;
    let outcome = run_script(backend, settings, |ws, event, log| match event {
        Event::Open(_) => {
            for m in &messages {
                ws.send(m).unwrap();
            }
        }
        Event::Message(_) => {
            echoed += 1;
            if echoed == messages.len() {
                ws.close(CloseCode::Normal, "done").unwrap();
            }
        }
        Event::Close(_) => note_after_close(ws, log),
        _ => {}
    });
    let t = outcome.transcript;
    assert!(outcome.errors.is_empty(), "{backend}: errors:\n{t:?}");
    assert_eq!(t.kinds()[0], "open", "{backend}:\n{t:?}");
    assert!(
        t.messages() == expected,
        "{backend}: the echoes are not what was sent:\n{t:?}"
    );
    // The peer answers with the code only (RFC 6455 §5.5.1: the core echoes the code).
    assert_eq!(t.close(), (1000, "", true), "{backend}:\n{t:?}");
    assert_eq!(
        t.notes(),
        [
            "state in the Close callback: Closed",
            "send_text in the Close callback: refused: the connection is closed"
        ],
        "{backend}"
    );
    t
}

/// An opening that failed: exactly an `Error` and a `Close` 1006 (or `code`)
/// whose reason is the error's text.
fn assert_failed_opening(backend: Backend, outcome: &Outcome, code: u16) {
    let t = &outcome.transcript;
    assert_eq!(t.kinds(), ["error", "close"], "{backend}:\n{t:?}");
    let text = t.error_text();
    assert_eq!(t.close(), (code, text, false), "{backend}:\n{t:?}");
}

/// The connect error of a failed opening.
fn connect_error(backend: Backend, error: &Error) -> &sockette_std::ConnectError {
    match error {
        Error::Connect(c) => c,
        other => panic!("{backend}: not a connect error: {other:?}"),
    }
}

/// sockette-std's synchronous form (`connect()`) fails with the same error
/// as its asynchronous one (`start()`, then events).
fn std_connect_says_the_same(url: &str, timeout: Option<Duration>, transcript: &Transcript) {
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    let mut builder = sockette_std::Client::builder(url);
    if let Some(timeout) = timeout {
        builder = builder.connect_timeout(timeout);
    }
    match builder.connect() {
        Ok(_) => panic!("sockette-std: connect() to {url} succeeded"),
        Err(e) => assert_eq!(
            e.to_string().replace(&format!(":{port}"), ":<port>"),
            transcript.error_text(),
            "sockette-std: connect() and start() disagree"
        ),
    }
}

/// The opening deadline of the timeout scenario.
const SHORT_OPENING: Duration = Duration::from_millis(300);

// ----- scenarios -----

/// Small text and binary messages (empty ones, non-ASCII text) echoed, then a
/// clean close started by the client.
fn echo_small(backend: Backend) -> Transcript {
    let peer = peers::echo(None);
    let messages = vec![
        Message::from("hello"),
        Message::from(vec![0u8, 1, 2, 127, 128, 254, 255]),
        Message::from(""),
        Message::from(Vec::<u8>::new()),
        Message::from("héllo wörld ✓ 🦀"),
    ];
    echo_exchange(backend, &Settings::new(peer.ws_url("/echo")), messages)
}

/// A 1 MiB text message and a 1 MiB binary message echoed whole.
fn echo_1mib(backend: Backend) -> Transcript {
    let peer = peers::echo(None);
    let text = "0123456789abcdé".repeat(65_536); // 16 bytes each
    assert_eq!(text.len(), 1 << 20);
    let binary: Vec<u8> = (0..1u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let messages = vec![Message::from(text), Message::from(binary)];
    echo_exchange(backend, &Settings::new(peer.ws_url("/big")), messages)
}

/// The server starts the close handshake with a code and a reason: the client
/// sees them, and the close is clean.
fn server_closes_with_code_and_reason(backend: Backend) -> Transcript {
    let peer = peers::echo(None);
    let outcome = run_script(
        backend,
        &Settings::new(peer.ws_url("/")),
        |ws, event, log| match event {
            Event::Open(_) => {
                ws.send_text("before").unwrap();
                ws.send_text("close:4001:server says bye").unwrap();
            }
            Event::Close(_) => note_after_close(ws, log),
            _ => {}
        },
    );
    let t = outcome.transcript;
    assert_eq!(
        t.kinds(),
        ["open", "text", "close", "note", "note"],
        "{backend}:\n{t:?}"
    );
    assert_eq!(t.messages(), [Entry::Text("before".into())]);
    assert_eq!(
        t.close(),
        (4001, "server says bye", true),
        "{backend}:\n{t:?}"
    );
    t
}

/// The server drops the TCP connection without a close frame: an `Error`
/// (the connection was lost), then `Close` 1006 with that error as reason.
fn server_drops_tcp(backend: Backend) -> Transcript {
    let peer = peers::echo(None);
    let outcome = run_script(
        backend,
        &Settings::new(peer.ws_url("/")),
        |ws, event, log| match event {
            Event::Open(_) => ws.send_text("first").unwrap(),
            Event::Message(_) => ws.send_text("drop").unwrap(),
            Event::Close(_) => note_after_close(ws, log),
            _ => {}
        },
    );
    let t = &outcome.transcript;
    assert_eq!(
        t.kinds(),
        ["open", "text", "error", "close", "note", "note"],
        "{backend}:\n{t:?}"
    );
    let Entry::Error { kind, text } = &t.entries()[2] else {
        unreachable!()
    };
    assert_eq!(
        kind, "WebSocket(ConnectionLost(NoCloseFrame))",
        "{backend}: {text}"
    );
    assert!(text.contains("without a close frame"), "{backend}: {text}");
    assert_eq!(t.close(), (1006, text.as_str(), false), "{backend}:\n{t:?}");
    assert_eq!(
        t.notes()[1],
        format!("send_text in the Close callback: refused: the connection failed earlier: {text}"),
        "{backend}: a command after a failure gets the failure"
    );
    outcome.transcript
}

/// The server resets the TCP connection: an `Error` naming the socket's
/// failure (connection reset), then `Close` 1006 with it as reason.
fn server_resets_tcp(backend: Backend) -> Transcript {
    let peer = peers::echo(None);
    let outcome = run_script(
        backend,
        &Settings::new(peer.ws_url("/")),
        |ws, event, log| match event {
            Event::Open(_) => ws.send_text("reset").unwrap(),
            // Unread by the server: its close then sends a reset.
            Event::Message(_) => ws.send_text("are you there?").unwrap(),
            Event::Close(_) => note_after_close(ws, log),
            _ => {}
        },
    );
    let t = &outcome.transcript;
    assert_eq!(
        t.kinds(),
        ["open", "text", "error", "close", "note", "note"],
        "{backend}:\n{t:?}"
    );
    assert_eq!(t.messages(), [Entry::Text("resetting".into())]);
    let Entry::Error { kind, text } = &t.entries()[2] else {
        unreachable!()
    };
    assert_eq!(kind, "Io(ConnectionReset)", "{backend}: {text}");
    assert!(text.starts_with("socket error: "), "{backend}: {text}");
    assert_eq!(t.close(), (1006, text.as_str(), false), "{backend}:\n{t:?}");
    // A command after a failure is refused with the failure: the core's
    // (connection lost), the socket's own error having been the Error event.
    assert!(
        t.notes()[1].starts_with(
            "send_text in the Close callback: refused: the connection failed earlier: connection lost"
        ),
        "{backend}: {}",
        t.notes()[1]
    );
    outcome.transcript
}

/// Checks a refusal for room: typed, saying the buffered amount and the
/// limit, and right about them.
fn assert_output_full(backend: Backend, error: &CommandError, limit: usize) -> usize {
    let CommandError::OutputFull {
        buffered,
        needed,
        limit: said,
    } = *error
    else {
        panic!("{backend}: not refused for room: {error:?}");
    };
    assert_eq!(said, limit, "{backend}");
    assert!(buffered <= limit, "{backend}: {error}");
    assert!(
        buffered + needed > limit,
        "{backend}: refused with room: {error}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!("{buffered} bytes waiting"))
            && text.contains(&format!("max_buffered_output ({limit} bytes)")),
        "{backend}: the refusal does not say the amounts: {text}"
    );
    buffered
}

/// Backpressure: past `max_buffered_output`, sends are refused with a typed
/// error saying the buffered amount and the limit; retried as the output
/// drains, every accepted message arrives, in order, and nothing is lost.
///
/// The peer reads nothing for a while after the opening, so that the
/// sockets' buffers fill whichever way a backend writes (sockette-std writes
/// each message to the socket as it is sent, sockette-mio after the callback
/// returns: the number accepted before the first refusal differs).
fn backpressure(backend: Backend) -> Transcript {
    const LIMIT: usize = 64 << 10;
    const CHUNK: usize = 16 << 10;
    /// Sent after the first refusal, as the output drains.
    const MORE: usize = 64;
    /// More than this accepted in the opening callback: the limit is not applied.
    const AT_MOST: usize = (64 << 20) / CHUNK;
    fn chunk(i: usize) -> Vec<u8> {
        let mut payload = vec![(i % 251) as u8; CHUNK];
        payload[..4].copy_from_slice(&(i as u32).to_be_bytes());
        payload
    }
    /// Sends the next chunks until one is refused (returned) or `total` are sent.
    fn fill(ws: &mut dyn Ws, accepted: &mut usize, total: usize) -> Option<CommandError> {
        while *accepted < total {
            match ws.send_binary(&chunk(*accepted)) {
                Ok(()) => *accepted += 1,
                Err(e) => return Some(e),
            }
        }
        None
    }
    let peer = peers::echo_pausing(None, Duration::from_millis(300));
    let settings = Settings::new(peer.ws_url("/")).max_buffered_output(LIMIT);
    let (mut accepted, mut total, mut echoed, mut later_refusals) = (0, usize::MAX, 0, 0);
    let outcome = run(
        backend,
        &settings,
        |sender, log| {
            // A message that can never fit is refused at once, never parked.
            let refusal = sender.send_binary(vec![0u8; LIMIT]).unwrap_err();
            assert_output_full(backend, &refusal, LIMIT);
            log.note(format!(
                "a Sender's message larger than the limit: {refusal}"
            ));
        },
        |ws, event, log| match event {
            Event::Open(_) => {
                let refusal = fill(ws, &mut accepted, AT_MOST).unwrap_or_else(|| {
                    panic!("{backend}: {AT_MOST} chunks of {CHUNK} bytes accepted, limit {LIMIT}")
                });
                let buffered = assert_output_full(backend, &refusal, LIMIT);
                eprintln!(
                    "{backend}: {accepted} accepted in the Open callback, then: {refusal} \
                     (buffered_amount() {})",
                    ws.buffered_amount()
                );
                assert!(
                    ws.buffered_amount() >= buffered.min(LIMIT - CHUNK),
                    "{backend}"
                );
                log.note(format!("in Open, refused for room at last (limit {LIMIT})"));
                total = accepted + MORE;
            }
            Event::Message(m) => {
                let index = u32::from_be_bytes(m.as_bytes()[..4].try_into().unwrap());
                assert_eq!(index as usize, echoed, "{backend}: out of order");
                echoed += 1;
                if let Some(refusal) = fill(ws, &mut accepted, total) {
                    assert_output_full(backend, &refusal, LIMIT);
                    later_refusals += 1;
                }
                if echoed == total {
                    log.note(format!(
                        "buffered_amount() after the last echo: {}",
                        ws.buffered_amount()
                    ));
                    ws.close(CloseCode::Normal, "drained").unwrap();
                }
            }
            _ => {}
        },
    );
    let t = outcome.transcript;
    assert!(outcome.errors.is_empty(), "{backend}:\n{t:?}");
    assert_eq!(accepted, total, "{backend}");
    let expected: Vec<Entry> = (0..total).map(|i| Entry::Binary(chunk(i))).collect();
    assert!(
        t.messages() == expected,
        "{backend}: lost or changed:\n{t:?}"
    );
    assert_eq!(t.close(), (1000, "", true), "{backend}");
    assert_eq!(
        t.notes()[2],
        "buffered_amount() after the last echo: 0",
        "{backend}"
    );
    eprintln!("{backend}: {total} sent and echoed, {later_refusals} refusals while draining");
    // How many fit before the first refusal is the backend's own; the rest is not.
    let mut view = t.without_messages();
    view.push(Entry::Note(
        "every accepted message echoed, in order".into(),
    ));
    view
}

/// The refusal for room says how much is buffered: the same amount as
/// `buffered_amount()` at that moment, and never more than the limit (the
/// browser's `bufferedAmount` and the typed error tell one story).
fn refusal_agrees_with_buffered_amount(backend: Backend) -> Transcript {
    const LIMIT: usize = 64 << 10;
    const CHUNK: usize = 16 << 10;
    const AT_MOST: usize = (64 << 20) / CHUNK;
    let peer = peers::echo_pausing(None, Duration::from_millis(300));
    let settings = Settings::new(peer.ws_url("/")).max_buffered_output(LIMIT);
    let mut seen = None;
    let outcome = run_script(backend, &settings, |ws, event, log| {
        if let Event::Open(_) = event {
            let chunk = vec![7u8; CHUNK];
            let refusal = (0..AT_MOST)
                .find_map(|_| ws.send_binary(&chunk).err())
                .unwrap_or_else(|| panic!("{backend}: never refused"));
            let amount = ws.buffered_amount();
            let buffered = assert_output_full(backend, &refusal, LIMIT);
            seen = Some((buffered, amount));
            log.note(format!(
                "the refusal's buffered == buffered_amount(): {}",
                buffered == amount
            ));
            log.note(format!("buffered_amount() <= limit: {}", amount <= LIMIT));
            ws.close(CloseCode::Normal, "enough").unwrap();
        }
    });
    let (buffered, amount) = seen.unwrap_or_else(|| panic!("{backend}: no Open"));
    assert_eq!(
        buffered, amount,
        "{backend}: refused saying {buffered} bytes are buffered, buffered_amount() says {amount}"
    );
    assert!(
        amount <= LIMIT,
        "{backend}: buffered_amount() {amount} is past max_buffered_output {LIMIT}"
    );
    let t = outcome.transcript;
    assert!(outcome.errors.is_empty(), "{backend}:\n{t:?}");
    assert_eq!(t.close(), (1000, "", true), "{backend}");
    t.without_messages()
}

/// Senders on several threads, many messages each (queued from before the
/// opening on): every one arrives, in order per thread; after the close every
/// sender, on any thread, is refused.
fn senders_from_threads(backend: Backend) -> Transcript {
    const THREADS: usize = 4;
    const EACH: usize = 250;
    let peer = peers::echo(None);
    let kept = OnceCell::<Sender>::new();
    let producers = RefCell::new(Vec::<JoinHandle<()>>::new());
    let mut received = vec![Vec::new(); THREADS];
    let mut total = 0;
    let outcome = run(
        backend,
        &Settings::new(peer.ws_url("/")),
        |sender, _| {
            for k in 0..THREADS {
                let sender = sender.clone();
                producers.borrow_mut().push(thread::spawn(move || {
                    for i in 0..EACH {
                        sender.send_text(format!("{k}:{i}")).unwrap();
                        if i % 50 == 0 {
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                }));
            }
            kept.set(sender).unwrap();
        },
        |ws, event, log| match event {
            Event::Message(m) => {
                let (k, i) = m.as_text().unwrap().split_once(':').unwrap();
                received[k.parse::<usize>().unwrap()].push(i.parse::<usize>().unwrap());
                total += 1;
                if total == THREADS * EACH {
                    ws.close(CloseCode::Normal, "all echoed").unwrap();
                }
            }
            Event::Close(_) => {
                let sender = kept.get().unwrap();
                log.note(format!(
                    "in the Close callback, a sender: is_closed={}, send_text {}",
                    sender.is_closed(),
                    answer(sender.send_text("late"))
                ));
            }
            _ => {}
        },
    );
    for producer in producers.into_inner() {
        producer.join().expect("a producer thread failed");
    }
    let mut t = outcome.transcript.without_messages();
    assert!(outcome.errors.is_empty(), "{backend}:\n{t:?}");
    for (k, got) in received.iter().enumerate() {
        assert!(
            *got == (0..EACH).collect::<Vec<_>>(),
            "{backend}: thread {k}'s messages: {got:?}"
        );
        t.push(Entry::Note(format!(
            "thread {k}: {} echoed, in order",
            got.len()
        )));
    }
    let sender = kept.into_inner().unwrap();
    let other = thread::spawn(move || sender.send_binary(vec![1, 2, 3]))
        .join()
        .unwrap();
    assert_eq!(other, Err(CommandError::Closed(None)), "{backend}");
    t.push(Entry::Note(format!(
        "after the end, a sender on another thread: {}",
        answer(other)
    )));
    assert_eq!(t.close(), (1000, "", true), "{backend}");
    assert_eq!(
        t.notes()[0],
        "in the Close callback, a sender: is_closed=true, send_text refused: the connection is closed",
        "{backend}"
    );
    t
}

/// A refused TCP connection (a closed port): an opening error naming the TCP
/// step and the address, then `Close` 1006 with it as reason.
fn refused_tcp_connection(backend: Backend) -> Transcript {
    let port = peers::refused_port();
    let url = format!("ws://127.0.0.1:{port}/");
    let settings = Settings::new(&url);
    let outcome = run_script(backend, &settings, |_, _, _| {});
    assert_failed_opening(backend, &outcome, 1006);
    let c = connect_error(backend, outcome.error());
    assert_eq!(c.step, ConnectStep::Tcp, "{backend}: {c}");
    assert_eq!(c.target, format!("127.0.0.1:{port}"));
    assert!(
        matches!(&c.cause, ConnectCause::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{backend}: {c:?}"
    );
    let text = outcome.transcript.error_text();
    assert!(
        text.starts_with("connecting to 127.0.0.1:<port> failed at the TCP connect step: "),
        "{backend}: {text}"
    );
    assert!(text.contains("127.0.0.1:<port>: "), "{backend}: {text}");
    assert!(
        outcome.time_of("error") < Duration::from_secs(2),
        "{backend}"
    );
    if backend == Backend::Std {
        std_connect_says_the_same(&url, None, &outcome.transcript);
    }
    outcome.transcript
}

/// A server that accepts TCP and never answers: an opening timeout, at the
/// HTTP upgrade step, within the configured deadline.
fn opening_timeout(backend: Backend) -> Transcript {
    let peer = peers::silent();
    let url = peer.ws_url("/");
    let settings = Settings::new(&url).connect_timeout(SHORT_OPENING);
    let outcome = run_script(backend, &settings, |_, _, _| {});
    assert_failed_opening(backend, &outcome, 1006);
    let error = outcome.error();
    assert!(error.is_timeout(), "{backend}: {error}");
    let c = connect_error(backend, error);
    assert_eq!(c.step, ConnectStep::Upgrade, "{backend}: {c}");
    assert!(
        matches!(c.cause, ConnectCause::Timeout(d) if d == SHORT_OPENING),
        "{backend}: {c:?}"
    );
    assert_eq!(
        outcome.transcript.error_text(),
        "connecting to 127.0.0.1:<port> failed at the HTTP upgrade step: \
         timed out (the opening must complete within 300ms)"
    );
    let (at_error, at_close) = (outcome.time_of("error"), outcome.time_of("close"));
    eprintln!("{backend}: timeout Error after {at_error:?}, Close after {at_close:?}");
    assert!(
        at_error >= SHORT_OPENING - Duration::from_millis(10),
        "{backend}: timed out early, after {at_error:?}"
    );
    assert!(
        at_error < SHORT_OPENING + Duration::from_millis(700),
        "{backend}: timed out late, after {at_error:?}"
    );
    assert!(
        at_close < at_error + Duration::from_millis(500),
        "{backend}: the Close came {:?} after the Error",
        at_close - at_error
    );
    if backend == Backend::Std {
        std_connect_says_the_same(&url, Some(SHORT_OPENING), &outcome.transcript);
    }
    outcome.transcript
}

/// A wss:// server whose certificate chain the client does not trust: a TLS
/// error naming the cause, then `Close` 1015.
fn tls_untrusted_certificate(backend: Backend) -> Transcript {
    let ours = Pki::new("behaviour suite CA (trusted)");
    let theirs = Pki::new("behaviour suite CA (not trusted)");
    let peer = peers::echo(Some(theirs.server_tls()));
    let settings = Settings::new(peer.wss_url("/")).trust_only(ours.ca_pem());
    let outcome = run_script(backend, &settings, |_, _, _| {});
    assert_tls_failure(
        backend,
        &outcome,
        TlsErrorKind::UnknownIssuer,
        "not trusted",
    );
    outcome.transcript
}

/// A wss:// server whose certificate (from a trusted CA) is for another name:
/// a TLS error naming the cause, then `Close` 1015.
fn tls_wrong_host_name(backend: Backend) -> Transcript {
    let ours = Pki::new("behaviour suite CA (name)");
    let leaf = ours.leaf(&["other.example"], |_| {});
    let peer = peers::echo(Some(pki::server_tls(leaf)));
    let settings = Settings::new(peer.wss_url("/")).trust_only(ours.ca_pem());
    let outcome = run_script(backend, &settings, |_, _, _| {});
    assert_tls_failure(
        backend,
        &outcome,
        TlsErrorKind::HostnameMismatch,
        "not valid for this host name",
    );
    outcome.transcript
}

fn assert_tls_failure(backend: Backend, outcome: &Outcome, kind: TlsErrorKind, says: &str) {
    assert_failed_opening(backend, outcome, 1015);
    let c = connect_error(backend, outcome.error());
    assert_eq!(c.step, ConnectStep::Tls, "{backend}: {c}");
    assert_eq!(
        c.target,
        format!("localhost:{}", c.target.rsplit(':').next().unwrap())
    );
    match &c.cause {
        ConnectCause::WebSocket(sockette_core::Error::Tls(tls)) => {
            assert_eq!(tls.kind(), kind, "{backend}: {c}")
        }
        other => panic!("{backend}: not a TLS error: {other:?}"),
    }
    let text = outcome.transcript.error_text();
    assert!(
        text.starts_with("connecting to localhost:<port> failed at the TLS handshake step: "),
        "{backend}: {text}"
    );
    assert!(text.contains(says), "{backend}: {text}");
}

/// wss:// with a trusted test CA: the same echo as over ws://.
fn wss_echo(backend: Backend) -> Transcript {
    let ours = Pki::new("behaviour suite CA (wss echo)");
    let peer = peers::echo(Some(ours.server_tls()));
    let settings = Settings::new(peer.wss_url("/secure")).trust_only(ours.ca_pem());
    let messages = vec![
        Message::from("über TLS"),
        Message::from(vec![0x5Au8; 256 << 10]),
        Message::from(""),
    ];
    echo_exchange(backend, &settings, messages)
}

/// The messages sent to the Python server; the last asks it to close.
fn python_script() -> Vec<Message> {
    vec![
        Message::from("bonjour"),
        Message::from(vec![0u8, 1, 2, 253, 254, 255]),
        Message::from(r#"{"tick":1,"bid":1.0842}"#.repeat(500)),
        Message::from(vec![7u8; 300_000]),
        Message::from("close:4000:fini"),
    ]
}

/// Against Python `websockets` (a peer nobody here wrote): echoes, then the
/// server's close with its code and reason, clean.
fn python_interop(backend: Backend) -> Transcript {
    python_exchange(backend, None)
}

/// The same with permessage-deflate offered (and agreed by `websockets`).
fn python_interop_deflate(backend: Backend) -> Transcript {
    python_exchange(backend, Some(DeflateConfig::default()))
}

fn python_exchange(backend: Backend, deflate: Option<DeflateConfig>) -> Transcript {
    let server = PythonEchoServer::start();
    let mut settings = Settings::new(format!("ws://127.0.0.1:{}/", server.port()));
    if let Some(deflate) = deflate {
        settings = settings.deflate(deflate);
    }
    let outcome = run_script(backend, &settings, |ws, event, _| {
        if let Event::Open(_) = event {
            for m in python_script() {
                ws.send(&m).unwrap();
            }
        }
    });
    let t = outcome.transcript;
    assert!(outcome.errors.is_empty(), "{backend}:\n{t:?}");
    let Entry::Open { extensions, .. } = &t.entries()[0] else {
        panic!("{backend}: no Open:\n{t:?}")
    };
    match deflate {
        None => assert!(extensions.is_empty(), "{backend}: {extensions:?}"),
        Some(_) => assert!(
            extensions
                .iter()
                .any(|e| e.starts_with("permessage-deflate")),
            "{backend}: {extensions:?}"
        ),
    }
    let expected: Vec<Entry> = python_script()[..4].iter().map(Entry::message).collect();
    assert!(t.messages() == expected, "{backend}:\n{t:?}");
    assert_eq!(t.close(), (4000, "fini", true), "{backend}:\n{t:?}");
    t
}

// ----- the table -----

/// Generates, for each scenario, a module of that name with `on_std`,
/// `on_mio` and `backends_agree`. A scenario may be followed by attributes
/// for each of its three tests (`#[ignore = "why"]` for a known bug), as
/// `name [std: #[...]] [mio: ] [agree: #[...]]`.
macro_rules! scenarios {
    ($(
        $scenario:ident
        $([std: $(#[$std:meta])*] [mio: $(#[$mio:meta])*] [agree: $(#[$agree:meta])*])?
    ),+ $(,)?) => {$(
        mod $scenario {
            use super::harness::{agree, on, Backend};

            #[test]
            $($(#[$std])*)?
            fn on_std() {
                on(Backend::Std, super::$scenario);
            }

            #[test]
            $($(#[$mio])*)?
            fn on_mio() {
                on(Backend::Mio, super::$scenario);
            }

            #[test]
            $($(#[$agree])*)?
            fn backends_agree() {
                agree(super::$scenario);
            }
        }
    )+};
}

scenarios! {
    echo_small,
    echo_1mib,
    server_closes_with_code_and_reason,
    server_drops_tcp,
    server_resets_tcp,
    backpressure,
    refusal_agrees_with_buffered_amount,
    senders_from_threads,
    refused_tcp_connection,
    opening_timeout,
    tls_untrusted_certificate,
    tls_wrong_host_name,
    wss_echo,
    python_interop,
    python_interop_deflate,
    proxy_http_echo,
    proxy_http_credentials,
    proxy_https_echo,
    proxy_socks5_echo,
    proxy_silent,
    tinyproxy_http,
    microsocks_socks5,
    redirects_followed,
    redirect_across_origins,
    redirect_loop_and_limit,
}
