//! Shared by the core benches: an open client connection, server frames encoded
//! once, in-memory streams for tungstenite, and the payloads.

#![allow(dead_code, unreachable_pub)] // helpers shared by bench binaries, each using a part

pub mod paired;
pub mod record;

use std::io::{self, Read, Write};
use std::time::Instant;

use sockette_core::frame::{encode_frame, FrameHeader, OpCode};
use sockette_core::{ClientConfig, Connection};

/// The message sizes measured: small, 1 KiB, 64 KiB, 1 MiB.
pub const SIZES: [usize; 4] = [16, 1 << 10, 64 << 10, 1 << 20];

/// How many messages one batch of input holds for a size: about 1 MiB of input
/// per batch, at least one message.
pub fn batch_len(size: usize) -> usize {
    ((1 << 20) / (size + 14)).clamp(1, 4096)
}

/// A readable label for a size.
pub fn label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{}MiB", s >> 20),
        s if s >= 1 << 10 => format!("{}KiB", s >> 10),
        s => format!("{s}B"),
    }
}

/// A client connection past its handshake, with nothing pending.
pub fn open_client() -> Connection {
    let config = ClientConfig::new("ws://bench.invalid/").unwrap();
    let client = sockette_testkit::open_client(config, Instant::now());
    assert_eq!(client.state(), sockette_core::State::Open);
    client
}

/// Text of `size` bytes, mostly ASCII with some two- and three-byte characters
/// (like JSON with names in other scripts), cut on a character boundary.
pub fn text_payload(size: usize) -> Vec<u8> {
    let pattern = "{\"id\":12345,\"name\":\"κόσμε\",\"price\":1.25,\"note\":\"€ ok\"} ";
    let mut s = String::with_capacity(size + 8);
    while s.len() < size {
        s.push_str(pattern);
    }
    let mut end = size;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut bytes = s.as_bytes()[..end].to_vec();
    bytes.resize(size, b' ');
    bytes
}

/// Binary payload of `size` bytes.
pub fn binary_payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 + 7) as u8).collect()
}

/// `count` unmasked server frames carrying `payload`, back to back.
pub fn server_frames(opcode: OpCode, payload: &[u8], count: usize) -> Vec<u8> {
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut wire = Vec::new();
    for _ in 0..count {
        encode_frame(&mut wire, &header, payload);
    }
    wire
}

/// A stream for tungstenite: reads come from `input` (then `WouldBlock`), writes
/// are counted and dropped.
pub struct MemStream {
    pub input: Vec<u8>,
    pub pos: usize,
    pub written: usize,
    /// The most one read returns (a socket read of this size).
    pub max_read: usize,
}

impl MemStream {
    pub fn new(input: Vec<u8>) -> Self {
        MemStream {
            input,
            pos: 0,
            written: 0,
            max_read: usize::MAX,
        }
    }
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len()).min(self.max_read);
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// tungstenite's client over a [`MemStream`], with limits as large as ours.
pub fn tungstenite_client(input: Vec<u8>) -> tungstenite::WebSocket<MemStream> {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(16 << 20));
    tungstenite::WebSocket::from_raw_socket(
        MemStream::new(input),
        tungstenite::protocol::Role::Client,
        Some(config),
    )
}

/// `count` distinct texts of `size` bytes each: ASCII with 2-, 3- and 4-byte
/// characters, a message number in each (shared/BENCHMARKING.md), each cut on
/// a character boundary and padded with spaces.
pub fn distinct_texts(size: usize, count: usize) -> Vec<Vec<u8>> {
    let pattern = "κ€𝄞#NNNN {\"id\":12345,\"name\":\"κόσμε\",\"price\":1.25,\"note\":\"€ ok\"} ";
    (0..count)
        .map(|i| {
            let unit = pattern.replace("NNNN", &format!("{i:04}"));
            let mut s = String::with_capacity(size + unit.len());
            while s.len() < size {
                s.push_str(&unit);
            }
            let mut end = size;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let mut bytes = s.as_bytes()[..end].to_vec();
            bytes.resize(size, b' ');
            debug_assert!(std::str::from_utf8(&bytes).is_ok());
            bytes
        })
        .collect()
}

/// `count` distinct binary payloads of `size` bytes.
pub fn distinct_binaries(size: usize, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| (0..size).map(|j| (j * 31 + i * 7 + 3) as u8).collect())
        .collect()
}

/// Unmasked server frames carrying `payloads`, back to back.
pub fn server_frames_of(opcode: OpCode, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for payload in payloads {
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        };
        encode_frame(&mut wire, &header, payload);
    }
    wire
}
