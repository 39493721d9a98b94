//! The operating system's verifier (feature `platform-verifier`), built by this
//! crate and handed to the core. `.ci/run` runs this with
//! `--features platform-verifier`.
//!
//! On Linux the verifier trusts the system's store, which rustls-native-certs
//! finds through `SSL_CERT_FILE` / `SSL_CERT_DIR` when they are set: pointing them
//! at a CA made here shows that the verifier, and not the Mozilla roots, decides.
//! One test only: the environment is shared by the threads of the test binary.
#![cfg(feature = "platform-verifier")]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sockette_core::{
    ChaChaSource, ClientConfig, ConfigError, Connection, Error as CoreError, Event as CoreEvent,
    ServerConfig, TlsErrorKind,
};
use sockette_std::{platform_verifier, Client, CloseCode, ConnectCause, Error};
use support::{bounded, echo_server_with};

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    /// A server configuration for `name`, its certificate signed by this CA.
    fn server_for(&self, name: &str) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        server_tls(cert.der().clone(), key)
    }
}

fn server_tls(cert: CertificateDer<'static>, key: KeyPair) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
    )
}

fn self_signed_server() -> Arc<rustls::ServerConfig> {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    server_tls(cert.der().clone(), key)
}

/// Runs a client with `config` against a server with `server_tls` in memory until
/// nothing moves; returns the client's events.
fn client_events(config: ClientConfig, server_tls: Arc<rustls::ServerConfig>) -> Vec<CoreEvent> {
    let now = Instant::now();
    let mut c = Connection::client(config.random_source(ChaChaSource::from_seed(1)), now).unwrap();
    let mut s = Connection::server(ServerConfig::new().tls(server_tls), now).unwrap();
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let moved = transfer(&mut c, &mut s, now) | transfer(&mut s, &mut c, now);
        events.extend(std::iter::from_fn(|| c.poll_event()));
        while s.poll_event().is_some() {}
        if !moved {
            return events;
        }
    }
    panic!("the pair never went quiet");
}

fn transfer(from: &mut Connection, to: &mut Connection, now: Instant) -> bool {
    let Some(bytes) = from.poll_transmit() else {
        return false;
    };
    let bytes = bytes.to_vec();
    from.advance_transmit(bytes.len());
    to.handle_input(now, &bytes);
    true
}

fn opened(events: &[CoreEvent]) -> bool {
    matches!(events.first(), Some(CoreEvent::Open(_)))
}

fn tls_error_kind(events: &[CoreEvent]) -> TlsErrorKind {
    assert!(!opened(events), "{events:?}");
    match events.iter().find_map(CoreEvent::error) {
        Some(CoreError::Tls(e)) => e.kind(),
        other => panic!("expected a TLS error, got {other:?} in {events:?}"),
    }
}

/// A core configuration verified by the operating system's verifier, built now.
fn platform_config() -> Result<ClientConfig, Error> {
    Ok(ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + Duration::from_secs(1_780_000_000))
        .server_cert_verifier(platform_verifier()?))
}

/// Points rustls-native-certs at `file` alone (and an empty directory).
fn use_store(file: &Path, empty_dir: &Path) {
    std::env::set_var("SSL_CERT_FILE", file);
    std::env::set_var("SSL_CERT_DIR", empty_dir);
}

fn assert_unavailable(result: Result<impl std::fmt::Debug, Error>) {
    match result {
        Err(Error::WebSocket(CoreError::Config(why @ ConfigError::PlatformVerifier(_)))) => {
            assert!(why.to_string().contains("operating system"), "{why}")
        }
        other => panic!("an empty store must be a configuration error: {other:?}"),
    }
}

