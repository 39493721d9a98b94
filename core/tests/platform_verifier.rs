//! The operating system's verifier (feature `platform-verifier`), made at
//! configuration time. `.ci/run` runs this with `--features platform-verifier`.
//!
//! On Linux the verifier trusts the system's store, which rustls-native-certs
//! finds through `SSL_CERT_FILE` / `SSL_CERT_DIR` when they are set: pointing them
//! at a CA made here shows that the verifier, and not the Mozilla roots, decides.
//! One test only: the environment is shared by the threads of the test binary.
#![cfg(feature = "platform-verifier")]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sockette_core::rustls;
use sockette_core::{
    ChaChaSource, ClientConfig, Connection, Error, Event, ServerConfig, TlsErrorKind,
};
use sockette_testkit::drive_at;
use sockette_testkit::pki::{self_signed_server_tls, server_tls, Pki};

/// Runs a client with `config` against a server with `server_tls` in memory until
/// nothing moves; returns the client's events.
fn client_events(config: ClientConfig, server_tls: Arc<rustls::ServerConfig>) -> Vec<Event> {
    let now = Instant::now();
    let mut c = Connection::client(config.random_source(ChaChaSource::from_seed(1)), now).unwrap();
    let mut s = Connection::server(ServerConfig::new().tls(server_tls), now).unwrap();
    drive_at(&mut c, &mut s, usize::MAX, now).0
}

fn opened(events: &[Event]) -> bool {
    matches!(events.first(), Some(Event::Open(_)))
}

fn tls_error_kind(events: &[Event]) -> TlsErrorKind {
    assert!(!opened(events), "{events:?}");
    match events.iter().find(|e| matches!(e, Event::Error(_))) {
        Some(Event::Error(Error::Tls(e))) => e.kind(),
        other => panic!("expected a TLS error, got {other:?} in {events:?}"),
    }
}

fn platform_config() -> Result<ClientConfig, Error> {
    ClientConfig::new("wss://localhost/")
        .unwrap()
        .wall_clock(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000))
        .with_platform_verifier()
}

/// Points rustls-native-certs at `file` alone (and an empty directory).
fn use_store(file: &Path, empty_dir: &Path) {
    std::env::set_var("SSL_CERT_FILE", file);
    std::env::set_var("SSL_CERT_DIR", empty_dir);
}

#[test]
fn the_platform_verifier_decides_with_the_systems_store_read_at_configuration() {
    // The machine's own store: it builds (or says why not), and a self-signed
    // certificate is not in it.
    match platform_config() {
        Ok(config) => assert_eq!(
            tls_error_kind(&client_events(
                config,
                self_signed_server_tls(&["localhost"])
            )),
            TlsErrorKind::UnknownIssuer
        ),
        Err(Error::Config(why)) => assert!(why.contains("operating system"), "{why}"),
        Err(other) => panic!("{other}"),
    }

    let saved: Vec<_> = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .map(|name| (*name, std::env::var_os(name)))
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sockette-platform-verifier-{}", std::process::id()));
    let empty_dir = dir.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let system_ca = Pki::new("sockette test system CA");
    let system_file = dir.join("system.pem");
    std::fs::write(&system_file, system_ca.ca_pem()).unwrap();

    // A "system" store holding only our CA: a server it signed is trusted
    // although no root was added (the Mozilla roots do not have it)...
    use_store(&system_file, &empty_dir);
    let config = platform_config().unwrap();
    let trusted = client_events(config, system_ca.server_tls());
    // ...and the verifier was made when configured: a store changed afterwards
    // (here emptied) does not matter to the connection.
    let config = platform_config().unwrap();
    use_store(&dir.join("missing.pem"), &empty_dir);
    let read_once = client_events(config, system_ca.server_tls());
    // A server signed by another CA is refused.
    use_store(&system_file, &empty_dir);
    let other_ca = Pki::new("sockette test private CA");
    let untrusted = client_events(platform_config().unwrap(), other_ca.server_tls());
    // Roots added by the caller are trusted beside the system's; when both
    // refuse, the roots' more telling reason is given.
    let with_root = || {
        platform_config()
            .unwrap()
            .add_root_certificates_pem(other_ca.ca_pem().as_bytes())
            .unwrap()
    };
    let added_root = client_events(with_root(), other_ca.server_tls());
    let wrong_name = client_events(
        with_root(),
        server_tls(other_ca.leaf(&["elsewhere.example"], |_| {})),
    );
    // A store with no certificate is an error when configuring.
    use_store(&dir.join("missing.pem"), &empty_dir);
    let empty = platform_config();

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
    match empty {
        Err(Error::Config(why)) => assert!(why.contains("operating system"), "{why}"),
        Ok(_) => panic!("an empty store must not pass silently"),
        Err(other) => panic!("{other}"),
    }
}
