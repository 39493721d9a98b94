//! Integration tests that span crates, against peers nobody here wrote, on
//! loopback: `tests/backends_agree.rs` runs one scripted exchange through
//! sockette-std and sockette-mio against the Python `websockets` server and
//! requires the same results from both. Each backend's own tests live beside it
//! (`backend-std/tests`, `backend-mio/tests`), the CLI's in `cli/tests`, and the
//! Autobahn|Testsuite runner is `tests/autobahn.sh`.

/// The Rust examples of the repository's README.md, compiled by `cargo test --doc`
/// (and run, unless marked `no_run`) so that they cannot drift from the API. They
/// live in this crate because it sees every published crate and is never
/// published itself (the README is outside the other crates' packages).
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
