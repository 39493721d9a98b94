//! `Client::from_upgraded_stream` on loopback: the HTTP upgrade is done by hand
//! over raw `TcpStream`s (as hyper, axum or a proxy library would do it), each
//! side reading a little past the other's head, then both ends are handed over,
//! one as a server and one as a client, and exchange messages and a close.

mod support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use sockette_core::accept_key;
use sockette_std::{Client, CloseCode, DeflateConfig, Event, Message, Role, UpgradedConfig};
use sockette_testkit::read_head_and;
use support::bounded;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A text frame as a client sends it: masked.
fn masked_text(payload: &[u8]) -> Vec<u8> {
    let key = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// A text frame as a server sends it: unmasked.
fn plain_text(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81, payload.len() as u8];
    frame.extend_from_slice(payload);
    frame
}

fn agreed() -> UpgradedConfig {
    UpgradedConfig::new()
        .protocol("echo")
        .deflate_agreed("permessage-deflate", DeflateConfig::default())
        .unwrap()
}

#[test]
fn streams_upgraded_by_hand_exchange_messages_and_a_close_in_both_roles() {
    let long = "compressible text, over and over. ".repeat(100);
    let expected_long = long.clone();
    let (client_side, server_side) = bounded(30, move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let behind = masked_text(b"behind the request");
            let (request, leftover) = read_head_and(&mut stream, behind.len());
            assert!(request.starts_with("GET /chat HTTP/1.1\r\n"), "{request}");
            assert_eq!(
                leftover, behind,
                "the frame the client sent behind its head"
            );
            let mut answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\
                 Sec-WebSocket-Protocol: echo\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                accept_key(KEY)
            )
            .into_bytes();
            answer.extend(plain_text(b"early"));
            stream.write_all(&answer).unwrap();
            let mut ws =
                Client::from_upgraded_stream(stream, Role::Server, agreed(), &leftover).unwrap();
            let mut received = Vec::new();
            let info = ws
                .run(|ws, event| match event {
                    Event::Open(info) => {
                        assert_eq!(info.protocol.as_deref(), Some("echo"));
                        assert_eq!(info.extensions, ["permessage-deflate"]);
                    }
                    Event::Message(m) => {
                        ws.send(&m).unwrap();
                        received.push(m);
                    }
                    _ => {}
                })
                .unwrap();
            (received, info)
        });

        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut request = format!(
            "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: echo\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
        )
        .into_bytes();
        request.extend(masked_text(b"behind the request"));
        stream.write_all(&request).unwrap();
        let early = plain_text(b"early");
        let (response, leftover) = read_head_and(&mut stream, early.len());
        assert!(response.starts_with("HTTP/1.1 101 "), "{response}");
        // The server's echo of the client's early frame may arrive in the same
        // read: whatever came behind the head is handed over, in order.
        assert!(
            leftover.starts_with(&early),
            "the frame the server sent behind its head: {leftover:?}"
        );
        let mut ws =
            Client::from_upgraded_stream(stream, Role::Client, agreed(), &leftover).unwrap();
        let peer = ws.peer_addr().unwrap();
        assert_eq!(ws.url().to_string(), format!("ws://{peer}/"));
        let wait = Duration::from_secs(10);
        let mut got = Vec::new();
        // `recv_timeout` consumes the Open event; the leftover frame comes first.
        got.push(ws.recv_timeout(wait).unwrap().unwrap());
        got.push(ws.recv_timeout(wait).unwrap().unwrap());
        ws.send_text(&long).unwrap();
        got.push(ws.recv_timeout(wait).unwrap().unwrap());
        let ratio = ws.stats().compression_ratio;
        ws.close(CloseCode::Normal, "done").unwrap();
        let info = ws.run(|_, _| {}).unwrap();
        ((got, ratio, info), server.join().unwrap())
    });

    let (got, ratio, client_close) = client_side;
    let texts: Vec<&str> = got.iter().filter_map(Message::as_text).collect();
    assert_eq!(
        texts,
        ["early", "behind the request", expected_long.as_str()]
    );
    assert!(ratio.is_some_and(|r| r > 4.0), "compressed: {ratio:?}");
    assert!(
        client_close.was_clean && client_close.code == CloseCode::Normal,
        "{client_close:?}"
    );

    let (received, server_close) = server_side;
    let texts: Vec<&str> = received.iter().filter_map(Message::as_text).collect();
    assert_eq!(texts, ["behind the request", expected_long.as_str()]);
    assert!(
        server_close.was_clean && server_close.reason == "done",
        "{server_close:?}"
    );
}
