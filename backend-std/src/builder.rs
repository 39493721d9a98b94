//! [`ClientBuilder`]: what the client offers in its handshake, its limits and
//! deadlines. Everything about the protocol is forwarded to the core's
//! [`ClientConfig`]; only the connect deadline's use for DNS and TCP is this
//! crate's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sockette_core::{rustls, ClientConfig, DeflateConfig, Limits, Timeouts};

use crate::client::Client;
use crate::driver::{Driver, Options};
use crate::error::Error;

/// Settings for a [`Client`], from [`Client::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use sockette_std::Client;
///
/// let client = Client::builder("ws://127.0.0.1:9001/chat")
///     .protocol("chat.v1")
///     .origin("http://127.0.0.1")
///     .header("Authorization", "Bearer 123")
///     .connect_timeout(Duration::from_secs(5))
///     .keepalive(Duration::from_secs(20), Duration::from_secs(10))
///     .connect()?;
/// # Ok::<(), sockette_std::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until connect() or start()"]
pub struct ClientBuilder {
    url: String,
    protocols: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
    limits: Limits,
    timeouts: Timeouts,
    fragment_size: Option<usize>,
    deflate: Option<DeflateConfig>,
    tls: TlsSettings,
}

/// TLS settings, forwarded to the core's [`ClientConfig`] (the core runs TLS).
#[derive(Debug, Clone, Default)]
struct TlsSettings {
    ca_files: Vec<PathBuf>,
    roots_pem: Vec<Vec<u8>>,
    roots_der: Vec<Vec<u8>>,
    only_extra_roots: bool,
    #[cfg(feature = "native-roots")]
    native_roots: bool,
    custom: Option<Arc<rustls::ClientConfig>>,
    dangerous_no_verification: bool,
}

impl ClientBuilder {
    pub(crate) fn new(url: &str) -> Self {
        ClientBuilder {
            url: url.to_string(),
            protocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            fragment_size: None,
            deflate: None,
            tls: TlsSettings::default(),
        }
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`), in order of preference;
    /// the chosen one is in [`OpenInfo::protocol`](sockette_core::OpenInfo).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Sends an `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header to the handshake request (checked when connecting, by the
    /// core's rules: see `sockette_core::ClientConfig::header`; `Origin` has
    /// [`origin`](Self::origin)).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Memory limits: largest frame and message accepted, largest outgoing buffer
    /// (sends beyond it are refused, see [`Client`]'s backpressure notes).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The deadline of the whole opening — DNS, TCP connect (shared among the
    /// resolved addresses), TLS and HTTP upgrade (default 30 s). Each step is
    /// bounded by what is left of it; a failure names the step.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.handshake = timeout;
        self
    }

    /// After sending a close frame, how long to wait for the peer's (default 5 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.close = timeout;
        self
    }

    /// Sends a ping after `interval` of silence from the peer, and fails the
    /// connection (error, then close 1006) if the peer then stays silent for
    /// `timeout`.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.timeouts.keepalive_interval = Some(interval);
        self.timeouts.keepalive_timeout = timeout;
        self
    }

    /// Splits outgoing messages into frames of at most `size` payload bytes.
    pub fn fragment_size(mut self, size: usize) -> Self {
        self.fragment_size = Some(size);
        self
    }

    /// Offers permessage-deflate (RFC 7692); whatever the server accepts is
    /// honoured, and messages are inflated within [`Limits::max_message_size`].
    pub fn deflate(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// `wss://`: also trusts the certificates of a PEM file (a private CA, a test
    /// certificate), read when connecting; an unreadable file or one without
    /// certificates makes `connect`/`start` fail with [`Error::Config`] /
    /// [`Error::WebSocket`].
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_files.push(path.into());
        self
    }

    /// `wss://`: also trusts the certificates of a PEM bundle.
    pub fn add_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.roots_pem.push(pem.into());
        self
    }

    /// `wss://`: also trusts one DER-encoded certificate.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.tls.roots_der.push(der.into());
        self
    }

    /// `wss://`: also trusts the operating system's certificate store (feature
    /// `native-roots`), read when connecting.
    #[cfg(feature = "native-roots")]
    pub fn native_roots(mut self) -> Self {
        self.tls.native_roots = true;
        self
    }

    /// `wss://`: trusts only the certificates added here, not the Mozilla roots
    /// the core trusts by default.
    pub fn without_default_roots(mut self) -> Self {
        self.tls.only_extra_roots = true;
        self
    }

    /// `wss://`: a complete rustls configuration (client certificates, custom
    /// verifiers...); the root settings above are then ignored.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls.custom = Some(config);
        self
    }

    /// **Dangerous**: accepts any server certificate, so anyone on the path can
    /// read and change the traffic. For local experiments only.
    pub fn dangerous_disable_certificate_verification(mut self) -> Self {
        self.tls.dangerous_no_verification = true;
        self
    }

    /// Connects, blocking until the connection is open (WLanguage's synchronous
    /// `WebSocketClientConnectSSL`). The `Open` event is the first one
    /// [`Client::run`] then delivers. On failure, the error names the step
    /// ([`Error::Connect`]) and nothing is left running.
    pub fn connect(self) -> Result<Client, Error> {
        let mut client = self.start()?;
        client.driver_mut().wait_open()?;
        Ok(client)
    }

    /// Starts connecting and returns at once (WLanguage's asynchronous form):
    /// every outcome, a failure to connect included, arrives as an event in
    /// [`Client::run`], [`Client::dispatch`] or [`Client::next_event`] on the
    /// owner thread. Returns `Err` only when nothing could be attempted: an
    /// invalid URL or header, or no thread could be started.
    pub fn start(self) -> Result<Client, Error> {
        let options = Options {
            connect_timeout: self.timeouts.handshake,
            max_buffered_output: self.limits.max_buffered_output,
        };
        let driver = Driver::start(self.into_config()?, options)?;
        Ok(Client::from_driver(driver))
    }

    fn into_config(self) -> Result<ClientConfig, Error> {
        let mut config = ClientConfig::new(&self.url)?
            .limits(self.limits)
            .timeouts(self.timeouts);
        for p in self.protocols {
            config = config.protocol(p);
        }
        if let Some(origin) = self.origin {
            config = config.origin(origin);
        }
        for (name, value) in self.headers {
            config = config.header(name, value);
        }
        if let Some(size) = self.fragment_size {
            config = config.fragment_size(size);
        }
        if let Some(deflate) = self.deflate {
            config = config.deflate(deflate);
        }
        self.tls.apply(config)
    }
}

impl TlsSettings {
    fn apply(self, mut config: ClientConfig) -> Result<ClientConfig, Error> {
        for path in &self.ca_files {
            let pem = std::fs::read(path).map_err(|e| {
                Error::Config(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            config = config.add_root_certificates_pem(&pem)?;
        }
        for pem in &self.roots_pem {
            config = config.add_root_certificates_pem(pem)?;
        }
        for der in self.roots_der {
            config = config.add_root_certificate_der(der);
        }
        #[cfg(feature = "native-roots")]
        if self.native_roots {
            config = config.with_native_roots()?;
        }
        if self.only_extra_roots {
            config = config.without_default_roots();
        }
        if let Some(custom) = self.custom {
            config = config.tls_config(custom);
        }
        if self.dangerous_no_verification {
            config = config.dangerous_disable_certificate_verification();
        }
        Ok(config)
    }
}
