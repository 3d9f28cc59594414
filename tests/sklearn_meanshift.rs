//! Known answers from scikit-learn's `MeanShift` and `estimate_bandwidth`.
//!
//! The cases under `tests/data/sklearn/` were computed once by
//! `tests/data/sklearn/make_meanshift_cases.py` (versions in the README
//! there). Each is refitted here with the same parameters on the CPU twin and,
//! where there is an adapter, on the GPU (`common::gpu()`: skipped without
//! one unless `REQUIRE_GPU=1`), and must give:
//!
//! - labels identical to scikit-learn's, numbering included (the merge order
//!   is scikit-learn's: intensity descending, then coordinates descending);
//! - the same `n_iter_` and number of clusters;
//! - centres within [`centre_tolerance`] of scikit-learn's;
//! - an estimated bandwidth within [`BANDWIDTH_RTOL`] of scikit-learn's;
//! - `predict` on new points equal to scikit-learn's `predict` where the
//!   nearest centre is within the bandwidth (with `cluster_all` off this
//!   library's `predict` gives -1 beyond it; scikit-learn's ignores
//!   `cluster_all`).
//!
//! The script checked every case for robustness: no point within 1e-4 h of a
//! window boundary along any seed's path, no shift near the stopping
//! threshold, no bin coordinate near a rounding boundary, no two modes near
//! distance h and no point nearly equidistant from two centres. So float32
//! arithmetic cannot flip a decision and exact comparisons are fair.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use gpu_cluster::{BandwidthEstimate, Context, MeanShift, MeanShiftFit, Points, StopReason};

/// Relative tolerance on estimated bandwidths. scikit-learn measures
/// distances in float64 on the raw data; this library in float32 on centred
/// data (each distance a few ulps, ~3e-7 relative, off) and averages them in
/// float64. Measured on the CPU twin and on lavapipe: under 6e-8. 2e-6 leaves room for a GPU's
/// own rounding while still catching a wrong k (neighbouring k-th distances
/// differ by about 1%).
const BANDWIDTH_RTOL: f64 = 2e-6;

/// Absolute tolerance on a centre coordinate. A centre is the mean of the
/// points in its last window: scikit-learn sums float64 positions; this
/// library sums float32 displacements from the current position, on data
/// centred in float64 and rounded once to float32 (error half an ulp of the
/// largest centred coordinate), and adds the mean back in float64. Each of
/// those is within a few float32 ulps of the coordinates' magnitude, so the
/// tolerance is 2e-6 (about 17 float32 epsilons) relative to (largest
/// |coordinate| + h). Measured on the CPU twin and on lavapipe: at most 2.2%
/// of it. A real
/// difference (a point more or less in a window of n points) moves a centre
/// by about h / n, thousands of times more.
fn centre_tolerance(x: &Points, h: f64) -> f64 {
    let max_abs = x
        .as_slice()
        .iter()
        .fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    2e-6 * (max_abs + h)
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn")
}

fn read(path: &PathBuf) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Rows of comma-separated numbers (no header).
fn read_rows<T: std::str::FromStr>(path: &PathBuf) -> Vec<Vec<T>>
where
    T::Err: std::fmt::Debug,
{
    read(path)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| {
                    v.trim()
                        .parse::<T>()
                        .unwrap_or_else(|e| panic!("{}: {v:?}: {e:?}", path.display()))
                })
                .collect()
        })
        .collect()
}

fn read_points(path: &PathBuf) -> Points {
    Points::from_rows(&read_rows::<f32>(path)).expect("fixture points are valid")
}

