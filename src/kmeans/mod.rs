//! k-means, scikit-learn's `KMeans` (Lloyd), on a GPU or the CPU twin.
//!
//! [`KMeans`] holds parameters; [`KMeans::fit`] checks them against the
//! data, draws initial centres (`init.rs`), runs Lloyd iterations
//! (`lloyd.rs`) over the Lloyd-step op (`ops::cluster_sums`: the nearest
//! centre of every point, then per-cluster sums in a fixed order) and
//! returns a [`KMeansFit`]. What each step computes, down to ties and
//! empty clusters, is scikit-learn's (see the differences on [`KMeans`]).
//!
//! Reproducible: the same seed gives the same centres on every platform
//! and thread count, and the GPU gives the CPU twin's bits whenever its
//! distances agree (they do unless a point is within a rounding error of
//! two centres, or a k-means++ draw within one of a boundary: the GPU may
//! fuse multiply-adds in distances, which it computes for the assignment
//! and for k-means++'s distance updates). The
//! sums are the same bits on both backends (`ops::cluster_sums`), and
//! everything after them (means, empty clusters, shifts, inertia) is
//! computed on the host by the same code, but for the means of a GPU's
//! batched iterations: the device divides them with the host's bits
//! (`cluster_update.wgsl`), so several iterations go in one submission,
//! reading back per iteration only the centres and how many labels
//! changed.
//!
//! Precision far from the origin: the data are centred once (mean
//! subtracted in `f64`, from the `f64` values where the points hold them,
//! rounded to `f32`), every stage works on centred `f32` values, and the
//! centres are moved back in `f64`: [`KMeansFit::cluster_centers`] holds
//! `f64` values ([`Points::to_f64`]) exact to the `f32` rounding of the
//! centred values, however large the offset.

mod init;
mod lloyd;
#[cfg(feature = "serde")]
mod model;

use std::borrow::Cow;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::context::Context;
use crate::dataset::Input;
use crate::error::{Error, Result};
use crate::ops::cluster_sums::{Lloyd, LloydData};
use crate::ops::nearest;
use crate::ops::topk::{self, Score};
use crate::points::{Points, centre, check_spread, check_weights, uncentre};
use crate::progress::{Observed, Observer, Stage};

/// How the initial centres are chosen.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum KMeansInit {
    /// Greedy k-means++ (scikit-learn's default): the first centre drawn
    /// by sample weight, each next one the best of `2 + floor(ln k)`
    /// candidates drawn proportional to `weight * D^2`.
    #[default]
    KMeansPlusPlus,
    /// `k` distinct points drawn by sample weight (scikit-learn's
    /// `"random"`).
    Random,
    /// These centres (`k` rows of the data's dimension).
    Given(Points),
}

/// k-means parameters: a builder, checked when [`fit`](KMeans::fit) sees
/// the data.
///
/// Defaults are scikit-learn's: 8 clusters, k-means++, `n_init` "auto"
/// (1 for k-means++ and given centres, 10 for random), `max_iter` 300,
/// `tol` 1e-4 relative to the data (the run stops when the total squared
/// centre shift is at most `tol` times the mean of the per-feature
/// variances), Lloyd's algorithm. `seed` (default 0) replaces
/// `random_state`: the stream is ChaCha8, so a seed gives the same
/// centres everywhere, but not numpy's.
///
/// Deliberate differences from scikit-learn: k-means++ never draws a
/// point of zero mass as a candidate (scikit-learn's search can, when a
/// draw is exactly 0); a cluster left empty once every point sits on its
/// centre takes the centre of the heaviest cluster; data are centred and
/// computed in `f32`, so results can differ from scikit-learn's `float64`
/// in the last bits, and labels at near-ties.
///
/// ```
/// use gpu_cluster::{Context, KMeans, KMeansInit, Points};
/// let x = Points::new(&[0.0, 0.0, 0.2, 0.0, 10.0, 10.0, 10.2, 10.0, 0.1, 0.1], 2)?;
/// let fit = KMeans::new(2).seed(7).fit(&Context::auto()?, &x)?;
/// let l = fit.labels();
/// assert!(l[0] == l[1] && l[0] == l[4] && l[2] == l[3] && l[0] != l[2]);
/// // Given centres: label k is row k.
/// let start = Points::new(&[9.0, 9.0, 1.0, 1.0], 2)?;
/// let fit = KMeans::new(2).init(KMeansInit::Given(start)).fit(&Context::cpu(), &x)?;
/// assert_eq!(fit.labels(), &[1, 1, 0, 0, 1]);
/// assert_eq!(fit.cluster_centers().row(0), &[10.1, 10.0]);
/// println!("inertia {}, {} iterations", fit.inertia(), fit.n_iter());
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    k: usize,
    init: KMeansInit,
    n_init: Option<usize>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    weights: Option<Vec<f32>>,
    observer: Observed,
}

