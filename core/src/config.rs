//! Connection settings: what the client offers in its handshake, limits on what the
//! peer may make us hold in memory, and the deadlines of the timers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config_error::PemItem;
use crate::deflate::DeflateConfig;
use crate::error::Error;
use crate::proxy::Proxy;
use crate::rng::{ChaChaSource, RandomSource};
use crate::tls::{parse_client_cert, parse_pem_certificates, ClientTls};
use crate::url::WsUrl;

/// `with` setters for a settings struct: each returns the value with one field
/// replaced, so `Type::default().field(v)` builds it outside this crate, where
/// `#[non_exhaustive]` refuses struct literals.
macro_rules! field_setters {
    ($ty:ident { $($field:ident: $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("These settings with `", stringify!($field), "` set to `value` (see the field).")]
                #[must_use]
                pub const fn $field(mut self, value: $t) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}
pub(crate) use field_setters;

/// Bounds on memory the peer (or the caller) can make the connection use.
///
/// Start from the defaults and change what you need (new fields may come, so
/// struct literals are refused outside this crate):
///
/// ```
/// use sockette_core::Limits;
///
/// let limits = Limits::default().max_message_size(1 << 20).max_frame_size(1 << 20);
/// assert_eq!(limits.max_message_size, 1 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest frame payload accepted (default 16 MiB); larger fails with 1009.
    pub max_frame_size: usize,
    /// Largest message accepted, all fragments together (default 64 MiB); 1009.
    pub max_message_size: usize,
    /// Largest amount of outgoing bytes queued before sends are refused (default
    /// 64 MiB).
    pub max_buffered_output: usize,
    /// Largest HTTP head accepted in the opening handshake (default 16 KiB).
    pub max_handshake_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl Limits {
    /// The defaults, usable in a `const` (`Limits::default()` elsewhere).
    pub const fn new() -> Self {
        Limits {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_buffered_output: 64 << 20,
            max_handshake_size: 16 << 10,
        }
    }
}

/// Deadlines, measured from the `now` given to the connection. A duration too
/// long for an `Instant` to hold (`Duration::MAX`, say) means no deadline.
///
/// ```
/// use std::time::Duration;
/// use sockette_core::Timeouts;
///
/// let timeouts = Timeouts::default().handshake(Duration::from_secs(3)).keepalive_interval(None);
/// assert_eq!(timeouts.handshake, Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// The whole opening must complete within this, counted from the creation of
    /// the connection (default 10 s, as Python `websockets`' `open_timeout`): the
    /// backends start the TCP connect (and sockette-std the DNS lookup) at that
    /// moment too, and TLS and the HTTP upgrade follow. Bytes arriving do not
    /// extend it, so a server that dribbles its answer is cut off all the same.
    pub handshake: Duration,
    /// After sending a close frame, how long to wait for the peer's (default 5 s).
    pub close: Duration,
    /// Send a ping after this much silence from the peer (default 20 s, as
    /// Python `websockets`' `ping_interval`; `None` turns keepalive off). Without
    /// it a peer that vanished (a NAT timeout, a pulled cable) is never noticed.
    pub keepalive_interval: Option<Duration>,
    /// After a keepalive ping, how long the peer may stay silent (default 20 s, as
    /// `websockets`' `ping_timeout`) before the connection fails with
    /// [`TimeoutKind::Keepalive`](crate::TimeoutKind::Keepalive), a 1011 close
    /// frame sent in case the peer still reads.
    pub keepalive_timeout: Duration,
}

field_setters!(Limits {
    max_frame_size: usize,
    max_message_size: usize,
    max_buffered_output: usize,
    max_handshake_size: usize,
});

field_setters!(Timeouts {
    handshake: Duration,
    close: Duration,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
});

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::new()
    }
}

