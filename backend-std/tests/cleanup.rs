//! Nothing leaks: the owner thread does all the I/O (no helper thread lives
//! beside an open connection; a name lookup's thread ends with the lookup),
//! and after `run` returns or a client is dropped its sockets are closed. Alone in its test binary so that no other test
//! changes the process's thread and descriptor counts meanwhile.

mod support;

use std::time::Duration;

use sockette_std::{Client, CloseCode};
use support::echo_server;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// The client's threads alive in this process (the test server's threads
/// live here too, so threads are counted by name).
fn client_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("sockette-"))
        .count()
}

/// The client's threads left after a while: a thread that ended leaves /proc a
/// moment later (the kernel reaps the task after it exits), so one still listed
/// is given up to two seconds to go; a leaked one stays.
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
        // Dropped while open; connected by name: the lookup's thread is gone
        // once it answered, and nothing else runs beside the owner.
        let by_name = url.replace("127.0.0.1", "localhost");
        let client = Client::connect(&by_name).unwrap();
        assert_eq!(
            client_threads_after_join(),
            0,
            "no thread beside an open connection"
        );
        drop(client);
        assert_eq!(client_threads_after_join(), 0, "after drop");
    }
    // The server's connection threads end once their clients are gone.
    drop(server);
    std::thread::sleep(Duration::from_millis(100));
    assert!(count("/proc/self/fd") <= fds, "descriptors leaked");
}
