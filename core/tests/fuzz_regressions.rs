//! Inputs that once crashed a fuzz target (`fuzz/`), replayed through the same
//! public API with the target's invariant. `fuzz/run.sh` copies new crashing
//! inputs to `tests/fuzz_regressions/<target>/`; each target with inputs there
//! has a replay below.

use std::fs;
use std::path::Path;

use bytes::BytesMut;
use sockette_core::frame::{DecoderRules, FrameDecoder, FrameHeader};
use sockette_core::utf8::Utf8Validator;
use sockette_core::Error;

/// The saved inputs of one target (none when its folder does not exist).
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// Frames (header, payload, complete), the error and the leftover bytes of a decode
/// of `data` fed in pieces of `piece` bytes; checks each chunk's flags.
fn decode(
    rules: DecoderRules,
    data: &[u8],
    piece: usize,
) -> (Vec<(FrameHeader, Vec<u8>, bool)>, Option<Error>, Vec<u8>) {
    let (mut dec, mut buf, mut frames) = (FrameDecoder::new(rules), BytesMut::new(), Vec::new());
    for (i, bytes) in data.chunks(piece).enumerate() {
        buf.extend_from_slice(bytes);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(chunk)) => {
                    let control = chunk.header.opcode.is_control();
                    assert!(
                        !control || (chunk.first && chunk.last),
                        "control frame in pieces"
                    );
                    if chunk.first {
                        frames.push((chunk.header, Vec::new(), false));
                    }
                    let frame: &mut (FrameHeader, Vec<u8>, bool) = frames.last_mut().unwrap();
                    frame.1.extend_from_slice(&chunk.data);
                    frame.2 = chunk.last;
                }
                Ok(None) => break,
                Err(e) => {
                    let rest = [&buf[..], &data[((i + 1) * piece).min(data.len())..]].concat();
                    return (frames, Some(e), rest);
                }
            }
        }
    }
    (frames, None, buf.to_vec())
}

/// `fuzz_targets/frame_decoder.rs`: [rules, seed, frame bytes...]; whole and byte
/// by byte decode alike.
#[test]
fn frame_decoder() {
    const FRAME_LIMITS: [usize; 8] = [0, 1, 125, 126, 1000, 65535, 65536, usize::MAX];
    for (name, input) in inputs("frame_decoder") {
        let [rules, _seed, data @ ..] = &input[..] else {
            continue;
        };
        let rules = DecoderRules {
            expect_masked: rules & 1 != 0,
            allowed_rsv: (rules >> 1) & 0x07,
            max_frame_size: FRAME_LIMITS[usize::from(rules >> 5)],
        };
        let whole = decode(rules, data, data.len().max(1));
        assert_eq!(whole, decode(rules, data, 1), "{name}");
    }
}

/// `fuzz_targets/utf8.rs`: the validator agrees with std, whole and byte by byte.
#[test]
fn utf8() {
    for (name, data) in inputs("utf8") {
        let valid = std::str::from_utf8(&data).is_ok();
        let mut v = Utf8Validator::new();
        assert_eq!(
            v.feed(&data).and_then(|_| v.finish()).is_ok(),
            valid,
            "{name}"
        );
        let mut v = Utf8Validator::new();
        let bytewise = data
            .iter()
            .try_for_each(|b| v.feed(&[*b]))
            .and_then(|_| v.finish());
        assert_eq!(bytewise.is_ok(), valid, "{name}");
    }
}
