//! CPU plumbing shared by the CPU twins of the ops (`src/ops/<op>/cpu.rs`):
//! work spread over threads, SIMD lanes and their `exp2`, and the squared
//! distance every twin computes the same way.
//!
//! Each twin is both a backend of its own and the reference its GPU stage
//! is tested against. Work is split per query (the kernel sums take
//! queries in blocks of 16 SIMD lanes, each lane computing exactly what its
//! query would alone: `lanes.rs`), so neither the thread count nor the
//! CPU's instruction set changes an answer.

pub(crate) mod lanes;

/// Squared distance in `f32`, summed over the coordinates in order
/// (`acc + d * d`, no fused multiply-add: Rust never contracts), as the
/// GPU stages sum it.
#[inline]
pub(crate) fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .fold(0.0f32, |acc, (x, y)| acc + (x - y) * (x - y))
}

/// Number of threads the CPU twin uses.
pub(crate) fn threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// `f(i)` for every `i` in `0..n`, collected in order; in parallel where
/// the `parallel` feature is on. Items are independent, so the split does
/// not change results.
pub(crate) fn map_indices<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Send + Sync,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        (0..n).map(f).collect()
    }
}
