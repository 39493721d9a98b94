//! One client session: the builder made from the options, then the owner loop —
//! every event printed on this thread, in order, and handed to a [`Script`] that
//! may answer through the [`Handle`] (the seed's callback). The first error, or
//! else the close, decides the exit status.

use std::time::{Duration, Instant};

use sockette_std::{
    Client, ClientBuilder, CloseCode, DeflateConfig, Error, Event, Handle, Message,
};

use crate::args::Args;
use crate::exit::{self, Status};
use crate::output::{Form, Printer};

/// Longest sleep of the owner loop when no script deadline is due.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// The shortest wait for an answer to a keepalive ping (`--ping-interval`).
const MIN_PONG_WAIT: Duration = Duration::from_secs(2);

/// What drives a session besides the server: the user on stdin, a `--send` list,
/// the demo. Called on the owner thread, after each event is printed.
pub(crate) trait Script {
    /// An event arrived (already printed).
    fn on_event(&mut self, ws: &mut Handle, event: &Event, out: &Printer);

    /// When [`Script::on_deadline`] is due, if ever.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// The deadline passed.
    fn on_deadline(&mut self, _ws: &mut Handle, _out: &Printer) {}

    /// Why the script itself failed (a helper thread died), already shown; the
    /// session then exits with code 1 however the connection closed.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// Redirects followed with `-L` when `--max-redirects` does not say (curl
/// follows up to 50; 10 is plenty for a WebSocket).
const DEFAULT_MAX_REDIRECTS: u32 = 10;

/// The builder for `url` with every connection option of `args`.
pub(crate) fn builder(args: &Args, url: &str) -> ClientBuilder {
    let mut builder = Client::builder(url);
    for (name, value) in &args.headers {
        builder = builder.header(name, value);
    }
    for protocol in &args.protocols {
        builder = builder.protocol(protocol);
    }
    if let Some(origin) = &args.origin {
        builder = builder.origin(origin);
    }
    if args.location {
        builder = builder.max_redirects(args.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS));
    }
    if let Some((user, password)) = &args.auth {
        builder = builder.credentials(user, password);
    }
    for ca in &args.ca_files {
        builder = builder.ca_file(ca);
    }
    #[cfg(feature = "platform-verifier")]
    if args.platform_verifier {
        builder = builder.platform_verifier();
    }
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        builder = builder.client_cert(cert, key);
    }
    if args.insecure {
        builder = builder.dangerous_disable_certificate_verification();
    }
    if !args.no_deflate {
        builder = builder.deflate(DeflateConfig::default());
    }
    if let Some(timeout) = args.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(proxy) = &args.proxy {
        builder = builder.proxy(proxy);
    }
    if args.no_proxy {
        builder = builder.no_proxy();
    }
    // Keepalive is the library's default (20 s, then 20 s for an answer).
    if let Some(interval) = args.ping_interval {
        builder = builder.keepalive(interval, interval.max(MIN_PONG_WAIT));
    }
    if args.no_keepalive {
        builder = builder.no_keepalive();
    }
    builder
}

/// Connects with `builder` and drives the connection to its close; returns the
/// exit status.
pub(crate) fn run(
    builder: ClientBuilder,
    url: &str,
    script: &mut dyn Script,
    out: &mut Printer,
) -> Status {
    let mut client = match builder.start() {
        Ok(client) => client,
        Err(e) => {
            let status = Status::of_error(&e);
            out.error(&e.to_string(), exit::hint(&e), status);
            if out.form() == Form::Json {
                out.exit_reason(&e.to_string());
            }
            return status;
        }
    };
    let mut verdict = Verdict::default();
    loop {
        let timeout = script
            .deadline()
            .map_or(IDLE_WAIT, |d| d.saturating_duration_since(Instant::now()));
        let result = client.dispatch(timeout, |ws, event| {
            verdict.show(url, &event, out);
            script.on_event(ws, &event, out);
        });
        if result.is_err() {
            break; // every event, the close included, has been delivered
        }
        if script.deadline().is_some_and(|d| d <= Instant::now()) {
            script.on_deadline(&mut client, out);
        }
    }
    out.stats(&client.stats());
    if verdict.error.is_none() {
        if let Some(why) = script.failure() {
            if out.form() == Form::Json {
                out.exit_reason(&why);
            }
            return Status::Failed;
        }
    }
    verdict.finish(out)
}

/// Starts our close handshake with `code` and prints it.
pub(crate) fn close(ws: &mut Handle, out: &Printer, code: CloseCode, reason: &str) {
    match ws.close(code, reason) {
        Ok(()) => out.closing(code.as_u16(), reason),
        // Already closing or closed: what was asked is under way or done.
        Err(e) if e.is_closed() => {}
        Err(e) => out.warn(&format!("cannot close: {e}")),
    }
}

/// Sends a message and prints it.
pub(crate) fn send(ws: &mut Handle, out: &Printer, message: &Message) {
    match ws.send(message) {
        Ok(()) => out.sent(message),
        Err(e) => out.warn(&format!("not sent: {e}")),
    }
}

/// Sends a ping and prints it.
pub(crate) fn ping(ws: &mut Handle, out: &Printer, payload: &[u8]) {
    match ws.ping(payload) {
        Ok(()) => out.control("ping", true, payload),
        Err(e) => out.warn(&format!("ping not sent: {e}")),
    }
}

/// What the session's events say about its outcome.
#[derive(Default)]
struct Verdict {
    /// The first fatal error: its class and text.
    error: Option<(Status, String)>,
    /// How the connection ended.
    close: Option<sockette_std::CloseInfo>,
}

impl Verdict {
    /// Prints an event and remembers what decides the exit status.
    fn show(&mut self, url: &str, event: &Event, out: &mut Printer) {
        match event {
            Event::Open(info) => out.open(url, info),
            Event::Message(m) => out.received(m),
            Event::Ping(p) => out.control("ping", false, p),
            Event::Pong(p) => out.control("pong", false, p),
            Event::Close(info) => {
                out.closed(info);
                self.close = Some(info.clone());
            }
            Event::Error(e @ Error::NotSent { .. }) => out.warn(&e.to_string()),
            Event::Error(e) => {
                let status = Status::of_error(e);
                out.refusal(e);
                out.error(&e.to_string(), exit::hint(e), status);
                if self.error.is_none() {
                    self.error = Some((status, e.to_string()));
                }
            }
            _ => {}
        }
    }

    /// The exit status; the one-line reason goes to stderr if not shown yet.
    fn finish(self, out: &Printer) -> Status {
        if let Some((status, text)) = self.error {
            if out.form() == Form::Json {
                out.exit_reason(&text);
            }
            return status;
        }
        let Some(info) = self.close else {
            out.exit_reason("the connection ended without a close event");
            return Status::Failed;
        };
        let status = Status::of_close(&info);
        match status {
            Status::Ok => {}
            Status::PeerError => out.exit_reason(&format!(
                "the server closed the connection with code {} {:?}",
                info.code.as_u16(),
                info.reason
            )),
            _ => out.exit_reason(&format!(
                "the connection ended without a close handshake (code {} {:?})",
                info.code.as_u16(),
                info.reason
            )),
        }
        status
    }
}
