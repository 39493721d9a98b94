//! Each fuzz target's check, one module per target in `fuzz_targets/`: the
//! binaries call these, and `tests/regressions.rs` replays saved inputs through
//! them, so a saved input is checked exactly as the fuzzer checked it.

pub mod client_session;
pub mod close_payload;
pub mod frame_decoder;
pub mod handshake_response;
pub mod proxy_answer;
pub mod server_session;
pub mod tls_session;
pub mod utf8;
