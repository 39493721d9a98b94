//! Invariant: `Utf8Validator` agrees with `std::str::from_utf8` on the whole input,
//! split at every point and fed byte by byte; and it fails exactly when the bytes
//! fed so far can no longer begin a valid string (std reports an error that is not
//! a mere truncation), never later and never earlier.

use sockette_core::utf8::Utf8Validator;

/// Whether `prefix` can still be completed into valid UTF-8.
fn viable(prefix: &[u8]) -> bool {
    std::str::from_utf8(prefix).map_or_else(|e| e.error_len().is_none(), |_| true)
}

/// Feeds `pieces` in order; returns the result of `finish` (or of the failing feed).
fn run<'a>(data: &[u8], pieces: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut v = Utf8Validator::new();
    let mut fed = 0;
    for piece in pieces {
        fed += piece.len();
        let ok = v.feed(piece).is_ok();
        assert_eq!(ok, viable(&data[..fed]), "feed verdict after {fed} bytes");
        if !ok {
            return false;
        }
    }
    v.finish().is_ok()
}

/// Checks the invariant on one input (a failure panics): the fuzz target's whole
/// body, also replayed by `tests/regressions.rs` on saved inputs. Returns false,
/// having checked nothing, when the bytes are not an input of this target (too
/// short, or not decodable as its structured input), as the fuzzer skips them.
pub fn check(data: &[u8]) -> bool {
    let data = &data[..data.len().min(1024)];
    let valid = std::str::from_utf8(data).is_ok();
    assert_eq!(run(data, std::iter::once(data)), valid, "whole");
    assert_eq!(run(data, data.chunks(1)), valid, "byte by byte");
    for split in 0..=data.len() {
        let (a, b) = data.split_at(split);
        assert_eq!(run(data, [a, b].into_iter()), valid, "split at {split}");
    }
    true
}