impl Timeouts {
    /// The defaults, usable in a `const` (`Timeouts::default()` elsewhere).
    pub const fn new() -> Self {
        Timeouts {
            handshake: Duration::from_secs(10),
            close: Duration::from_secs(5),
            keepalive_interval: Some(Duration::from_secs(20)),
            keepalive_timeout: Duration::from_secs(20),
        }
    }
}

/// Makes the random source of each connection built from one configuration: a
/// factory rather than one source, so that a configuration can be cloned and
/// shared between threads, and open many connections (or reconnect).
type RandomSourceFactory = Arc<dyn Fn() -> Box<dyn RandomSource> + Send + Sync>;

/// Settings common to both roles.
#[derive(Default, Clone)]
pub(crate) struct Common {
    pub(crate) limits: Limits,
    pub(crate) timeouts: Timeouts,
    pub(crate) fragment_size: Option<usize>,
    /// `None`: each connection seeds its own ChaCha from the operating system.
    pub(crate) rng: Option<RandomSourceFactory>,
}

impl Common {
    /// A random source for a new connection, fresh from the factory (or the
    /// operating system); the configuration keeps the factory for the next one.
    pub(crate) fn take_rng(&mut self) -> Result<Box<dyn RandomSource>, Error> {
        match &self.rng {
            Some(make) => Ok(make()),
            None => Ok(Box::new(ChaChaSource::from_os()?)),
        }
    }
}

macro_rules! common_setters {
    () => {
        /// Sets the memory limits.
        pub fn limits(mut self, limits: Limits) -> Self {
            self.common.limits = limits;
            self
        }

        /// Sets the deadlines.
        pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
            self.common.timeouts = timeouts;
            self
        }

        /// Sends a ping after `interval` of silence from the peer, and fails the
        /// connection if the peer then stays silent for `timeout` (default: on,
        /// 20 s and 20 s; see [`Timeouts`]).
        pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
            self.common.timeouts.keepalive_interval = Some(interval);
            self.common.timeouts.keepalive_timeout = timeout;
            self
        }

        /// Turns keepalive off: no pings, and a peer that vanishes without a
        /// word is not noticed until the operating system gives up, if ever.
        pub fn no_keepalive(mut self) -> Self {
            self.common.timeouts.keepalive_interval = None;
            self
        }

        /// Splits outgoing messages into frames of at most `size` payload bytes.
        pub fn fragment_size(mut self, size: usize) -> Self {
            self.common.fragment_size = Some(size.max(1));
            self
        }

        /// Replaces the random source (masking keys, handshake key): each
        /// connection made from this configuration (or a clone of it) starts from
        /// its own copy of `rng`, so they all draw the same bytes. Meant for a
        /// fixed seed in tests; see [`random_sources`](Self::random_sources) to
        /// give each connection a different source.
        pub fn random_source(self, rng: impl RandomSource + Clone + Sync + 'static) -> Self {
            self.random_sources(move || Box::new(rng.clone()))
        }

        /// Makes the random source (masking keys, handshake key) of each
        /// connection made from this configuration, or a clone of it, with
        /// `make`, called once per connection.
        pub fn random_sources(
            mut self,
            make: impl Fn() -> Box<dyn RandomSource> + Send + Sync + 'static,
        ) -> Self {
            self.common.rng = Some(Arc::new(make));
            self
        }
    };
}

/// What a client offers and accepts.
///
/// ```
/// use sockette_core::ClientConfig;
/// let config = ClientConfig::new("wss://example.org/chat")?
///     .protocol("chat.v1")
///     .origin("https://example.org")
///     .header("Authorization", "Bearer 123");
/// # Ok::<(), sockette_core::Error>(())
/// ```
///
/// A configuration is `Clone + Send + Sync`: one can open many connections, from
/// any thread, and reconnect.
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) url: WsUrl,
    pub(crate) protocols: Vec<String>,
    pub(crate) origin: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) tls: ClientTls,
    pub(crate) deflate: Option<DeflateConfig>,
    pub(crate) proxy: ProxySetting,
    pub(crate) user_agent: Option<String>,
    pub(crate) max_redirects: u32,
    pub(crate) common: Common,
}

