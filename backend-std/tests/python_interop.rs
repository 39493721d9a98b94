//! Interop with a peer nobody here wrote: the Python `websockets` server
//! (`ws_echo_server.py` beside this file), started on a free loopback port, over
//! ws:// and wss://. `.ci/run` installs the package; without it these tests fail
//! and say so, they never pass silently.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sockette_std::{Client, CloseCode, DeflateConfig, Event, Message};
use support::bounded;
use support::pki::Pki;

/// The Python server process; killed and reaped on drop.
struct PythonServer {
    child: Child,
    port: u16,
}

impl PythonServer {
    fn start(tls: Option<&Path>) -> PythonServer {
        let check = Command::new("python3")
            .args(["-c", "import websockets"])
            .output()
            .expect("python3 is needed for the interop tests");
        assert!(
            check.status.success(),
            "the Python `websockets` package is missing: `python3 -m pip install websockets` \
             is needed for the interop tests ({})",
            String::from_utf8_lossy(&check.stderr).trim()
        );
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ws_echo_server.py");
        let mut command = Command::new("python3");
        command.arg(script);
        if let Some(dir) = tls {
            command
                .arg("--cert")
                .arg(dir.join("cert.pem"))
                .arg("--key")
                .arg(dir.join("key.pem"));
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let port = match line.trim().parse() {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the Python websockets server did not start: {line:?} (is `python3 -m pip install websockets` done?)");
            }
        };
        PythonServer { child, port }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    bounded(60, || {
        let server = PythonServer::start(None);
        let mut client = Client::builder(&format!("ws://127.0.0.1:{}/", server.port))
            .deflate(DeflateConfig::default())
            .connect()
            .unwrap();
        exchange_expecting(&mut client, Some("permessage-deflate"));
    });
}

#[test]
fn python_websockets_echo_with_permessage_deflate_over_wss() {
    bounded(60, || {
        let pki = Pki::new("sockette-std test CA (python deflate)");
        let dir = pki.write_files("python-wss-deflate");
        let server = PythonServer::start(Some(&dir));
        let mut client = Client::builder(&format!("wss://localhost:{}/", server.port))
            .ca_file(dir.join("ca.pem"))
            .deflate(DeflateConfig {
                client_no_context_takeover: true,
                server_max_window_bits: Some(12),
                ..DeflateConfig::default()
            })
            .connect()
            .unwrap();
        exchange_expecting(&mut client, Some("permessage-deflate"));
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn python_websockets_echo_over_ws() {
    bounded(60, || {
        let server = PythonServer::start(None);
        let mut client = Client::connect(&format!("ws://127.0.0.1:{}/", server.port)).unwrap();
        exchange(&mut client);
    });
}

#[test]
fn python_websockets_server_initiated_close() {
    bounded(60, || {
        let server = PythonServer::start(None);
        let mut client = Client::connect(&format!("ws://127.0.0.1:{}/", server.port)).unwrap();
        client.send_text("close:4321:au revoir").unwrap();
        let info = client.run(|_, _| {}).unwrap();
        assert!(info.was_clean, "{info:?}");
        assert_eq!(info.code, CloseCode::Application(4321));
        assert_eq!(info.reason, "au revoir");
    });
}

#[test]
fn python_websockets_echo_over_wss_with_the_test_ca() {
    bounded(60, || {
        let pki = Pki::new("sockette-std test CA (python)");
        let dir = pki.write_files("python-wss");
        let server = PythonServer::start(Some(&dir));
        let mut client = Client::builder(&format!("wss://localhost:{}/", server.port))
            .ca_file(dir.join("ca.pem"))
            .connect()
            .unwrap();
        exchange(&mut client);
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    });
}