/// `key = value` lines; `#` starts a comment line.
fn read_kv(path: &PathBuf) -> HashMap<String, String> {
    read(path)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: bad line {l:?}", path.display()));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// One known-answer case.
struct Case {
    name: &'static str,
    data: Points,
    seeds: Option<Points>,
    params: HashMap<String, String>,
    n_iter: usize,
    n_clusters: usize,
    bandwidth: f64,
    labels: Vec<i32>,
    centers: Vec<Vec<f64>>,
    queries: Points,
    /// scikit-learn's predict() per query, and whether that centre is
    /// within h of the query.
    predict: Vec<(i32, bool)>,
}

impl Case {
    fn load(name: &'static str) -> Self {
        let dir = data_dir().join(name);
        let params = read_kv(&dir.join("params.txt"));
        let expected = read_kv(&dir.join("expected.txt"));
        let seeds = (params["seeds"] == "true").then(|| read_points(&dir.join("seeds.csv")));
        let labels = read(&dir.join("labels.txt"))
            .lines()
            .map(|l| l.trim().parse().expect("integer label"))
            .collect();
        let predict = read_rows::<i32>(&dir.join("predict.txt"))
            .into_iter()
            .map(|r| (r[0], r[1] == 1))
            .collect();
        Self {
            name,
            data: read_points(&dir.join("data.csv")),
            seeds,
            n_iter: expected["n_iter"].parse().unwrap(),
            n_clusters: expected["n_clusters"].parse().unwrap(),
            bandwidth: expected["bandwidth"].parse().unwrap(),
            labels,
            centers: read_rows(&dir.join("centers.csv")),
            queries: read_points(&dir.join("queries.csv")),
            predict,
            params,
        }
    }

    fn param<T: std::str::FromStr>(&self, key: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        self.params[key].parse().unwrap()
    }

    fn cluster_all(&self) -> bool {
        self.param("cluster_all")
    }

    /// The library's MeanShift with the case's parameters.
    fn model(&self) -> MeanShift {
        let ms = match self.params.get("bandwidth") {
            Some(h) => MeanShift::new(h.parse().unwrap()),
            None => MeanShift::estimated(BandwidthEstimate::new(self.param("quantile"))),
        };
        let ms = ms
            .bin_seeding(self.param("bin_seeding"))
            .min_bin_freq(self.param("min_bin_freq"))
            .cluster_all(self.cluster_all())
            .max_iter(self.param("max_iter"));
        match &self.seeds {
            Some(s) => ms.seeds(s.clone()),
            None => ms,
        }
    }

    /// Fits on `ctx` and compares everything with scikit-learn's answers.
    fn check(&self, ctx: &Context) {
        let name = self.name;
        let fit = self
            .model()
            .fit(ctx, &self.data)
            .unwrap_or_else(|e| panic!("{name} on {ctx}: {e}"));
        let h = f64::from(fit.bandwidth());
        assert!(
            (h - self.bandwidth).abs() <= BANDWIDTH_RTOL * self.bandwidth,
            "{name} on {ctx}: bandwidth {h}, scikit-learn {}",
            self.bandwidth
        );
        assert_eq!(
            fit.labels(),
            &self.labels[..],
            "{name} on {ctx}: labels differ from scikit-learn's"
        );
        assert_eq!(
            fit.n_clusters(),
            self.n_clusters,
            "{name} on {ctx}: number of clusters"
        );
        assert_eq!(fit.n_iter(), self.n_iter, "{name} on {ctx}: n_iter");
        if self.n_iter < self.param::<usize>("max_iter") {
            assert_eq!(fit.stop_reason(), StopReason::Converged, "{name} on {ctx}");
        }
        self.check_centres(ctx, &fit);
        self.check_predict(ctx, &fit);
    }

    fn check_centres(&self, ctx: &Context, fit: &MeanShiftFit) {
        let name = self.name;
        let tol = centre_tolerance(&self.data, self.bandwidth);
        assert_eq!(fit.centers().dim(), self.data.dim());
        for (k, (ours, theirs)) in fit.centers().rows().zip(&self.centers).enumerate() {
            for (a, b) in ours.iter().zip(theirs) {
                assert!(
                    (f64::from(*a) - b).abs() <= tol,
                    "{name} on {ctx}: centre {k} is {ours:?}, scikit-learn {theirs:?} (tolerance {tol:e})"
                );
            }
        }
        // Counts agree with the labels.
        for (k, &c) in fit.counts().iter().enumerate() {
            let n = self.labels.iter().filter(|&&l| l == k as i32).count();
            assert_eq!(c, n, "{name} on {ctx}: count of cluster {k}");
        }
    }

    fn check_predict(&self, ctx: &Context, fit: &MeanShiftFit) {
        let name = self.name;
        let got = fit.predict(&self.queries).unwrap();
        let want: Vec<i32> = self
            .predict
            .iter()
            .map(|&(label, within)| {
                if within || self.cluster_all() {
                    label
                } else {
                    -1
                }
            })
            .collect();
        assert_eq!(got, want, "{name} on {ctx}: predict on new points");
        // The data themselves predict to their labels.
        assert_eq!(
            fit.predict(&self.data).unwrap(),
            self.labels,
            "{name} on {ctx}: predict on the data"
        );
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod cpu {
            use super::*;
            $(
                #[test]
                fn $name() {
                    Case::load(stringify!($name)).check(&Context::cpu());
                }
            )*
        }
        mod gpu {
            use super::*;
            $(
                #[test]
                fn $name() {
                    if let Some(ctx) = common::gpu() {
                        Case::load(stringify!($name)).check(&ctx);
                    }
                }
            )*
        }
    };
}

cases!(
    blobs2d,
    blobs2d_bin,
    blobs2d_bin_minfreq,
    ties,
    outliers,
    seeds,
    estimated_q030,
    estimated_q015,
    line1d,
    blobs3d,
    blobs3d_bin,
    maxiter,
);

/// Every case folder is listed above (a new case cannot be forgotten).
#[test]
fn every_case_is_run() {
    let listed = [
        "bandwidth",
        "blobs2d",
        "blobs2d_bin",
        "blobs2d_bin_minfreq",
        "ties",
        "outliers",
        "seeds",
        "estimated_q030",
        "estimated_q015",
        "line1d",
        "blobs3d",
        "blobs3d_bin",
        "maxiter",
    ];
    for entry in fs::read_dir(data_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().into_string().unwrap();
            assert!(
                name == "__pycache__" || listed.contains(&name.as_str()),
                "case {name} is not run"
            );
        }
    }
}