/// The `User-Agent` a client sends unless told otherwise.
pub const DEFAULT_USER_AGENT: &str = concat!("sockette/", env!("CARGO_PKG_VERSION"));

impl ClientConfig {
    /// Settings for connecting to `url` (`ws://` or `wss://`).
    pub fn new(url: &str) -> Result<Self, Error> {
        Ok(Self::from_url(WsUrl::parse(url)?))
    }

    /// Settings for an already parsed URL.
    pub fn from_url(url: WsUrl) -> Self {
        ClientConfig {
            url,
            protocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
            tls: ClientTls::default(),
            deflate: None,
            proxy: ProxySetting::Unset,
            user_agent: Some(DEFAULT_USER_AGENT.to_string()),
            max_redirects: 0,
            common: Common::default(),
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> &WsUrl {
        &self.url
    }

    /// Offers a subprotocol (`Sec-WebSocket-Protocol`), in order of preference.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Sends an `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header to the handshake request. Names and values are checked when
    /// the connection is created, and [`Error::Config`] refuses a header that
    /// would make the request ambiguous: one the handshake writes itself (`Host`,
    /// `Upgrade`, `Connection`, any `Sec-WebSocket-*`), `Origin` (use
    /// [`origin`](Self::origin)), `Content-Length` / `Transfer-Encoding` (the
    /// request has no body), a second `Authorization`, `Proxy-Authorization`,
    /// `Cookie` or `User-Agent`, a name that is not an HTTP token, and a value
    /// with CR, LF, NUL or another control character. Names compare
    /// case-insensitively; other headers may repeat. An `Authorization` given
    /// here wins over the URL's credentials (`wss://user:password@host/`,
    /// otherwise sent as `Authorization: Basic`), and a `User-Agent` over the
    /// default one ([`user_agent`](Self::user_agent)).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Offers permessage-deflate (RFC 7692) with these parameters; whatever the
    /// server accepts is honoured, and an invalid answer fails the handshake. The
    /// answer is read strictly (§7.1): a parameter that is unknown, repeated, or
    /// has a malformed value (a sign, a leading zero, an unbalanced quote) is a
    /// [`HandshakeError::Deflate`](crate::HandshakeError::Deflate) whose
    /// [`DeflateProblem`](crate::DeflateProblem) names it.
    pub fn deflate(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// Trusts the certificates of a PEM bundle (a private CA, a test certificate)
    /// in addition to the Mozilla roots. Ignored when [`tls_config`](Self::tls_config)
    /// is given.
    ///
    /// A server presenting one of these certificates itself (a self-signed one,
    /// even with `CA:TRUE`) is accepted when the certificate names the host and
    /// the handshake happens within its validity period; otherwise the error is
    /// [`TlsErrorKind::HostnameMismatch`](crate::TlsErrorKind::HostnameMismatch),
    /// [`Expired`](crate::TlsErrorKind::Expired) or
    /// [`NotYetValid`](crate::TlsErrorKind::NotYetValid), as for a CA-issued one.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        self.tls
            .extra_roots
            .extend(parse_pem_certificates(pem, PemItem::RootCertificates)?);
        Ok(self)
    }

    /// Trusts one DER-encoded certificate (for instance from the operating
    /// system's store) in addition to the Mozilla roots.
    pub fn add_root_certificate_der(mut self, der: Vec<u8>) -> Self {
        self.tls.extra_roots.push(der.into());
        self
    }

    /// Trusts the certificates of the operating system's store, read by the
    /// caller (the core reads no files; `sockette-std`'s `native_roots()` reads
    /// them with rustls-native-certs), in addition to the Mozilla roots. They are
    /// trusted as certificate authorities only, unlike
    /// [`add_root_certificate_der`](Self::add_root_certificate_der), and the ones
    /// webpki cannot use are skipped, as a store holds many of every vintage.
    pub fn add_native_roots(
        mut self,
        certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Self {
        self.tls.native_roots.extend(certs);
        self
    }

    /// Verifies server certificates with `verifier`, built by the caller, in place
    /// of the Mozilla roots (and [`add_native_roots`](Self::add_native_roots));
    /// roots added with `add_root_certificate*` are still trusted as well (a
    /// certificate either accepts is accepted; one the verifier calls revoked is
    /// refused). The verifier also checks the handshake signatures: build it with
    /// [`crypto_provider`](crate::crypto_provider) to use the core's.
    ///
    /// The verifier is the caller's, so whatever it reads (files, the system) is
    /// read there, not by the core. The backends' `platform-verifier` feature
    /// builds the operating system's (rustls-platform-verifier), which decides
    /// as a browser does: corporate CAs and TLS-inspecting proxies the system
    /// trusts are trusted. Ignored when [`tls_config`](Self::tls_config) is
    /// given, and by
    /// [`dangerous_disable_certificate_verification`](Self::dangerous_disable_certificate_verification).
    pub fn server_cert_verifier(
        mut self,
        verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>,
    ) -> Self {
        self.tls.verifier = Some(verifier);
        self
    }

    /// Presents a client certificate to servers that ask for one (mutual TLS):
    /// `cert_chain_pem` holds the certificate, then any intermediates; `key_pem`
    /// its private key (PKCS#8, PKCS#1 or SEC1). Checked here: PEM without a
    /// certificate or a key, a key type the crypto provider cannot use, or a key
    /// that does not belong to the certificate is an [`Error::Config`]. The
    /// backends read these from files (`client_cert(cert_path, key_path)`).
    /// Ignored when [`tls_config`](Self::tls_config) is given.
    pub fn client_cert_pem(mut self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        self.tls.client_cert = Some(parse_client_cert(cert_chain_pem, key_pem)?);
        Ok(self)
    }

    /// The wall-clock time at the `now` given to
    /// [`Connection::client`](crate::Connection::client), required for `wss://`:
    /// the core reads no clock, so certificates are checked against this time,
    /// advanced by the monotonic `now` of each later input. The backends pass
    /// `SystemTime::now()`; a test can pick any date. Without it, a `wss://`
    /// connection is refused with [`Error::Config`], unless a
    /// [`tls_config`](Self::tls_config) is given (whose own time provider is
    /// used then; with both, this time replaces it).
    pub fn wall_clock(mut self, at_start: std::time::SystemTime) -> Self {
        self.tls.wall_clock = Some(at_start);
        self
    }

    /// Trusts only the certificates added with `add_root_certificate*`, not the
    /// Mozilla roots.
    pub fn without_default_roots(mut self) -> Self {
        self.tls.only_extra_roots = true;
        self
    }

    /// Uses a complete rustls configuration (client certificates, custom verifiers,
    /// pinned keys...). ALPN is set to `http/1.1` on a copy of it.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls.custom = Some(config);
        self
    }

    /// **Dangerous**: accepts any server certificate, so anyone on the path can
    /// read and change the traffic. For local experiments only; never a default.
    pub fn dangerous_disable_certificate_verification(mut self) -> Self {
        self.tls.dangerous_no_verification = true;
        self
    }

    /// Sends `Authorization: Basic` with this user name and password, as
    /// credentials in the URL (`wss://user:password@host/`) do; an
    /// `Authorization` given with [`header`](Self::header) wins.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.url = self.url.with_credentials(user, password);
        self
    }

    /// Follows up to `n` redirects (301, 302, 303, 307, 308 with a
    /// `Location`) during the opening; 0, the default, follows none (as the
    /// browser and Node's `ws`): the 3xx is reported as
    /// [`HandshakeError::Status`](crate::HandshakeError::Status) with its
    /// location. A connection is one URL: the backends (sockette-std,
    /// sockette-mio's non-blocking forms) follow redirects with a new
    /// connection each, within the first one's opening deadline (see
    /// [`WsUrl::redirect`] and [`redirected`](Self::redirected) for the rules).
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// See [`max_redirects`](Self::max_redirects).
    pub fn redirects_allowed(&self) -> u32 {
        self.max_redirects
    }

    /// The deadlines set ([`Timeouts::default`] unless changed).
    pub fn configured_timeouts(&self) -> Timeouts {
        self.common.timeouts
    }

    /// Sends `User-Agent: value` in place of [`DEFAULT_USER_AGENT`]
    /// (`sockette/VERSION`); a `User-Agent` given with
    /// [`header`](Self::header) replaces it too.
    pub fn user_agent(mut self, value: impl Into<String>) -> Self {
        self.user_agent = Some(value.into());
        self
    }

    /// Sends no `User-Agent` header.
    pub fn no_user_agent(mut self) -> Self {
        self.user_agent = None;
        self
    }

    /// Goes through `proxy`: the connection opens a tunnel to the server with
    /// it (HTTP `CONNECT` or SOCKS5) before TLS with the server and the
    /// upgrade, and the caller connects the transport to the proxy's
    /// [`host`](Proxy::host) and [`port`](Proxy::port) instead of the
    /// server's. An `https://` proxy's certificate is checked with the same
    /// roots and verifier as the server's. The whole negotiation counts
    /// against [`Timeouts::handshake`]; a failure is an
    /// [`Error::Proxy`](crate::Error::Proxy) naming the step.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = ProxySetting::Through(proxy);
        self
    }

