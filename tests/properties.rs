//! Properties of mean shift on generated, well-separated blobs (proptest),
//! in standard mode (scikit-learn's: flat kernel) and blurring mode (five
//! gaussian iterations), on the CPU twin and, where there is an adapter, the
//! GPU (`common::gpu()`: skipped without one unless `REQUIRE_GPU=1`):
//!
//! - permuting the points permutes the labels (up to renaming) and leaves
//!   the centres unchanged;
//! - translating the data translates the centres and keeps the labels;
//! - scaling the data and the bandwidth by `s` scales the centres and keeps
//!   the labels, exactly (bit for bit) for powers of two on the CPU;
//! - two CPU fits give identical bits, whatever rayon's thread count.
//!
//! Case counts are capped (400 small cases on the CPU, 4 on the GPU) so CI on software
//! Vulkan stays fast.
//!
//! The blobs are built so that float32 rounding cannot flip a decision:
//! every coordinate is a multiple of 1/64 below 2^8 in magnitude, so the
//! data, their translations by multiples of 1/64 and their scalings by powers
//! of two are exact in float32 and their sums exact in float64 (the centring
//! mean does not depend on the order of the points); blob centres are at
//! least 14 apart, blobs at most 1.4 wide and the bandwidth is 2.1, whose
//! square is not a multiple of 1/4096, so no squared distance between data
//! points equals it.

mod common;

use std::collections::HashMap;

use gpu_cluster::{Context, MeanShift, MeanShiftFit, Points};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

const CPU_CASES: u32 = 400;
const GPU_CASES: u32 = 4;
const BANDWIDTH: f32 = 2.1;
/// Coordinates are multiples of this.
const GRID: f32 = 1.0 / 64.0;

/// Relative tolerance on centres compared across runs whose float32 sums
/// run in a different order (permutation) or whose results are rounded at a
/// different magnitude (translation, scaling by a non-power of two): each
/// such difference is a few float32 ulps (1.2e-7) of the coordinates'
/// magnitude, also after five blurring iterations, so 1e-5 of (largest
/// |coordinate| + h) is a margin of about 80 ulps. Different windows would
/// move a centre by about h / n (> 0.05 here), thousands of times more.
const CENTRE_RTOL: f32 = 1e-5;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// scikit-learn's MeanShift: flat kernel, seeds = all points.
    Standard,
    /// Five gaussian blurring iterations (the reference workload's mode).
    Blurring,
}

impl Mode {
    fn model(self, h: f32) -> MeanShift {
        match self {
            Mode::Standard => MeanShift::new(h),
            Mode::Blurring => MeanShift::new(h).blurring(5),
        }
    }
}

/// A generated data set with a seed for the permutation.
#[derive(Debug, Clone)]
struct Blobs {
    dim: usize,
    /// Row-major points, multiples of [`GRID`].
    flat: Vec<f32>,
    /// Number of points per blob, in order.
    sizes: Vec<usize>,
    mode: Mode,
    /// Seed of the permutation.
    perm_seed: u64,
}

impl Blobs {
    fn points(&self) -> Points {
        Points::new(&self.flat, self.dim).unwrap()
    }

    fn n(&self) -> usize {
        self.flat.len() / self.dim
    }
}

/// Blobs of 3 to 16 points, 2 to 4 of them, in 1 to 3 dimensions. Blob `i`
/// is centred near `20 i` on the first axis (jittered by up to 3 on every
/// axis, so centres stay at least 14 apart), with points uniform within a
/// half-width of 0.25 to 0.69 around it; the whole set is offset by up to
/// 50 per axis, so nothing sits at the origin.
fn blobs() -> impl Strategy<Value = Blobs> {
    (
        1usize..=3,
        2usize..=4,
        3usize..=12,
        16i32..=44,
        any::<u64>(),
        prop_oneof![Just(Mode::Standard), Just(Mode::Blurring)],
    )
        .prop_map(|(dim, k, per, half_width, seed, mode)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let grid = |lo: i32, hi: i32, rng: &mut ChaCha8Rng| {
                Uniform::new_inclusive(lo, hi).unwrap().sample(rng) as f32 * GRID
            };
            let offset: Vec<f32> = (0..dim)
                .map(|_| grid(-50 * 64, 50 * 64, &mut rng))
                .collect();
            let mut flat = Vec::new();
            let mut sizes = Vec::new();
            for i in 0..k {
                let centre: Vec<f32> = (0..dim)
                    .map(|a| {
                        let base = if a == 0 { 20.0 * i as f32 } else { 0.0 };
                        offset[a] + base + grid(-3 * 64, 3 * 64, &mut rng)
                    })
                    .collect();
                let size = per + Uniform::new_inclusive(0, 4).unwrap().sample(&mut rng);
                for _ in 0..size {
                    for c in &centre {
                        flat.push(c + grid(-half_width, half_width, &mut rng));
                    }
                }
                sizes.push(size);
            }
            Blobs {
                dim,
                flat,
                sizes,
                mode,
                perm_seed: seed ^ 0x9e37_79b9_7f4a_7c15,
            }
        })
}

