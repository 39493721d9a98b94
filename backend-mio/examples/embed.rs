//! A caller's own mio loop with a sockette connection next to another source: a
//! UDP socket receives "telemetry" datagrams (sent by a helper thread), each is
//! forwarded over WebSocket, and the echoes come back in the same `Poll`. The
//! WebSocket's timers come from `poll_timeout`.
//!
//! ```sh
//! cargo run -p sockette-mio --example embed               # against a local echo server it starts
//! cargo run -p sockette-mio --example embed -- ws://host:port/path
//! ```

#[path = "../tests/support/server.rs"]
mod server;

use std::net::UdpSocket as StdUdpSocket;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use sockette_mio::{CloseCode, Connection, Event, Handle};

const WS: Token = Token(0);
const UDP: Token = Token(1);
const DATAGRAMS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A local echo server unless a URL is given.
    let (url, _server) = match std::env::args().nth(1) {
        Some(url) => (url, None),
        None => {
            let server = server::EchoServer::start(None);
            (format!("ws://{}/embed", server.addr), Some(server))
        }
    };

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(64);

    // Source 1: a UDP socket of the application's own.
    let mut udp = UdpSocket::bind("127.0.0.1:0".parse()?)?;
    poll.registry()
        .register(&mut udp, UDP, Interest::READABLE)?;
    let udp_addr = udp.local_addr()?;
    std::thread::spawn(move || {
        let out = StdUdpSocket::bind("127.0.0.1:0").expect("bind");
        for i in 0..DATAGRAMS {
            std::thread::sleep(Duration::from_millis(100));
            let _ = out.send_to(format!("reading #{i}: {}°C", 20 + i).as_bytes(), udp_addr);
        }
    });

    // Source 2: the WebSocket (name resolution happens here and blocks).
    let mut ws = Connection::connect(&url)?;
    ws.register(poll.registry(), WS)?;

    let mut echoes = 0;
    let mut on_event = |h: &mut Handle<'_>, event: Event| match event {
        Event::Open(_) => println!("ws: open"),
        Event::Message(m) => {
            echoes += 1;
            println!("ws: echo {:?}", String::from_utf8_lossy(m.as_bytes()));
            if echoes == DATAGRAMS {
                let _ = h.close(CloseCode::Normal, "all readings echoed");
            }
        }
        Event::Close(c) => println!("ws: closed {} {:?} clean={}", c.code, c.reason, c.was_clean),
        Event::Error(e) => eprintln!("ws: error: {e}"),
        _ => {}
    };

    let mut buf = [0u8; 1500];
    while !ws.is_finished() {
        let timeout = ws
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout)?;
        for event in events.iter() {
            match event.token() {
                WS => ws.handle_event(poll.registry(), event, &mut on_event),
                UDP => loop {
                    // Edge-triggered: read until WouldBlock.
                    match udp.recv_from(&mut buf) {
                        Ok((n, from)) => {
                            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                            println!("udp: {text:?} from {from}");
                            if let Err(e) = ws.send_text(poll.registry(), &text) {
                                eprintln!("ws: not sent: {e}");
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e.into()),
                    }
                },
                _ => {}
            }
        }
        ws.handle_timeout(poll.registry(), Instant::now(), &mut on_event);
    }
    Ok(())
}
