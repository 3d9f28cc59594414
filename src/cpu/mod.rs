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

/// What this x86 CPU offers to the twins' loops, each compiled once per
/// instruction set (`#[target_feature]`) from one portable function and
/// chosen at run time, so one binary runs everywhere.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
pub(crate) mod x86 {
    use std::arch::is_x86_feature_detected as has;

    /// AVX-512 with the subsets the loops are compiled for.
    pub(crate) fn has_avx512() -> bool {
        has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq")
    }

    pub(crate) fn has_avx2() -> bool {
        has!("avx2")
    }
}

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
