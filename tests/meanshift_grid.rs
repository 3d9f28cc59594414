//! Mean shift through the grid: the dense fit's bits for the compact
//! kernels and the uncut gaussian, in both modes and in one to four
//! dimensions; the cut gaussian's labels and its reported bound; which
//! method a fit reports where the grid does not apply; bad cutoffs; and
//! the same on a GPU, where the grid's sums run on the device.

mod common;

use gpu_cluster::meanshift::Method;
use gpu_cluster::{Context, Error, Kernel, MeanShift, MeanShiftFit, Points};

/// Everything a fit gives but the method it reports.
fn assert_same_fit(a: &MeanShiftFit, b: &MeanShiftFit, case: &str) {
    assert_eq!(a.centers(), b.centers(), "{case}: centres");
    assert_eq!(a.labels(), b.labels(), "{case}: labels");
    assert_eq!(a.intensities(), b.intensities(), "{case}: intensities");
    assert_eq!(a.n_iter(), b.n_iter(), "{case}: iterations");
    assert_eq!(a.stop_reason(), b.stop_reason(), "{case}: stop");
    assert_eq!(
        a.final_positions(),
        b.final_positions(),
        "{case}: positions"
    );
}

/// Seeded sample weights in [0.5, 1.5).
fn weights(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| 0.5 + ((i * 7919) % 1000) as f32 / 1000.0)
        .collect()
}

#[test]
fn the_grid_gives_the_dense_bits_where_it_leaves_out_only_zeros() {
    let ctx = Context::cpu();
    for dim in 1..=4 {
        let x = common::blobs(dim, 60);
        for kernel in Kernel::ALL {
            for (mode, ms) in [
                ("standard", MeanShift::new(1.5).kernel(kernel)),
                ("blurring", MeanShift::new(1.5).kernel(kernel).blurring(4)),
                (
                    "until stable",
                    MeanShift::new(1.5).kernel(kernel).blurring_until_stable(),
                ),
            ] {
                for weighted in [false, true] {
                    let mut ms = ms.clone().gaussian_cutoff(None);
                    if weighted {
                        ms = ms.sample_weights(weights(x.len()));
                    }
                    let case = format!("D {dim}, {kernel:?}, {mode}, weighted {weighted}");
                    let dense = ms.clone().method(Method::Dense).fit(&ctx, &x).unwrap();
                    let grid = ms.method(Method::Grid).fit(&ctx, &x).unwrap();
                    assert_eq!(dense.method(), Method::Dense, "{case}");
                    assert_eq!(grid.method(), Method::Grid, "{case}");
                    assert_eq!(grid.gaussian_tail(), None, "{case}");
                    assert_same_fit(&grid, &dense, &case);
                }
            }
        }
    }
}

#[test]
fn a_cut_gaussian_keeps_the_labels_and_reports_its_bound() {
    let ctx = Context::cpu();
    let x = common::blobs(2, 250);
    let ms = MeanShift::new(2.5).blurring(5);
    let dense = ms.clone().method(Method::Dense).fit(&ctx, &x).unwrap();
    assert_eq!(dense.n_clusters(), 6);
    for (c, tail) in [(3.0, (-4.5f64).exp()), (4.0, (-8.0f64).exp())] {
        let cut = ms
            .clone()
            .method(Method::Grid)
            .gaussian_cutoff(Some(c))
            .fit(&ctx, &x)
            .unwrap();
        assert_eq!(cut.method(), Method::Grid);
        assert_eq!(cut.labels(), dense.labels(), "c {c}");
        let got = cut.gaussian_tail().unwrap();
        assert!((got - tail).abs() < 1e-9 * tail, "c {c}: {got} vs {tail}");
        // Left-out weight moves positions, a little.
        let moved = cut.final_positions().unwrap();
        let far = dense
            .final_positions()
            .unwrap()
            .rows()
            .zip(moved.rows())
            .map(|(a, b)| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt())
            .fold(0.0f32, f32::max);
        assert!(far > 0.0 && far < 0.05 * 2.5, "c {c}: moved {far}");
    }
}

#[test]
fn the_fit_reports_dense_where_the_grid_does_not_apply() {
    let cpu = Context::cpu();
    let grid = MeanShift::new(1.5).method(Method::Grid);
    // Five dimensions: beyond the grid.
    let wide = common::blobs(5, 40);
    assert_eq!(grid.fit(&cpu, &wide).unwrap().method(), Method::Dense);
    // A seed far beyond the data's reach.
    let x = common::blobs(2, 40);
    let far = Points::from_rows(&[x.row(0), &[1e4, 1e4]]).unwrap();
    let fit = grid.clone().seeds(far).fit(&cpu, &x).unwrap();
    assert_eq!(fit.method(), Method::Dense);
    // Auto below its size, or an uncut gaussian: dense.
    let auto = MeanShift::new(1.5).fit(&cpu, &x).unwrap();
    assert_eq!(auto.method(), Method::Dense);
    // On a GPU too: beyond the grid's dimensions, the device's dense fit.
    if let Some(ctx) = common::gpu() {
        let fit = grid.fit(&ctx, &wide).unwrap();
        let dense = MeanShift::new(1.5)
            .method(Method::Dense)
            .fit(&ctx, &wide)
            .unwrap();
        assert_eq!(fit.method(), Method::Dense, "{ctx}");
        assert_same_fit(&fit, &dense, &ctx.to_string());
    }
}

