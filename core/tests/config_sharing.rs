//! One configuration opens many connections: it is `Clone + Send + Sync`, and each
//! connection gets its own random source from it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sockette_core::{ChaChaSource, ClientConfig, Connection, RandomSource, ServerConfig};

fn shareable<T: Clone + Send + Sync + 'static>() {}

#[test]
fn configurations_are_clone_send_and_sync() {
    shareable::<ClientConfig>();
    shareable::<ServerConfig>();
}

/// The `Sec-WebSocket-Key` of the request a new client connection sends.
fn handshake_key(config: ClientConfig) -> String {
    let conn = Connection::client(config, Instant::now()).expect("client");
    let request = String::from_utf8(conn.poll_transmit().expect("request").to_vec()).unwrap();
    let line = request
        .lines()
        .find(|l| l.starts_with("Sec-WebSocket-Key: "))
        .expect("a key");
    line["Sec-WebSocket-Key: ".len()..].to_string()
}

#[test]
fn the_factory_makes_one_source_per_connection() {
    let made = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&made);
    let config = ClientConfig::new("ws://localhost/")
        .unwrap()
        .random_sources(move || {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            Box::new(ChaChaSource::from_seed(n)) as Box<dyn RandomSource>
        });
    let first = handshake_key(config.clone());
    let from_another_thread = {
        let config = config.clone();
        std::thread::spawn(move || handshake_key(config))
            .join()
            .unwrap()
    };
    assert_eq!(made.load(Ordering::Relaxed), 2);
    assert_ne!(first, from_another_thread);
    let fresh = handshake_key(
        ClientConfig::new("ws://localhost/")
            .unwrap()
            .random_source(ChaChaSource::from_seed(0)),
    );
    assert_eq!(first, fresh, "the first connection drew from seed 0");
}

#[test]
fn a_fixed_source_gives_every_connection_the_same_bytes() {
    let config = ClientConfig::new("ws://localhost/")
        .unwrap()
        .random_source(ChaChaSource::from_seed(7));
    assert_eq!(handshake_key(config.clone()), handshake_key(config));
}

#[test]
fn by_default_each_connection_seeds_its_own_source() {
    let config = ClientConfig::new("ws://localhost/").unwrap();
    assert_ne!(handshake_key(config.clone()), handshake_key(config));
}
