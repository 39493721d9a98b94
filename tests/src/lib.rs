//! Integration tests that span crates, against peers nobody here wrote, on
//! loopback: `tests/backends_agree.rs` runs one scripted exchange through
//! sockette-std and sockette-mio against the Python `websockets` server and
//! requires the same results from both. Each backend's own tests live beside it
//! (`backend-std/tests`, `backend-mio/tests`), the CLI's in `cli/tests`, and the
//! Autobahn|Testsuite runner is `tests/autobahn.sh`.