/// Runs `property` on `cases` generated blobs; failures report the case.
fn check(
    cases: u32,
    ctx: &Context,
    property: impl Fn(&Context, &Blobs) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config::with_cases(cases));
    if let Err(e) = runner.run(&blobs(), |b| property(ctx, &b)) {
        panic!("on {ctx}: {e}");
    }
}

fn fit(ctx: &Context, mode: Mode, h: f32, x: &Points) -> Result<MeanShiftFit, TestCaseError> {
    mode.model(h)
        .fit(ctx, x)
        .map_err(|e| TestCaseError::fail(format!("fit failed: {e}")))
}

/// The tolerance on centre coordinates for data `x` with bandwidth `h`.
fn centre_tol(x: &Points, h: f32) -> f32 {
    let max_abs = x.as_slice().iter().fold(0.0f32, |m, v| m.max(v.abs()));
    CENTRE_RTOL * (max_abs + h)
}

/// The renaming `a -> b` of labels, checked to be a bijection.
fn renaming(a: &[i32], b: &[i32]) -> Result<HashMap<i32, i32>, TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    let mut fwd = HashMap::new();
    let mut back = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        prop_assert_eq!(
            *fwd.entry(x).or_insert(y),
            y,
            "label {} maps to two labels",
            x
        );
        prop_assert_eq!(*back.entry(y).or_insert(x), x, "two labels map to {}", y);
    }
    Ok(fwd)
}

/// Asserts `got` = `f(want)` coordinate by coordinate within `tol`.
fn assert_rows_close(got: &[f32], want: &[f32], tol: f32, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        prop_assert!(
            (g - w).abs() <= tol,
            "{}: {:?} vs {:?} (tolerance {:e})",
            what,
            got,
            want,
            tol
        );
    }
    Ok(())
}

/// Each blob is one cluster (a check that the generated data are what the
/// tolerances assume: well-separated blobs).
fn one_cluster_per_blob(b: &Blobs, fit: &MeanShiftFit) -> Result<(), TestCaseError> {
    prop_assert_eq!(fit.n_clusters(), b.sizes.len());
    let mut start = 0;
    for &size in &b.sizes {
        let labels = &fit.labels()[start..start + size];
        prop_assert!(
            labels.iter().all(|&l| l == labels[0]),
            "a blob split: {:?}",
            labels
        );
        start += size;
    }
    Ok(())
}

fn permutation(ctx: &Context, b: &Blobs) -> Result<(), TestCaseError> {
    let x = b.points();
    let mut perm: Vec<usize> = (0..b.n()).collect();
    perm.shuffle(&mut ChaCha8Rng::seed_from_u64(b.perm_seed));
    let flat: Vec<f32> = perm.iter().flat_map(|&i| x.row(i).to_vec()).collect();
    let y = Points::new(&flat, b.dim).unwrap();
    let fx = fit(ctx, b.mode, BANDWIDTH, &x)?;
    let fy = fit(ctx, b.mode, BANDWIDTH, &y)?;
    one_cluster_per_blob(b, &fx)?;
    prop_assert_eq!(fx.n_clusters(), fy.n_clusters());
    let permuted: Vec<i32> = perm.iter().map(|&i| fx.labels()[i]).collect();
    let rename = renaming(&permuted, fy.labels())?;
    let tol = centre_tol(&x, BANDWIDTH);
    for (lx, ly) in rename {
        let (lx, ly) = (lx as usize, ly as usize);
        assert_rows_close(
            fy.centers().row(ly),
            fx.centers().row(lx),
            tol,
            "permuted centre",
        )?;
        prop_assert_eq!(fy.counts()[ly], fx.counts()[lx]);
    }
    Ok(())
}