    /// Connects directly, and tells the backends not to look for a proxy in
    /// the environment. The core itself reads no environment: without
    /// [`proxy`](Self::proxy) it connects directly either way, and the
    /// backends (sockette-std, sockette-mio) read curl's variables
    /// (`https_proxy`, `no_proxy`...) unless this was called.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Direct;
        self
    }

    /// The proxy set with [`proxy`](Self::proxy), if any: where the transport
    /// must connect to.
    pub fn configured_proxy(&self) -> Option<&Proxy> {
        match &self.proxy {
            ProxySetting::Through(proxy) => Some(proxy),
            _ => None,
        }
    }

    /// True unless [`proxy`](Self::proxy) or [`no_proxy`](Self::no_proxy)
    /// was called: a backend may then take the proxy from the environment.
    pub fn proxy_unset(&self) -> bool {
        matches!(self.proxy, ProxySetting::Unset)
    }

    common_setters!();
}

/// Whether a client goes through a proxy.
#[derive(Clone, Debug, Default)]
pub(crate) enum ProxySetting {
    /// Nothing said: direct here, the environment's choice in the backends.
    #[default]
    Unset,
    /// Direct, whatever the environment says.
    Direct,
    /// Through this proxy.
    Through(Proxy),
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("url", &self.url)
            .field("protocols", &self.protocols)
            .field("origin", &self.origin)
            .field("headers", &self.headers)
            .field("tls", &self.tls)
            .field("proxy", &self.proxy)
            .field("limits", &self.common.limits)
            .field("timeouts", &self.common.timeouts)
            .finish_non_exhaustive()
    }
}

