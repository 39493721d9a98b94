//! The send side's frames: masking keys (RFC 6455 §5.3), fragmentation and
//! compression (RFC 7692) of outgoing messages.

use crate::deflate::DeflateCodec;
use crate::frame::{self, FrameHeader, OpCode};
use crate::rng::RandomSource;
use crate::send_cost::SendCost;

use super::{Role, IDLE_BUFFER_CAPACITY};

/// Bytes of mask keys drawn from the random source at once (64 keys: four
/// ChaCha blocks, what `rand_chacha` computes per refill).
const MASK_KEY_BATCH: usize = 256;

/// Encodes outgoing frames into whatever buffer the connection hands it.
pub(super) struct FrameWriter {
    /// Clients mask their frames; servers do not.
    masks: bool,
    rng: Box<dyn RandomSource>,
    /// Mask keys drawn from `rng` 64 at a time (the same byte stream as one
    /// draw per frame, with a 64th of the calls); `mask_key_pos` is the next.
    mask_keys: [u8; MASK_KEY_BATCH],
    mask_key_pos: usize,
    fragment_size: Option<usize>,
    /// The compressing half of permessage-deflate, once negotiated.
    deflate: Option<DeflateCodec>,
    /// Compressed output of the message being sent, reused between sends.
    compress_scratch: Vec<u8>,
}

impl FrameWriter {
    pub(super) fn new(
        role: Role,
        rng: Box<dyn RandomSource>,
        fragment_size: Option<usize>,
    ) -> Self {
        FrameWriter {
            masks: role == Role::Client,
            rng,
            mask_keys: [0; MASK_KEY_BATCH],
            mask_key_pos: MASK_KEY_BATCH,
            fragment_size,
            deflate: None,
            compress_scratch: Vec::new(),
        }
    }

    /// Compresses messages from now on (after negotiation); `codec` is only
    /// ever asked to compress.
    pub(super) fn set_deflate(&mut self, codec: DeflateCodec) {
        self.deflate = Some(codec);
    }

    /// What a message reserves against the output limit (its worst case on
    /// the wire, before compression): the formula `SendCost` publishes.
    pub(super) fn send_cost(&self) -> SendCost {
        SendCost::new(self.fragment_size)
    }

    /// Appends a message to `out` as its frames; returns the payload bytes those
    /// frames carry (compressed or not).
    #[inline]
    pub(super) fn write_message(
        &mut self,
        out: &mut Vec<u8>,
        opcode: OpCode,
        payload: &[u8],
    ) -> usize {
        let fragment = self.fragment_size.unwrap_or(usize::MAX).max(1);
        if payload.len() <= fragment && self.deflate.is_none() {
            // One frame, no compression: what the general path below ends up doing.
            self.write_frame(out, true, 0, opcode, payload);
            return payload.len();
        }
        let mut compressed = std::mem::take(&mut self.compress_scratch);
        compressed.clear();
        let was_compressed = self
            .deflate
            .as_mut()
            .is_some_and(|codec| codec.compress(payload, &mut compressed));
        let (payload, mut rsv) = if was_compressed {
            (&compressed[..], frame::RSV1)
        } else {
            (payload, 0)
        };
        let mut pieces = payload.chunks(fragment).peekable();
        let mut op = opcode;
        if payload.is_empty() {
            self.write_frame(out, true, rsv, op, payload);
        }
        while let Some(piece) = pieces.next() {
            // RFC 7692 §6.1: RSV1 on the first frame of the message only.
            self.write_frame(out, pieces.peek().is_none(), rsv, op, piece);
            op = OpCode::Continuation;
            rsv = 0;
        }
        let sent = payload.len();
        self.compress_scratch = compressed;
        if self.compress_scratch.capacity() > IDLE_BUFFER_CAPACITY {
            self.compress_scratch = Vec::new();
        }
        sent
    }

    /// Appends one frame to `out`.
    #[inline]
    pub(super) fn write_frame(
        &mut self,
        out: &mut Vec<u8>,
        fin: bool,
        rsv: u8,
        opcode: OpCode,
        payload: &[u8],
    ) {
        let mask = self.masks.then(|| self.next_mask_key());
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        frame::encode_frame(out, &header, payload);
    }

    /// A fresh masking key (RFC 6455 §5.3: unpredictable, from the random source).
    fn next_mask_key(&mut self) -> [u8; 4] {
        if self.mask_key_pos == MASK_KEY_BATCH {
            self.rng.fill(&mut self.mask_keys);
            self.mask_key_pos = 0;
        }
        let at = self.mask_key_pos;
        self.mask_key_pos += 4;
        let k = &self.mask_keys[at..at + 4];
        [k[0], k[1], k[2], k[3]]
    }
}
