//! `--cert FILE --key FILE` against a server that requires a client certificate,
//! and `--platform-verifier`, whose store (rustls-native-certs honours
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` on Linux) is pointed at a CA made here.

mod support;

use std::path::Path;
use std::sync::Arc;

use sockette_core::rustls;
use sockette_core::{Event, ServerConfig};
use sockette_testkit::pki::{Pki, PkiFiles};
use support::{sockette, wss_peer};

/// A test PKI, its files (`ca.pem`, `client.pem`, `client.key`, `empty/`)
/// written under the target directory, removed with the returned files.
fn pki_with_files(tag: &str) -> (Pki, PkiFiles) {
    let pki = Pki::new(&format!("sockette CLI test CA ({tag})"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sockette-cli-{tag}-{}", std::process::id()));
    let files = pki.write_files(dir);
    (pki, files)
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
    let (pki, files) = pki_with_files("client-cert");
    let (url, peer) = echo_peer(pki.client_auth_server_tls(), 2);
    let (ca, cert, key) = (
        files.path("ca.pem"),
        files.path("client.pem"),
        files.path("client.key"),
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
    let (_pki, files) = pki_with_files("client-cert-args");
    let (cert, key) = (files.path("client.pem"), files.path("client.key"));
    let missing = files.path("missing.pem");
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
    let (pki, files) = pki_with_files("platform-verifier");
    let (url, _peer) = echo_peer(pki.server_tls(), 2);
    let ca = files.join("ca.pem");
    let empty = files.join("empty");
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
    let (_pki, files) = pki_with_files("platform-verifier-empty");
    let missing = files.join("missing.pem");
    let empty = files.join("empty");
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