/// What the server role accepts (tests, the CLI's demo echo server).
/// `Clone + Send + Sync`, like [`ClientConfig`].
#[derive(Default, Clone)]
pub struct ServerConfig {
    pub(crate) protocols: Vec<String>,
    pub(crate) deflate: Option<DeflateConfig>,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) wall_clock: Option<std::time::SystemTime>,
    pub(crate) common: Common,
}

impl ServerConfig {
    /// Default settings: no subprotocols.
    pub fn new() -> Self {
        Self::default()
    }

    /// Supports a subprotocol; the first one the client offers that the server
    /// supports is selected.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Accepts permessage-deflate offers: `server_*` fields bound our side,
    /// `client_*` fields are requested of the client when it allows. An offer
    /// with an unknown, repeated or malformed parameter is declined (RFC 7692 §5);
    /// a later valid offer in the same request may still be accepted.
    pub fn deflate(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// The wall-clock time at the `now` given to
    /// [`Connection::server`](crate::Connection::server): rustls then reads its
    /// time (a client certificate's validity, ticket ages) from it, advanced by the
    /// monotonic `now` of each input, instead of the TLS configuration's own time
    /// provider. The core reads no clock; the CLI's servers pass `SystemTime::now()`.
    pub fn wall_clock(mut self, at_start: std::time::SystemTime) -> Self {
        self.wall_clock = Some(at_start);
        self
    }

    /// Serves over TLS with this rustls configuration.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    common_setters!();
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("protocols", &self.protocols)
            .field("tls", &self.tls.is_some())
            .field("wall_clock", &self.wall_clock)
            .field("limits", &self.common.limits)
            .finish_non_exhaustive()
    }
}

