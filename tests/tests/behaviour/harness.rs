//! The two backends behind one face: [`Backend`], the [`Settings`] both are
//! given, the [`Ws`] a callback answers through, and [`run`], which drives one
//! connection with a backend through its public API only and records what
//! happened as a [`Transcript`] the two backends' runs can be compared by.
//! [`on`] and [`agree`] are what the generated tests call.
//!
//! The event, error and sender types are the same in both backends (those of
//! sockette-driver); they are named through sockette-std here.

use std::fmt;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::{
    ClientConfig, CloseCode, CommandError, ConfigError, DeflateConfig, Error as CoreError, Limits,
    Message, Proxy, State, Timeouts,
};
use sockette_std::{ConnectCause, Error, Event, Sender};

/// A whole scenario on one backend may take this long before its test fails.
const WATCHDOG: Duration = Duration::from_secs(15);

/// How long `dispatch` / `turn` wait at most, so the run's own deadline is
/// checked between them.
const SLICE: Duration = Duration::from_millis(50);

/// The backend a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// sockette-std: `Client`, events on the owner thread.
    Std,
    /// sockette-mio: `EventLoop`, events on the loop's thread.
    Mio,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Std => "sockette-std",
            Backend::Mio => "sockette-mio",
        })
    }
}

/// What a connection is opened with; each backend maps it onto its own API
/// (sockette-std's `ClientBuilder`, sockette-mio's `ClientConfig`), and
/// everything not set here is left at the defaults on both.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    url: String,
    max_buffered_output: Option<usize>,
    connect_timeout: Option<Duration>,
    trust_only: Option<String>,
    deflate: Option<DeflateConfig>,
    /// A proxy URL to go through (both backends are told explicitly).
    proxy: Option<String>,
    /// Redirects followed (0: none, the default).
    max_redirects: u32,
    /// Headers added to the handshake request.
    headers: Vec<(String, String)>,
    /// The run fails if the connection is not over by then.
    limit: Duration,
}

impl Settings {
    pub(crate) fn new(url: impl Into<String>) -> Settings {
        Settings {
            url: url.into(),
            max_buffered_output: None,
            connect_timeout: None,
            trust_only: None,
            deflate: None,
            proxy: None,
            max_redirects: 0,
            headers: Vec::new(),
            limit: Duration::from_secs(10),
        }
    }

    /// `Limits::max_buffered_output`.
    pub(crate) fn max_buffered_output(mut self, bytes: usize) -> Settings {
        self.max_buffered_output = Some(bytes);
        self
    }

    /// The deadline of the whole opening (`Timeouts::handshake`).
    pub(crate) fn connect_timeout(mut self, timeout: Duration) -> Settings {
        self.connect_timeout = Some(timeout);
        self
    }

    /// `wss://`: trusts the certificates of this PEM and nothing else.
    pub(crate) fn trust_only(mut self, pem: impl Into<String>) -> Settings {
        self.trust_only = Some(pem.into());
        self
    }

    /// Offers permessage-deflate.
    pub(crate) fn deflate(mut self, deflate: DeflateConfig) -> Settings {
        self.deflate = Some(deflate);
        self
    }

    /// Follows up to `n` redirects.
    pub(crate) fn max_redirects(mut self, n: u32) -> Settings {
        self.max_redirects = n;
        self
    }

    /// Adds a header to the handshake request.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Settings {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Goes through the proxy at `url`.
    pub(crate) fn proxy(mut self, url: impl Into<String>) -> Settings {
        self.proxy = Some(url.into());
        self
    }

    /// The ports of the URL and of the proxy, replaced by `<port>` and
    /// `<proxy port>` in every text of a transcript (two runs use two peers
    /// on two ports).
    fn ports(&self) -> (Option<u16>, Option<u16>) {
        let proxy = self.proxy.as_deref().and_then(|p| Proxy::parse(p).ok());
        (
            ClientConfig::new(&self.url).ok().map(|c| c.url().port()),
            proxy.map(|p| p.port()),
        )
    }

    fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        if let Some(bytes) = self.max_buffered_output {
            limits = limits.max_buffered_output(bytes);
        }
        limits
    }
}

