//! Invariant: `FrameDecoder` gives the same frames (headers, payload bytes), the
//! same error and the same leftover bytes whether the input comes whole, byte by
//! byte or in arbitrary chunks; every complete frame re-encoded by `encode_frame`
//! decodes to itself, byte for byte when its length was minimally encoded.
//! Input: [rules byte, chunking seed, frame bytes...].

use bytes::BytesMut;
use sockette_core::frame::{encode_frame, DecoderRules, FrameDecoder, FrameHeader};
use sockette_core::Error;

/// A decoded frame: header, payload so far, complete, its bytes in the input.
type Frame = (FrameHeader, Vec<u8>, bool, std::ops::Range<usize>);

const FRAME_LIMITS: [usize; 8] = [0, 1, 125, 126, 1000, 65535, 65536, usize::MAX];

fn decode(
    rules: DecoderRules,
    data: &[u8],
    sizes: &mut dyn FnMut() -> usize,
) -> (Vec<Frame>, Option<Error>, Vec<u8>) {
    let (mut dec, mut buf, mut frames) = (
        FrameDecoder::new(rules),
        BytesMut::new(),
        Vec::<Frame>::new(),
    );
    let mut fed = 0;
    while fed < data.len() {
        let n = sizes().clamp(1, data.len() - fed);
        buf.extend_from_slice(&data[fed..fed + n]);
        fed += n;
        loop {
            let start = fed - buf.len();
            let chunk = match dec.decode(&mut buf) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => return (frames, Some(e), [&buf[..], &data[fed..]].concat()),
            };
            let h = chunk.header;
            assert!(h.payload_len <= rules.max_frame_size as u64);
            assert_eq!(h.mask.is_some(), rules.expect_masked);
            assert_eq!(h.rsv & !rules.allowed_rsv, 0);
            assert!(!h.opcode.is_control() || (chunk.first && chunk.last));
            if chunk.first {
                frames.push((h, Vec::new(), false, start..start));
            }
            let frame = frames.last_mut().unwrap();
            assert_eq!(frame.0, h);
            frame.1.extend_from_slice(&chunk.data);
            frame.2 = chunk.last;
            frame.3.end = fed - buf.len();
            assert!(frame.1.len() as u64 <= h.payload_len);
            assert_eq!(chunk.last, frame.1.len() as u64 == h.payload_len);
        }
    }
    (frames, None, buf.to_vec())
}

/// Checks the invariant on one input (a failure panics): the fuzz target's whole
/// body, also replayed by `tests/regressions.rs` on saved inputs. Returns false,
/// having checked nothing, when the bytes are not an input of this target (too
/// short, or not decodable as its structured input), as the fuzzer skips them.
pub fn check(input: &[u8]) -> bool {
    let [rules, seed, data @ ..] = input else {
        return false;
    };
    let rules = DecoderRules {
        expect_masked: rules & 1 != 0,
        allowed_rsv: (rules >> 1) & 0x07,
        max_frame_size: FRAME_LIMITS[usize::from(rules >> 5)],
    };
    let whole = decode(rules, data, &mut || usize::MAX);
    // Frame ranges are only exact when whole (a control frame's header may be
    // consumed before its payload arrives).
    let outcome = |d: &(Vec<Frame>, Option<Error>, Vec<u8>)| {
        let frames: Vec<_> = d.0.iter().map(|f| (f.0, f.1.clone(), f.2)).collect();
        (frames, d.1.clone(), d.2.clone())
    };
    let bytewise = decode(rules, data, &mut || 1);
    assert_eq!(outcome(&whole), outcome(&bytewise), "byte by byte");
    let mut state = u32::from(*seed) | 0x100;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 64) as usize
    };
    let chunked = decode(rules, data, &mut random);
    assert_eq!(outcome(&whole), outcome(&chunked), "random chunks");

    for (header, payload, complete, range) in whole.0.iter().filter(|f| f.2) {
        let mut wire = Vec::new();
        encode_frame(&mut wire, header, payload);
        let (again, err, rest) = decode(rules, &wire, &mut || usize::MAX);
        assert!(err.is_none() && rest.is_empty() && *complete);
        assert_eq!((again[0].0, &again[0].1), (*header, payload));
        let original = &data[range.clone()];
        assert!(wire.len() <= original.len());
        if wire.len() == original.len() {
            assert_eq!(wire, original, "minimal encoding differs");
        }
    }
    true
}
