//! permessage-deflate (RFC 7692): the offer, the validation of the server's answer
//! (and the answer to a client's offer, for the server role), and the per-message
//! codec. Inflation is incremental and bounded: output is produced in small steps
//! and the message size limit applies to it as it grows, so a small frame that
//! inflates to gigabytes fails with 1009 having used at most the limit.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::{CapacityError, Error, HandshakeError, ProtocolError};

/// The extension's registered name.
pub(crate) const EXTENSION_NAME: &str = "permessage-deflate";

/// RFC 7692 §7.2.1: the tail a sync flush leaves, removed before sending and
/// appended before inflating.
const SYNC_FLUSH_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// zlib cannot compress with a window under 2^9; a smaller negotiated window
/// means we send uncompressed, and inflating with 2^9 reads any 2^8 stream.
const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// How much inflated output is produced per step before the limit is checked.
const INFLATE_STEP: usize = 32 << 10;

/// What a client offers (or a server accepts) for permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// The largest window (log2, 8..=15) the client's compressor will use; the
    /// server may lower it. Default 15.
    pub client_max_window_bits: u8,
    /// Asks the server to use at most this window (8..=15). Default: no request.
    pub server_max_window_bits: Option<u8>,
    /// The client resets its compressor after each message (saves memory on both
    /// sides, compresses less). Default false.
    pub client_no_context_takeover: bool,
    /// Asks the server to reset its compressor after each message. Default false.
    pub server_no_context_takeover: bool,
    /// zlib compression level, 0..=9. Default 6.
    pub level: u32,
    /// Messages shorter than this go uncompressed. Default 64 bytes.
    pub min_compress_size: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            client_max_window_bits: 15,
            server_max_window_bits: None,
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            level: 6,
            min_compress_size: 64,
        }
    }
}

impl DeflateConfig {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bits_ok = |b: u8| (8..=15).contains(&b);
        if !bits_ok(self.client_max_window_bits) || !self.server_max_window_bits.is_none_or(bits_ok)
        {
            return Err(Error::Config(
                "permessage-deflate window bits must be within 8..=15".into(),
            ));
        }
        if self.level > 9 {
            return Err(Error::Config("zlib compression level must be 0..=9".into()));
        }
        Ok(())
    }

    /// The `Sec-WebSocket-Extensions` value a client sends.
    pub(crate) fn offer(&self) -> String {
        let mut offer = String::from(EXTENSION_NAME);
        if self.client_max_window_bits == 15 {
            offer.push_str("; client_max_window_bits");
        } else {
            offer.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        }
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        offer
    }
}

/// The parameters both sides agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// Window the client compresses with (log2).
    pub(crate) client_max_window_bits: u8,
    /// Window the server compresses with (log2).
    pub(crate) server_max_window_bits: u8,
    /// The client resets its compression context after each message.
    pub(crate) client_no_context_takeover: bool,
    /// The server resets its compression context after each message.
    pub(crate) server_no_context_takeover: bool,
}

impl fmt::Display for Negotiated {
    /// The response form of the agreement, as a server sends it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXTENSION_NAME)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if self.server_max_window_bits != 15 {
            write!(
                f,
                "; server_max_window_bits={}",
                self.server_max_window_bits
            )?;
        }
        if self.client_max_window_bits != 15 {
            write!(
                f,
                "; client_max_window_bits={}",
                self.client_max_window_bits
            )?;
        }
        Ok(())
    }
}

/// One extension of a `Sec-WebSocket-Extensions` list: its name and parameters.
#[derive(Debug)]
struct Element<'a> {
    name: &'a str,
    params: Vec<(&'a str, Option<&'a str>)>,
}

/// Splits a header value into extension elements (RFC 6455 §9.1 grammar, with
/// quoted values unquoted). Commas inside quotes are not supported: no
/// permessage-deflate parameter needs them.
fn parse_elements(value: &str) -> Vec<Element<'_>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|element| {
            let mut parts = element.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let params = parts
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                    None => (p, None),
                })
                .collect();
            Element { name, params }
        })
        .collect()
}

fn bits_value(name: &str, value: Option<&str>) -> Result<u8, String> {
    let text = value.ok_or_else(|| format!("{name} needs a value"))?;
    match text.parse::<u8>() {
        Ok(bits) if (8..=15).contains(&bits) && !text.starts_with('0') => Ok(bits),
        _ => Err(format!("{name}={text} is not a window size in 8..=15")),
    }
}

fn extension_error(problem: String) -> HandshakeError {
    HandshakeError::BadHeader {
        name: "Sec-WebSocket-Extensions",
        problem,
    }
}

