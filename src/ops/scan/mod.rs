//! Exclusive prefix sums of `u32` counts: where each query's list starts
//! when lists of known lengths are packed one after another (the count,
//! scan, fill pattern of radius queries, grid cells and bucket tables).
//! Integer sums, so both backends give the same values whatever the split.
//! The GPU stage (`gpu.rs`, `scan.wgsl`) is recorded into another op's
//! submission, so the counts never leave the device; the CPU twin is
//! `cpu.rs`.

pub(crate) mod cpu;
pub(crate) mod gpu;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Inner;

    #[test]
    fn the_twin_packs_lists() {
        assert_eq!(cpu::exclusive_scan::<u32>(&[]), [0]);
        assert_eq!(cpu::exclusive_scan(&[3u32, 0, 2, 5]), [0, 3, 3, 5, 10]);
    }

    /// The GPU stage against the twin, over spans split short (a span of
    /// a few runs per thread, so many dispatches continue each other) and
    /// whole. Skipped without an adapter unless `REQUIRE_GPU=1`.
    #[test]
    fn the_gpu_scan_matches_the_twin() {
        let Some(ctx) = crate::context::test_gpu() else {
            return;
        };
        let Inner::Gpu(g) = ctx.inner() else {
            unreachable!("Context::gpu is a GPU context")
        };
        for n in [0usize, 1, 63, 64, 65, 1000, 70_001] {
            let counts: Vec<u32> = (0..n).map(|i| ((i * 7919) % 13) as u32).collect();
            let want = cpu::exclusive_scan(&counts);
            for span in [gpu::SPAN, 100] {
                let got = pollster::block_on(gpu::exclusive_scan(g, &counts, span)).unwrap();
                assert_eq!(got, want, "n {n}, span {span}");
            }
        }
    }

    #[test]
    fn the_stage_validates() {
        crate::gpu::pipelines::validate(&gpu::SCAN, 1, "scan", &[], &[("WG", 64)]);
    }
}
