//! wss:// on loopback against the core's server role over real TLS, with
//! certificates made by rcgen: echo through a trusted test CA, and refusal of
//! an untrusted certificate naming the TLS step.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sockette_core::{ServerConfig, TlsErrorKind};
use sockette_std::{
    Client, CloseCode, ConfigFile, ConfigFileError, ConnectCause, ConnectStep, Error, Event,
    Message,
};
use sockette_testkit::pki::{scratch_dir, Pki};
use support::{bounded, echo_server_with};

#[test]
fn wss_echo_through_a_ca_file() {
    bounded(30, || {
        let pki = Pki::new("sockette-std test CA (echo)");
        let dir = pki.write_files(scratch_dir("wss-echo"));
        let server_tls = pki.server_tls();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://localhost:{}/secure", server.port);
        let mut client = Client::builder(&url)
            .ca_file(dir.join("ca.pem"))
            .connect()
            .unwrap();
        assert!(client.url().is_secure());
        let big = vec![0x5Au8; 3 << 20];
        let big2 = big.clone();
        let mut got = Vec::new();
        let info = client
            .run(|ws, event| match event {
                Event::Open(_) => {
                    ws.send_text("über TLS").unwrap();
                    ws.send_binary(&big2).unwrap();
                    ws.send_text("").unwrap();
                }
                Event::Message(m) => {
                    got.push(m);
                    if got.len() == 3 {
                        ws.close(CloseCode::Normal, "tls done").unwrap();
                    }
                }
                Event::Error(e) => panic!("{e}"),
                _ => {}
            })
            .unwrap();
        assert!(info.was_clean, "{info:?}");
        assert_eq!(got[0].as_bytes(), "über TLS".as_bytes());
        assert_eq!(got[1], Message::Binary(big.into()));
        assert!(got[2].is_empty());
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn wss_with_a_pem_root_over_an_ip_address() {
    bounded(20, || {
        let pki = Pki::new("sockette-std test CA (ip)");
        let server_tls = pki.server_tls();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://127.0.0.1:{}/", server.port);
        let mut client = Client::builder(&url)
            .add_root_certificates_pem(pki.ca_pem().as_bytes())
            .without_default_roots()
            .connect()
            .unwrap();
        client.send_text("ping over tls").unwrap();
        let m = client.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(m.unwrap().as_bytes(), b"ping over tls");
        client.close(CloseCode::Normal, "").unwrap();
        assert!(client.run(|_, _| {}).unwrap().was_clean);
    });
}

#[test]
fn untrusted_certificate_fails_the_tls_step() {
    bounded(20, || {
        let pki = Pki::new("sockette-std test CA (untrusted)");
        let server_tls = pki.server_tls();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://localhost:{}/", server.port);
        let started = Instant::now();
        let err = Client::connect(&url).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        let text = err.to_string();
        // The chain a caller walks: the opening, the core's error, its
        // TlsError, rustls' own error.
        let chain: Vec<&dyn std::error::Error> =
            std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source()).collect();
        assert!(chain[1].is::<sockette_std::ConnectError>(), "{chain:?}");
        assert!(chain[2].is::<sockette_core::Error>(), "{chain:?}");
        assert!(chain[3].is::<sockette_core::TlsError>(), "{chain:?}");
        assert_eq!(
            chain[4].downcast_ref::<sockette_core::rustls::Error>(),
            Some(&sockette_core::rustls::Error::InvalidCertificate(
                sockette_core::rustls::CertificateError::UnknownIssuer
            )),
            "{chain:?}"
        );
        let Error::Connect(err) = err else {
            panic!("{err:?}")
        };
        assert_eq!(err.step, ConnectStep::Tls, "{text}");
        match &err.cause {
            ConnectCause::WebSocket(sockette_core::Error::Tls(tls)) => {
                assert_eq!(tls.kind(), TlsErrorKind::UnknownIssuer, "{text}")
            }
            other => panic!("{other:?}"),
        }
        assert!(text.contains("TLS handshake"), "{text}");
    });
}

#[test]
fn tls_failure_in_the_asynchronous_form_closes_with_1015() {
    bounded(20, || {
        let pki = Pki::new("sockette-std test CA (async)");
        let server_tls = pki.server_tls();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://localhost:{}/", server.port);
        let mut client = Client::start(&url).unwrap();
        let mut events = Vec::new();
        let info = client.run(|_, e| events.push(e)).unwrap();
        assert!(
            matches!(&events[0], Event::Error(Error::Connect(c)) if c.step == ConnectStep::Tls)
        );
        assert_eq!(info.code, CloseCode::Tls);
        assert!(info.reason.contains("TLS handshake"), "{}", info.reason);
    });
}

#[test]
fn unreadable_ca_file_is_a_config_error() {
    let err = Client::builder("wss://localhost:1/")
        .ca_file("/nonexistent/sockette-ca.pem")
        .start()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Config(ConfigFileError::Read { file: ConfigFile::Ca, path, .. })
                if path.ends_with("sockette-ca.pem")
        ),
        "{err:?}"
    );
}

