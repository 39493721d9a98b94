//! End to end, the peak memory of a client fed a burst of compressed messages
//! followed by a FIN while its callback is slow: the reader
//! thread runs ahead and queues the whole burst and the end of the stream, and
//! still the messages are inflated one at a time, as the callback takes them.
//!
//! Measured as the process's peak resident set (`VmHWM`, reset through
//! `/proc/self/clear_refs`), so this file holds one test: nothing else runs in
//! this binary while it measures. Linux only.
#![cfg(target_os = "linux")]

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use sockette_core::{Event as CoreEvent, ServerConfig};
use sockette_std::{Client, DeflateConfig, Error, Event, Limits};
use sockette_testkit::serve;
use sockette_testkit::take_output;
use support::{bounded, TestServer};

const MESSAGE: usize = 1 << 20;
const BURST: usize = 128;
const MAX_BUFFERED_OUTPUT: usize = 64 << 10;
/// What the allocator and the threads may add to the resident set beyond the
/// heap the connection holds: pages of freed chunks the allocator keeps, thread
/// stacks touched, the channel's nodes. Small next to one message per frame.
const RSS_SLACK: usize = 2 << 20;

/// A `VmHWM`/`VmRSS` value of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib << 10
}

/// Resets the peak resident set to the current one; false if the kernel refused.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[test]
fn a_deflated_burst_then_fin_under_a_slow_callback_is_inflated_one_message_at_a_time() {
    bounded(60, || {
        // go: the measurement started; first: the client has the first message.
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (first_tx, first_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<usize>();
        let server_side = Mutex::new((go_rx, first_rx, done_tx));
        let server = TestServer::start(move |stream| {
            let payload = vec![7u8; MESSAGE];
            let config = ServerConfig::new().deflate(DeflateConfig::default());
            let (go, first, done) = &*server_side.lock().unwrap();
            let (_, mut stream) = serve(
                stream,
                config,
                Duration::from_secs(30),
                |conn, event, stream| {
                    if !matches!(event, CoreEvent::Open(_)) {
                        return true;
                    }
                    // The 101 answer first; then the burst, compressed before the
                    // measurement starts and written after it: one message, then,
                    // once the client has it, the rest and the FIN, which the
                    // reader thread reads while the callback is busy with the first.
                    stream.write_all(&take_output(conn)).unwrap();
                    conn.send_binary(&payload).unwrap();
                    let head = take_output(conn);
                    for _ in 1..BURST {
                        conn.send_binary(&payload).unwrap();
                    }
                    let rest = take_output(conn);
                    go.recv().unwrap();
                    stream.write_all(&head).unwrap();
                    first.recv().unwrap();
                    stream.write_all(&rest).unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                    done.send(head.len() + rest.len()).unwrap();
                    false
                },
            );
            // Read until the client hangs up, so that no reset discards its input.
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        });
        let mut client = Client::builder(&server.url("/"))
            .deflate(DeflateConfig::default())
            .limits(
                Limits::default()
                    .max_message_size(MESSAGE)
                    .max_buffered_output(MAX_BUFFERED_OUTPUT),
            )
            .connect()
            .unwrap();
        let reset = reset_peak_rss();
        let before = if reset {
            status_bytes("VmRSS:")
        } else {
            status_bytes("VmHWM:")
        };
        go_tx.send(()).unwrap();
        let mut messages = 0;
        let mut wire = 0;
        let mut errors = Vec::new();
        let close = client
            .run(|_, event| match event {
                Event::Message(m) => {
                    assert_eq!(m.len(), MESSAGE);
                    if messages == 0 {
                        // A slow callback: the server writes the rest and its FIN,
                        // and the reader thread reads on meanwhile.
                        first_tx.send(()).unwrap();
                        wire = done_rx.recv_timeout(Duration::from_secs(20)).unwrap();
                        let until = Instant::now() + Duration::from_millis(300);
                        while Instant::now() < until {
                            thread::sleep(Duration::from_millis(10));
                        }
                    }
                    messages += 1;
                }
                Event::Error(e) => errors.push(e),
                _ => {}
            })
            .unwrap();
        let peak = status_bytes("VmHWM:").saturating_sub(before);
        // The input buffered: the reads queued for the owner thread (at most the
        // wire bytes) and the core's input buffer (at most twice them).
        let bound = MESSAGE + 3 * wire + MAX_BUFFERED_OUTPUT + RSS_SLACK;
        println!(
            "burst of {BURST} deflated messages of {MESSAGE} bytes ({wire} bytes) then \
             FIN: peak RSS +{peak} bytes (bound {bound}, clear_refs reset: {reset})"
        );
        assert_eq!(messages, BURST);
        assert!(
            matches!(
                &errors[..],
                [Error::WebSocket(sockette_core::Error::ConnectionLost(_))]
            ),
            "{errors:?}"
        );
        assert!(!close.was_clean);
        assert!(peak <= bound, "peak RSS grew by {peak} bytes, over {bound}");
        drop(server);
    });
}