impl Default for KMeans {
    fn default() -> Self {
        Self {
            k: 8,
            init: KMeansInit::KMeansPlusPlus,
            n_init: None,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            weights: None,
            observer: Observed::default(),
        }
    }
}

/// Every parameter after checking, with defaults resolved.
#[derive(Debug, Clone, PartialEq)]
struct Checked<'a> {
    k: usize,
    init: &'a KMeansInit,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    weights: Option<&'a [f32]>,
}

fn invalid(name: &'static str, value: impl ToString, reason: &'static str) -> Error {
    Error::InvalidParameter {
        name,
        value: value.to_string(),
        reason,
    }
}

impl KMeans {
    /// k-means with `k` clusters (`1 <= k <=` the number of points,
    /// checked at fit).
    pub fn new(k: usize) -> Self {
        Self {
            k,
            ..Self::default()
        }
    }

    /// How the initial centres are chosen. Default: k-means++.
    pub fn init(mut self, init: KMeansInit) -> Self {
        self.init = init;
        self
    }

    /// Runs from different initial centres; the one with the lowest
    /// inertia is kept (a later run only if strictly lower). Default
    /// ("auto"): 1 for k-means++ and given centres, 10 for random. Given
    /// centres always run once, as in scikit-learn.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = Some(n_init);
        self
    }

    /// Cap on Lloyd iterations per run. Default 300.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Convergence threshold relative to the data: a run stops when the
    /// total squared shift of the centres is at most `tol` times the mean
    /// of the per-feature variances (unweighted). Default 1e-4.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Seed of the ChaCha8 stream the initial centres are drawn from.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// One weight per point (finite, >= 0, not all 0): weights the means,
    /// the inertia and the draws of the initial centres.
    pub fn sample_weights(mut self, weights: Vec<f32>) -> Self {
        self.weights = Some(weights);
        self
    }

    /// Reports the fit's progress to `observer`, which may also cancel it
    /// (see [`Observer`]): the initial centres of each run
    /// ([`Stage::Initialising`], counted of `k`), then its Lloyd
    /// iterations ([`Stage::Iterations`], counted of `max_iter`; a run that
    /// converges stops sooner). Cancellation is checked between centres
    /// and between iterations (on a GPU, between submissions of up to 8
    /// iterations), so a cancelled fit returns [`Error::Cancelled`] within
    /// a few iterations. The result is the same, to the bit, with or
    /// without an observer.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gpu_cluster::{Cancel, Context, Error, KMeans, Points};
    /// let x = Points::new(&[0.0, 0.0, 0.2, 0.0, 10.0, 10.0, 10.2, 10.0], 2)?;
    /// let cancel = Arc::new(Cancel::default());
    /// cancel.cancel();
    /// let fit = KMeans::new(2).observer(cancel).fit(&Context::cpu(), &x);
    /// assert!(matches!(fit, Err(Error::Cancelled)));
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Observed::new(observer);
        self
    }

    /// Checks the parameters against the data.
    fn check(&self, x: &Points) -> Result<Checked<'_>> {
        let n = x.len();
        if self.k == 0 {
            return Err(invalid("k", 0, "must be >= 1"));
        }
        if self.k > n {
            return Err(invalid("k", self.k, "must be at most the number of points"));
        }
        if i32::try_from(self.k).is_err() || u32::try_from(n).is_err() {
            return Err(invalid(
                "k",
                self.k,
                "labels are 32-bit: at most 2^31 - 1 clusters and 2^32 - 1 points",
            ));
        }
        if self.n_init == Some(0) {
            return Err(invalid("n_init", 0, "must be >= 1"));
        }
        if self.max_iter == 0 {
            return Err(invalid("max_iter", 0, "must be >= 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(invalid("tol", self.tol, "must be finite and >= 0"));
        }
        if let Some(w) = &self.weights {
            check_weights(w, n)?;
            if w.iter().all(|&v| v == 0.0) {
                return Err(invalid(
                    "sample_weights",
                    "all 0",
                    "at least one weight must be > 0",
                ));
            }
        }
        if let KMeansInit::Given(c) = &self.init {
            if c.dim() != x.dim() {
                return Err(Error::DimensionMismatch {
                    expected: x.dim(),
                    found: c.dim(),
                });
            }
            if c.len() != self.k {
                return Err(Error::InitCentersCount {
                    expected: self.k,
                    found: c.len(),
                });
            }
        }
        check_spread(x)?;
        let n_init = match (&self.init, self.n_init) {
            (KMeansInit::Given(_), n) => {
                if n.is_some_and(|n| n > 1) {
                    log::warn!("k-means: given initial centres run once (n_init ignored)");
                }
                1
            }
            (_, Some(n)) => n,
            (KMeansInit::KMeansPlusPlus, None) => 1,
            (KMeansInit::Random, None) => 10,
        };
        Ok(Checked {
            k: self.k,
            init: &self.init,
            n_init,
            max_iter: self.max_iter,
            tol: self.tol,
            seed: self.seed,
            weights: self.weights.as_deref(),
        })
    }

    /// Fits on `ctx`, blocking until the GPU is done.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<KMeansFit> {
        pollster::block_on(self.fit_async(ctx, x))
    }

    /// Fits on `ctx` and returns the labels alone (scikit-learn's
    /// `fit_predict`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit_predict<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<Vec<i32>> {
        Ok(self.fit(ctx, x)?.labels)
    }

    /// The async form of [`KMeans::fit`], for the browser, where it yields
    /// while the GPU works. On native targets it still blocks the calling
    /// thread while waiting for the GPU.
    pub async fn fit_async<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<KMeansFit> {
        let input = x.into();
        let x = input.points();
        let c = self.check(x)?;
        let watch = self.observer.watch();
        watch.check()?;
        let dim = x.dim();
        let (mean, data) = input.centred();
        // Weighted rows are formed once, in f32, so the sums are sums of
        // stored values on every backend.
        let values: Cow<'_, [f32]> = match c.weights {
            Some(w) => Cow::Owned(
                data.chunks_exact(dim)
                    .zip(w)
                    .flat_map(|(r, &w)| r.iter().map(move |&v| v * w))
                    .collect(),
            ),
            None => Cow::Borrowed(&data[..]),
        };
        let tol = c.tol * mean_variance(x, &mean);
        let ld = LloydData {
            points: &data,
            values: &values,
            weights: c.weights,
            dim,
            k: c.k,
        };
        let mut steps = Lloyd::new(ctx, ld).await?;
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
        let mut best: Option<lloyd::Run> = None;
        let k_total = Some(c.k as u64);
        for _ in 0..c.n_init {
            watch.report(Stage::Initialising, 0, k_total)?;
            let start = match c.init {
                KMeansInit::KMeansPlusPlus => {
                    init::kmeans_plusplus(ctx, &data, dim, c.weights, c.k, &mut rng, watch).await?
                }
                KMeansInit::Random => init::random_points(&data, dim, c.weights, c.k, &mut rng)?,
                KMeansInit::Given(p) => centre(p, &mean),
            };
            watch.report(Stage::Initialising, c.k as u64, k_total)?;
            let run = lloyd::run(&mut steps, &ld, start, c.max_iter, tol, watch).await?;
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        let best = best.expect("n_init >= 1");
        Ok(KMeansFit {
            centers: uncentre(&best.centres, &mean)?,
            centred: best.centres,
            offset: mean.into_owned(),
            labels: best.labels.iter().map(|&l| l as i32).collect(),
            inertia: best.inertia,
            n_iter: best.n_iter,
        })
    }
}