#[test]
fn the_platform_verifier_decides_with_the_systems_store_read_when_built() {
    // The machine's own store: it builds (or says why not), and a self-signed
    // certificate is not in it.
    match platform_config() {
        Ok(config) => assert_eq!(
            tls_error_kind(&client_events(config, self_signed_server())),
            TlsErrorKind::UnknownIssuer
        ),
        Err(Error::WebSocket(CoreError::Config(why @ ConfigError::PlatformVerifier(_)))) => {
            assert!(why.to_string().contains("operating system"), "{why}")
        }
        Err(other) => panic!("{other}"),
    }

    let saved: Vec<_> = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .map(|name| (*name, std::env::var_os(name)))
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sockette-std-platform-{}", std::process::id()));
    let empty_dir = dir.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let system_ca = Ca::new("sockette test system CA");
    let system_file = dir.join("system.pem");
    std::fs::write(&system_file, system_ca.issuer.pem()).unwrap();
    let missing = dir.join("missing.pem");

    // In memory, the core alone. A "system" store holding only our CA: a server
    // it signed is trusted although no root was added (the Mozilla roots do not
    // have it)...
    use_store(&system_file, &empty_dir);
    let trusted = client_events(
        platform_config().unwrap(),
        system_ca.server_for("localhost"),
    );
    // ...and the verifier read the store when it was built: a store changed
    // afterwards (here emptied) does not matter to the connection.
    let config = platform_config().unwrap();
    use_store(&missing, &empty_dir);
    let read_once = client_events(config, system_ca.server_for("localhost"));
    // A server signed by another CA is refused.
    use_store(&system_file, &empty_dir);
    let other_ca = Ca::new("sockette test private CA");
    let untrusted = client_events(platform_config().unwrap(), other_ca.server_for("localhost"));
    // Roots added by the caller are trusted beside the system's; when both
    // refuse, the roots' more telling reason is given.
    let with_root = || {
        platform_config()
            .unwrap()
            .add_root_certificates_pem(other_ca.issuer.pem().as_bytes())
            .unwrap()
    };
    let added_root = client_events(with_root(), other_ca.server_for("localhost"));
    let wrong_name = client_events(with_root(), other_ca.server_for("elsewhere.example"));
    // A store with no certificate is an error when building the verifier.
    use_store(&missing, &empty_dir);
    let empty = platform_config();

    // On loopback, through the builder: it builds the verifier when connecting.
    use_store(&system_file, &empty_dir);
    let loopback = bounded(30, move || {
        let server_tls = system_ca.server_for("localhost");
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://localhost:{}/", server.port);
        let echoed = Client::builder(&url)
            .platform_verifier()
            .connect()
            .map(|mut client| {
                client.send_text("verified by the system").unwrap();
                let m = client.recv_timeout(Duration::from_secs(5)).unwrap();
                client.close(CloseCode::Normal, "").unwrap();
                let clean = client.run(|_, _| {}).unwrap().was_clean;
                (m.unwrap().as_bytes().to_vec(), clean)
            });
        // Without it, the Mozilla roots do not know the test CA.
        let mozilla = Client::builder(&url).connect().map(|_| ());
        (echoed, mozilla, url)
    });
    use_store(&missing, &empty_dir);
    let empty_builder = Client::builder(&loopback.2).platform_verifier().start();

    for (name, value) in saved {
        match value {
            Some(value) => std::env::set_var(name, value),
            None => std::env::remove_var(name),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    assert!(opened(&trusted), "{trusted:?}");
    assert!(opened(&read_once), "{read_once:?}");
    assert_eq!(tls_error_kind(&untrusted), TlsErrorKind::UnknownIssuer);
    assert!(opened(&added_root), "{added_root:?}");
    assert_eq!(tls_error_kind(&wrong_name), TlsErrorKind::HostnameMismatch);
    assert_unavailable(empty);

    let (echoed, mozilla, _) = loopback;
    assert_eq!(echoed.unwrap(), (b"verified by the system".to_vec(), true));
    match mozilla.unwrap_err() {
        Error::Connect(c) => match &c.cause {
            ConnectCause::WebSocket(CoreError::Tls(tls)) => {
                assert_eq!(tls.kind(), TlsErrorKind::UnknownIssuer)
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // An empty store fails when configuring, before any connection.
    assert_unavailable(empty_builder);
}