/// What a callback answers through: sockette-std's `Handle` or sockette-mio's.
pub(crate) trait Ws {
    fn send_text(&mut self, text: &str) -> Result<(), CommandError>;
    fn send_binary(&mut self, data: &[u8]) -> Result<(), CommandError>;
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), CommandError>;
    fn buffered_amount(&self) -> usize;
    fn state(&self) -> State;

    /// Sends a message, text or binary.
    fn send(&mut self, message: &Message) -> Result<(), CommandError> {
        match message.as_text() {
            Some(text) => self.send_text(text),
            None => self.send_binary(message.as_bytes()),
        }
    }
}

impl Ws for sockette_std::Handle {
    fn send_text(&mut self, text: &str) -> Result<(), CommandError> {
        sockette_std::Handle::send_text(self, text)
    }
    fn send_binary(&mut self, data: &[u8]) -> Result<(), CommandError> {
        sockette_std::Handle::send_binary(self, data)
    }
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), CommandError> {
        sockette_std::Handle::close(self, code, reason)
    }
    fn buffered_amount(&self) -> usize {
        sockette_std::Handle::buffered_amount(self)
    }
    fn state(&self) -> State {
        sockette_std::Handle::state(self)
    }
}

impl Ws for sockette_mio::Handle<'_> {
    fn send_text(&mut self, text: &str) -> Result<(), CommandError> {
        sockette_mio::Handle::send_text(self, text)
    }
    fn send_binary(&mut self, data: &[u8]) -> Result<(), CommandError> {
        sockette_mio::Handle::send_binary(self, data)
    }
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), CommandError> {
        sockette_mio::Handle::close(self, code, reason)
    }
    fn buffered_amount(&self) -> usize {
        sockette_mio::Handle::buffered_amount(self)
    }
    fn state(&self) -> State {
        sockette_mio::Handle::state(self)
    }
}

/// One line of a transcript: an event (payloads in full, shown abbreviated),
/// or a note a script wrote down (what a command answered, a count).
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The connection could not even be started (`start()` / `connect_with`
    /// returned `Err`).
    StartFailed {
        kind: String,
        text: String,
    },
    Open {
        protocol: Option<String>,
        extensions: Vec<String>,
    },
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// An `Error` event: its variant (and cause), and its `Display` text.
    Error {
        kind: String,
        text: String,
    },
    Close {
        code: u16,
        reason: String,
        was_clean: bool,
    },
    Note(String),
    /// An event this suite does not know yet (the enum is non-exhaustive).
    Other(String),
}

impl Entry {
    /// The name of the entry's kind, for `Transcript::kinds`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Entry::StartFailed { .. } => "start-failed",
            Entry::Open { .. } => "open",
            Entry::Text(_) => "text",
            Entry::Binary(_) => "binary",
            Entry::Ping(_) => "ping",
            Entry::Pong(_) => "pong",
            Entry::Error { .. } => "error",
            Entry::Close { .. } => "close",
            Entry::Note(_) => "note",
            Entry::Other(_) => "other",
        }
    }

    pub(crate) fn is_message(&self) -> bool {
        matches!(self, Entry::Text(_) | Entry::Binary(_))
    }

    fn of(event: &Event) -> Entry {
        match event {
            Event::Open(info) => Entry::Open {
                protocol: info.protocol.clone(),
                extensions: info.extensions.clone(),
            },
            Event::Message(m) => Entry::message(m),
            Event::Ping(b) => Entry::Ping(b.to_vec()),
            Event::Pong(b) => Entry::Pong(b.to_vec()),
            Event::Error(e) => Entry::Error {
                kind: error_kind(e),
                text: e.to_string(),
            },
            Event::Close(info) => Entry::Close {
                code: info.code.as_u16(),
                reason: info.reason.clone(),
                was_clean: info.was_clean,
            },
            other => Entry::Other(format!("{other:?}")),
        }
    }

    /// The entry a message makes.
    pub(crate) fn message(m: &Message) -> Entry {
        match m.as_text() {
            Some(text) => Entry::Text(text.to_string()),
            None => Entry::Binary(m.as_bytes().to_vec()),
        }
    }

    fn normalize(&mut self, (port, proxy_port): (Option<u16>, Option<u16>)) {
        let text = match self {
            Entry::StartFailed { text, .. } | Entry::Error { text, .. } => text,
            Entry::Close { reason, .. } => reason,
            Entry::Note(text) => text,
            _ => return,
        };
        if let Some(port) = proxy_port {
            *text = text.replace(&format!(":{port}"), ":<proxy port>");
        }
        if let Some(port) = port {
            *text = text.replace(&format!(":{port}"), ":<port>");
        }
    }
}

