//! GPU stages against their CPU twin, through the public API, on whatever
//! adapter is present (lavapipe in CI; skipped without one unless
//! `REQUIRE_GPU=1`).
//!
//! Tolerances, and why they are not zero: both backends evaluate the same
//! `f32` expressions in the same order (`KernelCoeffs`, sums in data-index
//! order), but a GPU's `exp2` is only accurate to a few ulp (Vulkan allows
//! 3 + 2|x| ulp) where the CPU twin's polynomial is within 1.23 ulp, its
//! division may be approximate (2.5 ulp), and its compiler may contract `a * b + c` into a
//! fused multiply-add, which rounds once instead of twice. Each moves a
//! weight or a distance by a few ulp; a weighted mean of positive weights
//! keeps such relative errors at the same order, so positions agree to about
//! 1e-6 of the data's scale per iteration. [`POSITION_TOL`] allows 20 times
//! that. Compact kernels add one more effect: a pair within an ulp of the
//! window's edge (`d^2 = h^2`) can fall on either side when `d^2` is
//! rounded differently, moving that point's mean by a visible amount; such
//! ties are rare on continuous data, and a few rows are allowed to differ
//! for those kernels (none do on lavapipe, which does not contract).
//!
//! The grids stay small so the file runs in well under two minutes on
//! software Vulkan with two cores.

mod common;

use gpu_cluster::{
    BandwidthEstimate, Context, GpuOptions, Kernel, MeanShift, MeanShiftFit, Points, StopReason,
};

/// Positions agree to this fraction of the data's scale (see the file's
/// doc comment).
const POSITION_TOL: f32 = 2e-5;

/// Rows that may differ for a compact kernel because of a pair on the
/// window's edge: one in a hundred, at least one.
fn edge_allowance(kernel: Kernel, rows: usize) -> usize {
    if kernel == Kernel::Gaussian {
        0
    } else {
        rows / 100 + 1
    }
}

fn points(n: usize, dim: usize, seed: u64) -> Points {
    Points::new(&common::uniform(n, dim, 10.0, seed), dim).unwrap()
}

/// Root-mean-square distance between two uniform points of `[-10, 10]^dim`,
/// the scale bandwidths are chosen against.
fn typical_distance(dim: usize) -> f32 {
    10.0 * (2.0 * dim as f32 / 3.0).sqrt()
}

/// Checks two row-major matrices row by row: rows whose largest difference
/// exceeds `tol` are counted and may number at most `allowed`.
fn assert_rows_close(what: &str, gpu: &Points, cpu: &Points, tol: f32, allowed: usize) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: row counts");
    let mut off = Vec::new();
    for (i, (g, c)) in gpu.rows().zip(cpu.rows()).enumerate() {
        // A NaN counts as the largest difference.
        let worst = g
            .iter()
            .zip(c)
            .map(|(a, b)| (a - b).abs())
            .fold(
                0.0f32,
                |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
            );
        if worst > tol {
            off.push((i, worst));
        }
    }
    assert!(
        off.len() <= allowed,
        "{what}: {} rows differ by more than {tol:e} (allowed {allowed}), first: {:?}",
        off.len(),
        &off[..off.len().min(5)]
    );
}

fn bits(p: &Points) -> Vec<u32> {
    p.as_slice().iter().map(|v| v.to_bits()).collect()
}

/// `clusters` tight groups (uniform in a cube of side 2) whose centres lie
/// 30 apart along a diagonal-ish line: separated by far more than the
/// bandwidths used on them.
fn separated(clusters: usize, per_cluster: usize, dim: usize, seed: u64) -> Points {
    let noise = common::uniform(clusters * per_cluster, dim, 1.0, seed);
    let flat: Vec<f32> = noise
        .chunks_exact(dim)
        .enumerate()
        .flat_map(|(i, row)| {
            let c = (i % clusters) as f32;
            row.iter()
                .enumerate()
                .map(move |(k, v)| v + 30.0 * c * if k % 2 == 0 { 1.0 } else { -0.5 })
                .collect::<Vec<_>>()
        })
        .collect();
    Points::new(&flat, dim).unwrap()
}

fn blur(ctx: &Context, x: &Points, h: f32, kernel: Kernel, steps: usize) -> MeanShiftFit {
    MeanShift::new(h)
        .kernel(kernel)
        .blurring(steps)
        .fit(ctx, x)
        .unwrap()
}

