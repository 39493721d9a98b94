//! What sockette's tests share, written once: used by the core's tests, the
//! backends' and the CLI's tests, `tests/` and the fuzz crate. Not published;
//! only ever a dev-dependency.
//!
//! - In memory: [`Pair`], a client and a server joined by a transport that cuts
//!   the bytes as told ([`Chunking`]), with a simulated clock; [`Raw`], one
//!   connection whose peer is the test itself; [`open_client`]; [`drive`], two
//!   connections pumped into each other; [`Clock`].
//! - [`codec`]: a frame encoder and decoder written apart from the core's
//!   `frame` module (a peer built from the core's own codec would share its
//!   bugs), and [`handshake`]: requests and 101 answers written by hand.
//! - [`check`]: the invariants every connection keeps, on its events
//!   ([`EventCheck`], [`check_event_order`]) and on what it writes
//!   ([`WireCheck`]), shared by the property tests and the fuzz targets.
//! - [`serve()`]: the core's server role over a blocking `TcpStream`, the test
//!   servers' driver.
//! - [`pki`]: certificates made at test time with rcgen, as rustls
//!   configurations and PEM files.
//! - [`python`]: the Python `websockets` echo server, in a virtual environment
//!   the tests make themselves.
//! - [`proxies`]: real HTTP CONNECT and SOCKS5 proxies on loopback (tinyproxy,
//!   microsocks, and the Python `pproxy`), started and stopped by the tests.
//!
//! Every random choice is seeded: a failing test fails the same way every time.

pub mod check;
pub mod chunking;
pub mod clock;
pub mod codec;
pub mod config;
pub mod handshake;
pub mod pair;
pub mod pki;
pub mod proxies;
pub mod python;
pub mod raw;
pub mod serve;
pub mod silent;

pub use check::{
    assert_close_frame_sent, assert_failed, check_event_order, check_events, final_close,
    the_error, EventCheck, WireCheck,
};
pub use chunking::{cut, Chunking, XorShift};
pub use clock::Clock;
pub use codec::{close_payload, frame, masked_frame, op, parse_frames, raw_frame, WireFrame};
pub use config::{client_config, client_config_seeded, server_config, wall_clock, URL};
pub use handshake::{header_value, key_of, response_101, VALID_REQUEST};
pub use pair::{drive, drive_at, Pair, Side};
pub use pki::{Leaf, Pem, Pki, PkiFiles};
pub use proxies::{ProxyServer, Unavailable};
pub use python::PythonEchoServer;
pub use raw::{open_client, take_output, Raw};
pub use serve::{read_head_and, serve};
