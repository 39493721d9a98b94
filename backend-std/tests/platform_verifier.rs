//! `ClientBuilder::platform_verifier` (feature `platform-verifier`) on loopback:
//! the system's store, pointed at a test CA through `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` (honoured by rustls-native-certs on Linux), decides. One test:
//! the environment is shared by the threads of the test binary.
#![cfg(feature = "platform-verifier")]

mod support;

use std::path::Path;
use std::time::Duration;

use sockette_core::{ServerConfig, TlsErrorKind};
use sockette_std::{Client, CloseCode, ConnectCause, Error};
use sockette_testkit::pki::Pki;
use support::{bounded, echo_server_with};

#[test]
fn the_platform_verifier_trusts_the_systems_store_and_not_the_mozilla_roots() {
    bounded(30, || {
        let pki = Pki::new("sockette-std test CA (platform verifier)");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sockette-std-platform-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
        std::env::set_var("SSL_CERT_FILE", dir.join("ca.pem"));
        std::env::set_var("SSL_CERT_DIR", dir.join("empty"));
        let server_tls = pki.server_tls();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://localhost:{}/", server.port);

        let mut client = Client::builder(&url).platform_verifier().connect().unwrap();
        client.send_text("verified by the system").unwrap();
        let m = client.recv_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(m.unwrap().as_bytes(), b"verified by the system");
        client.close(CloseCode::Normal, "").unwrap();
        assert!(client.run(|_, _| {}).unwrap().was_clean);

        // Without it, the Mozilla roots do not know the test CA.
        match Client::builder(&url).connect().unwrap_err() {
            Error::Connect(c) => match &c.cause {
                ConnectCause::WebSocket(sockette_core::Error::Tls(tls)) => {
                    assert_eq!(tls.kind(), TlsErrorKind::UnknownIssuer)
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }

        // An empty store fails when configuring, before any connection.
        std::env::set_var("SSL_CERT_FILE", dir.join("missing.pem"));
        let err = Client::builder(&url)
            .platform_verifier()
            .start()
            .unwrap_err();
        std::env::remove_var("SSL_CERT_FILE");
        std::env::remove_var("SSL_CERT_DIR");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(&err, Error::WebSocket(sockette_core::Error::Config(why)) if why.contains("operating system")),
            "{err:?}"
        );
    });
}
