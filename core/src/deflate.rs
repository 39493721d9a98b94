//! permessage-deflate (RFC 7692): the offer, the validation of the server's answer
//! (and the answer to a client's offer, for the server role), and the per-message
//! codec. Inflation is incremental and bounded: output is produced in small steps
//! and the message size limit applies to it as it grows, so a small frame that
//! inflates to gigabytes fails with 1009 having used at most the limit.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::config_error::ConfigError;
use crate::error::{CapacityError, CompressedDataError, Error, HandshakeError, ProtocolError};
use crate::header_problem::DeflateProblem;

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
///
/// ```
/// use sockette_core::DeflateConfig;
///
/// let deflate = DeflateConfig::default().client_no_context_takeover(true).level(1);
/// assert!(deflate.client_no_context_takeover);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
        DeflateConfig::new()
    }
}

impl DeflateConfig {
    /// The defaults, usable in a `const` (`DeflateConfig::default()` elsewhere).
    pub const fn new() -> Self {
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

crate::config::field_setters!(DeflateConfig {
    client_max_window_bits: u8,
    server_max_window_bits: Option<u8>,
    client_no_context_takeover: bool,
    server_no_context_takeover: bool,
    level: u32,
    min_compress_size: usize,
});

impl DeflateConfig {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let out_of_range = [
            Some(self.client_max_window_bits),
            self.server_max_window_bits,
        ]
        .into_iter()
        .flatten()
        .find(|bits| !(8..=15).contains(bits));
        if let Some(bits) = out_of_range {
            return Err(ConfigError::InvalidWindowBits { bits }.into());
        }
        if self.level > 9 {
            return Err(ConfigError::InvalidCompressionLevel { level: self.level }.into());
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

/// One extension of a `Sec-WebSocket-Extensions` list: its name and parameters,
/// each value as written (surrounding whitespace removed, quotes kept).
#[derive(Debug)]
struct Element<'a> {
    name: &'a str,
    params: Vec<(&'a str, Option<&'a str>)>,
}

/// Splits a header value into extension elements (RFC 6455 §9.1 grammar). Commas
/// and semicolons inside quotes are not supported: no permessage-deflate
/// parameter value may contain them.
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
                    Some((k, v)) => (k.trim(), Some(v.trim())),
                    None => (p, None),
                })
                .collect();
            Element { name, params }
        })
        .collect()
}

/// Which negotiation text is being read: what RFC 7692 §7.1 allows differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// A client's offer (read by the server role).
    Offer,
    /// A server's answer to our offer (read by the client role).
    Answer,
}

/// The parameters of one permessage-deflate element, each checked against RFC 7692
/// §7.1 but not yet against what the other side asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value, which only an offer may do.
    client_max_window_bits: Option<Option<u8>>,
}

/// Reads an element's parameters strictly: only the four of RFC 7692, each at most
/// once, the `*_no_context_takeover` ones without a value, window sizes as a
/// decimal 8..=15 without sign or leading zero (plain or in quotes), and
/// `client_max_window_bits` without a value only in an offer. Every error carries
/// the parameter's name.
fn read_params(params: &[(&str, Option<&str>)], side: Side) -> Result<Params, DeflateProblem> {
    let mut read = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    for &(name, value) in params {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            return Err(DeflateProblem::RepeatedParameter {
                name: name.to_string(),
            });
        }
        seen.push(name);
        let flag = |flag: &mut bool| match value {
            None => {
                *flag = true;
                Ok(())
            }
            Some(v) => Err(DeflateProblem::ValueNotAllowed {
                name: name.to_string(),
                value: v.to_string(),
            }),
        };
        match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" => flag(&mut read.server_no_context_takeover)?,
            "client_no_context_takeover" => flag(&mut read.client_no_context_takeover)?,
            "server_max_window_bits" => {
                let value = value.ok_or_else(|| DeflateProblem::ValueRequired {
                    name: name.to_string(),
                })?;
                read.server_max_window_bits = Some(window_bits(name, value)?);
            }
            "client_max_window_bits" => {
                read.client_max_window_bits = Some(match (value, side) {
                    (Some(value), _) => Some(window_bits(name, value)?),
                    (None, Side::Offer) => None,
                    (None, Side::Answer) => {
                        return Err(DeflateProblem::ValueRequiredInAnswer {
                            name: name.to_string(),
                        })
                    }
                });
            }
            _ => {
                return Err(DeflateProblem::UnknownParameter {
                    name: name.to_string(),
                    value: value.map(str::to_string),
                })
            }
        }
    }
    Ok(read)
}

