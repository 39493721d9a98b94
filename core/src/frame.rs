//! RFC 6455 §5.2 framing: header encode/decode and an incremental decoder that
//! accepts input split at any byte and hands out payload as it arrives.
//!
//! Rules enforced here, each a [`ProtocolError`]: reserved opcodes, RSV bits not
//! granted by an extension, the top bit of a 64-bit length, control frames over 125
//! bytes or fragmented, and the mask bit expected from the peer's role. The frame
//! size limit is checked on the header, before any payload is buffered.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{CapacityError, Error, ProtocolError};
use crate::mask::{apply_mask, extend_masked};

/// Frame opcodes (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: a text message (or its first fragment).
    Text,
    /// 0x2: a binary message (or its first fragment).
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes a 4-bit opcode; reserved values are a protocol error.
    pub fn from_u8(op: u8) -> Result<OpCode, ProtocolError> {
        Ok(match op {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(ProtocolError::ReservedOpcode(other)),
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong (§5.5).
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// §5.5: the payload limit of control frames.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The RSV1 bit in [`FrameHeader::rsv`]: "compressed" under permessage-deflate.
pub const RSV1: u8 = 0b100;

/// The longest possible header: 2 + 8 (64-bit length) + 4 (mask key).
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the mask bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

/// What the decoder expects of the peer's frames.
#[derive(Debug, Clone, Copy)]
pub struct DecoderRules {
    /// True when decoding a client's frames (they must be masked); false for a
    /// server's (they must not be).
    pub expect_masked: bool,
    /// RSV bits granted by negotiated extensions (none without extensions).
    pub allowed_rsv: u8,
    /// Frames declaring a longer payload are refused before it is read.
    pub max_frame_size: usize,
}

/// Parses a frame header from the start of `buf`. `Ok(None)` means more bytes are
/// needed (nothing is consumed); `Ok(Some((header, len)))` gives the header's length.
#[inline]
pub fn decode_header(
    buf: &[u8],
    rules: &DecoderRules,
) -> Result<Option<(FrameHeader, usize)>, Error> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x07;
    let opcode = OpCode::from_u8(b0 & 0x0f)?;
    let masked = b1 & 0x80 != 0;
    if rsv & !rules.allowed_rsv != 0 {
        return Err(ProtocolError::ReservedBits(rsv & !rules.allowed_rsv).into());
    }
    if masked != rules.expect_masked {
        return Err(if masked {
            ProtocolError::MaskedFrameFromServer
        } else {
            ProtocolError::UnmaskedFrameFromClient
        }
        .into());
    }
    let (payload_len, mut pos) = match b1 & 0x7f {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4)
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut wide = [0u8; 8];
            wide.copy_from_slice(bytes);
            let len = u64::from_be_bytes(wide);
            if len >> 63 != 0 {
                return Err(ProtocolError::LengthTooLong.into());
            }
            (len, 10)
        }
        short => (u64::from(short), 2),
    };
    if opcode.is_control() {
        if rsv != 0 {
            // Extensions grant RSV bits to data frames only (RFC 7692 §6.1).
            return Err(ProtocolError::CompressedControlFrame.into());
        }
        if payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(ProtocolError::ControlFrameTooLong(payload_len).into());
        }
        if !fin {
            return Err(ProtocolError::FragmentedControlFrame.into());
        }
    }
    if payload_len > rules.max_frame_size as u64 {
        return Err(CapacityError::FrameTooLarge {
            size: payload_len,
            limit: rules.max_frame_size,
        }
        .into());
    }
    let mask = if masked {
        let Some(key) = buf.get(pos..pos + 4) else {
            return Ok(None);
        };
        pos += 4;
        Some([key[0], key[1], key[2], key[3]])
    } else {
        None
    };
    Ok(Some((
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        },
        pos,
    )))
}

