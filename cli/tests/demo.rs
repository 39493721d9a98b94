//! `sockette` with no arguments: the embedded wss:// demo prints its events in
//! order and exits 0, in the human and the JSON forms.

mod support;

use serde_json::Value;
use support::sockette;

#[test]
fn the_demo_prints_its_events_in_order_and_exits_0() {
    let run = sockette(&[], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    let lines = run.stdout_lines();
    let expected = [
        "- echo server on wss://127.0.0.1:",
        "- connecting to wss://127.0.0.1:",
        "* open: wss://127.0.0.1:",
        "> Hello from sockette!",
        "< Hello from sockette!",
        "> binary (6 bytes): 00 01 7f 80 fe ff",
        "< binary (6 bytes): 00 01 7f 80 fe ff",
        "> ping: \"are you there?\"",
        "< pong: \"are you there?\"",
        "> close: 1000 \"demo finished\"",
        "* close: 1000 (clean)",
    ];
    assert_eq!(lines.len(), expected.len(), "{}", run.stdout);
    for (line, start) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(start),
            "{line:?} should start with {start:?}"
        );
    }
    // Not a terminal: no colors.
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
}

#[test]
fn the_demo_in_json_is_one_object_per_line() {
    let run = sockette(&["--json"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    let events: Vec<Value> = run
        .stdout_lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "server",
            "connecting",
            "open",
            "sent",
            "message",
            "sent",
            "message",
            "sent-ping",
            "pong",
            "sent-close",
            "close"
        ]
    );
    assert_eq!(events[4]["type"], "text");
    assert_eq!(events[4]["data"], "Hello from sockette!");
    assert_eq!(events[6]["type"], "binary");
    assert_eq!(events[6]["hex"], "00017f80feff");
    assert_eq!(events[10]["code"], 1000);
    assert_eq!(events[10]["clean"], true);
}

#[test]
fn the_demo_in_quiet_mode_prints_only_the_received_messages() {
    let run = sockette(&["-q", "--hex"], 30);
    assert_eq!(run.code(), 0, "{run:?}");
    assert_eq!(run.stdout, "Hello from sockette!\n00 01 7f 80 fe ff\n");
}
