//! The configurations most tests start from: seeded randomness, a fixed wall clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sockette_core::{ChaChaSource, ClientConfig, ServerConfig};

/// The URL most tests connect to.
pub const URL: &str = "ws://example.com/chat";

/// The wall-clock time the tests' TLS clients start at (2026-05-28), inside the
/// validity of the certificates made at test time.
pub fn wall_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_780_000_000)
}

/// A client configuration with deterministic randomness.
pub fn client_config(url: &str) -> ClientConfig {
    client_config_seeded(url, 1)
}

/// A client configuration with the random source seeded by `seed` and the wall
/// clock at [`wall_clock`].
pub fn client_config_seeded(url: &str, seed: u64) -> ClientConfig {
    ClientConfig::new(url)
        .expect("test URL is valid")
        .wall_clock(wall_clock())
        .random_source(ChaChaSource::from_seed(seed))
}

/// A server configuration with deterministic randomness.
pub fn server_config() -> ServerConfig {
    ServerConfig::new().random_source(ChaChaSource::from_seed(2))
}
