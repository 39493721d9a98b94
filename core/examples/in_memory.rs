//! A client and a server core talking in memory, printing every event: the whole
//! protocol with no socket, no thread and no clock but the one passed in.

use std::time::Instant;

use sockette_core::{ClientConfig, CloseCode, Connection, Event, ServerConfig};

fn pump(from: &mut Connection, to: &mut Connection, now: Instant) {
    while let Some(bytes) = from.poll_transmit() {
        let bytes = bytes.to_vec();
        from.advance_transmit(bytes.len());
        to.handle_input(now, &bytes);
    }
}

fn print_events(who: &str, conn: &mut Connection) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(event) = conn.poll_event() {
        match &event {
            Event::Open(info) => println!("{who}: open (protocol {:?})", info.protocol),
            Event::Message(m) => println!("{who}: message {m:?}"),
            Event::Ping(p) => println!("{who}: ping {p:?}"),
            Event::Pong(p) => println!("{who}: pong {p:?}"),
            Event::Close(c) => println!(
                "{who}: close {} {:?} (clean: {})",
                c.code, c.reason, c.was_clean
            ),
            Event::Error(e) => println!("{who}: error: {e}"),
            other => println!("{who}: {other:?}"),
        }
        events.push(event);
    }
    events
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let now = Instant::now();
    let config = ClientConfig::new("ws://localhost/demo")?.protocol("echo");
    let mut client = Connection::client(config, now)?;
    let mut server = Connection::server(ServerConfig::new().protocol("echo"), now)?;

    client.send_text("hello from sockette")?;
    client.send_binary(&[0xde, 0xad, 0xbe, 0xef])?;
    client.ping(b"are you there?")?;
    for _ in 0..3 {
        pump(&mut client, &mut server, now);
        pump(&mut server, &mut client, now);
        // The server echoes what it receives.
        for event in print_events("server", &mut server) {
            if let Event::Message(m) = event {
                server.send(&m)?;
            }
        }
        print_events("client", &mut client);
    }
    client.close(now, CloseCode::Normal, "done")?;
    while !(client.is_closed() && server.is_closed()) {
        pump(&mut client, &mut server, now);
        pump(&mut server, &mut client, now);
        print_events("server", &mut server);
        print_events("client", &mut client);
    }
    Ok(())
}