fn translation(ctx: &Context, b: &Blobs) -> Result<(), TestCaseError> {
    let x = b.points();
    let mut rng = ChaCha8Rng::seed_from_u64(b.perm_seed);
    let t: Vec<f32> = (0..b.dim)
        .map(|_| {
            Uniform::new_inclusive(-64 * 64, 64 * 64)
                .unwrap()
                .sample(&mut rng) as f32
                * GRID
        })
        .collect();
    let flat: Vec<f32> = x
        .rows()
        .flat_map(|r| r.iter().zip(&t).map(|(v, s)| v + s))
        .collect();
    // Exact: every value is a multiple of 1/64 below 2^9.
    for (moved, (v, s)) in flat.iter().zip(x.as_slice().iter().zip(t.iter().cycle())) {
        prop_assert_eq!(f64::from(*moved), f64::from(*v) + f64::from(*s));
    }
    let y = Points::new(&flat, b.dim).unwrap();
    let fx = fit(ctx, b.mode, BANDWIDTH, &x)?;
    let fy = fit(ctx, b.mode, BANDWIDTH, &y)?;
    one_cluster_per_blob(b, &fx)?;
    // Centred data are the same, so the labels are identical, not just
    // equal up to renaming.
    prop_assert_eq!(fx.labels(), fy.labels());
    prop_assert_eq!(fx.n_iter(), fy.n_iter());
    let tol = centre_tol(&y, BANDWIDTH).max(centre_tol(&x, BANDWIDTH));
    for (cy, cx) in fy.centers().rows().zip(fx.centers().rows()) {
        let moved: Vec<f32> = cx.iter().zip(&t).map(|(c, s)| c + s).collect();
        assert_rows_close(cy, &moved, tol, "translated centre")?;
    }
    Ok(())
}

/// Scales by `s`; `exact` asks for bit-identical scaling (powers of two).
fn scaling(ctx: &Context, b: &Blobs, s: f32, exact: bool) -> Result<(), TestCaseError> {
    let x = b.points();
    let y = Points::new(
        &x.as_slice().iter().map(|v| v * s).collect::<Vec<_>>(),
        b.dim,
    )
    .unwrap();
    let fx = fit(ctx, b.mode, BANDWIDTH, &x)?;
    let fy = fit(ctx, b.mode, BANDWIDTH * s, &y)?;
    one_cluster_per_blob(b, &fx)?;
    prop_assert_eq!(fx.labels(), fy.labels(), "scale {}", s);
    prop_assert_eq!(fx.n_iter(), fy.n_iter());
    prop_assert_eq!(fx.intensities(), fy.intensities());
    let tol = centre_tol(&y, BANDWIDTH * s);
    for (cy, cx) in fy.centers().rows().zip(fx.centers().rows()) {
        let scaled: Vec<f32> = cx.iter().map(|c| c * s).collect();
        if exact {
            let bits = |r: &[f32]| r.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(
                bits(cy),
                bits(&scaled),
                "scale {}: {:?} vs {:?}",
                s,
                cy,
                scaled
            );
        } else {
            assert_rows_close(cy, &scaled, tol, "scaled centre")?;
        }
    }
    Ok(())
}

/// Scale factors: powers of two (exact in float32) and others.
const POWERS_OF_TWO: [f32; 4] = [0.25, 0.5, 4.0, 32.0];
const OTHER_SCALES: [f32; 4] = [0.1, 0.7, 3.0, 12.5];

fn scalings(ctx: &Context, b: &Blobs, exact_powers: bool) -> Result<(), TestCaseError> {
    let i = (b.perm_seed % 4) as usize;
    scaling(ctx, b, POWERS_OF_TWO[i], exact_powers)?;
    scaling(ctx, b, OTHER_SCALES[i], false)
}

#[test]
fn cpu_permuting_points_permutes_labels() {
    check(CPU_CASES, &Context::cpu(), permutation);
}

#[test]
fn cpu_translating_data_translates_centres() {
    check(CPU_CASES, &Context::cpu(), translation);
}