#[test]
fn blurring_matches_cpu_over_sizes_dimensions_kernels_and_bandwidths() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Context::cpu();
    // N: 1, below a 64-row tile, not a multiple of it, a few thousand.
    let cases: &[(usize, &[usize])] = &[
        (1, &[1, 2, 3, 17, 64, 300]),
        (37, &[1, 2, 3, 17, 64, 300]),
        (130, &[1, 2, 3, 17, 64]),
        (2500, &[1, 2]),
    ];
    for &(n, dims) in cases {
        for &dim in dims {
            let x = points(n, dim, (n * 1000 + dim) as u64);
            for h in [0.3 * typical_distance(dim), 0.8 * typical_distance(dim)] {
                for kernel in Kernel::ALL {
                    let g = blur(&gpu, &x, h, kernel, 2);
                    let c = blur(&cpu, &x, h, kernel, 2);
                    let what = format!("N {n}, D {dim}, h {h}, {kernel}");
                    assert_rows_close(
                        &what,
                        g.final_positions().unwrap(),
                        c.final_positions().unwrap(),
                        POSITION_TOL * 10.0,
                        edge_allowance(kernel, n),
                    );
                    assert_eq!(g.n_iter(), 2, "{what}");
                }
            }
        }
    }
}

#[test]
fn reference_workload_gives_the_cpu_clusters() {
    let Some(gpu) = common::gpu() else { return };
    let data = gpu_cluster::Blobs::default().generate().unwrap();
    let fit = |ctx: &Context| {
        MeanShift::new(2.5)
            .kernel(Kernel::Gaussian)
            .blurring(5)
            .fit(ctx, &data.points)
            .unwrap()
    };
    let (g, c) = (fit(&gpu), fit(&Context::cpu()));
    assert_eq!(g.n_clusters(), 6);
    assert_eq!(g.labels(), c.labels());
    // Blobs span about 80 units.
    assert_rows_close("centres", g.centers(), c.centers(), POSITION_TOL * 80.0, 0);
}

/// Zero blurring iterations: the points are their own modes, ranked by
/// how many lie within h, on both backends, trajectory asked for or not.
#[test]
fn zero_blurring_iterations_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let x = separated(3, 40, 2, 7);
    for record in [false, true] {
        let fit = |ctx: &Context| {
            MeanShift::new(2.0)
                .kernel(Kernel::Gaussian)
                .blurring(0)
                .record_trajectory(record)
                .fit(ctx, &x)
                .unwrap()
        };
        let (g, c) = (fit(&gpu), fit(&Context::cpu()));
        let what = format!("record {record}");
        // The data themselves (centred and back, so to rounding).
        let (gp, cp) = (g.final_positions().unwrap(), c.final_positions().unwrap());
        assert_eq!(bits(gp), bits(cp), "{what}");
        assert_rows_close(&what, gp, &x, 1e-5, 0);
        assert_eq!(g.labels(), c.labels(), "{what}");
        assert_eq!(g.intensities(), c.intensities(), "{what}");
        assert_eq!(bits(g.centers()), bits(c.centers()), "{what}");
        assert!(g.trajectory().is_empty(), "{what}");
    }
}

#[test]
fn standard_mode_matches_cpu_on_separated_data() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Context::cpu();
    for (dim, n) in [(1, 90), (2, 300), (3, 130), (17, 60), (64, 40)] {
        let x = separated(3, n / 3, dim, dim as u64);
        // Groups have a diameter of about 2 sqrt(D) and lie 30 apart.
        for h in [2.5 * (dim as f32).sqrt(), 6.0 * (dim as f32).sqrt()] {
            for kernel in Kernel::ALL {
                let what = format!("D {dim}, N {n}, h {h}, {kernel}");
                let g = MeanShift::new(h).kernel(kernel).fit(&gpu, &x).unwrap();
                let c = MeanShift::new(h).kernel(kernel).fit(&cpu, &x).unwrap();
                assert_eq!(g.n_clusters(), 3, "{what}");
                assert_eq!(g.labels(), c.labels(), "{what}");
                assert_rows_close(&what, g.centers(), c.centers(), POSITION_TOL * 60.0, 0);
                // A last step that lands within an ulp of the tolerance may
                // stop one step earlier or later on one backend.
                assert!(
                    g.n_iter().abs_diff(c.n_iter()) <= 1,
                    "{what}: n_iter {} vs {}",
                    g.n_iter(),
                    c.n_iter()
                );
                assert_eq!(g.stop_reason(), c.stop_reason(), "{what}");
            }
        }
    }
}

