//! RFC 6455 §5.3 masking: XOR with a 4-byte key, cycled from the payload's start.
//!
//! The hot path of sending: it works eight bytes at a time with the key widened to a
//! `u64` (the compiler vectorises the loop); a byte loop handles the edges.
//! `offset` lets a payload be masked in pieces as it arrives.
//!
//! [`extend_masked`] copies and masks in one pass, writing straight into the
//! output's spare capacity: a copy followed by an in-place XOR reads and writes the
//! payload twice and halves the send bandwidth (the target: ≥ 80% of memcpy's). Marking
//! the written bytes as initialised, and calling the same loop compiled for AVX2
//! once the CPU is known to have it, are two of the crate's three `unsafe` blocks
//! (the third: `utf8::validated_str`).

// The crate denies `unsafe` (core/Cargo.toml: `deny` rather than the workspace's
// `forbid`, which no module could relax); this module alone may use it, for
// `Vec::set_len` once every byte of the spare capacity is written (`extend_masked`)
// and for calling the AVX2 build of the masking loop after checking the CPU.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

/// The key rotated for `offset`, as a byte array and widened to eight bytes.
#[inline]
fn widen(key: [u8; 4], offset: usize) -> ([u8; 4], u64) {
    let r = offset % 4;
    let key = [key[r], key[(r + 1) % 4], key[(r + 2) % 4], key[(r + 3) % 4]];
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    (key, wide)
}

/// XORs `buf` with `key`, as if `buf` started `offset` bytes into the payload.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let (key, wide) = widen(key, offset);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let masked = u64::from_ne_bytes(word) ^ wide;
        chunk.copy_from_slice(&masked.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// Appends `src` to `out` masked with `key`, as if `src` started `offset` bytes
/// into the payload: the same bytes as `extend_from_slice` then [`apply_mask`], in
/// one pass over memory.
#[inline]
pub fn extend_masked(out: &mut Vec<u8>, src: &[u8], key: [u8; 4], offset: usize) {
    let (key, wide) = widen(key, offset);
    out.reserve(src.len());
    let len = out.len();
    let dst: &mut [MaybeUninit<u8>] = &mut out.spare_capacity_mut()[..src.len()];
    #[cfg(target_arch = "x86_64")]
    if src.len() >= WIDE_FROM && std::is_x86_feature_detected!("avx2") {
        // SAFETY: `mask_into_avx2` only requires AVX2, which the CPU has (checked
        // on this line).
        unsafe { mask_into_avx2(dst, src, key, wide) };
        return written(out, len + src.len());
    }
    mask_into(dst, src, key, wide);
    written(out, len + src.len());
}

/// Payloads from this size on are masked with 256-bit vectors where the CPU has
/// them (the default x86-64 target only vectorises with 128-bit SSE2); below it
/// the feature check costs more than it saves.
#[cfg(target_arch = "x86_64")]
const WIDE_FROM: usize = 512;

/// Writes `src` masked into `dst` (of the same length): every byte of `dst`.
#[inline(always)]
fn mask_into(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4], wide: u64) {
    let mut dst_words = dst.chunks_exact_mut(8);
    let mut src_words = src.chunks_exact(8);
    for (d, s) in (&mut dst_words).zip(&mut src_words) {
        let mut word = [0u8; 8];
        word.copy_from_slice(s);
        let masked = (u64::from_ne_bytes(word) ^ wide).to_ne_bytes();
        for (d, b) in d.iter_mut().zip(masked) {
            d.write(b);
        }
    }
    let tail = dst_words.into_remainder();
    for (i, (d, s)) in tail.iter_mut().zip(src_words.remainder()).enumerate() {
        d.write(s ^ key[i % 4]);
    }
}

/// [`mask_into`] compiled for AVX2. Callers must check that the CPU has AVX2
/// (an `unsafe fn`: safe `#[target_feature]` functions need Rust 1.86, the
/// workspace supports 1.85).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mask_into_avx2(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4], wide: u64) {
    mask_into(dst, src, key, wide);
}