/// Shows a payload as its length, its start and a checksum, not megabytes.
fn abbreviated(bytes: &[u8]) -> String {
    if bytes.len() <= 48 {
        return format!("{bytes:?}");
    }
    let fnv = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!(
        "{} bytes {:?}... fnv1a {fnv:016x}",
        bytes.len(),
        &bytes[..16]
    )
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::StartFailed { kind, text } => write!(f, "StartFailed {kind}: {text:?}"),
            Entry::Open {
                protocol,
                extensions,
            } => write!(f, "Open protocol={protocol:?} extensions={extensions:?}"),
            Entry::Text(t) if t.len() <= 48 => write!(f, "Text {t:?}"),
            Entry::Text(t) => write!(f, "Text {}", abbreviated(t.as_bytes())),
            Entry::Binary(b) => write!(f, "Binary {}", abbreviated(b)),
            Entry::Ping(b) => write!(f, "Ping {}", abbreviated(b)),
            Entry::Pong(b) => write!(f, "Pong {}", abbreviated(b)),
            Entry::Error { kind, text } => write!(f, "Error {kind}: {text:?}"),
            Entry::Close {
                code,
                reason,
                was_clean,
            } => write!(f, "Close {code} {reason:?} was_clean={was_clean}"),
            Entry::Note(text) => write!(f, "Note {text:?}"),
            Entry::Other(text) => write!(f, "Other {text}"),
        }
    }
}

/// What a run saw, in order: the comparable record of a scenario.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Transcript(pub(crate) Vec<Entry>);