/// A window size value (RFC 7692 §7.1.2): `1*DIGIT` without leading zero, in
/// 8..=15, as a token or a quoted-string whose content (after removing `\`
/// escapes, RFC 7230 §3.2.6) is that token.
fn window_bits(name: &str, raw: &str) -> Result<u8, DeflateProblem> {
    let text = match raw.strip_prefix('"') {
        None => raw.to_string(),
        Some(quoted) => {
            let unbalanced = || DeflateProblem::UnbalancedQuote {
                name: name.to_string(),
                value: raw.to_string(),
            };
            let inner = quoted.strip_suffix('"').ok_or_else(unbalanced)?;
            let mut text = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    // A backslash last escapes the closing quote itself.
                    '\\' => text.push(chars.next().ok_or_else(unbalanced)?),
                    '"' => return Err(unbalanced()),
                    c => text.push(c),
                }
            }
            text
        }
    };
    let decimal = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u8>() {
        Ok(bits) if decimal && !text.starts_with('0') && (8..=15).contains(&bits) => Ok(bits),
        _ => Err(DeflateProblem::InvalidWindowBits {
            name: name.to_string(),
            value: raw.to_string(),
        }),
    }
}

/// Validates the server's answer to our offer (RFC 7692 §7.1). `values` are the
/// `Sec-WebSocket-Extensions` header values; none means deflate was declined.
/// A parameter that is malformed, repeated or unknown fails the handshake with a
/// [`DeflateProblem`] naming it (§5: the client must fail the connection).
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
            return Err(HandshakeError::Deflate(DeflateProblem::AcceptedTwice));
        }
        let params = read_params(&element.params, Side::Answer).map_err(HandshakeError::Deflate)?;
        let mut negotiated = Negotiated {
            client_max_window_bits: offer.client_max_window_bits,
            server_max_window_bits: 15,
            client_no_context_takeover: offer.client_no_context_takeover
                || params.client_no_context_takeover,
            server_no_context_takeover: params.server_no_context_takeover,
        };
        if let Some(bits) = params.server_max_window_bits {
            if let Some(asked) = offer.server_max_window_bits.filter(|&asked| bits > asked) {
                return Err(HandshakeError::Deflate(
                    DeflateProblem::ServerWindowTooLarge {
                        bits,
                        requested: asked,
                    },
                ));
            }
            negotiated.server_max_window_bits = bits;
        }
        if let Some(Some(bits)) = params.client_max_window_bits {
            negotiated.client_max_window_bits = bits.min(offer.client_max_window_bits);
        }
        if offer.server_no_context_takeover && !negotiated.server_no_context_takeover {
            // §7.1.1.1: a server accepting must honour the request.
            return Err(HandshakeError::Deflate(DeflateProblem::NotGranted {
                name: "server_no_context_takeover",
            }));
        }
        if let Some(asked) = offer.server_max_window_bits {
            if negotiated.server_max_window_bits > asked {
                return Err(HandshakeError::Deflate(DeflateProblem::NotGranted {
                    name: "server_max_window_bits",
                }));
            }
        }
        agreed = Some(negotiated);
    }
    Ok(agreed)
}

