//! Building a connection from its configuration: the first state (a handshake,
//! or `Open` for a stream upgraded elsewhere) and the layers under it
//! (transport, frame writer, decoder, timers, permessage-deflate).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use crate::config::{ClientConfig, Common, ServerConfig, UpgradedConfig};
use crate::config_error::ConfigError;
use crate::deflate::{DeflateCodec, DeflateConfig, Negotiated};
use crate::error::Error;
use crate::event::{Event, OpenInfo};
use crate::frame::{self, DecoderRules, FrameDecoder};
use crate::handshake::{self, ClientHandshake, HeadScan, ServerHandshake};
use crate::message::Assembler;
use crate::proxy::{ProxyScheme, ProxyStage};
use crate::rng::RandomSource;
use crate::stats::StatsRecorder;
use crate::timer::{Timer, Timers};
use crate::tls::{TlsClock, TlsSession};

use super::outbox::Outbox;
use super::proxied::Proxied;
use super::transport::{Tls, Transport};
use super::writer::FrameWriter;
use super::{Connection, Phase, Role};

impl Connection {
    /// A client connection; its handshake request is ready in `poll_transmit`.
    pub fn client(mut config: ClientConfig, now: Instant) -> Result<Connection, Error> {
        let mut rng = config.common.take_rng()?;
        let mut raw_key = [0u8; 16];
        rng.fill(&mut raw_key);
        let key = handshake::new_key(raw_key);
        let (handshake, request) = ClientHandshake::new(&config, &key)?;
        let transport = client_transport(&config, now)?;
        let mut conn = Connection::new(
            Role::Client,
            Phase::ClientHandshake {
                handshake,
                deflate: config.deflate,
                early: Vec::new(),
                close_queued: false,
            },
            config.common,
            rng,
            now,
        );
        conn.url = Some(config.url);
        conn.transport = transport;
        conn.ws_out().extend_from_slice(&request);
        conn.flush();
        Ok(conn)
    }

    /// A server connection waiting for the client's handshake request.
    pub fn server(mut config: ServerConfig, now: Instant) -> Result<Connection, Error> {
        let rng = config.common.take_rng()?;
        if let Some(deflate) = &config.deflate {
            deflate.validate()?;
        }
        let deflate = config.deflate;
        let handshake = ServerHandshake {
            protocols: config.protocols,
            deflate,
            max_size: config.common.limits.max_handshake_size,
            scan: HeadScan::default(),
        };
        let transport = match config.tls {
            Some(tls) => {
                let (tls, clock) = crate::tls::server_config_at(tls, config.wall_clock, now);
                Transport::tls(TlsSession::server(tls)?.with_clock(clock))
            }
            None => Transport::Plain,
        };
        let mut conn = Connection::new(
            Role::Server,
            Phase::ServerHandshake(handshake),
            config.common,
            rng,
            now,
        );
        conn.transport = transport;
        Ok(conn)
    }

    /// A connection that starts open, on a stream whose opening handshake was
    /// done elsewhere (by hyper, axum, a proxy library): frames flow at once.
    ///
    /// `role` is the side this end played in that handshake (a client masks its
    /// frames and expects unmasked ones; a server the reverse). `config` holds
    /// what the handshake agreed (subprotocol, permessage-deflate) and the
    /// limits, deadlines and keepalive. `leftover` is whatever was read past the
    /// end of the handshake's HTTP head (the peer may send frames right behind
    /// it): those bytes are the first input, decoded as `poll_event` asks.
    ///
    /// The transport is plain: TLS, if any, belongs to whoever did the upgrade,
    /// and the bytes given to [`handle_input`](Self::handle_input) are the
    /// WebSocket stream itself. The first event is [`Event::Open`], with the
    /// subprotocol and the extensions agreed, and no HTTP heads or headers (the
    /// handshake was not seen here); keepalive starts now, and there is no
    /// handshake deadline. Fails only when the random source cannot be seeded.
    ///
    /// ```
    /// use std::time::Instant;
    /// use sockette_core::{Connection, Event, Role, UpgradedConfig};
    ///
    /// // A server's HTTP stack answered 101 and read a little further: a masked
    /// // text frame "hi" the client sent right behind its request.
    /// let leftover = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    /// let mut ws = Connection::upgraded(Role::Server, UpgradedConfig::new(), Instant::now(), &leftover)?;
    /// assert!(matches!(ws.poll_event(), Some(Event::Open(_))));
    /// assert!(matches!(ws.poll_event(), Some(Event::Message(m)) if m.as_text() == Some("hi")));
    /// # Ok::<(), sockette_core::Error>(())
    /// ```
    pub fn upgraded(
        role: Role,
        mut config: UpgradedConfig,
        now: Instant,
        leftover: &[u8],
    ) -> Result<Connection, Error> {
        let rng = config.common.take_rng()?;
        let mut conn = Connection::new(role, Phase::Open { end: None }, config.common, rng, now);
        conn.timers.clear(Timer::Handshake);
        let mut info = OpenInfo {
            protocol: config.protocol,
            ..OpenInfo::default()
        };
        if let Some((agreed, deflate)) = &config.deflate {
            let ours = agreed.with_our_side(deflate, role == Role::Client);
            conn.enable_deflate(&ours, deflate);
            info.extensions.push(agreed.to_string());
        }
        conn.schedule_keepalive(now);
        conn.events.push_back(Event::Open(Box::new(info)));
        if !leftover.is_empty() {
            conn.stats.wire_received(leftover.len());
            conn.input.extend_from_slice(leftover);
        }
        Ok(conn)
    }