/// Appends a frame header to `out` (minimal length encoding).
#[inline]
pub fn encode_header(out: &mut Vec<u8>, header: &FrameHeader) {
    let mut b0 = header.opcode.as_u8() | (header.rsv & 0x07) << 4;
    if header.fin {
        b0 |= 0x80;
    }
    let mask_bit = if header.mask.is_some() { 0x80 } else { 0 };
    let len = header.payload_len;
    // The header is built in one integer, byte i at bits 8i (little-endian), and
    // stored whole: bytes written one by one on the stack and then read back
    // wider stall the store-to-load forwarding of the CPU.
    let (len7, extended, extended_len) = if len < 126 {
        (len as u8, 0u64, 0)
    } else if len <= u64::from(u16::MAX) {
        (126, u64::from((len as u16).swap_bytes()), 2)
    } else {
        (127, len.swap_bytes(), 8)
    };
    let mut word = u128::from(b0) | u128::from(mask_bit | len7) << 8 | u128::from(extended) << 16;
    let mut end = 2 + extended_len;
    if let Some(key) = header.mask {
        word |= u128::from(u32::from_le_bytes(key)) << (8 * end);
        end += 4;
    }
    let bytes = word.to_le_bytes();
    // A fixed-size copy (inlined, where `&bytes[..end]` would call memcpy), then
    // the unused tail is cut.
    let start = out.len();
    out.extend_from_slice(&bytes[..MAX_HEADER_LEN]);
    out.truncate(start + end);
}

/// Appends a whole frame: header, then the payload masked with the header's key.
#[inline]
pub fn encode_frame(out: &mut Vec<u8>, header: &FrameHeader, payload: &[u8]) {
    debug_assert_eq!(header.payload_len, payload.len() as u64);
    out.reserve(MAX_HEADER_LEN + payload.len());
    encode_header(out, header);
    match header.mask {
        // One pass: the payload is masked as it is copied.
        Some(key) => extend_masked(out, payload, key, 0),
        None => out.extend_from_slice(payload),
    }
}

/// A piece of a frame's payload, unmasked, with the frame's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameChunk {
    /// The header of the frame this piece belongs to.
    pub header: FrameHeader,
    /// The payload bytes, unmasked.
    pub data: Bytes,
    /// The first piece of the frame.
    pub first: bool,
    /// The last piece of the frame (the payload is complete).
    pub last: bool,
}

/// Incremental frame decoder: push bytes into a buffer, pull [`FrameChunk`]s out.
///
/// Data frames are handed out as their payload arrives (so a text message can fail
/// its UTF-8 check before its end); control frames only whole.
#[derive(Debug)]
pub struct FrameDecoder {
    rules: DecoderRules,
    current: Option<InFrame>,
}

#[derive(Debug)]
struct InFrame {
    header: FrameHeader,
    remaining: u64,
    offset: usize,
    /// A chunk of this frame has been handed out (a control frame's header can be
    /// consumed in one call and its payload handed out in a later one).
    started: bool,
}

impl FrameDecoder {
    /// A decoder applying `rules`.
    pub fn new(rules: DecoderRules) -> Self {
        FrameDecoder {
            rules,
            current: None,
        }
    }

    /// Changes the RSV bits extensions allow (after negotiation).
    pub fn set_allowed_rsv(&mut self, rsv: u8) {
        self.rules.allowed_rsv = rsv;
    }

    /// The rules in force.
    pub fn rules(&self) -> &DecoderRules {
        &self.rules
    }

    /// True between a frame's header and the end of its payload.
    pub fn is_mid_frame(&self) -> bool {
        self.current.is_some()
    }

    /// A single-frame data message at the front of `input` that [`decode`](Self::decode)
    /// would hand out as one plain chunk: `(opcode, header length, payload length)`,
    /// its payload complete or not. `None` mid-frame, for a control frame, a
    /// fragment, RSV bits (compression), a masked frame, a payload over
    /// `max_message_size`, or a header incomplete or against the rules (left to
    /// `decode`, which reports it). The receive fast path's one framing rule.
    #[inline]
    pub(crate) fn single_frame_message(
        &self,
        input: &[u8],
        max_message_size: usize,
    ) -> Option<(OpCode, usize, usize)> {
        if self.is_mid_frame() {
            return None;
        }
        // The usual case first, without the general decoder: an unmasked final
        // text or binary frame, no RSV bit, as a client receives them. The
        // same verdict as below (which decides everything else).
        if let [b0 @ (0x81 | 0x82), b1, ..] = *input {
            if !self.rules.expect_masked && b1 & 0x80 == 0 {
                let (len, header_len) = match b1 {
                    0..=125 => (u64::from(b1), 2),
                    126 => (
                        u64::from(u16::from_be_bytes([*input.get(2)?, *input.get(3)?])),
                        4,
                    ),
                    _ => {
                        let wide: [u8; 8] = input.get(2..10)?.try_into().ok()?;
                        (u64::from_be_bytes(wide), 10)
                    }
                };
                let opcode = if b0 == 0x81 {
                    OpCode::Text
                } else {
                    OpCode::Binary
                };
                // Over a limit, or the top bit of a 64-bit length: `decode`
                // reports it.
                if len >> 63 != 0 {
                    return None;
                }
                let len = usize::try_from(len).ok()?;
                let within = len <= self.rules.max_frame_size && len <= max_message_size;
                return within.then_some((opcode, header_len, len));
            }
        }
        let (header, header_len) = decode_header(input, &self.rules).ok()??;
        let len = usize::try_from(header.payload_len).ok()?;
        let plain = header.fin
            && header.rsv == 0
            && header.mask.is_none()
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && len <= max_message_size;
        plain.then_some((header.opcode, header_len, len))
    }