/// Marks the first `new_len` bytes of `out` initialised.
#[inline]
fn written(out: &mut Vec<u8>, new_len: usize) {
    debug_assert!(new_len <= out.capacity());
    // SAFETY: `extend_masked`, the only caller, reserved `src.len()` bytes past the
    // old length (so `new_len <= capacity`) and wrote every one of them through
    // `MaybeUninit::write` (`mask_into`, directly or compiled for AVX2): the whole
    // words, then the tail, cover `spare[..src.len()]` exactly, since both zips pair equal-length sequences
    // (`dst` was cut to `src.len()`, and `chunks_exact(8)` of two slices of equal
    // length yields the same number of words and remainders of the same length).
    unsafe { out.set_len(new_len) };
}

/// The definition from RFC 6455 §5.3, one byte at a time: the reference the fast
/// path is tested against.
pub fn apply_mask_reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_mask_equals_reference_for_every_length_alignment_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..8 {
            for len in 0..(data.len() - start) {
                for offset in 0..4 {
                    let mut fast = data[start..start + len].to_vec();
                    let mut slow = fast.clone();
                    apply_mask(&mut fast, key, offset);
                    apply_mask_reference(&mut slow, key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn fused_copy_equals_copy_then_reference_mask() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for prefix in 0..9 {
            for start in 0..8 {
                for len in 0..(data.len() - start) {
                    for offset in 0..4 {
                        let src = &data[start..start + len];
                        let mut fused = vec![0xaa; prefix];
                        extend_masked(&mut fused, src, key, offset);
                        let mut slow = vec![0xaa; prefix];
                        slow.extend_from_slice(src);
                        apply_mask_reference(&mut slow[prefix..], key, offset);
                        assert_eq!(fused, slow, "prefix {prefix} start {start} len {len}");
                    }
                }
            }
        }
    }

    /// The AVX2 build (from `WIDE_FROM` bytes on, where the CPU has AVX2) against
    /// the reference, over every length around and past the switch, alignment and
    /// offset.
    #[test]
    fn wide_fused_copy_equals_copy_then_reference_mask() {
        let key = [0xa1, 0x02, 0xf3, 0x44];
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 13 + 5) as u8).collect();
        for prefix in 0..3 {
            for start in 0..8 {
                for len in 480..(data.len() - start) {
                    for offset in 0..4 {
                        let src = &data[start..start + len];
                        let mut fused = vec![0x55; prefix];
                        extend_masked(&mut fused, src, key, offset);
                        let mut slow = vec![0x55; prefix];
                        slow.extend_from_slice(src);
                        apply_mask_reference(&mut slow[prefix..], key, offset);
                        assert_eq!(fused, slow, "prefix {prefix} start {start} len {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn fused_copy_into_a_full_vec_and_a_large_payload() {
        let key = [9, 8, 7, 6];
        let src: Vec<u8> = (0..(1usize << 20) + 5).map(|i| (i * 13) as u8).collect();
        let mut exact = Vec::with_capacity(3);
        exact.extend_from_slice(&[1, 2, 3]);
        extend_masked(&mut exact, &src, key, 1);
        let mut slow = vec![1, 2, 3];
        slow.extend_from_slice(&src);
        apply_mask_reference(&mut slow[3..], key, 1);
        assert_eq!(exact, slow);
    }

    #[test]
    fn rfc6455_5_7_masked_hello() {
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn masking_in_pieces_equals_masking_whole() {
        let key = [1, 2, 3, 4];
        let mut whole: Vec<u8> = (0..50).collect();
        let mut pieces = whole.clone();
        apply_mask(&mut whole, key, 0);
        let (a, b) = pieces.split_at_mut(13);
        apply_mask(a, key, 0);
        apply_mask(b, key, 13);
        assert_eq!(whole, pieces);
    }
}