/// A fresh directory under the target directory, for the files of one test.
fn files_dir(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sockette-std-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_client_certificate_from_pem_files_is_accepted_and_its_absence_refused() {
    bounded(30, || {
        let pki = Pki::new("sockette-std test CA (client cert)");
        let dir = files_dir("client-cert");
        std::fs::write(dir.join("client.pem"), &pki.client_pem.cert).unwrap();
        std::fs::write(dir.join("client.key"), &pki.client_pem.key).unwrap();
        let server_tls = pki.client_auth_server_tls();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://localhost:{}/", server.port);
        let trusting = || Client::builder(&url).add_root_certificates_pem(pki.ca_pem().as_bytes());

        let mut client = trusting()
            .client_cert(dir.join("client.pem"), dir.join("client.key"))
            .connect()
            .unwrap();
        client.send_text("from a known client").unwrap();
        let m = client.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(m.unwrap().as_bytes(), b"from a known client");
        client.close(CloseCode::Normal, "").unwrap();
        assert!(client.run(|_, _| {}).unwrap().was_clean);

        let err = trusting().connect().unwrap_err();
        let text = err.to_string();
        let Error::Connect(err) = err else {
            panic!("{err:?}")
        };
        assert_eq!(err.step, ConnectStep::Tls, "{text}");
        match &err.cause {
            ConnectCause::WebSocket(sockette_core::Error::Tls(tls)) => {
                assert_eq!(tls.kind(), TlsErrorKind::NoCertificate, "{text}")
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn unusable_client_certificate_files_are_config_errors_naming_the_file() {
    let pki = Pki::new("sockette-std test CA (bad client cert)");
    let other = Pki::new("sockette-std test CA (other key)");
    let dir = files_dir("bad-client-cert");
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let cert = file("client.pem", &pki.client_pem.cert);
    let key = file("client.key", &pki.client_pem.key);
    let garbage = file("garbage.pem", "not PEM at all");
    let other_key = file("other.key", &other.client_pem.key);
    let missing = dir.join("missing.pem");
    let cases = [
        ("missing certificate file", &missing, &key, "missing.pem"),
        ("missing key file", &cert, &missing, "missing.pem"),
        ("garbage certificate", &garbage, &key, "no certificate"),
        ("garbage key", &cert, &garbage, "no private key"),
        (
            "another certificate's key",
            &cert,
            &other_key,
            "does not belong",
        ),
    ];
    for (case, cert, key, expected) in cases {
        let err = Client::builder("wss://localhost:1/")
            .client_cert(cert, key)
            .start()
            .unwrap_err();
        match &err {
            Error::Config(why) => {
                let read = matches!(why, ConfigFileError::Read { .. });
                let refused = matches!(
                    why,
                    ConfigFileError::ClientCert { source, .. }
                        if matches!(**source, sockette_core::Error::Config(_))
                );
                let missing = expected == "missing.pem";
                assert!(if missing { read } else { refused }, "{case}: {why:?}");
                assert!(why.to_string().contains(expected), "{case}: {why}");
            }
            other => panic!("{case}: {other:?}"),
        }
    }
    // The right pair configures (start only fails later, on the closed port).
    assert!(Client::builder("wss://localhost:1/")
        .client_cert(&cert, &key)
        .start()
        .is_ok());
    let _ = std::fs::remove_dir_all(dir);
}
