//! `sockette` with no URL: a self-contained wss:// session. An echo server starts
//! on a free loopback port with a certificate made now; the client trusts that
//! certificate for this run only (its PEM is handed to the builder, nothing is
//! installed) and plays a short script, one step per echo: text, binary, ping,
//! close 1000.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::json;
use sockette_std::{CloseCode, Event, Handle, Message};

use crate::args::Args;
use crate::cert::Certificate;
use crate::echo_server::EchoServer;
use crate::exit::Status;
use crate::output::Printer;
use crate::session::{self, Script};

/// The demo's text message.
const TEXT: &str = "Hello from sockette!";
/// The demo's binary message: bytes that are not text.
const BINARY: [u8; 6] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
/// The demo's ping payload.
const PING: &[u8] = b"are you there?";
/// The whole demo must open within this.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the demo; returns the exit status.
pub(crate) fn run(args: &Args, out: &mut Printer) -> Status {
    let (server, pem) = match start_server() {
        Ok(started) => started,
        Err(why) => {
            out.exit_reason(&why);
            return Status::Failed;
        }
    };
    let url = server.url("/demo");
    out.note(
        "server",
        &format!(
            "echo server on {} with a certificate made just now, trusted for this run only",
            server.url("/")
        ),
        json!({ "url": server.url("/") }),
    );
    out.note(
        "connecting",
        &format!("connecting to {url}"),
        json!({ "url": url }),
    );
    let builder = session::builder(args, &url)
        .add_root_certificates_pem(pem)
        .connect_timeout(args.connect_timeout.unwrap_or(OPEN_TIMEOUT));
    let status = session::run(builder, &url, &mut Demo, out);
    server.shutdown();
    status
}

/// The server and the PEM its clients must trust.
fn start_server() -> Result<(EchoServer, String), String> {
    let cert = Certificate::generate().map_err(|e| format!("demo certificate: {e}"))?;
    let tls = cert.server_config()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = EchoServer::start(addr, Some(tls), None)
        .map_err(|e| format!("cannot start the demo echo server on {addr}: {e}"))?;
    Ok((server, cert.pem))
}

/// The script: each echo triggers the next step.
struct Demo;

impl Script for Demo {
    fn on_event(&mut self, ws: &mut Handle, event: &Event, out: &Printer) {
        match event {
            Event::Open(_) => session::send(ws, out, &Message::Text(TEXT.into())),
            Event::Message(Message::Text(t)) if t == TEXT => {
                session::send(ws, out, &Message::Binary(BINARY.to_vec().into()))
            }
            Event::Message(Message::Binary(b)) if b[..] == BINARY => session::ping(ws, out, PING),
            Event::Pong(p) if p[..] == *PING => {
                session::close(ws, out, CloseCode::Normal, "demo finished")
            }
            Event::Message(_) | Event::Pong(_) => {
                out.warn("the echo server answered something unexpected");
                session::close(ws, out, CloseCode::Policy, "unexpected echo");
            }
            _ => {}
        }
    }
}
