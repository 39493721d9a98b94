//! `-v`: the opening handshake's heads and, at the end, the statistics, in the
//! human form (stderr) and with `--json` (objects on stdout).

mod support;

use serde_json::Value;
use support::{sockette, Server};

#[test]
fn verbose_prints_the_handshake_heads_and_the_stats() {
    let server = Server::start(&[]);
    let run = sockette(
        &[
            &server.url,
            "-v",
            "--no-deflate",
            "--send",
            "hello",
            "--send",
            "again",
        ],
        30,
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let err = run.stderr_lines();
    assert!(err.contains(&"> GET / HTTP/1.1"), "{err:?}");
    assert!(err.contains(&"> Upgrade: websocket"), "{err:?}");
    assert!(
        err.contains(&"< HTTP/1.1 101 Switching Protocols"),
        "{err:?}"
    );
    assert!(
        err.iter()
            .any(|l| l.starts_with("< Sec-WebSocket-Accept: ")),
        "{err:?}"
    );
    let stats = err
        .iter()
        .find(|l| l.starts_with("- stats: "))
        .unwrap_or_else(|| panic!("no stats line: {err:?}"));
    assert!(
        stats.starts_with(
            "- stats: sent 2 messages (10 bytes), received 2 (10 bytes); on the wire "
        ),
        "{stats}"
    );
    // No deflate, no ping: neither is reported.
    assert!(
        !stats.contains("compression") && !stats.contains("ping"),
        "{stats}"
    );
    // The messages themselves are unchanged on stdout.
    assert!(run.stdout_lines().contains(&"< again"), "{run:?}");
}

#[test]
fn verbose_json_adds_handshake_and_stats_objects() {
    let server = Server::start(&[]);
    let run = sockette(&[&server.url, "-v", "--json", "--send", "hello"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    let objects: Vec<Value> = run
        .stdout_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |kind: &str| {
        objects
            .iter()
            .find(|o| o["event"] == kind)
            .unwrap_or_else(|| panic!("no {kind} object in {objects:?}"))
            .clone()
    };
    let handshake = of("handshake");
    let request = handshake["request"].as_str().unwrap();
    let response = handshake["response"].as_str().unwrap();
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request:?}");
    assert!(response.starts_with("HTTP/1.1 101 "), "{response:?}");
    // Deflate is offered by default and the echo server accepts it.
    assert!(
        response.contains("Sec-WebSocket-Extensions: permessage-deflate"),
        "{response:?}"
    );
    let stats = of("stats");
    assert_eq!(stats["messages_sent"], 1);
    assert_eq!(stats["messages_received"], 1);
    assert_eq!(stats["payload_bytes_sent"], 5);
    assert_eq!(stats["payload_bytes_received"], 5);
    assert!(stats["wire_bytes_sent"].as_u64().unwrap() > request.len() as u64);
    assert!(stats["wire_bytes_received"].as_u64().unwrap() > response.len() as u64);
    assert!(stats["compression_ratio"].as_f64().is_some(), "{stats}");
    assert!(stats["latest_rtt_ms"].is_null(), "{stats}");
    // The stats object comes last, after the close.
    assert_eq!(objects.last().unwrap()["event"], "stats");
}

#[test]
fn without_verbose_neither_is_printed() {
    let server = Server::start(&[]);
    let run = sockette(&[&server.url, "--json", "--send", "hello"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(!run.stdout.contains("\"handshake\"") && !run.stdout.contains("\"stats\""));
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn verbose_stats_report_the_round_trip_of_keepalive_pings() {
    let (url, _peer) = support::ws_peer(|_, _, _| {}); // reads, answers pings only
    let run = sockette(
        &[
            &url,
            "-v",
            "--send",
            "x",
            "--wait",
            "1",
            "--ping-interval",
            "0.2",
        ],
        30,
    );
    assert_eq!(run.code(), 0, "{run:?}");
    let err = run.stderr_lines();
    let stats = err
        .iter()
        .find(|l| l.starts_with("- stats: "))
        .unwrap_or_else(|| panic!("no stats line: {err:?}"));
    assert!(stats.contains("; ping round trip "), "{stats}");
}