/// Mean over the features of the unweighted variance (ddof 0), in `f64`
/// from the data as given: scikit-learn's scale for `tol`.
fn mean_variance(x: &Points, mean: &[f64]) -> f64 {
    let mut var = vec![0.0f64; x.dim()];
    for r in x.to_f64().chunks_exact(x.dim()) {
        for ((v, &a), m) in var.iter_mut().zip(r).zip(mean) {
            let d = a - m;
            *v += d * d;
        }
    }
    var.iter().sum::<f64>() / (x.len() as f64 * x.dim() as f64)
}

/// A fitted k-means model: centres, labels, inertia.
///
/// The fit computes its centres around the data's mean
/// ([`offset`](KMeansFit::offset)) in `f32` and moves them back in `f64`:
/// [`cluster_centers`](KMeansFit::cluster_centers) holds those `f64`
/// values ([`Points::to_f64`]) and their `f32` rounding.
///
/// With the `serde` feature a fit is saved and loaded as versioned JSON
/// (`save`, `load`, `to_json`, `from_json`; format `gpu-cluster/kmeans`),
/// and a loaded fit predicts what the saved one did.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    centers: Points,
    /// The centres as computed, around `offset`: what `predict` compares.
    centred: Vec<f32>,
    offset: Vec<f64>,
    labels: Vec<i32>,
    inertia: f64,
    n_iter: usize,
}