/// permessage-deflate as agreed by a handshake done elsewhere: `answer` is the
/// `Sec-WebSocket-Extensions` value of the 101 response, read as strictly as
/// [`accept_response`] reads one; it alone says how each side compresses (absent
/// parameters: window 15, context kept).
pub(crate) fn agreed_elsewhere(answer: &str) -> Result<Negotiated, HandshakeError> {
    let elements = parse_elements(answer);
    let element = match elements.as_slice() {
        [one] if one.name.eq_ignore_ascii_case(EXTENSION_NAME) => one,
        [] => return Err(HandshakeError::Deflate(DeflateProblem::NotAgreed)),
        [one] => return Err(HandshakeError::UnexpectedExtension(one.name.to_string())),
        _ => {
            return Err(HandshakeError::Deflate(
                DeflateProblem::MoreThanOneExtension,
            ))
        }
    };
    let params = read_params(&element.params, Side::Answer).map_err(HandshakeError::Deflate)?;
    Ok(Negotiated {
        client_max_window_bits: params.client_max_window_bits.flatten().unwrap_or(15),
        server_max_window_bits: params.server_max_window_bits.unwrap_or(15),
        client_no_context_takeover: params.client_no_context_takeover,
        server_no_context_takeover: params.server_no_context_takeover,
    })
}

impl Negotiated {
    /// The agreement with our own compressor held to `ours` (a client's
    /// `client_*`, a server's `server_*` settings): a smaller window, or no
    /// context takeover, which the peer inflates all the same. The peer's half
    /// is the agreement's.
    pub(crate) fn with_our_side(mut self, ours: &DeflateConfig, is_client: bool) -> Negotiated {
        if is_client {
            self.client_max_window_bits =
                self.client_max_window_bits.min(ours.client_max_window_bits);
            self.client_no_context_takeover |= ours.client_no_context_takeover;
        } else {
            if let Some(bits) = ours.server_max_window_bits {
                self.server_max_window_bits = self.server_max_window_bits.min(bits);
            }
            self.server_no_context_takeover |= ours.server_no_context_takeover;
        }
        self
    }
}

/// For the server role: what we answer to one permessage-deflate offer, or why
/// the offer is malformed (the same kinds a client's check of an answer gives).
fn answer_offer(offer: &Element<'_>, ours: &DeflateConfig) -> Result<Negotiated, DeflateProblem> {
    let params = read_params(&offer.params, Side::Offer)?;
    let server_max_window_bits = ours.server_max_window_bits.unwrap_or(15);
    Ok(Negotiated {
        // §7.1.2.2: we may bound the client's window only if it allowed us to.
        client_max_window_bits: match params.client_max_window_bits {
            Some(bits) => bits.unwrap_or(15).min(ours.client_max_window_bits),
            None => 15,
        },
        server_max_window_bits: params
            .server_max_window_bits
            .map_or(server_max_window_bits, |b| b.min(server_max_window_bits)),
        client_no_context_takeover: ours.client_no_context_takeover
            || params.client_no_context_takeover,
        server_no_context_takeover: ours.server_no_context_takeover
            || params.server_no_context_takeover,
    })
}