/// On a GPU the grid's sums run on the device: the fit reports the grid,
/// gives the device's dense fit bit for bit where the grid leaves out only
/// zeros (compact kernels, the uncut gaussian) and, for the compact
/// kernels, the CPU twin's grid fit too (the gaussian's `exp2` is the
/// device's, a few ulp from the twin's: see `tests/gpu_parity.rs`). Both
/// modes, D 1 to 4, weighted or not, data far from the origin.
#[test]
fn the_grid_runs_on_the_gpu_with_the_dense_bits() {
    let Some(gpu) = common::gpu() else { return };
    let cpu = Context::cpu();
    for dim in 1..=4 {
        let x = common::blobs(dim, 25);
        let far = Points::new(
            &x.as_slice().iter().map(|v| v + 1e4).collect::<Vec<_>>(),
            dim,
        )
        .unwrap();
        for kernel in Kernel::ALL {
            for (mode, ms) in [
                ("standard", MeanShift::new(1.5).kernel(kernel)),
                ("blurring", MeanShift::new(1.5).kernel(kernel).blurring(3)),
                (
                    "until stable",
                    MeanShift::new(1.5).kernel(kernel).blurring_until_stable(),
                ),
            ] {
                for (weighted, data) in [(false, &x), (true, &far)] {
                    let mut ms = ms.clone().gaussian_cutoff(None);
                    if weighted {
                        ms = ms.sample_weights(weights(x.len()));
                    }
                    let case = format!("D {dim}, {kernel:?}, {mode}, weighted {weighted}");
                    let dense = ms.clone().method(Method::Dense).fit(&gpu, data).unwrap();
                    let grid = ms.clone().method(Method::Grid);
                    let fit = grid.fit(&gpu, data).unwrap();
                    assert_eq!(fit.method(), Method::Grid, "{case}");
                    assert_same_fit(&fit, &dense, &case);
                    if kernel != Kernel::Gaussian {
                        let twin = grid.fit(&cpu, data).unwrap();
                        assert_same_fit(&fit, &twin, &format!("{case}, twin"));
                    }
                }
            }
        }
    }
}

/// The cut gaussian on a GPU: the grid, its bound reported, the CPU
/// twin's labels and positions within the device's `exp2` rounding.
#[test]
fn a_cut_gaussian_on_the_gpu_follows_the_twin() {
    let Some(gpu) = common::gpu() else { return };
    let x = common::blobs(2, 120);
    let ms = MeanShift::new(2.5)
        .blurring(4)
        .method(Method::Grid)
        .gaussian_cutoff(Some(3.0));
    let fit = ms.fit(&gpu, &x).unwrap();
    let twin = ms.fit(&Context::cpu(), &x).unwrap();
    assert_eq!(fit.method(), Method::Grid);
    assert_eq!(fit.gaussian_tail(), twin.gaussian_tail());
    assert_eq!(fit.labels(), twin.labels());
    let apart = fit
        .final_positions()
        .unwrap()
        .as_slice()
        .iter()
        .zip(twin.final_positions().unwrap().as_slice())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(apart < 1e-4 * 10.0, "{apart}");
}

#[test]
fn auto_takes_the_grid_on_many_points_in_few_dimensions() {
    let cpu = Context::cpu();
    let x = common::blobs(2, 2000);
    assert!(x.len() >= Method::GRID_MIN_POINTS);
    let ms = MeanShift::new(0.4).kernel(Kernel::Epanechnikov).blurring(2);
    let auto = ms.clone().fit(&cpu, &x).unwrap();
    assert_eq!(auto.method(), Method::Grid);
    let dense = ms.method(Method::Dense).fit(&cpu, &x).unwrap();
    assert_same_fit(&auto, &dense, "auto");
    // Auto never changes a result: the gaussian, cut or not, stays dense.
    for cutoff in [Some(3.0), None] {
        let gaussian = MeanShift::new(0.4)
            .blurring(1)
            .gaussian_cutoff(cutoff)
            .fit(&cpu, &x)
            .unwrap();
        assert_eq!(gaussian.method(), Method::Dense, "{cutoff:?}");
    }
    // Bin seeding leaves few seeds: the dense sums are cheap, auto stays.
    let binned = MeanShift::new(2.5).bin_seeding(true).fit(&cpu, &x).unwrap();
    assert_eq!(binned.method(), Method::Dense);
    let forced = MeanShift::new(2.5)
        .bin_seeding(true)
        .method(Method::Grid)
        .fit(&cpu, &x)
        .unwrap();
    assert_eq!(forced.method(), Method::Grid);
    assert_same_fit(&forced, &binned, "bin seeding");
    // The same rule on a GPU, with the device's dense bits.
    if let Some(gpu) = common::gpu() {
        let ms = MeanShift::new(0.4).kernel(Kernel::Epanechnikov).blurring(1);
        let auto = ms.clone().fit(&gpu, &x).unwrap();
        assert_eq!(auto.method(), Method::Grid, "{gpu}");
        let dense = ms.method(Method::Dense).fit(&gpu, &x).unwrap();
        assert_same_fit(&auto, &dense, &gpu.to_string());
    }
}

#[test]
fn a_cutoff_must_be_finite_and_positive() {
    let x = common::blobs(2, 10);
    for c in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let err = MeanShift::new(1.0)
            .gaussian_cutoff(Some(c))
            .fit(&Context::cpu(), &x)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidParameter {
                    name: "gaussian_cutoff",
                    ..
                }
            ),
            "{c}: {err}"
        );
    }
}
