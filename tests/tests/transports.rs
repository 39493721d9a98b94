//! Bringing your own transport, in both backends: a client connection over a
//! Unix domain socket and over a TCP stream the caller connected, and the
//! socket options applied before a connect (a local address to bind, TCP
//! keepalive). The server is the core's server role (testkit's `serve`), on a
//! thread, answering each message with its echo.

#![cfg(unix)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::{ClientConfig, CloseCode, Event as ServerEvent, Message, ServerConfig};
use sockette_testkit::serve::{serve, BlockingStream};

/// Serves one connection: echoes every message, reports where it came from.
fn echo_one<S: BlockingStream + Send + 'static>(stream: S) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut echoed = 0;
        serve(
            stream,
            ServerConfig::new(),
            Duration::from_secs(10),
            |conn, event, _| {
                if let ServerEvent::Message(m) = event {
                    conn.send(m).unwrap();
                    echoed += 1;
                }
                true
            },
        );
        echoed
    })
}

/// A Unix socket path of this test's own (removed when dropped).
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(name: &str) -> SocketPath {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        SocketPath(path)
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Echoes one message through a std `Client` and closes; the messages seen.
fn std_exchange(client: &mut sockette_std::Client) -> Vec<Message> {
    use sockette_std::Event;
    let mut got = Vec::new();
    client.send_text("over my own transport").unwrap();
    let info = client
        .run(|ws, event| match event {
            Event::Message(m) => {
                got.push(m);
                ws.close(CloseCode::Normal, "done").unwrap();
            }
            Event::Error(e) => panic!("{e}"),
            _ => {}
        })
        .unwrap();
    assert!(info.was_clean, "{info:?}");
    got
}

/// Drives a mio `Connection` in a `Poll` of its own until finished: opens,
/// echoes one message, closes; the messages seen.
fn mio_exchange(mut ws: sockette_mio::Connection) -> Vec<Message> {
    use sockette_mio::mio::{Events, Poll, Token};
    use sockette_mio::{Event, Handle};
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    ws.register(poll.registry(), Token(0)).unwrap();
    let mut got = Vec::new();
    let mut clean = None;
    let mut on_event = |h: &mut Handle<'_>, event: Event| match event {
        Event::Open(_) => h.send_text("over my own transport").unwrap(),
        Event::Message(m) => {
            got.push(m);
            h.close(CloseCode::Normal, "done").unwrap();
        }
        Event::Close(info) => clean = Some(info.was_clean),
        Event::Error(e) => panic!("{e}"),
        _ => {}
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ws.is_finished() {
        assert!(Instant::now() < deadline, "not finished within 10 s");
        let timeout = ws
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout.or(Some(Duration::from_millis(100))))
            .unwrap();
        for event in events.iter() {
            ws.handle_event(poll.registry(), event, &mut on_event);
        }
        ws.handle_timeout(poll.registry(), Instant::now(), &mut on_event);
    }
    assert_eq!(clean, Some(true), "a clean close");
    got
}

fn expect_one_echo(got: &[Message]) {
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].as_bytes(), b"over my own transport");
}

#[test]
fn std_over_a_unix_socket() {
    let path = SocketPath::new("std");
    let listener = UnixListener::bind(&path.0).unwrap();
    let server = thread::spawn(move || echo_one(listener.accept().unwrap().0).join().unwrap());
    let stream = UnixStream::connect(&path.0).unwrap();
    let mut client = sockette_std::Client::builder("ws://localhost/unix")
        .connect_over(stream)
        .unwrap();
    assert_eq!(client.peer_addr(), None, "a Unix socket has no IP peer");
    expect_one_echo(&std_exchange(&mut client));
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn std_over_a_tcp_stream_of_the_callers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || echo_one(listener.accept().unwrap().0).join().unwrap());
    let stream = TcpStream::connect(addr).unwrap();
    let mut client = sockette_std::Client::builder(&format!("ws://{addr}/tcp"))
        .connect_over(stream)
        .unwrap();
    assert_eq!(client.peer_addr(), Some(addr));
    expect_one_echo(&std_exchange(&mut client));
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn mio_over_a_unix_socket() {
    let path = SocketPath::new("mio");
    let listener = UnixListener::bind(&path.0).unwrap();
    let server = thread::spawn(move || echo_one(listener.accept().unwrap().0).join().unwrap());
    let stream = sockette_mio::mio::net::UnixStream::connect(&path.0).unwrap();
    let config = ClientConfig::new("ws://localhost/unix").unwrap();
    let ws = sockette_mio::Connection::over(config, stream).unwrap();
    expect_one_echo(&mio_exchange(ws));
    assert_eq!(server.join().unwrap(), 1);
}

/// An echo server for one connection, reporting the address the client
/// connected from.
fn local_bind_server() -> (
    SocketAddr,
    mpsc::Receiver<SocketAddr>,
    thread::JoinHandle<usize>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let server = thread::spawn(move || {
        let (stream, from) = listener.accept().unwrap();
        tx.send(from).unwrap();
        echo_one(stream).join().unwrap()
    });
    (addr, rx, server)
}

/// Linux routes all of 127.0.0.0/8 to loopback: a client bound to 127.0.0.2
/// reaches a server on 127.0.0.1, which sees 127.0.0.2.
const LOCAL: &str = "127.0.0.2";

#[test]
fn std_binds_the_local_address_it_is_given() {
    let (addr, from, server) = local_bind_server();
    let options = sockette_std::SocketOptions::new()
        .local_addr(LOCAL.parse().unwrap())
        .tcp_keepalive(Duration::from_secs(30));
    let mut client = sockette_std::Client::builder(&format!("ws://{addr}/bound"))
        .socket_options(options)
        .connect()
        .unwrap();
    assert_eq!(from.recv().unwrap().ip().to_string(), LOCAL);
    expect_one_echo(&std_exchange(&mut client));
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn mio_binds_the_local_address_it_is_given() {
    let (addr, from, server) = local_bind_server();
    let options = sockette_mio::SocketOptions::new().local_addr(LOCAL.parse().unwrap());
    let mut event_loop = sockette_mio::EventLoop::new().unwrap();
    let config = ClientConfig::new(&format!("ws://{addr}/bound")).unwrap();
    event_loop.connect_with_options(config, options).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !event_loop.is_empty() {
        assert!(Instant::now() < deadline, "not finished within 10 s");
        event_loop
            .turn(Some(Duration::from_millis(100)), |h, event| match event {
                sockette_mio::Event::Open(_) => h.send_text("over my own transport").unwrap(),
                sockette_mio::Event::Message(m) => {
                    got.push(m);
                    h.close(CloseCode::Normal, "").unwrap();
                }
                sockette_mio::Event::Error(e) => panic!("{e}"),
                _ => {}
            })
            .unwrap();
    }
    assert_eq!(from.recv().unwrap().ip().to_string(), LOCAL);
    expect_one_echo(&got);
    assert_eq!(server.join().unwrap(), 1);
}

/// A local address of the other family than every server address: nothing
/// is tried, and the error says why for each address.
#[test]
fn a_local_address_of_the_other_family_is_named_in_the_error() {
    let (addr, _from, _server) = local_bind_server();
    let options = sockette_std::SocketOptions::new().local_addr("::1".parse().unwrap());
    let error = sockette_std::Client::builder(&format!("ws://{addr}/"))
        .socket_options(options)
        .connect()
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("TCP connect"), "{text}");
    assert!(
        text.contains(&format!("{addr}: not tried: the local address ::1")),
        "{text}"
    );
}
