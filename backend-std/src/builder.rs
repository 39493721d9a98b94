//! [`ClientBuilder`]: what the client offers in its handshake, its limits and
//! deadlines. Everything about the protocol is forwarded to the core's
//! [`ClientConfig`]; only the connect deadline's use for DNS and TCP is this
//! crate's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sockette_core::{
    rustls, ClientConfig, ConfigError, DeflateConfig, Error as CoreError, Limits, Proxy, Timeouts,
};

use crate::client::Client;
use crate::driver::Driver;
use crate::error::Error;
use sockette_driver::{ClientConfigFiles, SocketOptions, Transport};

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
    socket: SocketOptions,
    proxy: ProxySetting,
    credentials: Option<(String, String)>,
    user_agent: UserAgent,
    max_redirects: u32,
}

/// The `User-Agent` header sent.
#[derive(Debug, Clone, Default)]
enum UserAgent {
    /// `sockette/VERSION`.
    #[default]
    Default,
    /// This value.
    Given(String),
    /// None.
    Omitted,
}

/// Whether to go through a proxy.
#[derive(Debug, Clone, Default)]
enum ProxySetting {
    /// The environment's, as Python and Go read it (the default).
    #[default]
    FromEnvironment,
    /// None, whatever the environment says.
    Direct,
    /// This proxy URL, parsed when the client is built.
    Url(String),
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
    #[cfg(feature = "platform-verifier")]
    platform_verifier: bool,
    client_cert: Option<ClientCert>,
    custom: Option<Arc<rustls::ClientConfig>>,
    dangerous_no_verification: bool,
}