    /// Like [`single_frame_message`](Self::single_frame_message), its payload
    /// complete in `input`.
    #[inline]
    pub(crate) fn whole_frame_message(
        &self,
        input: &[u8],
        max_message_size: usize,
    ) -> Option<(OpCode, usize, usize)> {
        let (opcode, header_len, len) = self.single_frame_message(input, max_message_size)?;
        (input.len() - header_len >= len).then_some((opcode, header_len, len))
    }

    /// Takes the next chunk from the front of `buf`, or `Ok(None)` when more bytes
    /// are needed. Errors are fatal: the decoder must not be used afterwards.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<FrameChunk>, Error> {
        if self.current.is_none() {
            let Some((header, header_len)) = decode_header(buf, &self.rules)? else {
                return Ok(None);
            };
            buf.advance(header_len);
            self.current = Some(InFrame {
                header,
                remaining: header.payload_len,
                offset: 0,
                started: false,
            });
        }
        let Some(frame) = self.current.as_mut() else {
            return Ok(None);
        };
        let first = !frame.started;
        let available = buf.len() as u64;
        let take = if frame.header.opcode.is_control() {
            if available < frame.remaining {
                return Ok(None);
            }
            frame.remaining
        } else {
            if available == 0 && frame.remaining > 0 && !first {
                return Ok(None);
            }
            frame.remaining.min(available)
        };
        // `take` is at most `buf.len()`, so it fits in usize.
        let take = take as usize;
        let mut data = buf.split_to(take);
        if let Some(key) = frame.header.mask {
            apply_mask(&mut data, key, frame.offset);
        }
        frame.started = true;
        frame.offset += take;
        frame.remaining -= take as u64;
        let header = frame.header;
        let last = frame.remaining == 0;
        if last {
            self.current = None;
        }
        Ok(Some(FrameChunk {
            header,
            data: data.freeze(),
            first,
            last,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_SIDE: DecoderRules = DecoderRules {
        expect_masked: false,
        allowed_rsv: 0,
        max_frame_size: 1 << 24,
    };

    fn decode_all(bytes: &[u8], rules: DecoderRules) -> Result<Vec<FrameChunk>, Error> {
        let mut dec = FrameDecoder::new(rules);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(chunk) = dec.decode(&mut buf)? {
            out.push(chunk);
        }
        Ok(out)
    }

    #[test]
    fn rfc6455_5_7_unmasked_text() {
        let chunks = decode_all(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o'], CLIENT_SIDE).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].header.opcode, OpCode::Text);
        assert_eq!(&chunks[0].data[..], b"Hello");
        assert!(chunks[0].first && chunks[0].last && chunks[0].header.fin);
    }

    #[test]
    fn rfc6455_5_7_masked_text() {
        let rules = DecoderRules {
            expect_masked: true,
            ..CLIENT_SIDE
        };
        let chunks = decode_all(
            &[
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
            ],
            rules,
        )
        .unwrap();
        assert_eq!(&chunks[0].data[..], b"Hello");
    }

    #[test]
    fn rfc6455_5_7_fragmented_and_lengths() {
        let chunks = decode_all(
            &[0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o'],
            CLIENT_SIDE,
        )
        .unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1].header.opcode, OpCode::Continuation);
        let mut big = vec![0x82, 0x7e, 0x01, 0x00];
        big.extend(std::iter::repeat_n(7u8, 256));
        let chunks = decode_all(&big, CLIENT_SIDE).unwrap();
        assert_eq!(chunks[0].data.len(), 256);
        let mut huge = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
        huge.extend(std::iter::repeat_n(1u8, 65536));
        assert_eq!(decode_all(&huge, CLIENT_SIDE).unwrap()[0].data.len(), 65536);
    }

    #[test]
    fn non_minimal_lengths_are_accepted() {
        let chunks = decode_all(&[0x82, 0x7e, 0x00, 0x02, 1, 2], CLIENT_SIDE).unwrap();
        assert_eq!(&chunks[0].data[..], &[1, 2]);
        let chunks = decode_all(&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 9], CLIENT_SIDE).unwrap();
        assert_eq!(&chunks[0].data[..], &[9]);
    }

    #[test]
    fn encode_then_decode_every_length_class() {
        for len in [0usize, 1, 125, 126, 65535, 65536, 100_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let header = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: OpCode::Binary,
                mask: Some([9, 8, 7, 6]),
                payload_len: len as u64,
            };
            let mut wire = Vec::new();
            encode_frame(&mut wire, &header, &payload);
            let rules = DecoderRules {
                expect_masked: true,
                ..CLIENT_SIDE
            };
            let chunks = decode_all(&wire, rules).unwrap();
            let got: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
            assert_eq!(got, payload);
            assert_eq!(chunks[0].header, header);
        }
    }

    #[test]
    fn the_single_frame_shortcut_agrees_with_decode_header() {
        // What `single_frame_message` answers without the general decoder must
        // be what the general decoder's header says, for every first two bytes
        // and the length encodings around the limits.
        for max in [10usize, 125, 126, 65_535, 65_536, usize::MAX] {
            let rules = DecoderRules {
                max_frame_size: max,
                ..CLIENT_SIDE
            };
            let dec = FrameDecoder::new(rules);
            for b0 in 0..=255u8 {
                for b1 in 0..=255u8 {
                    for ext in [
                        &[][..],
                        &[0, 126],
                        &[0xff, 0xff],
                        &[0, 0, 0, 0, 0, 1, 0, 0],
                        &[0x80, 0, 0, 0, 0, 0, 0, 1],
                        &[0, 0, 0, 0, 0, 0, 0, 5],
                    ] {
                        let bytes = [&[b0, b1][..], ext].concat();
                        let expected = decode_header(&bytes, &rules).ok().flatten().and_then(
                            |(h, header_len)| {
                                let len = usize::try_from(h.payload_len).ok()?;
                                let plain = h.fin
                                    && h.rsv == 0
                                    && h.mask.is_none()
                                    && matches!(h.opcode, OpCode::Text | OpCode::Binary)
                                    && len <= 1000;
                                plain.then_some((h.opcode, header_len, len))
                            },
                        );
                        assert_eq!(
                            dec.single_frame_message(&bytes, 1000),
                            expected,
                            "{bytes:x?}, max frame {max}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn partial_header_consumes_nothing() {
        let mut dec = FrameDecoder::new(CLIENT_SIDE);
        let mut buf = BytesMut::from(&[0x82u8, 0x7e, 0x01][..]);
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), 3);
    }

    #[test]
    fn rejections() {
        let err = |bytes: &[u8]| decode_all(bytes, CLIENT_SIDE).unwrap_err();
        assert_eq!(err(&[0x83, 0x00]), ProtocolError::ReservedOpcode(3).into());
        assert_eq!(
            err(&[0x8b, 0x00]),
            ProtocolError::ReservedOpcode(0xb).into()
        );
        assert_eq!(
            err(&[0xc1, 0x00]),
            ProtocolError::ReservedBits(0b100).into()
        );
        assert_eq!(
            err(&[0x81, 0x80, 0, 0, 0, 0]),
            ProtocolError::MaskedFrameFromServer.into()
        );
        assert_eq!(
            err(&[0x09, 0x00]),
            ProtocolError::FragmentedControlFrame.into()
        );
        assert_eq!(
            err(&[0x89, 0x7e, 0x00, 0x7e]),
            ProtocolError::ControlFrameTooLong(126).into()
        );
        assert_eq!(
            err(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            ProtocolError::LengthTooLong.into()
        );
        let server_side = DecoderRules {
            expect_masked: true,
            ..CLIENT_SIDE
        };
        assert_eq!(
            decode_all(&[0x81, 0x00], server_side).unwrap_err(),
            ProtocolError::UnmaskedFrameFromClient.into()
        );
        let small = DecoderRules {
            max_frame_size: 10,
            ..CLIENT_SIDE
        };
        assert_eq!(
            decode_all(&[0x82, 0x0b], small).unwrap_err(),
            CapacityError::FrameTooLarge {
                size: 11,
                limit: 10
            }
            .into()
        );
    }
}
