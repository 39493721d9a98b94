//! A client certificate read from PEM files by `ClientConfigFiles::client_cert`,
//! against the core's server role requiring one, on loopback.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use sockette_mio::{
    ClientConfig, ClientConfigFiles, CloseCode, ConfigFileError, Error, Event, EventLoop,
};
use support::server::EchoServer;
use support::{Pki, WssClient};

/// Runs one connection with `config` to `port` until it closes (at most 20 s);
/// returns the messages received and the errors reported.
fn run_one(config: ClientConfig, port: u16) -> (Vec<String>, Vec<Error>) {
    let mut event_loop = EventLoop::new().unwrap();
    event_loop
        .connect_addr(config, SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap();
    let (mut messages, mut errors) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !event_loop.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the connection is still open after 20 s");
        event_loop
            .turn(Some(left), |ws, event| match event {
                Event::Open(_) => ws.send_text("from a known client").unwrap(),
                Event::Message(m) => {
                    messages.push(String::from_utf8_lossy(m.as_bytes()).into_owned());
                    ws.close(CloseCode::Normal, "").unwrap();
                }
                Event::Error(e) => errors.push(e),
                _ => {}
            })
            .unwrap();
    }
    (messages, errors)
}

#[test]
fn a_client_certificate_from_pem_files_is_accepted_and_its_absence_refused() {
    let pki = Pki::new("sockette-mio test CA (client cert)");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sockette-mio-client-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = pki.client_cert_pem();
    std::fs::write(dir.join("client.pem"), cert).unwrap();
    std::fs::write(dir.join("client.key"), key).unwrap();
    let server = EchoServer::start(Some(pki.client_auth_server_tls()));
    let port = server.addr.port();

    let config = pki
        .client(port, "/")
        .client_cert(dir.join("client.pem"), dir.join("client.key"))
        .unwrap();
    let (messages, errors) = run_one(config, port);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(messages, ["from a known client"]);

    let (messages, errors) = run_one(pki.client(port, "/"), port);
    assert!(messages.is_empty(), "{messages:?}");
    match errors.first() {
        Some(Error::Connect(c)) => match &c.cause {
            sockette_mio::ConnectCause::WebSocket(sockette_core::Error::Tls(tls)) => {
                assert_eq!(c.step, sockette_mio::ConnectStep::Tls, "{c}");
                assert_eq!(tls.kind(), sockette_core::TlsErrorKind::NoCertificate)
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }

    // Unusable files are refused when configuring, naming the file.
    let missing = dir.join("missing.key");
    match pki
        .client(port, "/")
        .client_cert(dir.join("client.pem"), &missing)
    {
        Err(Error::Config(ConfigFileError::Read { path, .. })) => assert_eq!(path, missing),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a missing key file was accepted"),
    }
    match pki
        .client(port, "/")
        .client_cert(dir.join("client.key"), dir.join("client.key"))
    {
        Err(Error::Config(why @ ConfigFileError::ClientCert { .. })) => {
            assert!(why.to_string().contains("no certificate"), "{why}")
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a key file was accepted as a certificate"),
    }
    let _ = std::fs::remove_dir_all(dir);
}
