//! The same exchange through sockette-std and sockette-mio, with and without
//! permessage-deflate, against the Python `websockets` echo server
//! (`sockette_testkit::PythonEchoServer`, which sets up its own Python
//! environment under `target/` on first use): both backends must see the same
//! messages, in the same order, and the same clean close.

use std::sync::mpsc;
use std::time::Duration;

use sockette_core::{CloseCode, DeflateConfig, Message};
use sockette_testkit::PythonEchoServer;

/// What a backend saw: the extensions agreed, the messages, the close.
#[derive(Debug, PartialEq)]
struct Outcome {
    extensions: Vec<String>,
    messages: Vec<Message>,
    close: (u16, String, bool),
}

/// The messages sent, in order; the last one asks the server to close.
fn script() -> Vec<Message> {
    vec![
        Message::Text("bonjour".into()),
        Message::Binary(vec![0, 1, 2, 253, 254, 255].into()),
        Message::Text(r#"{"tick":1,"bid":1.0842}"#.repeat(500).into()),
        Message::Binary(vec![7; 300_000].into()),
        Message::Text("close:4000:fini".into()),
    ]
}

fn through_std(url: &str, deflate: Option<DeflateConfig>) -> Outcome {
    use sockette_std::{Client, Event};
    let mut builder = Client::builder(url);
    if let Some(d) = deflate {
        builder = builder.deflate(d);
    }
    let mut client = builder.start().unwrap();
    let mut extensions = Vec::new();
    let mut messages = Vec::new();
    let info = client
        .run(|ws, event| match event {
            Event::Open(info) => {
                extensions = info.extensions;
                for m in script() {
                    ws.send(&m).unwrap();
                }
            }
            Event::Message(m) => messages.push(m),
            Event::Error(e) => panic!("sockette-std: {e}"),
            _ => {}
        })
        .unwrap();
    Outcome {
        extensions,
        messages,
        close: (info.code.as_u16(), info.reason, info.was_clean),
    }
}

fn through_mio(url: &str, deflate: Option<DeflateConfig>) -> Outcome {
    use sockette_mio::{ClientConfig, Event, EventLoop};
    let mut event_loop = EventLoop::new().unwrap();
    let mut config = ClientConfig::new(url)
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000));
    if let Some(d) = deflate {
        config = config.deflate(d);
    }
    event_loop.connect_with(config).unwrap();
    let mut extensions = Vec::new();
    let mut messages = Vec::new();
    let mut close = None;
    event_loop
        .run(|ws, event| match event {
            Event::Open(info) => {
                extensions = info.extensions;
                for m in script() {
                    ws.send(&m).unwrap();
                }
            }
            Event::Message(m) => messages.push(m),
            Event::Close(info) => close = Some((info.code.as_u16(), info.reason, info.was_clean)),
            Event::Error(e) => panic!("sockette-mio: {e}"),
            _ => {}
        })
        .unwrap();
    Outcome {
        extensions,
        messages,
        close: close.expect("a Close event"),
    }
}

fn check(deflate: Option<DeflateConfig>) {
    // Started before the time bound: a first run sets up Python here.
    let server = PythonEchoServer::start();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let url = format!("ws://127.0.0.1:{}/", server.port());
        let _ = tx.send((through_std(&url, deflate), through_mio(&url, deflate)));
    });
    let (std_outcome, mio_outcome) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the exchange did not finish within 60 s");
    let expected: Vec<Message> = script().into_iter().take(4).collect();
    assert_eq!(std_outcome.messages, expected, "sockette-std");
    assert_eq!(std_outcome.close, (4000, "fini".to_string(), true));
    assert_eq!(
        std_outcome.extensions.is_empty(),
        deflate.is_none(),
        "{:?}",
        std_outcome.extensions
    );
    assert_eq!(mio_outcome, std_outcome, "the backends disagree");
    assert_eq!(
        CloseCode::from(std_outcome.close.0),
        CloseCode::Application(4000)
    );
}

#[test]
fn both_backends_see_the_same_exchange_with_python_websockets() {
    check(None);
}

#[test]
fn both_backends_see_the_same_exchange_with_permessage_deflate() {
    check(Some(DeflateConfig::default()));
}
