//! The seed's example (WLanguage's `WebSocketClientConnecteSSL_Callback`) in Rust:
//! connect, send a message on open, print what the server sends, print the close
//! code, report errors — every event in one callback on this thread.
//!
//! ```sh
//! cargo run -p sockette-std --example echo                        # against a local demo echo server
//! cargo run -p sockette-std --example echo -- wss://example.org/  # against your server
//! ```

use std::time::Duration;

use sockette_std::{Client, CloseCode, Event, Message};

fn main() {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => demo::start_echo_server(),
    };
    println!("connecting to {url}");

    // The asynchronous form: returns at once; the outcome, failure included,
    // arrives in the callback.
    let mut client = match Client::builder(&url)
        .connect_timeout(Duration::from_secs(10))
        .start()
    {
        Ok(client) => client,
        Err(e) => return eprintln!("cannot start: {e}"),
    };

    let result = client.run(|ws, event| match event {
        Event::Open(_) => {
            println!("open");
            if let Err(e) = ws.send_text("Message sent from the client.") {
                eprintln!("send failed: {e}");
            }
        }
        Event::Message(Message::Text(text)) => {
            println!("message from the server: {text}");
            let _ = ws.close(CloseCode::Normal, "done");
        }
        Event::Message(Message::Binary(bytes)) => {
            println!("binary message from the server: {} bytes", bytes.len());
        }
        Event::Close(info) => println!(
            "socket closed: code {} {:?} (clean: {})",
            info.code.as_u16(),
            info.reason,
            info.was_clean
        ),
        Event::Error(e) => eprintln!("socket error: {e}"),
        _ => {} // pings and pongs
    });
    if let Err(e) = result {
        eprintln!("{e}");
    }
}

/// A demo echo server on loopback, on the core's server role, so the example runs
/// with no other program. Not part of the client: a real server goes here.
mod demo {
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use sockette_std::sockette_core::{Connection, Event, ServerConfig};

    pub(crate) fn start_echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("ws://{}/demo", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut conn = Connection::server(ServerConfig::new(), Instant::now()).unwrap();
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let mut buf = [0u8; 16 << 10];
            while !conn.is_closed() {
                match stream.read(&mut buf) {
                    Ok(0) => conn.handle_eof(Instant::now()),
                    Ok(n) => conn.handle_input(Instant::now(), &buf[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => conn.handle_eof(Instant::now()),
                }
                conn.handle_timeout(Instant::now());
                while let Some(event) = conn.poll_event() {
                    if let Event::Message(m) = event {
                        let _ = conn.send(&m);
                    }
                }
                while let Some(bytes) = conn.poll_transmit() {
                    let n = bytes.len();
                    if stream.write_all(bytes).is_err() {
                        return;
                    }
                    conn.advance_transmit(n);
                }
            }
        });
        url
    }
}