/// For the server role: picks the first acceptable offer among the client's
/// `Sec-WebSocket-Extensions` values, or none (deflate declined). A malformed
/// offer is declined, not accepted leniently (RFC 7692 §5: the server must
/// decline it; a later, valid offer may still be chosen).
pub(crate) fn answer_offers(values: &[&str], ours: &DeflateConfig) -> Option<Negotiated> {
    values
        .iter()
        .flat_map(|v| parse_elements(v))
        .filter(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|offer| answer_offer(&offer, ours).ok())
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
        let invalid =
            |why: CompressedDataError| Error::Protocol(ProtocolError::InvalidCompressedData(why));
        let tail: &[u8] = if end { &SYNC_FLUSH_TAIL } else { &[] };
        let mut step = [0u8; INFLATE_STEP];
        let mut stream_ended = self.stream_ended;
        if stream_ended && !input.is_empty() {
            return Err(invalid(CompressedDataError::DataAfterFinalBlock));
        }
        for (index, piece) in [input, tail].into_iter().enumerate() {
            let mut pos = 0;
            while !stream_ended {
                // One byte of room past the limit reveals output that would exceed it.
                let room = limit.saturating_sub(out.len()).min(INFLATE_STEP - 1) + 1;
                let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
                let status = inflater
                    .decompress(&piece[pos..], &mut step[..room], FlushDecompress::Sync)
                    .map_err(|e| {
                        invalid(CompressedDataError::Zlib {
                            message: e.message().map(str::to_string),
                        })
                    })?;
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
                    return Err(invalid(CompressedDataError::DataAfterFinalBlock));
                }
                if pos == piece.len() && produced < room {
                    break;
                }
                if consumed == 0 && produced == 0 {
                    return Err(invalid(CompressedDataError::NoProgress));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(name: &str, value: &str) -> DeflateProblem {
        DeflateProblem::InvalidWindowBits {
            name: name.to_string(),
            value: value.to_string(),
        }
    }

    fn quote(name: &str, value: &str) -> DeflateProblem {
        DeflateProblem::UnbalancedQuote {
            name: name.to_string(),
            value: value.to_string(),
        }
    }

    fn twice(name: &str) -> DeflateProblem {
        DeflateProblem::RepeatedParameter {
            name: name.to_string(),
        }
    }

    fn valued(name: &str, value: &str) -> DeflateProblem {
        DeflateProblem::ValueNotAllowed {
            name: name.to_string(),
            value: value.to_string(),
        }
    }

    fn unknown(name: &str, value: Option<&str>) -> DeflateProblem {
        DeflateProblem::UnknownParameter {
            name: name.to_string(),
            value: value.map(str::to_string),
        }
    }

    /// Malformed parameters, each with the problem it must give. Every one fails
    /// in an answer (client role) and is declined in an offer (server).
    fn malformed() -> Vec<(&'static str, DeflateProblem)> {
        const S: &str = "server_max_window_bits";
        const C: &str = "client_max_window_bits";
        vec![
            ("server_max_window_bits=+15", bits(S, "+15")),
            ("server_max_window_bits=+9", bits(S, "+9")),
            ("server_max_window_bits=-10", bits(S, "-10")),
            ("server_max_window_bits=010", bits(S, "010")),
            ("server_max_window_bits=\"010\"", bits(S, "\"010\"")),
            ("server_max_window_bits=\"+10\"", bits(S, "\"+10\"")),
            ("server_max_window_bits=\"10", quote(S, "\"10")),
            ("server_max_window_bits=10\"", bits(S, "10\"")),
            ("server_max_window_bits=\"10\\\"", quote(S, "\"10\\\"")),
            ("server_max_window_bits=\"1\"0\"", quote(S, "\"1\"0\"")),
            ("server_max_window_bits=\"\"", bits(S, "\"\"")),
            ("server_max_window_bits=\"", quote(S, "\"")),
            ("server_max_window_bits=", bits(S, "")),
            ("server_max_window_bits=1 0", bits(S, "1 0")),
            ("server_max_window_bits=\" 10\"", bits(S, "\" 10\"")),
            ("server_max_window_bits=0xa", bits(S, "0xa")),
            ("server_max_window_bits=16", bits(S, "16")),
            ("server_max_window_bits=7", bits(S, "7")),
            ("server_max_window_bits=265", bits(S, "265")),
            (
                "server_max_window_bits",
                DeflateProblem::ValueRequired {
                    name: S.to_string(),
                },
            ),
            ("client_max_window_bits=+15", bits(C, "+15")),
            ("client_max_window_bits=\"9", quote(C, "\"9")),
            ("client_max_window_bits=09", bits(C, "09")),
            ("client_max_window_bits=", bits(C, "")),
            (
                "server_no_context_takeover=1",
                valued("server_no_context_takeover", "1"),
            ),
            (
                "client_no_context_takeover=\"\"",
                valued("client_no_context_takeover", "\"\""),
            ),
            (
                "server_max_window_bits=10; server_max_window_bits=10",
                twice(S),
            ),
            (
                "server_no_context_takeover; Server_No_Context_Takeover",
                twice("Server_No_Context_Takeover"),
            ),
            (
                "client_max_window_bits=10; client_max_window_bits",
                twice(C),
            ),
            ("foo", unknown("foo", None)),
            (
                "x_max_window_bits=10",
                unknown("x_max_window_bits", Some("10")),
            ),
        ]
    }

    /// An offer that any well-formed answer in the tables below satisfies.
    fn lenient_offer() -> DeflateConfig {
        DeflateConfig::default()
    }

    fn answer_problem(params: &str) -> Result<Option<Negotiated>, DeflateProblem> {
        let answer = format!("{EXTENSION_NAME}; {params}");
        accept_response(&[&answer], &lenient_offer()).map_err(|e| match e {
            HandshakeError::Deflate(problem) => problem,
            other => panic!("{answer}: expected a permessage-deflate problem, got {other:?}"),
        })
    }

    fn offer_problem(params: &str) -> Result<Negotiated, DeflateProblem> {
        let offer = format!("{EXTENSION_NAME}; {params}");
        let elements = parse_elements(&offer);
        assert_eq!(elements.len(), 1, "{offer}");
        answer_offer(&elements[0], &DeflateConfig::default())
    }

    #[test]
    fn malformed_parameters_in_an_answer_fail_with_their_kind() {
        for (params, expected) in malformed() {
            match answer_problem(params) {
                Err(problem) => assert_eq!(problem, expected, "{params}"),
                Ok(agreed) => panic!("{params}: accepted as {agreed:?}"),
            }
        }
    }

    #[test]
    fn malformed_parameters_in_an_offer_are_refused_with_their_kind() {
        for (params, expected) in malformed() {
            match offer_problem(params) {
                Err(problem) => assert_eq!(problem, expected, "{params}"),
                Ok(agreed) => panic!("{params}: accepted as {agreed:?}"),
            }
            // The server declines the malformed offer and takes the next valid one.
            let offers = format!("{EXTENSION_NAME}; {params}, {EXTENSION_NAME}");
            assert_eq!(
                answer_offers(&[&offers], &DeflateConfig::default()),
                Some(Negotiated {
                    client_max_window_bits: 15,
                    server_max_window_bits: 15,
                    client_no_context_takeover: false,
                    server_no_context_takeover: false,
                }),
                "{offers}"
            );
            let alone = format!("{EXTENSION_NAME}; {params}");
            assert_eq!(
                answer_offers(&[&alone], &DeflateConfig::default()),
                None,
                "{alone}"
            );
        }
    }

    #[test]
    fn client_max_window_bits_without_a_value_is_for_offers_only() {
        assert_eq!(
            answer_problem("client_max_window_bits"),
            Err(DeflateProblem::ValueRequiredInAnswer {
                name: "client_max_window_bits".to_string()
            })
        );
        assert_eq!(
            offer_problem("client_max_window_bits")
                .unwrap()
                .client_max_window_bits,
            15
        );
        // So in an offer a valueless one, then a second, is a repetition; in an
        // answer the first is already wrong.
        let valueless_then_valued = "client_max_window_bits; client_max_window_bits=10";
        assert_eq!(
            offer_problem(valueless_then_valued),
            Err(twice("client_max_window_bits"))
        );
        assert_eq!(
            answer_problem(valueless_then_valued),
            Err(DeflateProblem::ValueRequiredInAnswer {
                name: "client_max_window_bits".to_string()
            })
        );
    }

    #[test]
    fn well_formed_window_sizes_are_read_plain_or_quoted() {
        // (parameter text, server window, client window) in both roles.
        let table = [
            ("server_max_window_bits=10", 10, 15),
            ("server_max_window_bits=\"10\"", 10, 15),
            ("server_max_window_bits=\"1\\0\"", 10, 15),
            ("server_max_window_bits = 8", 8, 15),
            ("SERVER_MAX_WINDOW_BITS=15", 15, 15),
            ("client_max_window_bits=9", 15, 9),
            ("client_max_window_bits=\"12\"", 15, 12),
            (
                "server_max_window_bits=9; client_max_window_bits=\"11\"",
                9,
                11,
            ),
        ];
        for (params, server, client) in table {
            let answer = answer_problem(params).unwrap().unwrap();
            assert_eq!(
                (answer.server_max_window_bits, answer.client_max_window_bits),
                (server, client),
                "answer {params}"
            );
            let offer = offer_problem(params).unwrap();
            assert_eq!(
                (offer.server_max_window_bits, offer.client_max_window_bits),
                (server, client),
                "offer {params}"
            );
        }
    }
}
