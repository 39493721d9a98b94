//! Nothing leaks: after `run` returns or a client is dropped, its threads are
//! joined and its sockets closed. Alone in its test binary so that no other test
//! changes the process's thread and descriptor counts meanwhile.

mod support;

use std::time::Duration;

use sockette_std::{Client, CloseCode};
use support::echo_server;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// The client's helper threads alive in this process (the test server's threads
/// live here too, so threads are counted by name).
fn client_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("sockette-"))
        .count()
}

/// The client's helper threads left once `Drop` or `run` has joined them. A
/// joined thread's /proc entry goes a moment after the join returns (the kernel
/// clears the thread id, which wakes the join, before it reaps the task), so a
/// thread still listed is given up to two seconds to go; a leaked one stays.
fn client_threads_after_join() -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while client_threads() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    client_threads()
}

#[test]
fn threads_are_joined_and_sockets_closed() {
    if !std::path::Path::new("/proc/self/task").exists() {
        panic!("this test reads /proc (Linux)");
    }
    let (server, _events) = echo_server();
    let url = server.url("/");
    let fds = count("/proc/self/fd");

    for _ in 0..3 {
        // Closed and run to the end.
        let mut client = Client::connect(&url).unwrap();
        client.send_text("x").unwrap();
        client.close(CloseCode::Normal, "").unwrap();
        client.run(|_, _| {}).unwrap();
        assert_eq!(client_threads_after_join(), 0, "after run");
        drop(client);
        // Dropped while open.
        let client = Client::connect(&url).unwrap();
        // A thread names itself once it first runs: the writer may not have yet
        // (the owner writes small messages itself while the writer is idle).
        let named = std::time::Instant::now() + Duration::from_secs(2);
        while client_threads() < 2 && std::time::Instant::now() < named {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(client_threads(), 2, "a reader and a writer");
        drop(client);
        assert_eq!(client_threads_after_join(), 0, "after drop");
    }
    // The server's connection threads end once their clients are gone.
    drop(server);
    std::thread::sleep(Duration::from_millis(100));
    assert!(count("/proc/self/fd") <= fds, "descriptors leaked");
}
