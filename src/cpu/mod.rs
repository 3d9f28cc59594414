//! The CPU twin of every GPU stage: the same computation in plain Rust, with
//! the same names as the WGSL stages under `shaders/`, so a reader finds a
//! stage and its twin in one hop.
//!
//! It is both a backend of its own and the reference the GPU is tested
//! against. Each query's sums run over the data in index order, like the GPU
//! stage's, and work is split per query (the shift stage takes queries in
//! blocks of 16 SIMD lanes, each lane computing exactly what its query
//! would alone: `lanes.rs`), so neither the thread count nor the CPU's
//! instruction set changes an answer. Data rows that provably add nothing
//! to any query of a block (beyond every query's reach) are skipped, often
//! after a few of their coordinates: the scalar sums skip them too.

pub(crate) mod kth_distance;
pub(crate) mod lanes;
pub(crate) mod shift;

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
