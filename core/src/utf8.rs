//! Incremental UTF-8 validation for text messages that arrive in pieces (fragments,
//! partial reads). It fails as soon as the bytes seen so far cannot begin a valid
//! string, not only at the end of the message (RFC 6455 §8.1, Autobahn 6.4.x).
//!
//! It also holds the crate's one `unsafe` outside masking: `validated_str`, which
//! turns bytes already validated into a `&str` without a second pass.

// The crate denies `unsafe` (core/Cargo.toml); only `validated_str` allows it.

/// Validates a byte stream fed in arbitrary pieces.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    /// The start of a character cut by the end of the previous piece.
    pending: [u8; 4],
    pending_len: usize,
}

/// The bytes cannot be, or become, valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a string.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next piece. An error means no continuation can make the stream valid.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            let needed = sequence_len(self.pending[0]) - self.pending_len;
            let take = needed.min(input.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&input[..take]);
            self.pending_len += take;
            input = &input[take..];
            match simdutf8::compat::from_utf8(&self.pending[..self.pending_len]) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(InvalidUtf8),
            }
        }
        // The piece up to its last character boundary goes through the fast
        // check (no error position); only a character cut at its end, at most
        // three bytes, needs the check that tells "incomplete" from "invalid".
        let cut = incomplete_tail_start(input);
        if simdutf8::basic::from_utf8(&input[..cut]).is_err() {
            return Err(InvalidUtf8);
        }
        let input = &input[cut..];
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &input[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the stream: a character cut at the end is an error. Resets for reuse.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.pending_len == 0;
        self.pending_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

/// Bytes this crate has already validated as UTF-8, seen as a `&str` at no cost.
///
/// The contract: `bytes` passed a full UTF-8 check (`simdutf8`, `std::str` or
/// [`Utf8Validator`] through `finish`) and have not changed since. The callers,
/// each audited against it:
/// - `Text::as_str`: every `Text` is built from a `&str`/`String`, or from bytes
///   checked by `Text::from_utf8` (or the `TryFrom`s that call it), or by
///   `Text::from_validated`, whose callers are `Connection::poll_event`'s fast
///   path, right after checking that very payload (at once, or piece by piece
///   with a `Utf8Validator` through `finish` as it arrived: bytes in the input
///   buffer never change, reads only append, and moving the input to new room
///   copies it unchanged), and the message assembler, after feeding every byte
///   of the message to a `Utf8Validator` and `finish`;
/// - `Connection::poll_event_ref` (`connection/receive.rs`), on the payload
///   `lendable_message` checked just before (the same way), with no write to
///   the input buffer in between.
///
/// Debug builds (all tests and fuzzing) check the contract again.
#[allow(unsafe_code)]
#[inline]
pub(crate) fn validated_str(bytes: &[u8]) -> &str {
    debug_assert!(
        simdutf8::basic::from_utf8(bytes).is_ok(),
        "validated_str called on bytes that are not UTF-8"
    );
    // SAFETY: every caller passes bytes that were validated as UTF-8 and not
    // modified since (the contract above, checked in debug builds); a `&[u8]`
    // cannot change while borrowed, so the `&str` stays valid for its lifetime.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// Where a character cut by the end of `bytes` starts (`bytes.len()` when the
/// end is not inside one): the last lead byte among the last four bytes, if
/// the sequence it starts runs past the end. Bytes before it are whole
/// characters or invalid, which the caller's check then finds.
fn incomplete_tail_start(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for at in (len.saturating_sub(4)..len).rev() {
        let b = bytes[at];
        if b & 0xc0 != 0x80 {
            // ASCII or a lead byte: a character starts here.
            let needed = match b {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xff => 4,
                _ => 1,
            };
            return if len - at < needed { at } else { len };
        }
    }
    len
}

/// The length of the sequence a lead byte starts; only called on bytes the
/// validator accepted as the start of an incomplete sequence (2 to 4 bytes).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees_with_std_on_every_split(bytes: &[u8]) {
        let whole = std::str::from_utf8(bytes).is_ok();
        for split in 0..=bytes.len() {
            let mut v = Utf8Validator::new();
            let result = v
                .feed(&bytes[..split])
                .and_then(|_| v.feed(&bytes[split..]))
                .and_then(|_| v.finish());
            assert_eq!(result.is_ok(), whole, "{bytes:x?} split at {split}");
        }
        let mut v = Utf8Validator::new();
        let one_by_one = bytes
            .iter()
            .try_for_each(|b| v.feed(&[*b]))
            .and_then(|_| v.finish());
        assert_eq!(one_by_one.is_ok(), whole, "{bytes:x?} byte by byte");
    }

    #[test]
    fn agrees_with_std() {
        let cases: &[&[u8]] = &[
            b"",
            b"hello",
            "κόσμε".as_bytes(),
            "𝄞 music".as_bytes(),
            &[0xf4, 0x8f, 0xbf, 0xbf],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xed, 0xa0, 0x80],
            &[0xc0, 0xaf],
            &[0xe0, 0x80, 0xaf],
            &[0xce, 0xba, 0xe1, 0xbd],
            &[0xff],
            &[0x80],
        ];
        for case in cases {
            agrees_with_std_on_every_split(case);
        }
    }

    #[test]
    fn agrees_with_std_on_mixed_text_cut_anywhere_and_damaged_anywhere() {
        // Pieces ending inside 2-, 3- and 4-byte characters, and every kind of
        // damage near a cut (a stray continuation, an invalid byte, a lost byte).
        let text = "aκ€𝄞b".repeat(3);
        let bytes = text.as_bytes();
        agrees_with_std_on_every_split(bytes);
        for at in 0..bytes.len() {
            for damage in [0x80u8, 0xff, 0xc0, 0xf4] {
                let mut damaged = bytes.to_vec();
                damaged[at] = damage;
                agrees_with_std_on_every_split(&damaged);
            }
            let mut shorter = bytes.to_vec();
            shorter.remove(at);
            agrees_with_std_on_every_split(&shorter);
        }
    }

    #[test]
    fn fails_fast_on_an_impossible_prefix() {
        // Autobahn 6.4.x: the first invalid byte must fail, before the message ends.
        let mut v = Utf8Validator::new();
        assert!(v.feed("κόσμε".as_bytes()).is_ok());
        assert_eq!(v.feed(&[0xf4, 0x90]), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xf4]).is_ok());
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
    }

    #[test]
    fn validated_str_is_the_same_bytes_seen_as_text() {
        let text = "κόσμε 𝄞";
        let seen = validated_str(text.as_bytes());
        assert_eq!(seen, text);
        assert_eq!(seen.as_ptr(), text.as_ptr(), "no copy");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not UTF-8")]
    fn validated_str_refuses_invalid_bytes_in_debug_builds() {
        let _ = validated_str(&[0xce, 0xff]);
    }

    #[test]
    fn incomplete_tail_fails_at_finish() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xe2, 0x82]).is_ok());
        assert_eq!(v.finish(), Err(InvalidUtf8));
    }
}
