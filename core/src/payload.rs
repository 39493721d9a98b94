//! [`Payload`]: the bytes of a message, held inline when small and shared with
//! the received buffer otherwise.
//!
//! Why two forms: a message that shares the connection's input buffer costs
//! two atomic reference-count operations (one when it is split off, one when it
//! is dropped), which is most of the cost of receiving a small message. Copying
//! a few dozen bytes costs less than either, so small payloads are copied into
//! the `Payload` itself (no allocation, no atomic) and larger ones share the
//! buffer (no copy).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// Payloads of at most this many bytes are held inline. Chosen so that a
/// `Payload` is no larger than the `Bytes` it otherwise holds plus its tag
/// (40 bytes on 64-bit targets).
pub const INLINE_CAPACITY: usize = 38;

/// The bytes of a message: inline when at most [`INLINE_CAPACITY`] bytes were
/// received, else a [`Bytes`] sharing the buffer they were received in.
///
/// It reads as a `&[u8]` (`Deref`, `AsRef`, `Borrow`), compares and hashes by
/// its bytes whatever its form, and becomes a [`Bytes`] with
/// [`into_bytes`](Payload::into_bytes) (a copy only for an inline payload).
///
/// ```
/// use sockette_core::{Bytes, Payload};
///
/// let small = Payload::from(&b"tick"[..]);
/// assert_eq!(small, b"tick"[..]);
/// assert_eq!(small.len(), 4); // a `&[u8]` through `Deref`
///
/// let shared = Payload::from(Bytes::from(vec![7u8; 1000]));
/// let bytes: Bytes = shared.clone().into_bytes(); // no copy: shared already
/// assert_eq!(bytes.len(), 1000);
/// assert_eq!(Payload::from(bytes), shared);
/// ```
#[derive(Clone)]
pub struct Payload(Repr);

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        bytes: [u8; INLINE_CAPACITY],
    },
    Shared(Bytes),
}

impl Payload {
    /// An empty payload.
    pub const fn new() -> Payload {
        Payload(Repr::Inline {
            len: 0,
            bytes: [0; INLINE_CAPACITY],
        })
    }

    /// A copy of `data`: inline when it fits, else in a new buffer.
    pub fn copy_from_slice(data: &[u8]) -> Payload {
        match Payload::inline(data) {
            Some(payload) => payload,
            None => Payload(Repr::Shared(Bytes::copy_from_slice(data))),
        }
    }

    /// `data` copied inline, if it fits.
    #[inline]
    pub(crate) fn inline(data: &[u8]) -> Option<Payload> {
        if data.len() > INLINE_CAPACITY {
            return None;
        }
        let mut bytes = [0; INLINE_CAPACITY];
        bytes[..data.len()].copy_from_slice(data);
        Some(Payload(Repr::Inline {
            // Cannot truncate: at most INLINE_CAPACITY.
            len: data.len() as u8,
            bytes,
        }))
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Shared(shared) => shared,
        }
    }

    /// The bytes as a [`Bytes`]: no copy when they are shared, a copy (into a
    /// new buffer) when they are held inline.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_slice()),
            Repr::Shared(shared) => shared,
        }
    }

    /// True when the bytes are held inline (small payloads) rather than shared
    /// with a buffer.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::new()
    }
}

impl Deref for Payload {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Payload {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Shares `bytes` (no copy), whatever their length.
impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Payload(Repr::Shared(bytes))
    }
}

/// Takes the vector's buffer (no copy), whatever its length.
impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload(Repr::Shared(bytes.into()))
    }
}

/// A copy: inline when it fits.
impl From<&[u8]> for Payload {
    fn from(data: &[u8]) -> Self {
        Payload::copy_from_slice(data)
    }
}

/// A copy: inline when it fits.
impl<const N: usize> From<&[u8; N]> for Payload {
    fn from(data: &[u8; N]) -> Self {
        Payload::copy_from_slice(data)
    }
}

/// The bytes as a [`Bytes`] (see [`Payload::into_bytes`]).
impl From<Payload> for Bytes {
    fn from(payload: Payload) -> Bytes {
        payload.into_bytes()
    }
}

/// The bytes in a vector (a copy).
impl From<Payload> for Vec<u8> {
    fn from(payload: Payload) -> Vec<u8> {
        payload.as_slice().to_vec()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Payload {}

impl PartialEq<[u8]> for Payload {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Payload {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Payload {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Payload {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for Payload {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Bytes> for Payload {
    fn eq(&self, other: &Bytes) -> bool {
        self.as_slice() == other.as_ref()
    }
}

impl PartialOrd for Payload {
    fn partial_cmp(&self, other: &Payload) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Payload {
    fn cmp(&self, other: &Payload) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Payload {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

/// Like `Bytes`: a byte string, `b"..."` with escapes.
impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of(value: impl Hash) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn small_payloads_are_inline_and_large_ones_shared() {
        let small = Payload::copy_from_slice(&[1; INLINE_CAPACITY]);
        assert!(small.is_inline());
        assert_eq!(small.as_slice(), &[1; INLINE_CAPACITY][..]);
        let large = Payload::copy_from_slice(&[2; INLINE_CAPACITY + 1]);
        assert!(!large.is_inline());
        assert_eq!(large.len(), INLINE_CAPACITY + 1);
        assert!(Payload::new().is_empty());
    }

    #[test]
    fn forms_compare_and_hash_by_their_bytes() {
        let inline = Payload::copy_from_slice(b"same");
        let shared = Payload::from(Bytes::from_static(b"same"));
        assert!(inline.is_inline() && !shared.is_inline());
        assert_eq!(inline, shared);
        assert_eq!(hash_of(&inline), hash_of(&shared));
        assert_eq!(hash_of(&inline), hash_of(&b"same"[..]));
        let (a, b) = (
            Payload::from(&b"a"[..]),
            Payload::from(Bytes::from_static(b"b")),
        );
        assert!(a < b);
        assert_eq!(inline, b"same");
        assert_eq!(inline, b"same".to_vec());
        assert_eq!(inline, Bytes::from_static(b"same"));
    }

    #[test]
    fn into_bytes_keeps_shared_buffers_and_copies_inline_ones() {
        let bytes = Bytes::from(vec![9u8; 100]);
        let pointer = bytes.as_ptr();
        assert_eq!(Payload::from(bytes).into_bytes().as_ptr(), pointer);
        assert_eq!(Payload::copy_from_slice(b"hi").into_bytes(), &b"hi"[..]);
        assert_eq!(Vec::from(Payload::copy_from_slice(b"hi")), b"hi".to_vec());
    }

    #[test]
    fn debug_is_a_byte_string() {
        assert_eq!(
            format!("{:?}", Payload::copy_from_slice(b"a\x00\"")),
            r#"b"a\x00\"""#
        );
    }

    #[test]
    fn a_payload_is_no_larger_than_bytes_and_a_tag() {
        assert!(std::mem::size_of::<Payload>() <= std::mem::size_of::<Bytes>() + 8);
    }
}
