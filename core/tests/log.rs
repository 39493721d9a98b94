//! The `log` feature's records: a happy wss:// session logs the TLS version and
//! cipher suite, the subprotocol and extensions, and the close, all at `debug`;
//! a failure is a `warn`. `.ci/run` runs this with `--features log`.
#![cfg(feature = "log")]

use sockette_testkit as support;

use std::sync::Mutex;
use std::thread::{self, ThreadId};

use log::{Level, LevelFilter, Log, Metadata, Record};
use sockette_core::{CloseCode, DeflateConfig};
use support::*;

/// Every record, with the thread that logged it (tests run in parallel).
struct Capture(Mutex<Vec<(ThreadId, Level, String, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        self.0.lock().unwrap().push((
            thread::current().id(),
            record.level(),
            record.target().to_string(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// The core's records (level, message) logged by this thread so far.
fn records() -> Vec<(Level, String)> {
    // Installing twice fails harmlessly: the first test in wins, same logger.
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(LevelFilter::Trace);
    let me = thread::current().id();
    CAPTURE
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _, target, _)| *id == me && target.starts_with("sockette_core"))
        .map(|(_, level, _, text)| (*level, text.clone()))
        .collect()
}

fn the_record<'a>(records: &'a [(Level, String)], start: &str) -> &'a (Level, String) {
    records
        .iter()
        .find(|(_, text)| text.starts_with(start))
        .unwrap_or_else(|| panic!("no record starting {start:?} in {records:#?}"))
}

#[test]
fn a_happy_wss_session_logs_its_steps_at_debug_and_nothing_above() {
    records(); // installs the logger before anything is logged
    let (leaf, ca) = support::pki::self_signed(&["localhost"]);
    let tls = support::pki::server_tls(leaf);
    let client = client_config("wss://localhost/chat")
        .add_root_certificates_pem(ca.as_bytes())
        .unwrap()
        .protocol("chat.v1")
        .deflate(DeflateConfig::default());
    let server = server_config()
        .tls(tls)
        .protocol("chat.v1")
        .deflate(DeflateConfig::default());
    let mut pair = Pair::open(client, server, Chunking::Whole);
    pair.client.send_text("hello").unwrap();
    pair.drive();
    pair.client
        .close(pair.now, CloseCode::Normal, "done")
        .unwrap();
    pair.drive();
    assert!(pair.client.is_closed() && pair.server.is_closed());

    let records = records();
    for (level, text) in &records {
        assert!(*level >= Level::Debug, "above debug: {level} {text}");
    }
    the_record(&records, "TLS established (Server)");
    let (_, tls) = the_record(&records, "TLS established (Client)");
    assert!(tls.contains("TLSv1_3"), "{tls}");
    assert!(tls.contains("TLS13_"), "{tls}");
    let (_, open) = the_record(&records, "WebSocket open (Client)");
    assert!(open.contains("\"chat.v1\""), "{open}");
    assert!(open.contains("permessage-deflate"), "{open}");
    the_record(&records, "WebSocket open (Server)");
    let (_, sent) = the_record(&records, "close frame sent");
    assert!(
        sent.contains("code 1000") && sent.contains("\"done\""),
        "{sent}"
    );
    let (_, received) = the_record(&records, "close frame received");
    assert!(received.contains("code 1000"), "{received}");
    let closed: Vec<_> = records
        .iter()
        .filter(|(_, text)| text.starts_with("closed: code 1000"))
        .collect();
    assert_eq!(closed.len(), 2, "{records:#?}"); // both ends
}

#[test]
fn a_failed_connection_is_a_warning() {
    let mut raw = Raw::client();
    let before = records().len();
    // A ping of 126 bytes breaks RFC 6455 §5.5.
    raw.feed(&frame(true, 0x9, &[0; 126]));
    let records = records();
    let (level, text) = the_record(&records[before..], "connection failed");
    assert_eq!(*level, Level::Warn);
    assert!(text.contains("1002"), "{text}");
}

#[test]
fn the_opening_is_timed_from_the_nows_passed_in() {
    let mut raw = Raw::connecting_client(client_config(URL));
    let before = records().len();
    raw.now += std::time::Duration::from_millis(120);
    let response = response_101(&raw.request, "");
    raw.feed(response.as_bytes());
    let records = records();
    let (level, open) = the_record(&records[before..], "WebSocket open (Client)");
    assert_eq!(*level, Level::Debug);
    assert!(open.contains("after 120ms"), "{open}");
    assert!(open.contains("subprotocol None"), "{open}");
}
