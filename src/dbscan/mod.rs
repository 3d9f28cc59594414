//! DBSCAN, scikit-learn's `DBSCAN` (euclidean), on a GPU or the CPU twin.
//!
//! [`Dbscan`] holds `eps`, `min_samples` and optional sample weights;
//! [`Dbscan::fit`] returns a [`DbscanFit`] with scikit-learn's labels and
//! core sample indices. The neighbourhoods are the exact radius search of
//! the nearest-neighbour index ([`crate::KnnIndex::radius_neighbors`]:
//! distance `<= eps` inclusive, each point its own neighbour; by brute
//! force, or by a grid in low dimensions, with the same results), so they
//! are the same on both backends; everything after them is integer work
//! on the host:
//!
//! 1. each point's neighbourhood weight (the count, or the sum of sample
//!    weights); core points have at least `min_samples`;
//! 2. the connected components of the core points (union-find over the
//!    core-core pairs), numbered in the order of their lowest-index core
//!    point, which is the order scikit-learn's scan creates them;
//! 3. a border point (not core, with a core neighbour) takes the
//!    lowest-numbered cluster among its core neighbours', the cluster
//!    scikit-learn's expansion reaches it from first; the rest is noise,
//!    -1.
//!
//! Memory is bounded by the points plus the neighbour lists of one chunk
//! of queries (and the border pairs): the search runs twice, chunk by
//! chunk, once for the weights and once for the pairs, rather than holding
//! every neighbour list at once.

use std::sync::Arc;

use crate::context::Context;
use crate::dataset::Input;
use crate::error::{Error, Result};
use crate::knn::{NearestNeighbors, SearchMethod};
use crate::points::Points;
use crate::progress::{Observed, Observer, Stage};

/// Queries per radius search: the neighbour lists of this many points are
/// held at once.
const CHUNK: usize = 8192;

/// DBSCAN parameters. Defaults are scikit-learn's: `eps` 0.5,
/// `min_samples` 5, no weights.
///
/// ```
/// use gpu_cluster::{Context, Dbscan, Points};
/// // Two groups and a stray point.
/// let x = Points::new(&[0.0, 0.1, 0.2, 5.0, 5.1, 5.2, 9.0], 1)?;
/// let fit = Dbscan::new(0.15, 2).fit(&Context::cpu(), &x)?;
/// assert_eq!(fit.labels(), &[0, 0, 0, 1, 1, 1, -1]); // -1: noise
/// assert_eq!(fit.core_sample_indices(), &[0, 1, 2, 3, 4, 5]);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dbscan {
    eps: f32,
    min_samples: f64,
    weights: Option<Vec<f32>>,
    search: SearchMethod,
    observer: Observed,
}

impl Default for Dbscan {
    fn default() -> Self {
        Self::new(0.5, 5)
    }
}

impl Dbscan {
    /// Neighbourhoods of radius `eps` (> 0, inclusive); core points have
    /// at least `min_samples` points in theirs, themselves included.
    pub fn new(eps: f32, min_samples: usize) -> Self {
        Self {
            eps,
            min_samples: min_samples as f64,
            weights: None,
            search: SearchMethod::Auto,
            observer: Observed::default(),
        }
    }

    /// Weights each point in the neighbourhood sums (scikit-learn's
    /// `sample_weight`: a point of weight 2 counts twice; weights may be
    /// negative, which keeps neighbours from being core).
    pub fn sample_weights(mut self, weights: Vec<f32>) -> Self {
        self.weights = Some(weights);
        self
    }

    /// How the neighbourhoods are found (default: [`SearchMethod::Auto`]:
    /// the grid for D <= 4 on enough points on the CPU twin, brute force
    /// otherwise; both give the same neighbourhoods).
    pub fn search(mut self, search: SearchMethod) -> Self {
        self.search = search;
        self
    }

