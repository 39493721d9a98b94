//! How an in-memory transport cuts the bytes it delivers, from a seeded generator.

/// xorshift64*: small, seeded, good enough to pick chunk sizes.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator; a zero seed is replaced (xorshift would stay at zero).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `1..=max`.
    pub fn between_1_and(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max.max(1) as u64) as usize
    }
}

/// How the in-memory transport cuts the bytes it delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Everything pending in one `handle_input` call.
    Whole,
    /// One byte per `handle_input` call.
    OneByte,
    /// Pieces of `1..=max` bytes, sizes drawn from a seeded xorshift.
    Random {
        /// The largest piece.
        max: usize,
        /// The xorshift seed.
        seed: u64,
    },
}

/// Cuts `len` bytes into pieces following `chunking`.
pub fn cut(len: usize, chunking: Chunking, rng: &mut XorShift) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = match chunking {
            Chunking::Whole => left,
            Chunking::OneByte => 1,
            Chunking::Random { max, .. } => rng.between_1_and(max).min(left),
        };
        sizes.push(n);
        left -= n;
    }
    sizes
}
