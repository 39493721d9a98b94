//! # sockette-core
//!
//! A WebSocket (RFC 6455) engine with no I/O: no sockets, no threads, no clock.
//! Bytes read from the transport go in, events and bytes to write come out, and
//! time is passed in. The backends (`sockette-std`, `sockette-mio`) move the bytes;
//! tests and fuzzers drive the very same entry points in memory.
//!
//! ## Driving a connection
//! After any input or command, drain the outputs in this order: events, then
//! transmit, then read the next timeout.
//!
//! ```
//! use std::time::Instant;
//! use sockette_core::{ClientConfig, CloseCode, Connection, Event, ServerConfig};
//!
//! let now = Instant::now();
//! let mut client = Connection::client(ClientConfig::new("ws://example.org/chat")?, now)?;
//! let mut server = Connection::server(ServerConfig::new(), now)?;
//!
//! // A transport in memory: move whatever one side transmits to the other.
//! fn pump(from: &mut Connection, to: &mut Connection, now: Instant) {
//!     while let Some(bytes) = from.poll_transmit() {
//!         let n = bytes.len();
//!         to.handle_input(now, &bytes.to_vec());
//!         from.advance_transmit(n);
//!     }
//! }
//!
//! client.send_text("hello")?;        // held until the handshake completes
//! pump(&mut client, &mut server, now);
//! pump(&mut server, &mut client, now);
//! assert!(matches!(client.poll_event(), Some(Event::Open(_))));
//! assert!(matches!(server.poll_event(), Some(Event::Open(_))));
//!
//! pump(&mut client, &mut server, now);
//! match server.poll_event() {
//!     Some(Event::Message(m)) => assert_eq!(m.as_bytes(), b"hello"),
//!     other => panic!("{other:?}"),
//! }
//!
//! client.close(now, CloseCode::Normal, "bye")?;
//! pump(&mut client, &mut server, now);
//! pump(&mut server, &mut client, now);
//! match client.poll_event() {
//!     Some(Event::Close(c)) => assert!(c.was_clean && c.code == CloseCode::Normal),
//!     other => panic!("{other:?}"),
//! }
//! assert!(client.is_closed());
//! # Ok::<(), sockette_core::Error>(())
//! ```
//!
//! ## Guarantees
//! - Every input, however malformed, ends in an event, never a panic: a protocol
//!   violation fails the connection with close code 1002 (1007 for invalid UTF-8,
//!   1009 for a limit) and an [`Event::Error`] saying which rule was broken.
//! - Memory is bounded by [`Limits`]: frame, message, handshake and output sizes.
//! - [`Event::Close`] is the last event, emitted exactly once.

mod close;
mod config;
mod connection;
mod error;
mod event;
pub mod frame;
mod handshake;
pub mod mask;
mod message;
mod rng;
mod timer;
mod tls;
mod url;
pub mod utf8;

pub use close::{parse_close_payload, CloseCode, MAX_REASON_LEN};
pub use config::{ClientConfig, Limits, ServerConfig, Timeouts};
pub use connection::{Connection, Role, State};
pub use error::{CapacityError, Error, HandshakeError, ProtocolError, TimeoutKind};
pub use event::{CloseInfo, Event, Message, OpenInfo, Text};
pub use handshake::{accept_key, WEBSOCKET_GUID};
pub use rng::{ChaChaSource, RandomSource};
pub use tls::{TlsError, TlsErrorKind};
pub use url::{UrlError, WsUrl};

pub use bytes::Bytes;
pub use rustls;
