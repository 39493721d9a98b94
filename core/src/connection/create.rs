//! Building a connection from its configuration: the first state (a handshake)
//! and the layers under it (transport, frame writer, decoder, timers).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::BytesMut;

use crate::config::{ClientConfig, Common, ServerConfig};
use crate::error::Error;
use crate::frame::{DecoderRules, FrameDecoder};
use crate::handshake::{self, ClientHandshake, HeadScan, ServerHandshake};
use crate::message::Assembler;
use crate::rng::RandomSource;
use crate::stats::StatsRecorder;
use crate::timer::{Timer, Timers};
use crate::tls::TlsSession;

use super::outbox::Outbox;
use super::transport::Transport;
use super::writer::FrameWriter;
use super::{Connection, Phase, Role};

impl Connection {
    /// A client connection; its handshake request is ready in `poll_transmit`.
    pub fn client(mut config: ClientConfig, now: Instant) -> Result<Connection, Error> {
        let mut rng = config.common.take_rng()?;
        let mut raw_key = [0u8; 16];
        rng.fill(&mut raw_key);
        let key = handshake::new_key(raw_key);
        let (handshake, request) = ClientHandshake::new(
            &config.url,
            &key,
            &config.protocols,
            config.origin.as_deref(),
            &config.headers,
            config.deflate,
            config.common.limits.max_handshake_size,
        )?;
        let transport = if config.url.is_secure() {
            {
                let (tls_config, clock) = config.tls.build(now)?;
                Transport::tls(TlsSession::client(tls_config, &config.url)?.with_clock(clock))
            }
        } else {
            Transport::Plain
        };
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
            timers,
            stats: StatsRecorder::default(),
            input_at: now,
            #[cfg(feature = "log")]
            created_at: now,
        }
    }
}
