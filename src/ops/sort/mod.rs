//! A stable sort of `u32` keys carrying `u32` values: the cluster members
//! of k-means in index order, and the grid's points by cell key.
//!
//! On the GPU (`gpu.rs`, `sort.wgsl`) it is a least-significant-digit
//! radix sort with 8-bit digits, one histogram, scan and scatter per
//! digit, recorded into the caller's submission so the keys never leave
//! the device; only as many digits as the largest key needs are sorted.
//! The CPU twin (`cpu.rs`) is any stable sort: a stable sort's result is
//! unique (equal keys keep their input order), so both backends give the
//! same pairs, whatever the algorithm or the split into blocks.
//!
//! Who uses which: the GPU recorder (`gpu::Sorter`) is used by
//! `ops/cluster_sums`, which sorts k-means' members by cluster on the
//! device, and by `ops/grid`'s device build, which sorts the points by
//! cell key. The CPU twin is used only by the parity test against the GPU
//! sort: the grid's CPU twin sorts with the standard library's stable
//! sort, which gives the same order.

pub(crate) mod cpu;
pub(crate) mod gpu;

/// 8-bit digits to sort keys below `bound` (at least one).
pub(crate) fn passes(bound: u32) -> u32 {
    let bits = 32 - bound.saturating_sub(1).leading_zeros();
    bits.div_ceil(8).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Inner;

    #[test]
    fn passes_cover_the_keys() {
        assert_eq!(passes(0), 1);
        assert_eq!(passes(1), 1);
        assert_eq!(passes(256), 1);
        assert_eq!(passes(257), 2);
        assert_eq!(passes(1 << 16), 2);
        assert_eq!(passes((1 << 16) + 1), 3);
        assert_eq!(passes(u32::MAX), 4);
    }

    #[test]
    fn the_twin_is_stable() {
        let keys = [3, 1, 3, 0, 1, 3];
        let (k, v) = cpu::sort_pairs(&keys, &[10, 11, 12, 13, 14, 15]);
        assert_eq!(k, [0, 1, 1, 3, 3, 3]);
        assert_eq!(v, [13, 11, 14, 10, 12, 15]);
    }

    /// The GPU sort against the twin: sizes around a block, keys of one to
    /// four digits with many repeats (stability shows), values given or
    /// the element index. Skipped without an adapter unless
    /// `REQUIRE_GPU=1`.
    #[test]
    fn the_gpu_sort_matches_the_twin() {
        let Some(ctx) = crate::context::test_gpu() else {
            return;
        };
        let Inner::Gpu(g) = ctx.inner() else {
            unreachable!("Context::gpu is a GPU context")
        };
        for n in [1usize, 255, 256, 257, 1000, 70_001] {
            for bound in [2u32, 256, 300, 70_000, u32::MAX] {
                let keys: Vec<u32> = (0..n as u64)
                    .map(|i| ((i * 2_654_435_761) % u64::from(bound.min(n as u32 / 3 + 2))) as u32)
                    .collect();
                let values: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(7919)).collect();
                let (wk, wv) = cpu::sort_pairs(&keys, &values);
                let (gk, gv) =
                    pollster::block_on(gpu::sort_pairs(g, &keys, Some(&values), bound)).unwrap();
                assert_eq!((&gk, &gv), (&wk, &wv), "n {n}, bound {bound}");
                let index: Vec<u32> = (0..n as u32).collect();
                let (_, wi) = cpu::sort_pairs(&keys, &index);
                let (_, gi) = pollster::block_on(gpu::sort_pairs(g, &keys, None, bound)).unwrap();
                assert_eq!(gi, wi, "n {n}, bound {bound}, index values");
            }
        }
    }

    #[test]
    fn the_stage_validates() {
        for wg in [32, 64, 256] {
            for entry in ["hist", "scatter"] {
                crate::gpu::pipelines::validate(&gpu::SORT, 1, entry, &[], &[("WG", wg)]);
            }
        }
    }
}