#[test]
fn standard_mode_matches_cpu_on_uniform_data() {
    // Many modes, seeds that converge at different steps and some that hit
    // max_iter: the per-seed bookkeeping must agree.
    let Some(gpu) = common::gpu() else { return };
    let x = points(400, 2, 7);
    for kernel in Kernel::ALL {
        let ms = MeanShift::new(3.0).kernel(kernel).max_iter(40);
        let (g, c) = (
            ms.fit(&gpu, &x).unwrap(),
            ms.fit(&Context::cpu(), &x).unwrap(),
        );
        assert_eq!(g.n_clusters(), c.n_clusters(), "{kernel}");
        assert_rows_close(
            &format!("{kernel}"),
            g.centers(),
            c.centers(),
            POSITION_TOL * 10.0,
            0,
        );
        assert_eq!(g.intensities(), c.intensities(), "{kernel}");
        assert!(g.n_iter().abs_diff(c.n_iter()) <= 1, "{kernel}");
    }
}

#[test]
fn sample_weights_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let x = separated(3, 100, 2, 11);
    let mut weights: Vec<f32> = common::uniform(300, 1, 1.0, 12)
        .iter()
        .map(|w| w + 1.0)
        .collect();
    weights[..30].fill(0.0);
    for kernel in Kernel::ALL {
        let ms = MeanShift::new(4.0)
            .kernel(kernel)
            .sample_weights(weights.clone());
        let (g, c) = (
            ms.fit(&gpu, &x).unwrap(),
            ms.fit(&Context::cpu(), &x).unwrap(),
        );
        assert_eq!(g.labels(), c.labels(), "{kernel}");
        assert_rows_close(
            &format!("standard, {kernel}"),
            g.centers(),
            c.centers(),
            POSITION_TOL * 60.0,
            0,
        );
        let blurred = |ctx: &Context| ms.clone().blurring(3).fit(ctx, &x).unwrap();
        let (g, c) = (blurred(&gpu), blurred(&Context::cpu()));
        assert_rows_close(
            &format!("blurring, {kernel}"),
            g.final_positions().unwrap(),
            c.final_positions().unwrap(),
            POSITION_TOL * 60.0,
            edge_allowance(kernel, 300),
        );
    }
}

#[test]
fn bandwidth_estimate_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    // N = 2 with a small quantile: k = 1, each point's own distance 0: an
    // estimate of 0 on both backends.
    for (n, dim) in [(2, 1), (37, 3), (130, 17), (700, 2), (60, 300)] {
        let x = points(n, dim, 3 + n as u64);
        for quantile in [0.05, 0.3, 1.0] {
            let est = BandwidthEstimate::new(quantile);
            let what = format!("N {n}, D {dim}, q {quantile}");
            match (est.estimate(&gpu, &x), est.estimate(&Context::cpu(), &x)) {
                // The k-th distance is exact given the squared distances;
                // those may differ by a few ulp (FMA contraction).
                (Ok(g), Ok(c)) => assert!((g - c).abs() <= 1e-5 * c, "{what}: {g} vs {c}"),
                (g, c) => assert_eq!(g, c, "{what}"),
            }
        }
    }
}

#[test]
fn split_bindings_give_the_same_bits() {
    // 2 KiB bindings: a few dozen rows per buffer, so data, queries and
    // sums are all split, and the sums carry over between buffers.
    let Some(whole) = common::gpu() else { return };
    let Some(split) = common::gpu_with(&GpuOptions {
        max_binding_bytes: Some(2048),
        ..Default::default()
    }) else {
        return;
    };
    let x = points(500, 3, 21);
    let weights: Vec<f32> = common::uniform(500, 1, 1.0, 22)
        .iter()
        .map(|w| w + 1.0)
        .collect();
    for kernel in [Kernel::Flat, Kernel::Gaussian] {
        let ms = MeanShift::new(6.0)
            .kernel(kernel)
            .sample_weights(weights.clone());
        let blurred = |ctx: &Context| {
            ms.clone()
                .blurring(3)
                .record_trajectory(true)
                .fit(ctx, &x)
                .unwrap()
        };
        let (a, b) = (blurred(&whole), blurred(&split));
        assert_eq!(
            bits(a.final_positions().unwrap()),
            bits(b.final_positions().unwrap()),
            "{kernel}"
        );
        assert_eq!(a.trajectory(), b.trajectory(), "{kernel}");
        let (a, b) = (ms.fit(&whole, &x).unwrap(), ms.fit(&split, &x).unwrap());
        assert_eq!(bits(a.centers()), bits(b.centers()), "{kernel}");
        assert_eq!(a.labels(), b.labels(), "{kernel}");
        assert_eq!(a.n_iter(), b.n_iter(), "{kernel}");
    }
    let est = BandwidthEstimate::new(0.3);
    assert_eq!(
        est.estimate(&whole, &x).unwrap().to_bits(),
        est.estimate(&split, &x).unwrap().to_bits()
    );
}

