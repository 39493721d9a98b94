//! # sockette-mio
//!
//! WebSocket client connections inside a `mio` event loop: yours, or the small
//! ready-made [`EventLoop`]. The protocol lives in [`sockette_core::Connection`];
//! this crate moves bytes between it and non-blocking sockets, calls you back on
//! the loop's thread, and adds a policy of its own around the close: [`Sender`]
//! commands are refused once the last event is delivered, and after the close the
//! socket lingers up to 1 s for our last bytes and the peer's end
//! ([`sockette_driver::LINGER`], the same in every backend).
//!
//! - [`Connection`]: created from a [`ClientConfig`] ([`Connection::start`]
//!   looks the host up on a thread of its own; [`Connection::connect`] and
//!   [`Connection::with_config`] on the calling thread;
//!   [`Connection::with_addr`] takes a resolved address),
//!   [`register`](Connection::register)ed under your `Token`, driven by
//!   [`handle_event`](Connection::handle_event) and
//!   [`handle_timeout`](Connection::handle_timeout) at
//!   [`poll_timeout`](Connection::poll_timeout). Your callback receives each
//!   [`Event`] with a [`Handle`] to answer from inside it.
//! - [`Connection::from_upgraded_stream`]: a stream whose HTTP upgrade was done
//!   elsewhere (either role), open at once, then driven like the others.
//! - [`Sender`]: `Send + Clone`, for other threads (the same one as every
//!   sockette backend's); wakes the loop through a `mio::Waker`; checked at
//!   once and bounded by `max_buffered_output`, commands go out in order, and
//!   are refused once the connection is closing.
//! - [`EventLoop`]: a `Poll`, a slab of connections, their deadlines, one waker —
//!   thousands of connections in one thread.
//! - [`ClientConfigFiles`]: the settings that come from files (a client
//!   certificate and its key), read when configuring; the core reads no files.
//!   The core's TLS options (`add_root_certificates_pem`, `add_native_roots`,
//!   `server_cert_verifier`...) are on [`ClientConfig`] itself; with the
//!   `platform-verifier` feature, `platform_verifier()` builds the operating
//!   system's verifier for it.
//!
//! Failures (refused connection, silent server, reset, untrusted certificate...)
//! arrive as [`Event::Error`] then [`Event::Close`], on the loop's thread, and
//! concern only their connection. An idle connection costs no CPU (readiness is
//! edge-triggered and nothing polls) but one keepalive ping per 20 s of silence
//! (on by default; `ClientConfig::no_keepalive` turns it off), and little
//! memory: reads start small (1 KiB) and grow only while a read fills what it
//! asked, the room to read into shrinks back once the traffic is small again,
//! and the core gives back large output buffers once written. Measured with
//! 10,000 idle connections in one `EventLoop` (`examples/many.rs`): about
//! 7 KiB each over `ws://`, 39 KiB over `wss://` (rustls' own state).
//!
//! ```no_run
//! use sockette_mio::{Event, EventLoop};
//!
//! let mut event_loop = EventLoop::new()?;
//! event_loop.connect("wss://example.org/chat")?;
//! event_loop.run(|ws, event| match event {
//!     Event::Open(_) => {
//!         let _ = ws.send_text("hello from sockette");
//!     }
//!     Event::Message(msg) => println!("received {msg:?}"),
//!     Event::Close(info) => println!("closed: {} {}", info.code, info.reason),
//!     Event::Error(err) => eprintln!("socket error: {err}"),
//!     _ => {} // pings and pongs
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod connection;
mod error;
mod event;
mod event_loop;
mod sender;

pub use connection::{Connection, Handle};
pub use error::{ConfigFile, ConfigFileError, ConnectCause, ConnectError, ConnectStep, Error};
pub use event::Event;
pub use event_loop::EventLoop;
pub use sender::Sender;
#[cfg(feature = "platform-verifier")]
pub use sockette_driver::platform_verifier;
pub use sockette_driver::ClientConfigFiles;
pub use sockette_driver::{ProxyChoice, ProxyEnvError, SocketOptions, Stream};

pub use mio;
pub use sockette_core;
pub use sockette_core::{
    Bytes, ClientConfig, CloseCode, CloseInfo, CommandError, DeflateConfig, InvalidInput, Limits,
    Message, OpenInfo, Proxy, ProxyError, ProxyErrorKind, ProxyScheme, ProxyStep, Role, SocksReply,
    State, Stats, Text, Timeouts, UpgradedConfig,
};

/// The Rust examples of this crate's README.md (its page on crates.io), compiled
/// by `cargo test --doc` (and run, unless marked `no_run`) so that they cannot
/// drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
