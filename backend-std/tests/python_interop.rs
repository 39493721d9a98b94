//! Interop with a peer nobody here wrote: the Python `websockets` server
//! (`sockette_testkit::PythonEchoServer`), started on a free loopback port,
//! over ws:// and wss://. The first test to need it makes the virtual
//! environment with the pinned `websockets` under `target/`; if that fails these
//! tests fail and say why, they never pass silently. The server is started
//! before each test's time bound, so a first setup does not count against it.

mod support;

use sockette_std::{Client, CloseCode, DeflateConfig, Event, Message};
use sockette_testkit::pki::{scratch_dir, Pki};
use sockette_testkit::PythonEchoServer;
use support::bounded;

fn exchange(client: &mut Client) {
    exchange_expecting(client, None);
}

/// Sends small, empty, large binary and large JSON-like text messages, checks the
/// echoes, closes; `extension` is what the server must have agreed to.
fn exchange_expecting(client: &mut Client, extension: Option<&str>) {
    let large: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let large2 = large.clone();
    let json = r#"{"symbol":"EUR-USD","bid":1.0842,"ask":1.0843,"ts":1764180000}"#.repeat(20_000);
    let mut got = Vec::new();
    let mut negotiated = None;
    let info = client
        .run(|ws, event| match event {
            Event::Open(info) => {
                negotiated = Some(info.extensions.clone());
                ws.send_text("bonjour, websockets").unwrap();
                ws.send_binary(&[0, 1, 2, 255]).unwrap();
                ws.send_text("").unwrap();
                ws.send_binary(&large2).unwrap();
                ws.send_text(&json).unwrap();
            }
            Event::Message(m) => {
                got.push(m);
                if got.len() == 5 {
                    ws.close(CloseCode::Normal, "merci").unwrap();
                }
            }
            Event::Error(e) => panic!("{e}"),
            _ => {}
        })
        .unwrap();
    assert!(info.was_clean, "{info:?}");
    assert_eq!(info.code, CloseCode::Normal);
    assert_eq!(got[0].as_bytes(), b"bonjour, websockets");
    assert_eq!(got[1], Message::Binary(vec![0, 1, 2, 255].into()));
    assert!(matches!(&got[2], Message::Text(t) if t.is_empty()));
    assert_eq!(got[3].as_bytes(), &large[..]);
    assert!(matches!(&got[4], Message::Text(t) if t.as_str() == json));
    let negotiated = negotiated.expect("opened");
    match extension {
        None => assert!(negotiated.is_empty(), "{negotiated:?}"),
        Some(name) => assert!(
            negotiated.iter().any(|e| e.starts_with(name)),
            "{negotiated:?}"
        ),
    }
}

#[test]
fn python_websockets_echo_with_permessage_deflate_over_ws() {
    let server = PythonEchoServer::start();
    bounded(60, move || {
        let mut client = Client::builder(&format!("ws://127.0.0.1:{}/", server.port()))
            .deflate(DeflateConfig::default())
            .connect()
            .unwrap();
        exchange_expecting(&mut client, Some("permessage-deflate"));
    });
}

#[test]
fn python_websockets_echo_with_permessage_deflate_over_wss() {
    let pki = Pki::new("sockette-std test CA (python deflate)");
    let dir = pki.write_files(scratch_dir("python-wss-deflate"));
    let server = PythonEchoServer::start_tls(&dir.join("cert.pem"), &dir.join("key.pem"));
    bounded(60, move || {
        let mut client = Client::builder(&format!("wss://localhost:{}/", server.port()))
            .ca_file(dir.join("ca.pem"))
            .deflate(
                DeflateConfig::default()
                    .client_no_context_takeover(true)
                    .server_max_window_bits(Some(12)),
            )
            .connect()
            .unwrap();
        exchange_expecting(&mut client, Some("permessage-deflate"));
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn python_websockets_echo_over_ws() {
    let server = PythonEchoServer::start();
    bounded(60, move || {
        let mut client = Client::connect(&format!("ws://127.0.0.1:{}/", server.port())).unwrap();
        exchange(&mut client);
    });
}

#[test]
fn python_websockets_server_initiated_close() {
    let server = PythonEchoServer::start();
    bounded(60, move || {
        let mut client = Client::connect(&format!("ws://127.0.0.1:{}/", server.port())).unwrap();
        client.send_text("close:4321:au revoir").unwrap();
        let info = client.run(|_, _| {}).unwrap();
        assert!(info.was_clean, "{info:?}");
        assert_eq!(info.code, CloseCode::Application(4321));
        assert_eq!(info.reason, "au revoir");
    });
}

#[test]
fn python_websockets_echo_over_wss_with_the_test_ca() {
    let pki = Pki::new("sockette-std test CA (python)");
    let dir = pki.write_files(scratch_dir("python-wss"));
    let server = PythonEchoServer::start_tls(&dir.join("cert.pem"), &dir.join("key.pem"));
    bounded(60, move || {
        let mut client = Client::builder(&format!("wss://localhost:{}/", server.port()))
            .ca_file(dir.join("ca.pem"))
            .connect()
            .unwrap();
        exchange(&mut client);
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    });
}
