//! wss:// on loopback against the core's server role over real TLS, with
//! certificates made by rcgen: echo through a trusted test CA, and refusal of
//! an untrusted certificate naming the TLS step.

mod support;

use std::time::{Duration, Instant};

use sockette_core::{ServerConfig, TlsErrorKind};
use sockette_std::{Client, CloseCode, ConnectCause, ConnectStep, Error, Event, Message};
use support::pki::Pki;
use support::{bounded, echo_server_with};

#[test]
fn wss_echo_through_a_ca_file() {
    bounded(30, || {
        let pki = Pki::new("sockette-std test CA (echo)");
        let dir = pki.write_files("wss-echo");
        let server_tls = pki.server_config();
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
        let server_tls = pki.server_config();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://127.0.0.1:{}/", server.port);
        let mut client = Client::builder(&url)
            .add_root_certificates_pem(pki.ca_pem.as_bytes())
            .without_default_roots()
            .connect()
            .unwrap();
        client.send_text("ping over tls").unwrap();
        let m = client.recv_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(m.unwrap().as_bytes(), b"ping over tls");
        client.close(CloseCode::Normal, "").unwrap();
        assert!(client.run(|_, _| {}).unwrap().was_clean);
    });
}

#[test]
fn untrusted_certificate_fails_the_tls_step() {
    bounded(20, || {
        let pki = Pki::new("sockette-std test CA (untrusted)");
        let server_tls = pki.server_config();
        let (server, _events) =
            echo_server_with(move || ServerConfig::new().tls(server_tls.clone()));
        let url = format!("wss://localhost:{}/", server.port);
        let started = Instant::now();
        let err = Client::connect(&url).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        let text = err.to_string();
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
        let server_tls = pki.server_config();
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
        matches!(&err, Error::Config(t) if t.contains("sockette-ca.pem")),
        "{err:?}"
    );
}
