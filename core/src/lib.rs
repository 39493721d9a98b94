//! # sockette-core
//!
//! A WebSocket (RFC 6455) engine with no I/O: no sockets, no threads, no clock,
//! no files.
//! Bytes read from the transport go in, events and bytes to write come out, and
//! time is passed in. The backends (`sockette-std`, `sockette-mio`) move the bytes;
//! tests and fuzzers drive the very same entry points in memory.
//!
//! That holds for TLS too: rustls' time is the wall-clock time the caller gives
//! ([`ClientConfig::wall_clock`], required for `wss://`) advanced by the `now` of
//! each input, and trusted roots are handed in
//! ([`ClientConfig::add_native_roots`]), never read from the system here; so is a
//! verifier that consults the system ([`ClientConfig::server_cert_verifier`]:
//! the backends' `platform-verifier` feature builds the operating system's). The
//! one read from the system is the default random source's seed (getrandom,
//! once per connection; [`RandomSource`] replaces it).
//!
//! And for proxies: with [`ClientConfig::proxy`] the connection opens a tunnel
//! (HTTP `CONNECT` through an `http://` or `https://` proxy, or SOCKS5) before
//! TLS with the server and the upgrade; the caller connects its transport to
//! the proxy's [`host`](Proxy::host) and [`port`](Proxy::port). Choosing the
//! proxy from the environment (`https_proxy`, `no_proxy`) is the backends' job:
//! the core reads none, and for `socks5://` the caller resolves the server's
//! name ([`Connection::resolve_proxy_destination`]).
//!
//! ## Driving a connection
//! After any input or command, drain the outputs in this order: events (answering
//! them as you go), then transmit, then read the next timeout. Frames are decoded
//! lazily by [`Connection::poll_event`], so an answer sent from an event handler
//! goes out before anything that arrived after that event is acted upon.
//!
//! ```
//! use std::time::Instant;
//! use sockette_core::{ClientConfig, CloseCode, Connection, Event, Message, ServerConfig};
//!
//! let now = Instant::now();
//! let mut client = Connection::client(ClientConfig::new("ws://example.org/chat")?, now)?;
//! let mut server = Connection::server(ServerConfig::new(), now)?;
//!
//! // A transport in memory: move what one side transmits to the other, then
//! // drain the receiver's events (frames are decoded as events are polled).
//! fn pump(from: &mut Connection, to: &mut Connection, now: Instant) -> Vec<Event> {
//!     while let Some(bytes) = from.poll_transmit() {
//!         let bytes = bytes.to_vec();
//!         from.advance_transmit(bytes.len());
//!         to.handle_input(now, &bytes);
//!     }
//!     std::iter::from_fn(|| to.poll_event()).collect()
//! }
//!
//! client.send_text("hello")?; // held until the handshake completes
//! let at_server = pump(&mut client, &mut server, now); // the request
//! assert!(matches!(at_server[0], Event::Open(_)));
//! let at_client = pump(&mut server, &mut client, now); // the 101 answer
//! assert!(matches!(at_client[0], Event::Open(_)));
//! let at_server = pump(&mut client, &mut server, now); // now "hello" goes out
//! assert!(matches!(&at_server[0], Event::Message(Message::Text(t)) if t == "hello"));
//!
//! client.close(now, CloseCode::Normal, "bye")?;
//! let at_server = pump(&mut client, &mut server, now); // the server echoes the close
//! assert!(matches!(&at_server[0], Event::Close(c) if c.reason == "bye"));
//! let at_client = pump(&mut server, &mut client, now);
//! assert!(matches!(&at_client[0], Event::Close(c) if c.was_clean && c.code == CloseCode::Normal));
//! assert!(client.is_closed() && server.is_closed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Guarantees
//! - Every input, however malformed, ends in an event, never a panic: a protocol
//!   violation fails the connection with close code 1002 (1007 for invalid UTF-8
//!   or invalid compressed data, 1009 for a limit) and an [`Event::Error`] saying
//!   which rule was broken.
//! - Memory: whatever the peer sends and however the transport ends, the heap a
//!   connection holds at once stays within [`Limits::max_message_size`] (the one
//!   message being assembled or inflated) + the input buffered and not yet
//!   decoded + [`Limits::max_buffered_output`] (held twice while a message is
//!   compressed into it) + a few KiB (plus zlib's state with permessage-deflate).
//!   Frames are decoded as [`Connection::poll_event`] asks for them: a caller
//!   that feeds input without polling holds all it fed.
//! - [`Event::Close`] is the last event, emitted exactly once.
//!
//! ## Internals
//! The modules `frame`, `mask` and `utf8` (the frame codec, masking, incremental
//! UTF-8 validation) are public only so that the fuzz targets (`fuzz/`) and the
//! benchmarks (`core/benches`) can drive them directly. They are hidden from the
//! documentation and are not part of the API: they may change in any release.
//! (Hidden rather than behind a cargo feature: this crate's own tests and
//! benchmarks use them, and cargo can enable a feature for them only through
//! `required-features`, which would silently skip them in a plain `cargo test`.)

// docs.rs (which sets `docsrs`) labels the items that a feature enables.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod close;
mod command_error;
mod config;
mod config_error;
mod connection;
mod deflate;
mod error;
mod event;
#[doc(hidden)]
pub mod frame;
mod handshake;
mod header_problem;
mod logging;
#[doc(hidden)]
pub mod mask;
mod message;
pub mod payload;
mod proxy;
mod redirect;
mod rejection;
mod rng;
mod send_cost;
mod stats;
mod timer;
mod tls;
mod url;
#[doc(hidden)]
pub mod utf8;

pub use close::{parse_close_payload, CloseCode, MAX_REASON_LEN};
pub use command_error::{CommandError, InvalidInput};
pub use config::{
    ClientConfig, Limits, ServerConfig, Timeouts, UpgradedConfig, DEFAULT_USER_AGENT,
};
pub use config_error::{ConfigError, PemItem};
pub use connection::{Connection, InputBuffer, InputBytes, Role, State};
pub use deflate::DeflateConfig;
pub use error::{
    CapacityError, CompressedDataError, ConnectionLostKind, Error, HandshakeError, MalformedHttp,
    ProtocolError, RandomError, TimeoutKind,
};
pub use event::{CloseInfo, Event, EventRef, Message, NotUtf8, OpenInfo, Text};
pub use handshake::{accept_key, WEBSOCKET_GUID};
pub use header_problem::{DeflateProblem, HeaderProblem};
pub use payload::Payload;
pub use proxy::{
    Proxy, ProxyError, ProxyErrorKind, ProxyScheme, ProxyStep, ProxyUrlError, SocksReply,
};
pub use redirect::{RedirectError, REDIRECT_CODES};
pub use rejection::MAX_REJECTION_BODY;
pub use rng::{ChaChaSource, RandomSource};
pub use send_cost::SendCost;
pub use stats::Stats;
pub use tls::{crypto_provider, TlsError, TlsErrorKind};
pub use url::{UrlError, WsUrl};

pub use bytes::Bytes;
pub use rustls;

/// The Rust examples of this crate's README.md (its page on crates.io), compiled
/// by `cargo test --doc` (and run, unless marked `no_run`) so that they cannot
/// drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