impl KMeansFit {
    /// Cluster centres, `k x dim`; label `k` is row `k`. Their `f64`
    /// values ([`Points::to_f64`]) keep the precision of the input far
    /// from the origin; the `f32` values round them.
    pub fn cluster_centers(&self) -> &Points {
        &self.centers
    }

    /// The point the fit's `f32` work was centred on (the data's mean, in
    /// `f64`); [`predict`](KMeansFit::predict) and
    /// [`transform`](KMeansFit::transform) centre new points on it too.
    pub fn offset(&self) -> &[f64] {
        &self.offset
    }

    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.centers.len()
    }

    /// Label of each point: the index of its nearest centre.
    pub fn labels(&self) -> &[i32] {
        &self.labels
    }

    /// Sum over the points of weight times squared distance to their
    /// centre (scikit-learn's `inertia_`), in `f64`.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Lloyd iterations of the kept run (scikit-learn's `n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    fn centred_queries(&self, x: &Points) -> Result<Vec<f32>> {
        if x.dim() != self.centers.dim() {
            return Err(Error::DimensionMismatch {
                expected: self.centers.dim(),
                found: x.dim(),
            });
        }
        Ok(centre(x, &self.offset))
    }

    /// The nearest centre of each point (ties: lowest label), on the CPU
    /// twin ([`predict_on`](KMeansFit::predict_on) chooses the backend).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict(&self, x: &Points) -> Result<Vec<i32>> {
        self.predict_on(&Context::cpu(), x)
    }

    /// [`predict`](KMeansFit::predict) on `ctx`. A small call (up to 2^16
    /// multiply-adds, points x centres x coordinates) is answered on the
    /// host on any context, with the CPU twin's answer: a GPU round trip
    /// would cost more.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_on(&self, ctx: &Context, x: &Points) -> Result<Vec<i32>> {
        pollster::block_on(self.predict_async(ctx, x))
    }

    /// The async form of [`predict_on`](KMeansFit::predict_on).
    pub async fn predict_async(&self, ctx: &Context, x: &Points) -> Result<Vec<i32>> {
        let q = self.centred_queries(x)?;
        let found = nearest::nearest(ctx, &self.centred, &q, x.dim()).await?;
        Ok(found.index.into_iter().map(|l| l as i32).collect())
    }

    /// Euclidean distance from each point to every centre: `n x k`
    /// (scikit-learn's `transform`), on the CPU twin.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn transform(&self, x: &Points) -> Result<Points> {
        self.transform_on(&Context::cpu(), x)
    }

    /// [`transform`](KMeansFit::transform) on `ctx`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn transform_on(&self, ctx: &Context, x: &Points) -> Result<Points> {
        pollster::block_on(self.transform_async(ctx, x))
    }

    /// The async form of [`transform_on`](KMeansFit::transform_on).
    pub async fn transform_async(&self, ctx: &Context, x: &Points) -> Result<Points> {
        let q = self.centred_queries(x)?;
        let k = self.n_clusters();
        let found = topk::topk(ctx, &self.centred, &q, x.dim(), k, Score::SquaredL2, None).await?;
        let mut out = vec![0.0f32; x.len() * k];
        for (row, (idx, d2)) in out.chunks_exact_mut(k).zip(
            found
                .indices
                .chunks_exact(k)
                .zip(found.scores.chunks_exact(k)),
        ) {
            for (&c, &s) in idx.iter().zip(d2) {
                row[c as usize] = s.sqrt();
            }
        }
        Points::from_vec(out, k)
    }
}

#[cfg(all(test, feature = "parallel"))]
mod tests {
    use super::*;

    /// The CPU twin on one thread and on several gives the same bits:
    /// every parallel loop works in fixed chunks added in order.
    #[test]
    fn the_thread_count_changes_no_bit() {
        let x = crate::Blobs {
            clusters: 5,
            per_cluster: 3000,
            dim: 3,
            seed: 4,
            spread: 20.0,
            std: 2.0,
        }
        .generate()
        .unwrap()
        .points;
        let w: Vec<f32> = (0..x.len()).map(|i| 0.5 + (i % 3) as f32).collect();
        let km = KMeans::new(7).n_init(2).seed(9).sample_weights(w);
        let fit_on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| km.fit(&Context::cpu(), &x).unwrap())
        };
        let one = fit_on(1);
        let many = fit_on(4);
        assert_eq!(one.labels, many.labels);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one.centred), bits(&many.centred));
        assert_eq!(one.inertia.to_bits(), many.inertia.to_bits());
    }
}