#[test]
fn gpu_runs_are_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let Some(again) = common::gpu() else { return };
    let x = points(700, 5, 31);
    let runs: Vec<_> = [&gpu, &gpu, &again]
        .iter()
        .map(|ctx| blur(ctx, &x, 8.0, Kernel::Gaussian, 3))
        .collect();
    for r in &runs[1..] {
        assert_eq!(
            bits(r.final_positions().unwrap()),
            bits(runs[0].final_positions().unwrap())
        );
    }
    let seeks: Vec<_> = [&gpu, &again]
        .iter()
        .map(|ctx| MeanShift::new(6.0).fit(ctx, &x).unwrap())
        .collect();
    assert_eq!(bits(seeks[0].centers()), bits(seeks[1].centers()));
    assert_eq!(seeks[0].n_iter(), seeks[1].n_iter());
}

/// Audited stages built without wgpu's runtime checks
/// (`GpuOptions::trusted_shaders`) give the checked build's bits: over
/// sizes that cut tiles and workgroups unevenly, weights, both modes.
#[test]
fn trusted_shaders_give_the_same_bits() {
    let Some(checked) = common::gpu() else { return };
    let options = GpuOptions {
        trusted_shaders: true,
        ..GpuOptions::default()
    };
    let Some(trusted) = common::gpu_with(&options) else {
        return;
    };
    for (n, dim) in [(1, 1), (257, 2), (700, 3), (300, 17)] {
        let x = points(n, dim, 5 + n as u64);
        let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 3) as f32).collect();
        for kernel in Kernel::ALL {
            let blurring = MeanShift::new(typical_distance(dim))
                .kernel(kernel)
                .blurring(3)
                .sample_weights(w.clone());
            let (a, b) = (
                blurring.fit(&checked, &x).unwrap(),
                blurring.fit(&trusted, &x).unwrap(),
            );
            let what = format!("n {n} dim {dim} {kernel:?}");
            assert_eq!(
                bits(a.final_positions().unwrap()),
                bits(b.final_positions().unwrap()),
                "{what}"
            );
            let standard = MeanShift::new(typical_distance(dim)).kernel(kernel);
            let (a, b) = (
                standard.fit(&checked, &x).unwrap(),
                standard.fit(&trusted, &x).unwrap(),
            );
            assert_eq!(bits(a.centers()), bits(b.centers()), "{what}, standard");
        }
    }
}

#[test]
fn dimension_1024_works() {
    let Some(gpu) = common::gpu() else { return };
    let dim = 1024;
    let x = separated(2, 20, dim, 41);
    let h = 2.0 * (dim as f32).sqrt();
    let (g, c) = (
        blur(&gpu, &x, h, Kernel::Gaussian, 1),
        blur(&Context::cpu(), &x, h, Kernel::Gaussian, 1),
    );
    assert_rows_close(
        "blurring",
        g.final_positions().unwrap(),
        c.final_positions().unwrap(),
        POSITION_TOL * 60.0,
        0,
    );
    let (g, c) = (
        MeanShift::new(h).fit(&gpu, &x).unwrap(),
        MeanShift::new(h).fit(&Context::cpu(), &x).unwrap(),
    );
    assert_eq!(g.n_clusters(), 2);
    assert_eq!(g.labels(), c.labels());
    let est = BandwidthEstimate::new(0.3);
    let (g, c) = (
        est.estimate(&gpu, &x).unwrap(),
        est.estimate(&Context::cpu(), &x).unwrap(),
    );
    assert!((g - c).abs() <= 1e-5 * c, "{g} vs {c}");
}

