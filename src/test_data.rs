//! Seeded data for the unit tests, from one generator (ChaCha8, as the
//! library's own draws), so that a test's inputs are the same on every
//! machine and no test module carries a generator of its own.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

/// The generator for `seed`.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `len` values uniform in `[lo, hi)`.
pub(crate) fn uniform(len: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let dist = Uniform::new(lo, hi).expect("a finite, non-empty range");
    let mut rng = rng(seed);
    (0..len).map(|_| dist.sample(&mut rng)).collect()
}