/// Validates the server's answer to our offer (RFC 7692 §7.1). `values` are the
/// `Sec-WebSocket-Extensions` header values; none means deflate was declined.
pub(crate) fn accept_response(
    values: &[&str],
    offer: &DeflateConfig,
) -> Result<Option<Negotiated>, HandshakeError> {
    let elements: Vec<Element<'_>> = values.iter().flat_map(|v| parse_elements(v)).collect();
    let mut agreed = None;
    for element in &elements {
        if !element.name.eq_ignore_ascii_case(EXTENSION_NAME) {
            return Err(HandshakeError::UnexpectedExtension(
                element.name.to_string(),
            ));
        }
        if agreed.is_some() {
            return Err(extension_error(
                "permessage-deflate accepted more than once".into(),
            ));
        }
        let mut negotiated = Negotiated {
            client_max_window_bits: offer.client_max_window_bits,
            server_max_window_bits: 15,
            client_no_context_takeover: offer.client_no_context_takeover,
            server_no_context_takeover: false,
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in &element.params {
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return Err(extension_error(format!("parameter {name} appears twice")));
            }
            seen.push(name);
            match name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" if value.is_none() => {
                    negotiated.server_no_context_takeover = true
                }
                "client_no_context_takeover" if value.is_none() => {
                    negotiated.client_no_context_takeover = true
                }
                "server_max_window_bits" => {
                    let bits = bits_value(name, *value).map_err(extension_error)?;
                    if offer
                        .server_max_window_bits
                        .is_some_and(|asked| bits > asked)
                    {
                        return Err(extension_error(format!(
                            "server_max_window_bits={bits} exceeds the {} requested",
                            offer.server_max_window_bits.unwrap_or(15)
                        )));
                    }
                    negotiated.server_max_window_bits = bits;
                }
                "client_max_window_bits" => {
                    let bits = bits_value(name, *value).map_err(extension_error)?;
                    negotiated.client_max_window_bits = bits.min(offer.client_max_window_bits);
                }
                _ => {
                    return Err(extension_error(format!(
                        "unknown or malformed permessage-deflate parameter {:?}",
                        match value {
                            Some(v) => format!("{name}={v}"),
                            None => name.to_string(),
                        }
                    )))
                }
            }
        }
        if offer.server_no_context_takeover && !negotiated.server_no_context_takeover {
            // §7.1.1.1: a server accepting must honour the request.
            return Err(extension_error(
                "server_no_context_takeover was requested but not granted".into(),
            ));
        }
        if let Some(asked) = offer.server_max_window_bits {
            if negotiated.server_max_window_bits > asked {
                return Err(extension_error(
                    "server_max_window_bits was requested but not granted".into(),
                ));
            }
        }
        agreed = Some(negotiated);
    }
    Ok(agreed)
}

/// For the server role: picks the first acceptable offer among the client's
/// `Sec-WebSocket-Extensions` values, or none (deflate declined).
pub(crate) fn answer_offers(values: &[&str], ours: &DeflateConfig) -> Option<Negotiated> {
    values
        .iter()
        .flat_map(|v| parse_elements(v))
        .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|offer| {
            let mut agreed = Negotiated {
                client_max_window_bits: 15,
                server_max_window_bits: ours.server_max_window_bits.unwrap_or(15),
                client_no_context_takeover: ours.client_no_context_takeover,
                server_no_context_takeover: ours.server_no_context_takeover,
            };
            let mut client_bits: Option<u8> = None;
            let mut seen: Vec<&str> = Vec::new();
            for (name, value) in &offer.params {
                if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                    return None;
                }
                seen.push(name);
                match (name.to_ascii_lowercase().as_str(), value) {
                    ("server_no_context_takeover", None) => {
                        agreed.server_no_context_takeover = true
                    }
                    ("client_no_context_takeover", None) => {
                        agreed.client_no_context_takeover = true
                    }
                    ("server_max_window_bits", v) => {
                        let bits = bits_value(name, *v).ok()?;
                        agreed.server_max_window_bits = agreed.server_max_window_bits.min(bits);
                    }
                    ("client_max_window_bits", None) => client_bits = Some(15),
                    ("client_max_window_bits", v) => client_bits = Some(bits_value(name, *v).ok()?),
                    _ => return None,
                }
            }
            // §7.1.2.2: we may bound the client's window only if it allowed us to.
            if let Some(bits) = client_bits {
                agreed.client_max_window_bits = bits.min(ours.client_max_window_bits);
            }
            Some(agreed)
        })
}

/// Compresses and inflates messages with the agreed parameters. zlib state is
/// created on first use and dropped after each message when the context is not
/// taken over, so connections that do not compress pay nothing.
pub(crate) struct DeflateCodec {
    /// Our compressor's window; `None` when below zlib's minimum (we send plain).
    send_window_bits: Option<u8>,
    send_reset: bool,
    recv_window_bits: u8,
    recv_reset: bool,
    level: u32,
    min_compress_size: usize,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
    /// The message being inflated ended its deflate stream (a final block) in an
    /// earlier piece: any further compressed byte of the message is invalid.
    stream_ended: bool,
}

