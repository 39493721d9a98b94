//! # sockette-std
//!
//! A WebSocket client over `std::net`, in the manner of WLanguage's
//! `WebSocketClientConnectSSL(name, callback, server)` and the browser's
//! `WebSocket`: connect once, receive open / message / close / error in one
//! callback on your own thread, answer from inside it.
//!
//! ```no_run
//! use sockette_std::{Client, Event};
//!
//! let mut client = Client::connect("ws://127.0.0.1:9001/chat")?; // or Client::builder(url)...
//! client.run(|ws, event| match event {
//!     Event::Open(_) => {
//!         let _ = ws.send_text("hello from sockette");
//!     }
//!     Event::Message(msg) => println!("received {msg:?}"),
//!     Event::Close(info) => println!("closed: {} {}", info.code, info.reason),
//!     Event::Error(err) => eprintln!("socket error: {err}"),
//!     _ => {} // pings and pongs
//! })?;
//! # Ok::<(), sockette_std::Error>(())
//! ```
//!
//! ## The forms
//! - Synchronous: [`Client::connect`] / [`ClientBuilder::connect`] block until the
//!   connection is open and return `Result` (the failed step is named).
//! - Asynchronous: [`Client::start`] / [`ClientBuilder::start`] return at once;
//!   every outcome, a failure to connect included, arrives as an event.
//! - Driving: [`Client::run`] until closed; [`Client::dispatch`] for a program
//!   with its own main loop; [`Client::next_event`] for every event, and to
//!   pull messages (WLanguage's `SocketRead`) [`Client::recv`],
//!   [`Client::recv_timeout`], [`Client::try_recv`], or `for message in &mut
//!   client` until the close.
//! - Your own transport: [`ClientBuilder::connect_over`] runs TLS and the
//!   upgrade over a `TcpStream` you connected or a `UnixStream`;
//!   [`ClientBuilder::socket_options`] sets the socket up before a connect
//!   ([`SocketOptions`]: nodelay, TCP keepalive, a local address).
//! - A stream upgraded elsewhere: [`Client::from_upgraded_stream`] takes a
//!   `TcpStream` whose HTTP upgrade your own code did (either role) and runs it
//!   as any other connection.
//! - Other threads: [`Handle::sender`] (a [`Client`] derefs to its [`Handle`])
//!   gives a `Send + Clone` [`Sender`] that queues messages and a close and
//!   wakes the owner at once.
//!
//! ## Threads
//! The owner thread (the one calling `run`, `dispatch`, `next_event` or the
//! `recv` family) runs the protocol state machine, every read and write, and
//! every callback, sleeping in a readiness poll (`mio::Poll`) of the
//! connection's own that wakes as soon as bytes arrive, a timer is due, or a
//! [`Sender`] queues a message. No other thread runs but a short-lived one
//! for the host name's lookup (the system's lookup blocks), so
//! [`Client::start`] returns at once and `dispatch(timeout)` never blocks
//! past its timeout. The driving logic is `sockette_driver::Session`, the
//! same as sockette-mio's.
//!
//! The protocol is [`sockette_core::Connection`]'s; this crate moves bytes
//! between it and a socket, calls you back, and adds a policy of its own around
//! the close: commands are refused once the connection is closing, dropping an
//! open client closes it with 1001, and after the close the socket lingers up to
//! 1 s for the peer's end. See [`Client`] for its threads and backpressure.

// docs.rs (which sets `docsrs`) labels the items that a feature enables.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod client;
mod driver;
mod error;
mod event;
mod sender;

pub use builder::ClientBuilder;
pub use client::{Client, Handle, Messages};
pub use error::{ConfigFile, ConfigFileError, ConnectCause, ConnectError, ConnectStep, Error};
pub use event::Event;
pub use sender::Sender;
#[cfg(feature = "platform-verifier")]
pub use sockette_driver::platform_verifier;
pub use sockette_driver::{ProxyChoice, ProxyEnvError, SocketOptions, Transport};

pub use sockette_core;
pub use sockette_core::{
    Bytes, CloseCode, CloseInfo, CommandError, DeflateConfig, InvalidInput, Limits, Message,
    OpenInfo, Proxy, ProxyError, ProxyErrorKind, ProxyScheme, ProxyStep, Role, SocksReply, State,
    Stats, Text, UpgradedConfig,
};

/// The Rust examples of this crate's README.md (its page on crates.io), compiled
/// by `cargo test --doc` (and run, unless marked `no_run`) so that they cannot
/// drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