/// Where the client certificate and its key come from.
#[derive(Debug, Clone)]
enum ClientCert {
    Files { cert: PathBuf, key: PathBuf },
    Pem { cert: Vec<u8>, key: Vec<u8> },
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
            socket: SocketOptions::new(),
            proxy: ProxySetting::default(),
            credentials: None,
            user_agent: UserAgent::Default,
            max_redirects: 0,
        }
    }

    /// Sends `Authorization: Basic` with this user name and password, as
    /// credentials in the URL (`wss://user:password@host/`) do.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Follows up to `n` redirects (301, 302, 303, 307, 308) during the
    /// opening, each with a new connection, all within the opening's deadline;
    /// 0 (the default, as the browser) reports the 3xx as the error.
    /// Relative locations are resolved against the current URL, `http://` and
    /// `https://` ones mapped to `ws://` and `wss://`; a `wss://` → `ws://`
    /// downgrade, a loop, or more hops are errors listing the chain; leaving
    /// the origin drops `Authorization`, `Cookie` and `Proxy-Authorization`
    /// and the URL's credentials. [`OpenInfo::url`](sockette_core::OpenInfo)
    /// is the URL finally connected to.
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// Sends `User-Agent: value` in place of the default `sockette/VERSION`.
    pub fn user_agent(mut self, value: impl Into<String>) -> Self {
        self.user_agent = UserAgent::Given(value.into());
        self
    }

    /// Sends no `User-Agent` header.
    pub fn no_user_agent(mut self) -> Self {
        self.user_agent = UserAgent::Omitted;
        self
    }

    /// Goes through the proxy at `url`: `http://`, `https://` (TLS to the
    /// proxy too), `socks5://` (the server's name resolved here) or
    /// `socks5h://` (resolved by the proxy), with `user:password@`
    /// (percent-encoded) for its credentials; no scheme means `http://`.
    /// Loopback servers go through it too. A URL that cannot be used fails
    /// [`connect`](Self::connect) and [`start`](Self::start) with a message
    /// saying why.
    ///
    /// Without this (or [`no_proxy`](Self::no_proxy)) the environment decides
    /// as Python and Go read it (curl alike, but for uppercase `HTTP_PROXY`): `wss_proxy`/`https_proxy` for `wss://`,
    /// `ws_proxy`/`http_proxy` for `ws://`, then `all_proxy` (lowercase
    /// first, then uppercase), except for the hosts in `no_proxy` and for
    /// loopback; see [`sockette_driver::ProxyChoice`].
    ///
    /// ```no_run
    /// use sockette_std::Client;
    ///
    /// let client = Client::builder("wss://example.com/chat")
    ///     .proxy("http://alice:s3cret@proxy.internal:3128")
    ///     .connect()?;
    /// # Ok::<(), sockette_std::Error>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connects directly, whatever the environment's proxy variables say.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Direct;
        self
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

    /// The deadline of the whole opening — DNS, TCP connect (the resolved
    /// addresses tried side by side, RFC 8305), TLS and HTTP upgrade (default 10 s, as Python
    /// `websockets`' `open_timeout`). Each step is bounded by what is left of it;
    /// a failure names the step and is a timeout ([`Error::is_timeout`]).
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
    /// connection (a timeout error, then a close with 1011) if the peer then
    /// stays silent for `timeout`. On by default, with 20 s and 20 s (Python
    /// `websockets`' defaults), so a peer that vanished is noticed.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.timeouts.keepalive_interval = Some(interval);
        self.timeouts.keepalive_timeout = timeout;
        self
    }

    /// Turns keepalive off: no pings, and a peer that vanishes without a word
    /// (a NAT timeout, a pulled cable) is never noticed.
    pub fn no_keepalive(mut self) -> Self {
        self.timeouts.keepalive_interval = None;
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

    /// `wss://`: lets the operating system verify the server's certificate
    /// (feature `platform-verifier`, through rustls-platform-verifier): its store
    /// and policies decide, so corporate CAs and TLS-inspecting proxies the system
    /// trusts are trusted. Replaces the Mozilla roots and
    /// `native_roots()`; roots added here are still trusted.
    /// Built by this crate when connecting (on Linux the system's store is read
    /// then) and handed to the core (`ClientConfig::server_cert_verifier`); an
    /// unavailable verifier or an empty store makes `connect`/`start` fail with
    /// [`Error::Config`].
    #[cfg(feature = "platform-verifier")]
    pub fn platform_verifier(mut self) -> Self {
        self.tls.platform_verifier = true;
        self
    }

    /// `wss://`: presents a client certificate to servers that ask for one
    /// (mutual TLS). `cert_path` is a PEM file with the certificate, then any
    /// intermediates; `key_path` a PEM file with its private key (PKCS#8, PKCS#1
    /// or SEC1). Both are read when connecting: a missing file, PEM without a
    /// certificate or key, or a key that does not belong to the certificate makes
    /// `connect`/`start` fail with [`Error::Config`] naming the file.
    pub fn client_cert(
        mut self,
        cert_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
    ) -> Self {
        self.tls.client_cert = Some(ClientCert::Files {
            cert: cert_path.into(),
            key: key_path.into(),
        });
        self
    }

    /// `wss://`: a client certificate chain and its key from PEM bytes, as
    /// [`client_cert`](Self::client_cert) without the files.
    pub fn client_cert_pem(
        mut self,
        cert_chain_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client_cert = Some(ClientCert::Pem {
            cert: cert_chain_pem.into(),
            key: key_pem.into(),
        });
        self
    }

    /// `wss://`: trusts only the certificates added here, not the Mozilla roots
    /// the core trusts by default.
    pub fn without_default_roots(mut self) -> Self {
        self.tls.only_extra_roots = true;
        self
    }

    /// `wss://`: a complete rustls configuration (custom verifiers, pinned
    /// keys...); the root, verifier and client certificate settings above are
    /// then ignored.
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
        let socket = self.socket;
        let driver = Driver::start(self.into_config()?, socket)?;
        Ok(Client::from_driver(driver))
    }

    /// How the TCP socket is set up before it connects: `TCP_NODELAY` (on by
    /// default), TCP keepalive, a local address to bind (then only the
    /// server's addresses of that family are tried).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use sockette_std::{Client, SocketOptions};
    ///
    /// let options = SocketOptions::new()
    ///     .tcp_keepalive(Duration::from_secs(60))
    ///     .local_addr("192.0.2.10".parse()?);
    /// let client = Client::builder("ws://127.0.0.1:9001/").socket_options(options).connect()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn socket_options(mut self, options: SocketOptions) -> Self {
        self.socket = options;
        self
    }

    /// [`connect`](Self::connect) over a stream you connected: a
    /// `std::net::TcpStream` (through a tunnel of your own, with options of
    /// your own) or a `std::os::unix::net::UnixStream` to a server on a Unix
    /// socket. TLS (for `wss://`) and the HTTP upgrade run over it, the URL
    /// giving the `Host` header, the TLS server name and the path; nothing is
    /// resolved or connected. The stream is made non-blocking.
    ///
    /// ```no_run
    /// use std::os::unix::net::UnixStream;
    /// use sockette_std::Client;
    ///
    /// let stream = UnixStream::connect("/run/app/ws.sock")?;
    /// let client = Client::builder("ws://localhost/chat").connect_over(stream)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect_over(self, stream: impl Into<Transport>) -> Result<Client, Error> {
        let mut client = self.start_over(stream)?;
        client.driver_mut().wait_open()?;
        Ok(client)
    }

    /// [`start`](Self::start) over a stream you connected; see
    /// [`connect_over`](Self::connect_over).
    pub fn start_over(self, stream: impl Into<Transport>) -> Result<Client, Error> {
        let stream = stream.into().into_stream().map_err(Error::Io)?;
        let driver = Driver::over(self.into_config()?, stream)?;
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
        config = config.max_redirects(self.max_redirects);
        if let Some((user, password)) = self.credentials {
            config = config.credentials(user, password);
        }
        config = match self.user_agent {
            UserAgent::Default => config,
            UserAgent::Given(agent) => config.user_agent(agent),
            UserAgent::Omitted => config.no_user_agent(),
        };
        config = match self.proxy {
            ProxySetting::FromEnvironment => config,
            ProxySetting::Direct => config.no_proxy(),
            ProxySetting::Url(url) => {
                let proxy =
                    Proxy::parse(&url).map_err(|e| CoreError::Config(ConfigError::Proxy(e)))?;
                config.proxy(proxy)
            }
        };
        self.tls.apply(config)
    }
}