/// The settings of a connection whose opening handshake was done elsewhere (by
/// hyper, axum, a proxy library...), for [`Connection::upgraded`]: the limits,
/// deadlines, keepalive and fragmenting of the other configurations, and what
/// that handshake agreed (a subprotocol, permessage-deflate). `Clone + Send +
/// Sync`, like [`ClientConfig`].
///
/// ```
/// use sockette_core::{DeflateConfig, UpgradedConfig};
///
/// // The 101 response said `Sec-WebSocket-Extensions: permessage-deflate;
/// // server_no_context_takeover` and `Sec-WebSocket-Protocol: chat.v1`.
/// let config = UpgradedConfig::new()
///     .protocol("chat.v1")
///     .deflate_agreed("permessage-deflate; server_no_context_takeover", DeflateConfig::default())?;
/// # Ok::<(), sockette_core::Error>(())
/// ```
///
/// [`Connection::upgraded`]: crate::Connection::upgraded
#[derive(Default, Clone)]
pub struct UpgradedConfig {
    pub(crate) protocol: Option<String>,
    pub(crate) deflate: Option<(crate::deflate::Negotiated, DeflateConfig)>,
    pub(crate) common: Common,
}

impl UpgradedConfig {
    /// Default settings: no subprotocol, no extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// The subprotocol the handshake selected (`Sec-WebSocket-Protocol` of the
    /// 101 response), reported in [`OpenInfo::protocol`](crate::OpenInfo::protocol).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// permessage-deflate, as the handshake agreed it: `agreed` is the
    /// `Sec-WebSocket-Extensions` value of the 101 response (whichever side
    /// wrote it), which says how the peer compresses. `deflate` gives our side's
    /// compression level and minimum size, and may make our compressor use less
    /// than agreed: a client's `client_max_window_bits` and
    /// `client_no_context_takeover`, a server's `server_max_window_bits` and
    /// `server_no_context_takeover` (the others are ignored: the answer decides).
    ///
    /// Read as strictly as a client reads a server's answer: a value that is not
    /// exactly one permessage-deflate element, or has an unknown, repeated or
    /// malformed parameter, is an [`Error::Handshake`] holding a
    /// [`HandshakeError::Deflate`](crate::HandshakeError::Deflate) naming it; invalid
    /// `deflate` settings are an [`Error::Config`].
    pub fn deflate_agreed(mut self, agreed: &str, deflate: DeflateConfig) -> Result<Self, Error> {
        deflate.validate()?;
        let agreed = crate::deflate::agreed_elsewhere(agreed)?;
        self.deflate = Some((agreed, deflate));
        Ok(self)
    }

    common_setters!();
}

impl fmt::Debug for UpgradedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradedConfig")
            .field("protocol", &self.protocol)
            .field(
                "deflate",
                &self.deflate.map(|(agreed, _)| agreed.to_string()),
            )
            .field("limits", &self.common.limits)
            .field("timeouts", &self.common.timeouts)
            .finish_non_exhaustive()
    }
}