    /// Compresses and inflates messages with the parameters agreed: RSV1 is
    /// allowed on the first frame of a message from then on.
    pub(super) fn enable_deflate(&mut self, agreed: &Negotiated, config: &DeflateConfig) {
        let is_client = self.role == Role::Client;
        self.decoder.set_allowed_rsv(frame::RSV1);
        self.assembler
            .set_deflate(DeflateCodec::new(agreed, config, is_client));
        self.writer
            .set_deflate(DeflateCodec::new(agreed, config, is_client));
        self.stats.set_deflate();
    }

    fn new(
        role: Role,
        phase: Phase,
        common: Common,
        rng: Box<dyn RandomSource>,
        now: Instant,
    ) -> Connection {
        let rules = DecoderRules {
            expect_masked: role == Role::Server,
            allowed_rsv: 0,
            max_frame_size: common.limits.max_frame_size,
        };
        let mut timers = Timers::default();
        timers.set_after(Timer::Handshake, now, common.timeouts.handshake);
        Connection {
            role,
            phase,
            url: None,
            input: BytesMut::new(),
            lent: 0,
            text_in_place: Default::default(),
            spare: BytesMut::new(),
            spare_block: 0,
            tls_room: Vec::new(),
            transport: Transport::Plain,
            decoder: FrameDecoder::new(rules),
            assembler: Assembler::new(common.limits.max_message_size),
            outbox: Outbox::new(common.limits.max_buffered_output),
            writer: FrameWriter::new(role, rng, common.fragment_size),
            events: VecDeque::new(),
            limits: common.limits,
            timeouts: common.timeouts,
            unsent_before_open: None,
            timers,
            stats: StatsRecorder::default(),
            input_at: now,
            #[cfg(feature = "log")]
            created_at: now,
        }
    }
}

/// The client's transport: TLS with the server for `wss://`, through the
/// configured proxy's tunnel (and TLS with an `https://` proxy) if any.
fn client_transport(config: &ClientConfig, now: Instant) -> Result<Transport, Error> {
    let tls_to_proxy = config
        .configured_proxy()
        .is_some_and(|proxy| proxy.scheme() == ProxyScheme::Https);
    let tls = if config.url.is_secure() || tls_to_proxy {
        Some(config.tls.build(now)?)
    } else {
        None
    };
    let server_tls = |(tls_config, clock): &(Arc<rustls::ClientConfig>, Option<TlsClock>)| {
        TlsSession::client(tls_config.clone(), &config.url)
            .map(|session| session.with_clock(clock.clone()))
    };
    let Some(proxy) = config.configured_proxy() else {
        return Ok(match &tls {
            Some(tls) => Transport::tls(server_tls(tls)?),
            None => Transport::Plain,
        });
    };
    let mut to_proxy = Vec::new();
    let stage = ProxyStage::start(
        proxy,
        &config.url,
        config.common.limits.max_handshake_size,
        &mut to_proxy,
    )?;
    let link = match (&tls, tls_to_proxy) {
        (Some((tls_config, clock)), true) => Some(Tls::new(
            TlsSession::client_for(tls_config.clone(), proxy.host())
                .map_err(|error| match error {
                    Error::Config(ConfigError::InvalidTlsHost { host }) => {
                        Error::Config(ConfigError::InvalidProxyTlsHost { host })
                    }
                    other => other,
                })?
                .with_clock(clock.clone()),
        )),
        _ => None,
    };
    let server = match (&tls, config.url.is_secure()) {
        (Some(tls), true) => Some(Tls::new(server_tls(tls)?)),
        _ => None,
    };
    Ok(Transport::Proxied(Box::new(Proxied::new(
        proxy.clone(),
        stage,
        to_proxy,
        link,
        server,
    ))))
}