#[test]
fn cpu_scaling_data_and_bandwidth_scales_centres() {
    check(CPU_CASES, &Context::cpu(), |ctx, b| scalings(ctx, b, true));
}

#[test]
fn gpu_permuting_points_permutes_labels() {
    if let Some(ctx) = common::gpu() {
        check(GPU_CASES, &ctx, permutation);
    }
}

#[test]
fn gpu_translating_data_translates_centres() {
    if let Some(ctx) = common::gpu() {
        check(GPU_CASES, &ctx, translation);
    }
}

#[test]
fn gpu_scaling_data_and_bandwidth_scales_centres() {
    if let Some(ctx) = common::gpu() {
        // Tolerances only: a GPU's exp2 or fused multiply-adds need not
        // scale exactly.
        check(GPU_CASES, &ctx, |ctx, b| scalings(ctx, b, false));
    }
}

// ---------------------------------------------------------------------------
// Determinism on the CPU.

/// Everything a fit reports, as bits.
#[derive(Debug, PartialEq, Eq)]
struct FitBits {
    labels: Vec<i32>,
    centres: Vec<u32>,
    intensities: Vec<u32>,
    n_iter: usize,
    bandwidth: u32,
    positions: Option<Vec<u32>>,
}

fn fit_bits(fit: &MeanShiftFit) -> FitBits {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    FitBits {
        labels: fit.labels().to_vec(),
        centres: bits(fit.centers().as_slice()),
        intensities: bits(fit.intensities()),
        n_iter: fit.n_iter(),
        bandwidth: fit.bandwidth().to_bits(),
        positions: fit.final_positions().map(|p| bits(p.as_slice())),
    }
}

/// The reference workload and scikit-learn-style fits of it: blurring (5
/// gaussian iterations, h = 2.5), standard with an estimated bandwidth, and
/// standard with bin seeding.
fn reference_fits() -> Vec<FitBits> {
    let x = gpu_cluster::Blobs::default().generate().unwrap().points;
    let ctx = Context::cpu();
    [
        MeanShift::new(2.5).blurring(5),
        MeanShift::default(),
        MeanShift::new(3.0).bin_seeding(true),
    ]
    .iter()
    .map(|ms| fit_bits(&ms.fit(&ctx, &x).unwrap()))
    .collect()
}

/// Asserts two lists of fits are bit-identical, naming the first
/// difference (the full values are thousands of numbers).
fn assert_same_bits(a: &[FitBits], b: &[FitBits], what: &str) {
    assert_eq!(a.len(), b.len());
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let first_diff = |u: &[u32], v: &[u32]| u.iter().zip(v).position(|(p, q)| p != q);
        assert_eq!(x.labels, y.labels, "{what}: fit {k}: labels differ");
        assert_eq!(x.n_iter, y.n_iter, "{what}: fit {k}: n_iter differs");
        assert_eq!(
            x.bandwidth, y.bandwidth,
            "{what}: fit {k}: bandwidth differs"
        );
        assert!(
            x.centres == y.centres,
            "{what}: fit {k}: centres differ at {:?}",
            first_diff(&x.centres, &y.centres)
        );
        assert!(
            x.intensities == y.intensities,
            "{what}: fit {k}: intensities differ"
        );
        assert_eq!(x.positions.is_some(), y.positions.is_some());
        if let (Some(p), Some(q)) = (&x.positions, &y.positions) {
            assert!(
                p == q,
                "{what}: fit {k}: final positions differ at {:?}",
                first_diff(p, q)
            );
        }
    }
}

#[test]
fn two_cpu_fits_give_identical_bits() {
    let a = reference_fits();
    let b = reference_fits();
    assert_same_bits(&a, &b, "second fit");
    // The fits are not trivial: three clusters or more each.
    for f in &a {
        assert!(f.intensities.len() >= 3, "{} clusters", f.intensities.len());
    }
}

/// The CPU twin splits work per query, so rayon's thread count does not
/// change any bit.
#[cfg(feature = "parallel")]
#[test]
fn thread_count_does_not_change_results() {
    let global = reference_fits();
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let inside = pool.install(|| {
            assert_eq!(rayon::current_num_threads(), threads);
            reference_fits()
        });
        assert_same_bits(&inside, &global, &format!("{threads} threads"));
    }
}
