//! One connection fed hand-crafted peer bytes: [`Raw`], and [`open_client`], a
//! client past a valid handshake answered by hand.

use std::time::{Duration, Instant};

use sockette_core::{ClientConfig, Connection, Event, Role, ServerConfig};

use crate::codec::{parse_frames, WireFrame};
use crate::config::{client_config, server_config, URL};
use crate::handshake::{response_101, VALID_REQUEST};

/// One connection whose peer is the test itself: a client already past a valid
/// handshake (`Raw::open_client`), or a server past a valid request
/// (`Raw::open_server`), so tests can inject any frame.
pub struct Raw {
    /// The connection under test.
    pub conn: Connection,
    /// The simulated clock.
    pub now: Instant,
    /// The client's handshake request (for `open_client`/`connecting_client`).
    pub request: String,
    /// Every event the connection emitted (checked by `check_event_order`).
    pub history: Vec<Event>,
}

impl Raw {
    /// A client that sent its request and got no answer yet. The request is read
    /// from `poll_transmit` (and marked as written).
    pub fn connecting_client(config: ClientConfig) -> Raw {
        Raw::connecting_client_at(config, Instant::now())
    }

    /// [`Raw::connecting_client`] with its clock at `now`.
    pub fn connecting_client_at(config: ClientConfig, now: Instant) -> Raw {
        let mut conn = Connection::client(config, now).expect("client config is valid");
        let request = take_output(&mut conn);
        Raw {
            conn,
            now,
            request: String::from_utf8(request).expect("the request is ASCII"),
            history: Vec::new(),
        }
    }

    /// A client past a valid handshake (its `Open` event consumed).
    pub fn open_client(config: ClientConfig) -> Raw {
        Raw::open_client_at(config, Instant::now())
    }

    /// [`Raw::open_client`] with its clock at `now`.
    pub fn open_client_at(config: ClientConfig, now: Instant) -> Raw {
        let mut raw = Raw::connecting_client_at(config, now);
        let response = response_101(&raw.request, "");
        let events = raw.feed(response.as_bytes());
        assert!(matches!(events.as_slice(), [Event::Open(_)]), "{events:?}");
        raw
    }

    /// A default client past a valid handshake.
    pub fn client() -> Raw {
        Raw::open_client(client_config(URL))
    }

    /// A server that has read nothing yet.
    pub fn connecting_server(config: ServerConfig) -> Raw {
        let now = Instant::now();
        Raw {
            conn: Connection::server(config, now).expect("server config is valid"),
            now,
            request: String::new(),
            history: Vec::new(),
        }
    }

    /// A default server fed `request` in one read, its events kept in `history`.
    pub fn open_server_answer(request: impl AsRef<[u8]>) -> Raw {
        let mut raw = Raw::connecting_server(server_config());
        raw.feed(request.as_ref());
        raw
    }

    /// A server that accepted a valid request (its `Open` event consumed and its
    /// 101 answer taken from `poll_transmit`).
    pub fn open_server(config: ServerConfig) -> Raw {
        let mut raw = Raw::connecting_server(config);
        let events = raw.feed(VALID_REQUEST.as_bytes());
        assert!(matches!(events.as_slice(), [Event::Open(_)]), "{events:?}");
        let answer = raw.take_output();
        assert!(answer.starts_with(b"HTTP/1.1 101 "));
        raw
    }

    /// A default server past a valid request.
    pub fn server() -> Raw {
        Raw::open_server(server_config())
    }

    /// Feeds `bytes` in one read; returns the events that followed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.conn.handle_input(self.now, bytes);
        self.events()
    }

    /// Feeds `bytes` one byte per read; returns the events that followed.
    pub fn feed_bytewise(&mut self, bytes: &[u8]) -> Vec<Event> {
        for b in bytes {
            self.conn.handle_input(self.now, std::slice::from_ref(b));
        }
        self.events()
    }

    /// Signals the end of the transport; returns the events that followed.
    pub fn eof(&mut self) -> Vec<Event> {
        self.conn.handle_eof(self.now);
        self.events()
    }

    /// Moves the clock forward and runs the timers; returns the events that followed.
    pub fn advance(&mut self, by: Duration) -> Vec<Event> {
        self.now += by;
        self.conn.handle_timeout(self.now);
        self.events()
    }

    /// Drains the pending events.
    pub fn events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            self.history.push(e.clone());
            out.push(e);
        }
        out
    }

    /// Takes everything the connection wants to write.
    pub fn take_output(&mut self) -> Vec<u8> {
        take_output(&mut self.conn)
    }

    /// Takes and decodes the frames the connection wrote. A client's frames must be
    /// masked, a server's must not.
    pub fn sent_frames(&mut self) -> Vec<WireFrame> {
        let bytes = self.take_output();
        let frames = parse_frames(&bytes);
        let expect_masked = self.conn.role() == Role::Client;
        for f in &frames {
            assert_eq!(f.mask.is_some(), expect_masked, "mask bit of {f:?}");
        }
        frames
    }
}

/// A client made from `config` (used as given: seed it for a repeatable run) at
/// `now`, past a valid handshake answered by hand; its request is marked written
/// and its `Open` event consumed.
pub fn open_client(config: ClientConfig, now: Instant) -> Connection {
    Raw::open_client_at(config, now).conn
}

/// Takes everything `conn` wants to write, marking it written.
pub fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len();
        out.extend_from_slice(bytes);
        conn.advance_transmit(n);
    }
    out
}
