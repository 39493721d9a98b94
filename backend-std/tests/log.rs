//! The `log` feature through sockette-std: DNS resolution and the TCP connect
//! with their timings, then the core's records, and nothing above `debug` on a
//! happy session. Alone in its binary (one logger per process); `.ci/run` runs
//! it with `--features log`.
#![cfg(feature = "log")]

mod support;

use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};
use sockette_std::{Client, CloseCode, Event};
use support::{bounded, echo_server};

struct Capture(Mutex<Vec<(Level, String, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        self.0.lock().unwrap().push((
            record.level(),
            record.target().to_string(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn a_session_logs_resolution_and_connect_then_the_core_steps_at_debug() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(LevelFilter::Trace);
    bounded(20, || {
        let (server, _events) = echo_server();
        let mut client = Client::connect(&server.url("/")).unwrap();
        client.send_text("hi").unwrap();
        client
            .run(|ws, event| {
                if let Event::Message(_) = event {
                    let _ = ws.close(CloseCode::Normal, "bye");
                }
            })
            .unwrap();
        let port = server.url("").rsplit(':').next().unwrap().to_string();
        let records: Vec<_> = CAPTURE
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, target, _)| target.starts_with("sockette"))
            .cloned()
            .collect();
        for (level, target, text) in &records {
            assert!(
                *level >= Level::Debug,
                "above debug: {level} {target} {text}"
            );
        }
        let find = |target: &str, start: &str| {
            records
                .iter()
                .find(|(_, t, text)| t.starts_with(target) && text.starts_with(start))
                .unwrap_or_else(|| panic!("no {target} record {start:?} in {records:#?}"))
                .2
                .clone()
        };
        let resolved = find("sockette_driver", "resolved 127.0.0.1 in ");
        assert!(
            resolved.contains(&format!("127.0.0.1:{port}")),
            "{resolved}"
        );
        find(
            "sockette_driver",
            &format!("TCP connected to 127.0.0.1:{port} in "),
        );
        find("sockette_core", "WebSocket open (Client) after ");
        find("sockette_core", "close frame sent: code 1000");
    });
}