impl Transcript {
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.0
    }

    /// The kinds of the entries, in order.
    pub(crate) fn kinds(&self) -> Vec<&'static str> {
        self.0.iter().map(Entry::kind).collect()
    }

    /// The messages, in order.
    pub(crate) fn messages(&self) -> Vec<Entry> {
        self.0.iter().filter(|e| e.is_message()).cloned().collect()
    }

    /// The same without its messages (for a scenario whose message order
    /// across threads is not determined).
    pub(crate) fn without_messages(&self) -> Transcript {
        Transcript(self.0.iter().filter(|e| !e.is_message()).cloned().collect())
    }

    /// The notes, in order.
    pub(crate) fn notes(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Entry::Note(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The `Close` (the last event of every finished run; notes may follow
    /// it): code, reason, was_clean.
    pub(crate) fn close(&self) -> (u16, &str, bool) {
        let close = self.0.iter().rev().find_map(|e| match e {
            Entry::Close {
                code,
                reason,
                was_clean,
            } => Some((*code, reason.as_str(), *was_clean)),
            _ => None,
        });
        close.unwrap_or_else(|| panic!("the transcript has no Close:\n{self:?}"))
    }

    /// The text of the only `Error` entry.
    pub(crate) fn error_text(&self) -> &str {
        let errors: Vec<&str> = self
            .0
            .iter()
            .filter_map(|e| match e {
                Entry::Error { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        match errors[..] {
            [text] => text,
            _ => panic!("expected exactly one Error:\n{self:?}"),
        }
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        self.0.push(entry);
    }
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.0.iter().enumerate() {
            writeln!(f, "  {i:>3}: {entry:?}")?;
        }
        Ok(())
    }
}

/// What a script writes to while it runs: the transcript so far.
pub(crate) struct Log {
    transcript: Transcript,
    times: Vec<Duration>,
    errors: Vec<Error>,
    started: Instant,
}

impl Log {
    fn new() -> Log {
        Log {
            transcript: Transcript::default(),
            times: Vec::new(),
            errors: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Writes a note into the transcript (compared between backends: only
    /// what does not depend on timing).
    pub(crate) fn note(&mut self, text: impl Into<String>) {
        self.push(Entry::Note(text.into()));
    }

    fn push(&mut self, entry: Entry) {
        self.transcript.0.push(entry);
        self.times.push(self.started.elapsed());
    }
}

/// One run of one backend.
pub(crate) struct Outcome {
    pub(crate) backend: Backend,
    pub(crate) transcript: Transcript,
    /// When each entry was written, from the start of the run.
    pub(crate) times: Vec<Duration>,
    /// The `Error` events as delivered (for assertions on their fields), or
    /// the error `start()` / `connect_with` returned.
    pub(crate) errors: Vec<Error>,
}

impl Outcome {
    /// When the first entry of `kind` was written.
    pub(crate) fn time_of(&self, kind: &str) -> Duration {
        let i = self
            .transcript
            .0
            .iter()
            .position(|e| e.kind() == kind)
            .unwrap_or_else(|| panic!("{}: no {kind} entry:\n{:?}", self.backend, self.transcript));
        self.times[i]
    }

    /// The only error.
    pub(crate) fn error(&self) -> &Error {
        match &self.errors[..] {
            [e] => e,
            other => panic!("{}: expected one error, got {other:?}", self.backend),
        }
    }
}

/// The variant of an error and of its cause, without the operating system's
/// words: `Connect(Tcp, Io(ConnectionRefused))`, `WebSocket(ConnectionLost(NoCloseFrame))`.
pub(crate) fn error_kind(error: &Error) -> String {
    fn core(e: &CoreError) -> String {
        match e {
            CoreError::Tls(t) => format!("Tls({:?})", t.kind()),
            CoreError::ConnectionLost(k) => format!("ConnectionLost({k:?})"),
            CoreError::Timeout(k) => format!("Timeout({k:?})"),
            other => {
                let debug = format!("{other:?}");
                debug.split('(').next().unwrap_or_default().to_string()
            }
        }
    }
    match error {
        Error::Connect(c) => {
            let cause = match &c.cause {
                ConnectCause::Io(e) => format!("Io({:?})", e.kind()),
                ConnectCause::Timeout(d) => format!("Timeout({d:?})"),
                ConnectCause::WebSocket(e) => format!("WebSocket({})", core(e)),
                other => format!("{other:?}"),
            };
            format!("Connect({:?}, {cause})", c.step)
        }
        Error::WebSocket(e) => format!("WebSocket({})", core(e)),
        Error::Io(e) => format!("Io({:?})", e.kind()),
        Error::Closed => "Closed".to_string(),
        Error::NotSent { messages } => format!("NotSent({messages})"),
        Error::Config(_) => "Config".to_string(),
        other => format!("{other:?}"),
    }
}

/// Runs a connection with `backend`: `started` gets its [`Sender`] (taken
/// before the first event) and may note things; `on_event` gets every event,
/// after the adapter wrote it down. Returns when the `Close` was delivered,
/// and fails if that takes longer than the settings' limit. Checks on the way
/// what holds on every backend: `Close` exactly once and last, an `Error`
/// always followed by a `Close`, `Open` first unless the opening failed, and
/// after the end the backend refuses to go on.
pub(crate) fn run(
    backend: Backend,
    settings: &Settings,
    started: impl FnOnce(Sender, &mut Log),
    mut on_event: impl FnMut(&mut dyn Ws, &Event, &mut Log),
) -> Outcome {
    let mut log = Log::new();
    let mut record = |ws: &mut dyn Ws, event: Event, log: &mut Log| {
        assert!(
            !log.transcript.0.iter().any(|e| e.kind() == "close"),
            "{backend}: an event after the Close: {event:?}\n{:?}",
            log.transcript
        );
        log.push(Entry::of(&event));
        on_event(ws, &event, log);
        if let Event::Error(e) = event {
            log.errors.push(e);
        }
    };
    match backend {
        Backend::Std => run_std(settings, started, &mut record, &mut log),
        Backend::Mio => run_mio(settings, started, &mut record, &mut log),
    }
    let mut transcript = log.transcript;
    check_order(backend, &transcript);
    let ports = settings.ports();
    for entry in &mut transcript.0 {
        entry.normalize(ports);
    }
    Outcome {
        backend,
        transcript,
        times: log.times,
        errors: log.errors,
    }
}

/// Whether the run should go on: fails the test once the limit has passed.
fn within(backend: Backend, settings: &Settings, log: &Log) {
    assert!(
        log.started.elapsed() < settings.limit,
        "{backend}: the connection was not over after {:?}; so far:\n{:?}",
        settings.limit,
        log.transcript
    );
}

fn run_std(
    settings: &Settings,
    started: impl FnOnce(Sender, &mut Log),
    record: &mut dyn FnMut(&mut dyn Ws, Event, &mut Log),
    log: &mut Log,
) {
    let mut builder = sockette_std::Client::builder(&settings.url).limits(settings.limits());
    if let Some(timeout) = settings.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(pem) = &settings.trust_only {
        builder = builder
            .add_root_certificates_pem(pem.as_bytes())
            .without_default_roots();
    }
    if let Some(deflate) = settings.deflate {
        builder = builder.deflate(deflate);
    }
    if let Some(proxy) = &settings.proxy {
        builder = builder.proxy(proxy);
    }
    builder = builder.max_redirects(settings.max_redirects);
    for (name, value) in &settings.headers {
        builder = builder.header(name, value);
    }
    let mut client = match builder.start() {
        Ok(client) => client,
        Err(e) => {
            log.push(Entry::StartFailed {
                kind: error_kind(&e),
                text: e.to_string(),
            });
            log.errors.push(e);
            return;
        }
    };
    let sender = client.sender();
    started(sender, log);
    loop {
        within(Backend::Std, settings, log);
        match client.dispatch(SLICE, |ws, event| record(ws, event, log)) {
            Ok(_) => {}
            Err(Error::Closed) => break,
            Err(e) => panic!("sockette-std: dispatch failed: {e}"),
        }
    }
    // Over: the close is kept, and every way of driving says so.
    let last = log
        .transcript
        .0
        .iter()
        .rev()
        .find(|e| e.kind() == "close")
        .cloned();
    let kept = client.close_info().map(|info| Entry::Close {
        code: info.code.as_u16(),
        reason: info.reason.clone(),
        was_clean: info.was_clean,
    });
    assert_eq!(
        kept, last,
        "sockette-std: close_info() is not the Close event"
    );
    assert_eq!(client.state(), State::Closed);
    assert!(matches!(
        client.next_event(Some(Duration::ZERO)),
        Err(Error::Closed)
    ));
    assert!(matches!(client.run(|_, _| {}), Err(Error::Closed)));
}

fn run_mio(
    settings: &Settings,
    started: impl FnOnce(Sender, &mut Log),
    record: &mut dyn FnMut(&mut dyn Ws, Event, &mut Log),
    log: &mut Log,
) {
    let mut timeouts = Timeouts::default();
    if let Some(timeout) = settings.connect_timeout {
        timeouts = timeouts.handshake(timeout);
    }
    let config = ClientConfig::new(&settings.url).and_then(|config| {
        let mut config = config.limits(settings.limits()).timeouts(timeouts);
        if let Some(pem) = &settings.trust_only {
            config = config
                .add_root_certificates_pem(pem.as_bytes())?
                .without_default_roots();
        }
        if let Some(deflate) = settings.deflate {
            config = config.deflate(deflate);
        }
        if let Some(proxy) = &settings.proxy {
            let proxy = Proxy::parse(proxy).map_err(ConfigError::Proxy)?;
            config = config.proxy(proxy);
        }
        config = config.max_redirects(settings.max_redirects);
        for (name, value) in &settings.headers {
            config = config.header(name, value);
        }
        Ok(config)
    });
    let mut event_loop = sockette_mio::EventLoop::new().unwrap();
    let token = match config
        .map_err(Error::from)
        .and_then(|config| event_loop.connect_with(config))
    {
        Ok(token) => token,
        Err(e) => {
            log.push(Entry::StartFailed {
                kind: error_kind(&e),
                text: e.to_string(),
            });
            log.errors.push(e);
            return;
        }
    };
    let sender = event_loop
        .sender(token)
        .expect("the new connection's sender");
    started(sender, log);
    while !event_loop.is_empty() {
        within(Backend::Mio, settings, log);
        event_loop
            .turn(Some(SLICE), |ws, event| record(ws, event, log))
            .expect("sockette-mio: turn failed");
    }
    // Over: the connection left the loop, and commands on its token are refused.
    assert!(event_loop.get(token).is_none());
    assert_eq!(
        event_loop.send_text(token, "after the end"),
        Err(CommandError::Closed(None))
    );
}

/// The order every backend keeps.
fn check_order(backend: Backend, transcript: &Transcript) {
    let kinds: Vec<&str> = transcript
        .kinds()
        .into_iter()
        .filter(|k| *k != "note")
        .collect();
    if kinds == ["start-failed"] {
        return;
    }
    assert_eq!(
        kinds.iter().filter(|k| **k == "close").count(),
        1,
        "{backend}: not exactly one Close:\n{transcript:?}"
    );
    assert_eq!(
        kinds.last(),
        Some(&"close"),
        "{backend}: the Close is not last:\n{transcript:?}"
    );
    assert!(
        kinds.iter().filter(|k| **k == "open").count() <= 1,
        "{backend}: more than one Open:\n{transcript:?}"
    );
    if kinds.contains(&"open") {
        assert_eq!(
            kinds[0], "open",
            "{backend}: events before Open:\n{transcript:?}"
        );
    } else {
        // A failed opening: its error, then the Close, nothing else.
        assert_eq!(
            kinds,
            ["error", "close"],
            "{backend}: a failed opening:\n{transcript:?}"
        );
    }
    for (i, kind) in kinds.iter().enumerate() {
        if *kind == "error" {
            assert!(
                matches!(kinds.get(i + 1), Some(&"error" | &"close")),
                "{backend}: an Error not followed by the Close:\n{transcript:?}"
            );
        }
    }
}

/// A scenario: runs on one backend, asserts what that backend must show, and
/// returns what the other backend must show too.
pub(crate) type Scenario = fn(Backend) -> Transcript;

/// Runs `f` on a thread of its own; `Err` with its panic's message if it
/// panicked, a failure if it took longer than [`WATCHDOG`].
fn watched<T: Send + 'static>(
    what: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> mpsc::Receiver<Result<T, String>> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name(what)
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(result.map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic without a message".to_string())
            }));
        })
        .unwrap();
    rx
}

fn wait<T>(backend: Backend, rx: &mpsc::Receiver<Result<T, String>>) -> Result<T, String> {
    match rx.recv_timeout(WATCHDOG) {
        Ok(result) => result,
        Err(_) => panic!("{backend}: the scenario did not finish within {WATCHDOG:?}"),
    }
}

/// The test of a scenario on one backend: its own expectations.
pub(crate) fn on(backend: Backend, scenario: Scenario) {
    let rx = watched(format!("{backend}"), move || scenario(backend));
    match wait(backend, &rx) {
        // Shown with --nocapture: what this backend showed.
        Ok(transcript) => eprintln!("{backend}:\n{transcript:?}"),
        Err(message) => panic!("{backend}: {message}"),
    }
}

/// The test of a scenario on both backends at once: both meet their
/// expectations, and their transcripts are the same.
pub(crate) fn agree(scenario: Scenario) {
    let std_rx = watched("sockette-std".into(), move || scenario(Backend::Std));
    let mio_rx = watched("sockette-mio".into(), move || scenario(Backend::Mio));
    let (std_result, mio_result) = (wait(Backend::Std, &std_rx), wait(Backend::Mio, &mio_rx));
    let (std_transcript, mio_transcript) = match (std_result, mio_result) {
        (Ok(s), Ok(m)) => (s, m),
        (s, m) => panic!(
            "a backend failed its own expectations (see its own test)\n\
             sockette-std: {}\nsockette-mio: {}",
            s.map_or_else(|e| e, |_| "ok".to_string()),
            m.map_or_else(|e| e, |_| "ok".to_string()),
        ),
    };
    if std_transcript != mio_transcript {
        let first = std_transcript
            .0
            .iter()
            .zip(&mio_transcript.0)
            .position(|(a, b)| a != b)
            .unwrap_or(std_transcript.0.len().min(mio_transcript.0.len()));
        panic!(
            "the backends disagree, first at entry {first}\n\
             sockette-std:\n{std_transcript:?}sockette-mio:\n{mio_transcript:?}"
        );
    }
}
