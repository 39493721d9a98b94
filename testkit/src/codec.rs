//! Frames written and read by hand, apart from the core's `frame` module: a peer
//! built from the core's own codec would share its bugs.

/// Opcodes as numbers (RFC 6455 §5.2).
pub mod op {
    /// Continuation.
    pub const CONT: u8 = 0x0;
    /// Text.
    pub const TEXT: u8 = 0x1;
    /// Binary.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;

    /// The opcodes RFC 6455 defines.
    pub const DEFINED: [u8; 6] = [CONT, TEXT, BINARY, CLOSE, PING, PONG];

    /// Close, ping and pong.
    pub fn is_control(opcode: u8) -> bool {
        opcode & 0x8 != 0
    }
}

/// Encodes a frame with an explicit first byte (FIN, RSV, opcode), minimal length.
pub fn raw_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
    }
    out
}

/// An unmasked frame (what a server sends).
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(if fin { 0x80 } else { 0 } | opcode, payload, None)
}

/// A masked frame (what a client sends).
pub fn masked_frame(fin: bool, opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    raw_frame(if fin { 0x80 } else { 0 } | opcode, payload, Some(key))
}

/// A close frame's payload: the code big-endian, then the reason.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// A frame as seen on the wire, payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// FIN bit.
    pub fin: bool,
    /// RSV1-3 as the low three bits.
    pub rsv: u8,
    /// The opcode number.
    pub opcode: u8,
    /// The masking key, if the mask bit was set.
    pub mask: Option<[u8; 4]>,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

impl WireFrame {
    /// The close code of a close frame (None for an empty payload).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, op::CLOSE, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// The first frame of `bytes` and how many bytes it took, or `None` while the
/// frame is incomplete. Panics on a 64-bit length with its top bit set; any
/// other header is accepted: what is allowed is for the caller to check.
pub fn decode_frame(bytes: &[u8]) -> Option<(WireFrame, usize)> {
    let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
    let mut pos = 2;
    let len = match b1 & 0x7f {
        126 => {
            pos += 2;
            u16::from_be_bytes(bytes.get(2..4)?.try_into().unwrap()) as usize
        }
        127 => {
            pos += 8;
            let len = u64::from_be_bytes(bytes.get(2..10)?.try_into().unwrap());
            // RFC 6455 §5.2: the most significant bit of a 64-bit length is 0.
            assert!(
                len >> 63 == 0,
                "64-bit frame length {len:#x} with its top bit set"
            );
            usize::try_from(len).expect("frame length fits in memory")
        }
        n => n as usize,
    };
    let mask = if b1 & 0x80 != 0 {
        let key: [u8; 4] = bytes.get(pos..pos + 4)?.try_into().unwrap();
        pos += 4;
        Some(key)
    } else {
        None
    };
    let mut payload = bytes.get(pos..pos.checked_add(len)?)?.to_vec();
    if let Some(key) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    let frame = WireFrame {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x07,
        opcode: b0 & 0x0f,
        mask,
        payload,
    };
    Some((frame, pos + len))
}

/// Decodes a whole byte stream of frames; panics on a partial frame.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let Some((frame, used)) = decode_frame(bytes) else {
            panic!("partial frame: {bytes:x?}");
        };
        frames.push(frame);
        bytes = &bytes[used..];
    }
    frames
}
