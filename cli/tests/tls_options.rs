//! `--cert FILE --key FILE` against a server that requires a client certificate,
//! and `--platform-verifier`, whose store (rustls-native-certs honours
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` on Linux) is pointed at a CA made here.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use sockette_core::rustls;
use sockette_core::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sockette_core::{Event, ServerConfig};
use support::{sockette, wss_peer};

/// A CA, a server certificate for localhost and a client certificate it signed;
/// the CA and the client's files are written under the target directory.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("sockette CLI test CA ({tag})"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sockette-cli-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        let key = KeyPair::generate().unwrap();
        let client = CertificateParams::new(vec!["client.example".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
        std::fs::write(dir.join("client.key"), key.serialize_pem()).unwrap();
        Pki { ca, dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// The server side for localhost; with `client_auth`, it requires a client
    /// certificate this CA signed.
    fn server_tls(&self, client_auth: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &self.ca)
            .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.der().clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(
            builder
                .with_single_cert(vec![cert.der().clone()], key)
                .unwrap(),
        )
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An echo peer over TLS for `connections` connections in turn.
fn echo_peer(
    tls: Arc<rustls::ServerConfig>,
    connections: usize,
) -> (String, std::thread::JoinHandle<Vec<Vec<Event>>>) {
    wss_peer(
        move || ServerConfig::new().tls(tls.clone()),
        connections,
        |conn, event, _| {
            if let Event::Message(m) = event {
                conn.send(m).unwrap();
            }
        },
    )
}

#[test]
fn cert_and_key_files_authenticate_the_client_and_without_them_tls_fails() {
    let pki = Pki::new("client-cert");
    let (url, peer) = echo_peer(pki.server_tls(true), 2);
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key"),
    );

    let run = sockette(
        &[
            &url, "--ca", &ca, "--cert", &cert, "--key", &key, "--send", "hello",
        ],
        30,
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.contains("< hello"), "{run:?}");

    let run = sockette(&[&url, "--ca", &ca, "--send", "hello"], 30);
    assert_eq!(run.code(), 5, "{run:?}");
    assert!(
        run.stderr.contains("client certificate required"),
        "{run:?}"
    );

    let seen = peer.join().unwrap();
    assert!(matches!(seen[0].first(), Some(Event::Open(_))), "{seen:?}");
    assert!(
        !seen[1].iter().any(|e| matches!(e, Event::Open(_))),
        "{seen:?}"
    );
}

#[test]
fn cert_and_key_go_together_and_unusable_files_exit_2_with_a_sentence() {
    let pki = Pki::new("client-cert-args");
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let missing = pki.path("missing.pem");
    let url = "wss://127.0.0.1:1/";
    for args in [
        &[url, "--cert", &cert][..],
        &[url, "--key", &key],
        &["--serve", "0", "--cert", &cert, "--key", &key],
    ] {
        let run = sockette(args, 30);
        assert_eq!(run.code(), 2, "{args:?}: {run:?}");
        assert!(!run.stderr.is_empty(), "{args:?}: {run:?}");
    }
    for (args, words) in [
        (
            [url, "--cert", &missing, "--key", &key],
            &["cannot read client certificate file", "missing.pem"][..],
        ),
        (
            [url, "--cert", &cert, "--key", &missing],
            &["cannot read client key file", "missing.pem"],
        ),
        (
            [url, "--cert", &key, "--key", &key],
            &["no certificate", "client.key"],
        ),
        (
            [url, "--cert", &cert, "--key", &cert],
            &["no private key", "client.pem"],
        ),
    ] {
        let run = sockette(&args, 30);
        assert_eq!(run.code(), 2, "{args:?}: {run:?}");
        let lines = run.stderr_lines();
        assert_eq!(lines.len(), 1, "{args:?}: {run:?}");
        for word in words {
            assert!(
                lines[0].contains(word),
                "{word:?} missing in {:?}",
                lines[0]
            );
        }
    }
}

#[cfg(feature = "platform-verifier")]
#[test]
fn platform_verifier_trusts_what_the_system_store_holds() {
    let pki = Pki::new("platform-verifier");
    let (url, _peer) = echo_peer(pki.server_tls(false), 2);
    let ca = pki.dir.join("ca.pem");
    let empty = pki.dir.join("empty");
    let store: [(&str, &std::ffi::OsStr); 2] = [
        ("SSL_CERT_FILE", ca.as_os_str()),
        ("SSL_CERT_DIR", empty.as_os_str()),
    ];
    // The system "trusts" the CA: no --ca needed with the platform verifier...
    let run = support::sockette_with_env(
        &[&url, "--platform-verifier", "--send", "hello"],
        None,
        &store,
        30,
    );
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stdout.contains("< hello"), "{run:?}");
    // ...while the Mozilla roots, the default, do not have it.
    let run = support::sockette_with_env(&[&url, "--send", "hello"], None, &store, 30);
    assert_eq!(run.code(), 5, "{run:?}");
    assert!(run.stderr.contains("not trusted"), "{run:?}");
}

#[cfg(feature = "platform-verifier")]
#[test]
fn platform_verifier_with_an_empty_store_exits_2_with_a_sentence() {
    let pki = Pki::new("platform-verifier-empty");
    let missing = pki.dir.join("missing.pem");
    let empty = pki.dir.join("empty");
    let store: [(&str, &std::ffi::OsStr); 2] = [
        ("SSL_CERT_FILE", missing.as_os_str()),
        ("SSL_CERT_DIR", empty.as_os_str()),
    ];
    let run = support::sockette_with_env(
        &["wss://127.0.0.1:1/", "--platform-verifier"],
        None,
        &store,
        30,
    );
    assert_eq!(run.code(), 2, "{run:?}");
    assert!(run.stderr.contains("operating system"), "{run:?}");
}
