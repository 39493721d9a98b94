//! # sockette-std
//!
//! The `std::net` backend of sockette (to come, issue 4): `Client::connect(url)`,
//! `run(callback)` and `dispatch(timeout)` calling the user back on the thread that
//! owns the client, and a `Sender` other threads use to queue messages. It only moves
//! bytes between a socket and [`sockette_core::Connection`].

pub use sockette_core;