/// Reads the operating system's certificate store (rustls-native-certs honours
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`); a store with no certificate is an error
/// that says why, rather than a configuration that trusts nothing more.
#[cfg(feature = "native-roots")]
fn load_native_roots() -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Error> {
    use crate::error::ConfigFileError;
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let source = found
            .errors
            .into_iter()
            .next()
            .map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
        return Err(ConfigFileError::NoNativeRoots { source }.into());
    }
    Ok(found.certs)
}

impl TlsSettings {
    fn apply(self, mut config: ClientConfig) -> Result<ClientConfig, Error> {
        for path in &self.ca_files {
            config = config.ca_file(path)?;
        }
        for pem in &self.roots_pem {
            config = config.add_root_certificates_pem(pem)?;
        }
        for der in self.roots_der {
            config = config.add_root_certificate_der(der);
        }
        #[cfg(feature = "native-roots")]
        if self.native_roots {
            config = config.add_native_roots(load_native_roots()?);
        }
        #[cfg(feature = "platform-verifier")]
        if self.platform_verifier {
            config = config.server_cert_verifier(sockette_driver::platform_verifier()?);
        }
        if let Some(client_cert) = &self.client_cert {
            config = client_cert.apply(config)?;
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

impl ClientCert {
    fn apply(&self, config: ClientConfig) -> Result<ClientConfig, Error> {
        match self {
            ClientCert::Files { cert, key } => config.client_cert(cert, key),
            ClientCert::Pem { cert, key } => Ok(config.client_cert_pem(cert, key)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults protect the user: a silent server fails the opening in 10 s.
    #[test]
    fn the_opening_deadline_defaults_to_10_seconds() {
        let builder = ClientBuilder::new("ws://127.0.0.1:1/");
        assert_eq!(builder.timeouts.handshake, Duration::from_secs(10));
    }

    /// ... and a peer that vanishes is noticed: keepalive is on, 20 s + 20 s.
    #[test]
    fn keepalive_is_on_by_default_and_can_be_turned_off() {
        let builder = ClientBuilder::new("ws://127.0.0.1:1/");
        assert_eq!(
            builder.timeouts.keepalive_interval,
            Some(Duration::from_secs(20))
        );
        assert_eq!(builder.timeouts.keepalive_timeout, Duration::from_secs(20));
        let off = builder.no_keepalive();
        assert_eq!(off.timeouts.keepalive_interval, None);
    }
}

/// The operating system's roots, read by this backend (the core only takes them).
/// `.ci/run` runs this with `--features native-roots`.
#[cfg(all(test, feature = "native-roots"))]
mod native_roots {
    use super::*;
    use crate::error::ConfigFileError;

    #[test]
    fn native_roots_load_or_say_why_not_and_an_empty_store_is_an_error() {
        match load_native_roots() {
            Ok(certs) => {
                // The store's certificates must make a usable TLS configuration.
                let config = ClientConfig::new("wss://localhost/")
                    .unwrap()
                    .add_native_roots(certs)
                    .wall_clock(std::time::SystemTime::now());
                let now = std::time::Instant::now();
                let conn = sockette_core::Connection::client(config, now).unwrap();
                assert!(conn.is_tls());
            }
            Err(Error::Config(why @ ConfigFileError::NoNativeRoots { .. })) => {
                assert!(why.to_string().contains("operating system"), "{why}")
            }
            Err(other) => panic!("{other}"),
        }

        // An empty store is an error that says so. (One test: the environment is
        // shared by the threads of the test binary.)
        let empty = std::env::temp_dir().join(format!("sockette-no-certs-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        // rustls-native-certs honours SSL_CERT_DIR / SSL_CERT_FILE.
        std::env::set_var("SSL_CERT_DIR", &empty);
        std::env::set_var("SSL_CERT_FILE", empty.join("none.pem"));
        let result = load_native_roots();
        std::env::remove_var("SSL_CERT_DIR");
        std::env::remove_var("SSL_CERT_FILE");
        let _ = std::fs::remove_dir_all(&empty);
        match result {
            Err(Error::Config(why @ ConfigFileError::NoNativeRoots { .. })) => {
                assert!(why.to_string().contains("operating system"), "{why}")
            }
            Ok(_) => panic!("an empty store must not pass silently"),
            Err(other) => panic!("{other}"),
        }
    }
}
