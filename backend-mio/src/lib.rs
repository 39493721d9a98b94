//! # sockette-mio
//!
//! The mio backend of sockette (to come, issue 5): a `Connection` registered in the
//! caller's own `mio::Poll`, driven by `handle_event` and `handle_timeout`, and a
//! ready-made `EventLoop` for many connections in one thread.

pub use sockette_core;