/// Rows of 20 KB, more than a workgroup's memory holds: the shift stage
/// splits the feature axis over threads and streams the rows from storage,
/// in blurring (with the intensity pass, weighted or not) and standard
/// mode; the bandwidth estimate streams slices of the rows.
#[test]
fn dimension_5000_works() {
    let Some(gpu) = common::gpu() else { return };
    let dim = 5000;
    let x = separated(2, 6, dim, 43);
    let estimate = |ctx: &Context| BandwidthEstimate::new(0.5).estimate(ctx, &x).unwrap();
    assert_eq!(
        estimate(&gpu).to_bits(),
        estimate(&Context::cpu()).to_bits()
    );
    let weights: Vec<f32> = common::uniform(12, 1, 1.0, 44)
        .iter()
        .map(|w| w + 1.0)
        .collect();
    // Groups have a diameter of about 2 sqrt(D) and lie far apart.
    let h = 2.0 * (dim as f32).sqrt();
    for (kernel, weighted) in [(Kernel::Gaussian, false), (Kernel::Epanechnikov, true)] {
        let mut ms = MeanShift::new(h).kernel(kernel);
        if weighted {
            ms = ms.sample_weights(weights.clone());
        }
        let what = format!("{kernel}, weighted {weighted}");
        let blurred = |ctx: &Context| ms.clone().blurring(2).fit(ctx, &x).unwrap();
        let (g, c) = (blurred(&gpu), blurred(&Context::cpu()));
        assert_rows_close(
            &format!("blurring, {what}"),
            g.final_positions().unwrap(),
            c.final_positions().unwrap(),
            POSITION_TOL * 60.0,
            0,
        );
        assert_eq!(g.n_clusters(), 2, "{what}");
        assert_eq!(g.labels(), c.labels(), "{what}");
        let (g, c) = (
            ms.fit(&gpu, &x).unwrap(),
            ms.fit(&Context::cpu(), &x).unwrap(),
        );
        assert_eq!(g.n_clusters(), 2, "{what}");
        assert_eq!(g.labels(), c.labels(), "{what}");
        assert_rows_close(
            &format!("standard, {what}"),
            g.centers(),
            c.centers(),
            POSITION_TOL * 60.0,
            0,
        );
        assert_eq!(g.intensities(), c.intensities(), "{what}");
        // As in the other standard-mode checks: a last step within an ulp
        // of the tolerance may stop one step apart.
        assert!(g.n_iter().abs_diff(c.n_iter()) <= 1, "{what}");
    }
}

/// Labels and `predict` run the nearest op on the fit's backend (small
/// calls, such as the blobs' labels, on the host on either): the GPU gives
/// the CPU twin's labels on the blobs, and `predict_on` a GPU equals
/// `predict` on the CPU for new points, `cluster_all` off included. The
/// 8000 new points against the blobs' six centres are a call the device
/// answers.
#[test]
fn labels_and_predict_on_the_gpu_match_the_cpu() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cpu = Context::cpu();
    let data = gpu_cluster::Blobs::default().generate().unwrap();
    let fresh = points(8000, 2, 99);
    for cluster_all in [true, false] {
        let ms = MeanShift::new(2.5).blurring(5).cluster_all(cluster_all);
        let on_gpu = ms.fit(&gpu, &data.points).unwrap();
        let on_cpu = ms.fit(&cpu, &data.points).unwrap();
        assert_eq!(
            on_gpu.labels(),
            on_cpu.labels(),
            "cluster_all {cluster_all}"
        );
        assert_eq!(
            on_gpu.predict_on(&gpu, &fresh).unwrap(),
            on_gpu.predict(&fresh).unwrap(),
            "cluster_all {cluster_all}"
        );
    }
}

/// Blurring until stable stops by each of its rules, with the same
/// iteration count on both backends: the largest shift below `tol * h`
/// (flat kernel: each group collapses to its mean at once, then stays),
/// labels unchanged over two iterations (gaussian kernel, `tol` 0: the
/// groups keep contracting), and the iteration cap.
#[test]
fn blurring_until_stable_stops_by_each_rule() {
    let x = Points::new(
        &[
            0.0, 0.0, 0.4, 0.1, 0.1, 0.5, 10.0, 10.0, 10.3, 9.8, 9.9, 10.4,
        ],
        2,
    )
    .unwrap();
    let mut contexts = vec![Context::cpu()];
    contexts.extend(common::gpu());
    for ctx in &contexts {
        let cases = [
            (
                MeanShift::new(2.0)
                    .kernel(Kernel::Flat)
                    .blurring_until_stable(),
                StopReason::ShiftBelowTol,
                2,
            ),
            (
                MeanShift::new(2.0).blurring_until_stable().tol(0.0),
                StopReason::LabelsStable,
                2,
            ),
            (
                MeanShift::new(2.0)
                    .blurring_until_stable()
                    .tol(0.0)
                    .max_iter(1),
                StopReason::MaxIter,
                1,
            ),
        ];
        for (ms, reason, n_iter) in cases {
            let fit = ms.fit(ctx, &x).unwrap();
            assert_eq!((fit.stop_reason(), fit.n_iter()), (reason, n_iter), "{ctx}");
            assert_eq!(fit.n_clusters(), 2, "{ctx}: {reason:?}");
        }
    }
}
