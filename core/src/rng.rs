//! Randomness for masking keys (RFC 6455 §5.3) and `Sec-WebSocket-Key` (§4.1):
//! a ChaCha12 CSPRNG seeded once from the operating system by default, or any
//! source the caller injects (a fixed seed makes tests and fuzzing deterministic).

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

use crate::error::{Error, RandomError};

/// A source of random bytes for the connection.
pub trait RandomSource: Send {
    /// Fills `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// The default source: ChaCha12 seeded from the operating system. A clone
/// continues the same stream from the same point.
#[derive(Clone)]
pub struct ChaChaSource(ChaCha12Rng);

impl ChaChaSource {
    /// Seeds from the operating system's random source.
    pub fn from_os() -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Random(RandomError::new(e)))?;
        Ok(ChaChaSource(ChaCha12Rng::from_seed(seed)))
    }

    /// A deterministic source, for tests and fuzzing only: its output is predictable.
    pub fn from_seed(seed: u64) -> Self {
        ChaChaSource(ChaCha12Rng::seed_from_u64(seed))
    }
}

impl RandomSource for ChaChaSource {
    fn fill(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

impl std::fmt::Debug for ChaChaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChaChaSource")
    }
}