    /// Reports progress to `observer`, which may cancel the fit between
    /// chunks of the search (see [`Observer`]).
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Observed::new(observer);
        self
    }

    fn check(&self, x: &Points) -> Result<()> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::InvalidParameter {
                name: "eps",
                value: self.eps.to_string(),
                reason: "must be finite and > 0",
            });
        }
        if self.min_samples < 1.0 {
            return Err(Error::InvalidParameter {
                name: "min_samples",
                value: self.min_samples.to_string(),
                reason: "must be at least 1",
            });
        }
        if let Some(w) = &self.weights {
            if w.len() != x.len() {
                return Err(Error::WeightsLength {
                    expected: x.len(),
                    found: w.len(),
                });
            }
            if let Some(index) = w.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidParameter {
                    name: "sample_weights",
                    value: format!("{} at {index}", w[index]),
                    reason: "must be finite (negative weights are allowed)",
                });
            }
        }
        Ok(())
    }

    /// Fits on `ctx`, blocking until the GPU is done.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<DbscanFit> {
        pollster::block_on(self.fit_async(ctx, x))
    }

    /// Fits on `ctx` and returns the labels alone (scikit-learn's
    /// `fit_predict`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit_predict<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<Vec<i32>> {
        Ok(self.fit(ctx, x)?.labels)
    }

    /// The async form of [`Dbscan::fit`].
    pub async fn fit_async<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<DbscanFit> {
        let x = x.into().points();
        self.check(x)?;
        let watch = self.observer.watch();
        watch.check()?;
        let n = x.len();
        let index = NearestNeighbors::new()
            .search(self.search)
            .fit_async(ctx, x)
            .await?;
        // The queries in chunks, with the points' f64 values where they
        // hold them, so the index centres them as it centres the points.
        let values = x.to_f64();
        let chunks: Vec<Points> = values
            .chunks(CHUNK * x.dim())
            .map(|rows| Points::from_f64(rows, x.dim()))
            .collect::<Result<_>>()?;
        let weight = |j: usize| self.weights.as_ref().map_or(1.0, |w| f64::from(w[j]));

        // 1. Neighbourhood weights, chunk by chunk.
        let total = Some(2 * chunks.len() as u64);
        watch.report(Stage::Neighbourhoods, 0, total)?;
        let mut core = vec![false; n];
        for (c, chunk) in chunks.iter().enumerate() {
            let found = index.radius_neighbors_async(Some(chunk), self.eps).await?;
            for q in 0..found.len() {
                let sum: f64 = found.indices(q).iter().map(|&j| weight(j as usize)).sum();
                core[c * CHUNK + q] = sum >= self.min_samples;
            }
            watch.report(Stage::Neighbourhoods, c as u64 + 1, total)?;
        }

        // 2. Core-core pairs join components; border pairs are kept.
        let mut parent: Vec<u32> = (0..n as u32).collect();
        let mut border: Vec<(u32, u32)> = Vec::new();
        for (c, chunk) in chunks.iter().enumerate() {
            let found = index.radius_neighbors_async(Some(chunk), self.eps).await?;
            for q in 0..found.len() {
                let i = c * CHUNK + q;
                for &j in found.indices(q).iter().filter(|&&j| core[j as usize]) {
                    match core[i] {
                        true => union(&mut parent, i as u32, j),
                        false => border.push((i as u32, j)),
                    }
                }
            }
            watch.report(Stage::Neighbourhoods, (chunks.len() + c) as u64 + 1, total)?;
        }

        // 3. Clusters numbered by their lowest-index core point; borders
        // take their core neighbours' lowest-numbered cluster.
        watch.report(Stage::Labelling, 0, None)?;
        let mut labels = vec![-1i32; n];
        let mut cluster_of_root = vec![-1i32; n];
        let mut n_clusters = 0;
        for i in 0..n {
            if core[i] {
                let root = find(&mut parent, i as u32) as usize;
                if cluster_of_root[root] < 0 {
                    cluster_of_root[root] = n_clusters;
                    n_clusters += 1;
                }
                labels[i] = cluster_of_root[root];
            }
        }
        for (i, j) in border {
            let l = labels[j as usize];
            let b = &mut labels[i as usize];
            if *b < 0 || l < *b {
                *b = l;
            }
        }
        Ok(DbscanFit {
            core_sample_indices: (0..n).filter(|&i| core[i]).collect(),
            labels,
            n_clusters: n_clusters as usize,
        })
    }
}

/// The root of `i`'s tree, halving the path on the way.
fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let up = parent[parent[i as usize] as usize];
        parent[i as usize] = up;
        i = up;
    }
    i
}

/// Joins the trees of `a` and `b`, the lower root becoming the root: the
/// components do not depend on the order of the unions.
fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[high as usize] = low;
    }
}

/// A fitted DBSCAN: labels and core points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbscanFit {
    labels: Vec<i32>,
    core_sample_indices: Vec<usize>,
    n_clusters: usize,
}

impl DbscanFit {
    /// Each point's cluster, numbered as scikit-learn numbers them, or -1
    /// for noise.
    pub fn labels(&self) -> &[i32] {
        &self.labels
    }

    /// The core points, ascending (scikit-learn's `core_sample_indices_`).
    pub fn core_sample_indices(&self) -> &[usize] {
        &self.core_sample_indices
    }

    /// Number of clusters (noise is none).
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }
}