impl fmt::Debug for DeflateCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeflateCodec")
            .field("send_window_bits", &self.send_window_bits)
            .field("recv_window_bits", &self.recv_window_bits)
            .finish_non_exhaustive()
    }
}

impl DeflateCodec {
    /// `is_client` picks which half of the agreement applies to our sending.
    pub(crate) fn new(agreed: &Negotiated, config: &DeflateConfig, is_client: bool) -> Self {
        let (send_bits, send_reset, recv_bits, recv_reset) = if is_client {
            (
                agreed.client_max_window_bits,
                agreed.client_no_context_takeover,
                agreed.server_max_window_bits,
                agreed.server_no_context_takeover,
            )
        } else {
            (
                agreed.server_max_window_bits,
                agreed.server_no_context_takeover,
                agreed.client_max_window_bits,
                agreed.client_no_context_takeover,
            )
        };
        DeflateCodec {
            send_window_bits: (send_bits >= ZLIB_MIN_WINDOW_BITS).then_some(send_bits),
            send_reset,
            recv_window_bits: recv_bits.max(ZLIB_MIN_WINDOW_BITS),
            recv_reset,
            level: config.level,
            min_compress_size: config.min_compress_size,
            compressor: None,
            decompressor: None,
            stream_ended: false,
        }
    }

    /// Compresses a whole message payload into `out`, or returns false (and
    /// leaves `out` alone) when the message should go uncompressed.
    pub(crate) fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(bits) = self.send_window_bits else {
            return false;
        };
        if payload.len() < self.min_compress_size {
            return false;
        }
        let level = Compression::new(self.level);
        let compressor = self
            .compressor
            .get_or_insert_with(|| Compress::new_with_window_bits(level, false, bits));
        let start = out.len();
        out.reserve(payload.len() / 2 + 64);
        let before_in = compressor.total_in();
        loop {
            let consumed = (compressor.total_in() - before_in) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            // Compression of bytes in memory into a growing Vec cannot fail.
            let _ = compressor.compress_vec(&payload[consumed..], out, FlushCompress::Sync);
            let consumed = (compressor.total_in() - before_in) as usize;
            // Done when all input is in and the flush fit (spare room remains).
            if consumed == payload.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out[start..].ends_with(&SYNC_FLUSH_TAIL) {
            out.truncate(out.len() - SYNC_FLUSH_TAIL.len());
        }
        if out.len() == start {
            // An empty deflate block: RFC 7692 §7.2.3.6 sends a single 0x00.
            out.push(0x00);
        }
        if self.send_reset {
            self.compressor = None;
        }
        true
    }

    /// Inflates one piece of a compressed message into `out`; `end` marks the last
    /// piece (the sync-flush tail is then appended). `out` never grows past
    /// `limit`: output is produced in bounded steps and checked before it is kept.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        end: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error> {
        let bits = self.recv_window_bits;
        let inflater = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let invalid = |why: String| Error::Protocol(ProtocolError::InvalidCompressedData(why));
        let tail: &[u8] = if end { &SYNC_FLUSH_TAIL } else { &[] };
        let mut step = [0u8; INFLATE_STEP];
        let mut stream_ended = self.stream_ended;
        if stream_ended && !input.is_empty() {
            return Err(invalid(
                "data after the final deflate block of the message".into(),
            ));
        }
        for (index, piece) in [input, tail].into_iter().enumerate() {
            let mut pos = 0;
            while !stream_ended {
                // One byte of room past the limit reveals output that would exceed it.
                let room = limit.saturating_sub(out.len()).min(INFLATE_STEP - 1) + 1;
                let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
                let status = inflater
                    .decompress(&piece[pos..], &mut step[..room], FlushDecompress::Sync)
                    .map_err(|e| invalid(e.to_string()))?;
                let consumed = (inflater.total_in() - in_before) as usize;
                let produced = (inflater.total_out() - out_before) as usize;
                pos += consumed;
                if out.len() + produced > limit {
                    return Err(CapacityError::MessageTooLarge {
                        size: (out.len() + produced) as u64,
                        limit,
                    }
                    .into());
                }
                crate::message::extend_within(out, &step[..produced], limit);
                stream_ended = status == Status::StreamEnd;
                // The tail (index 1) may follow a final block; message bytes may not.
                if stream_ended && pos < piece.len() && index == 0 {
                    return Err(invalid(
                        "data after the final deflate block of the message".into(),
                    ));
                }
                if pos == piece.len() && produced < room {
                    break;
                }
                if consumed == 0 && produced == 0 {
                    return Err(invalid("the deflate stream stopped making progress".into()));
                }
            }
        }
        self.stream_ended = stream_ended && !end;
        if end && (self.recv_reset || stream_ended) {
            self.decompressor = None;
        }
        Ok(())
    }
}