/// scikit-learn's `estimate_bandwidth` over several quantiles. A quantile
/// whose k is 1 (the point itself) gives 0, here as there.
fn check_bandwidths(ctx: &Context) {
    let dir = data_dir().join("bandwidth");
    let x = read_points(&dir.join("data.csv"));
    let rows = read_rows::<f64>(&dir.join("quantiles.csv"));
    assert!(rows.len() >= 5);
    for r in rows {
        let (q, want) = (r[0], r[1]);
        let got = BandwidthEstimate::new(q).estimate(ctx, &x);
        if want == 0.0 {
            assert_eq!(got, Ok(0.0), "quantile {q} on {ctx}");
            continue;
        }
        let got = f64::from(got.unwrap_or_else(|e| panic!("quantile {q} on {ctx}: {e}")));
        assert!(
            (got - want).abs() <= BANDWIDTH_RTOL * want,
            "quantile {q} on {ctx}: bandwidth {got}, scikit-learn {want}"
        );
    }
}

#[test]
fn cpu_estimate_bandwidth() {
    check_bandwidths(&Context::cpu());
}

#[test]
fn gpu_estimate_bandwidth() {
    if let Some(ctx) = common::gpu() {
        check_bandwidths(&ctx);
    }
}

/// An estimated bandwidth of 0 (scikit-learn 1.9's
/// `test_mean_shift_zero_bandwidth` and its duplicates case, answers
/// computed with it): with the flat kernel each distinct point is a
/// cluster, ranked by its number of copies, then by coordinates
/// descending; `n_iter_` is 0; bin seeding with bins of side 0 seeds from
/// the points.
#[test]
fn zero_estimated_bandwidth_like_scikit_learn() {
    let mut contexts = vec![Context::cpu()];
    contexts.extend(common::gpu());
    let one_d = Points::new(&[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0], 1).unwrap();
    let two_d = Points::from_f64(
        &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 0.0, 2.0, 0.0],
        2,
    )
    .unwrap();
    for ctx in &contexts {
        for bins in [false, true] {
            let fit = MeanShift::default()
                .bin_seeding(bins)
                .fit(ctx, &one_d)
                .unwrap();
            assert_eq!(fit.labels(), [1, 1, 1, 0, 0, 0, 2, 2], "{ctx}");
            assert_eq!(fit.centers().to_f64(), [2.0, 1.0, 3.0]);
            assert_eq!((fit.n_iter(), fit.bandwidth()), (0, 0.0));
            assert_eq!(fit.predict_on(ctx, &one_d).unwrap(), fit.labels());
        }
        let fit = MeanShift::default()
            .cluster_all(false)
            .fit(ctx, &two_d)
            .unwrap();
        assert_eq!(fit.labels(), [2, 1, 2, 1, 0, 0], "{ctx}");
        assert_eq!(fit.centers().to_f64(), [2.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(fit.counts(), [2, 2, 2]);
        // Given seeds: a seed on no point is dropped; every point goes to
        // the one centre left.
        let seeds = Points::new(&[0.0, 0.0, 5.0, 5.0], 2).unwrap();
        let fit = MeanShift::default()
            .seeds(seeds.clone())
            .fit(ctx, &two_d)
            .unwrap();
        assert_eq!(fit.labels(), [0; 6], "{ctx}");
        assert_eq!(fit.centers().to_f64(), [0.0, 0.0]);
        let fit = MeanShift::default()
            .seeds(seeds)
            .cluster_all(false)
            .fit(ctx, &two_d)
            .unwrap();
        assert_eq!(fit.labels(), [0, -1, 0, -1, -1, -1], "{ctx}");
        // Constant data: one cluster (scikit-learn's issue 28926).
        let fit = MeanShift::default()
            .fit(ctx, &Points::new(&[1.0; 10], 1).unwrap())
            .unwrap();
        assert_eq!((fit.n_clusters(), fit.n_iter()), (1, 0));
    }
}
