//! DBSCAN, scikit-learn's `DBSCAN` (euclidean), on a GPU or the CPU twin.
//!
//! [`Dbscan`] holds `eps`, `min_samples` and optional sample weights;
//! [`Dbscan::fit`] returns a [`DbscanFit`] with scikit-learn's labels and
//! core sample indices. The neighbourhoods are those of the exact radius
//! search of the nearest-neighbour index
//! ([`crate::KnnIndex::radius_neighbors`]: distance `<= eps` inclusive,
//! each point its own neighbour), so they are the same on both backends
//! and by either search method. Then:
//!
//! 1. each point's neighbourhood weight (the count, or the sum of sample
//!    weights in index order), on the host; core points have at least
//!    `min_samples`;
//! 2. the connected components of the core points over the core-core
//!    pairs (`ops::components`: on a GPU context the pairs go to the
//!    device, chunk by chunk as the search finds them, and the union-find
//!    runs there; on the CPU, or where its parent array, 4 bytes a
//!    point, is larger than one binding, the CPU twin), each point
//!    labelled by its component's lowest-index core point, whatever the
//!    order of the joins; the components are numbered in the order of
//!    those points, which is the order scikit-learn's scan creates them;
//! 3. on the host, a border point (not core, with a core neighbour) takes
//!    the lowest-numbered cluster among its core neighbours', the cluster
//!    scikit-learn's expansion reaches it from first; the rest is noise,
//!    -1.
//!
//! Where the index searches through its grid on the CPU twin (D <= 4),
//! the neighbourhoods are visited in place, in parallel, with no sorted
//! lists: counting stops once a point is core, and a core point joins only
//! its core neighbours of lower index, as it finds them. Elsewhere the
//! queries go through the index's radius search in chunks of the index's
//! own rows (on a GPU context through the device grid where it applies,
//! brute force otherwise: the index's choice), read where the index keeps
//! them, never uploaded again. Either way memory is
//! bounded by the points plus the neighbour lists of one chunk of queries
//! (and the border pairs, and on a GPU one chunk of core pairs): the
//! search runs twice, chunk by chunk, once for the weights and once for
//! the pairs, rather than holding every neighbour list at once.

use std::ops::Range;
use std::sync::Arc;

use crate::context::Context;
use crate::cpu::map_indices;
use crate::dataset::Input;
use crate::error::{Error, Result};
use crate::knn::{KnnIndex, NearestNeighbors, SearchMethod};
use crate::ops::components::{Components, cpu::Forest};
use crate::ops::grid::cpu::Grid;
use crate::points::Points;
use crate::progress::{Observed, Observer, Stage, Watch};

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
    /// the grid for D <= 4 on enough points, on either backend, brute
    /// force otherwise; both give the same neighbourhoods).
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
        let graph = match index.radius_grid(self.eps) {
            Some((grid, data, bound)) => self.grid_graph(&grid, data, bound, watch)?,
            None => self.search_graph(ctx, &index, watch).await?,
        };

        // 3. Clusters numbered by their lowest-index core point; borders
        // take their core neighbours' lowest-numbered cluster.
        watch.report(Stage::Labelling, 0, None)?;
        let Graph {
            core,
            roots,
            border,
        } = graph;
        let mut labels = vec![-1i32; n];
        let mut cluster_of_root = vec![-1i32; n];
        let mut n_clusters = 0;
        for i in 0..n {
            if core[i] {
                let root = roots[i] as usize;
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

    /// Whether a point whose neighbours are `neighbours` (itself
    /// included) is core: their count, or their weights summed in `f64`
    /// in index order (so the search's order cannot move a sum that lands
    /// on `min_samples`), reaches `min_samples`.
    fn is_core(&self, neighbours: &[u32]) -> bool {
        match &self.weights {
            None => neighbours.len() as f64 >= self.min_samples,
            Some(w) => {
                let mut sorted = neighbours.to_vec();
                sorted.sort_unstable();
                let sum: f64 = sorted.iter().map(|&j| f64::from(w[j as usize])).sum();
                sum >= self.min_samples
            }
        }
    }

    /// Steps 1 and 2 through the nearest-neighbour index's radius search,
    /// on any backend: the queries in chunks of [`CHUNK`] of the index's
    /// own rows (on a GPU read from its device copy), searched twice
    /// (once for the core points, once for the pairs), so only one chunk's
    /// neighbour lists are held at a time. Each chunk's core pairs go to
    /// the components op (the device's on a GPU context) as they are
    /// found, only those whose neighbour has the lower index: a pair's
    /// distance is the same computed from either end (squared
    /// differences, summed in coordinate order), so each pair is found
    /// from both of its ends.
    async fn search_graph(
        &self,
        ctx: &Context,
        index: &KnnIndex,
        watch: Watch<'_>,
    ) -> Result<Graph> {
        let n = index.len();
        let chunks: Vec<Range<usize>> = (0..n)
            .step_by(CHUNK)
            .map(|start| start..n.min(start + CHUNK))
            .collect();
        let total = Some(2 * chunks.len() as u64);
        watch.report(Stage::Neighbourhoods, 0, total)?;
        let mut core = vec![false; n];
        for (c, rows) in chunks.iter().enumerate() {
            let found = index.radius_neighbors_of_rows(rows.clone(), self.eps);
            let found = found.await?;
            for q in 0..found.len() {
                core[rows.start + q] = self.is_core(found.indices(q));
            }
            watch.report(Stage::Neighbourhoods, c as u64 + 1, total)?;
        }
        let mut components = Components::new(ctx, n).await?;
        let mut border = Vec::new();
        for (c, rows) in chunks.iter().enumerate() {
            let found = index.radius_neighbors_of_rows(rows.clone(), self.eps);
            let found = found.await?;
            let mut pairs = Vec::new();
            for q in 0..found.len() {
                let i = (rows.start + q) as u32;
                let cores = found.indices(q).iter().filter(|&&j| core[j as usize]);
                match core[i as usize] {
                    true => pairs.extend(cores.filter(|&&j| j < i).map(|&j| [j, i])),
                    false => border.extend(cores.map(|&j| (i, j))),
                }
            }
            components.add(&pairs).await?;
            watch.report(Stage::Neighbourhoods, (chunks.len() + c) as u64 + 1, total)?;
        }
        Ok(Graph {
            core,
            roots: components.roots().await?,
            border,
        })
    }

    /// Steps 1 and 2 through the index's grid (CPU, low dimensions):
    /// each point's neighbourhood visited in place, in parallel, with no
    /// sorted lists; a core point joins only its core neighbours of lower
    /// index (the pairs' other halves are the same edges), in the CPU
    /// twin's forest, from every thread at once.
    fn grid_graph(&self, grid: &Grid, data: &[f32], bound: f32, watch: Watch<'_>) -> Result<Graph> {
        let dim = grid.dim();
        let n = data.len() / dim;
        let chunks = n.div_ceil(CHUNK);
        let total = Some(2 * chunks as u64);
        let row = |i: usize| &data[i * dim..(i + 1) * dim];
        watch.report(Stage::Neighbourhoods, 0, total)?;
        let mut core = Vec::with_capacity(n);
        for c in 0..chunks {
            let start = c * CHUNK;
            core.extend(map_indices(CHUNK.min(n - start), |q| {
                let i = start + q;
                if self.weights.is_some() {
                    let mut found = Vec::new();
                    grid.visit(data, row(i), bound, |j, _| found.push(j));
                    return self.is_core(&found);
                }
                // Counting stops at `min_samples`: a dense neighbourhood
                // is core long before it is all visited.
                let mut count = 0.0;
                grid.visit_until(data, row(i), bound, u32::MAX, |_, _| {
                    count += 1.0;
                    count >= self.min_samples
                })
            }));
            watch.report(Stage::Neighbourhoods, c as u64 + 1, total)?;
        }
        let forest = Forest::new(n);
        let mut border = Vec::new();
        for c in 0..chunks {
            let start = c * CHUNK;
            // Core pairs join as they are found, from every thread (the
            // forest's links are atomic); border points list their core
            // neighbours.
            let lists = map_indices(CHUNK.min(n - start), |q| {
                let i = start + q;
                let mut found = Vec::new();
                match core[i] {
                    true => grid.visit_below(data, row(i), bound, i as u32, |j, _| {
                        if core[j as usize] {
                            forest.union(i as u32, j);
                        }
                    }),
                    false => grid.visit(data, row(i), bound, |j, _| {
                        if core[j as usize] {
                            found.push(j);
                        }
                    }),
                }
                found
            });
            for (q, list) in lists.into_iter().enumerate() {
                border.extend(list.into_iter().map(|j| ((start + q) as u32, j)));
            }
            watch.report(Stage::Neighbourhoods, (chunks + c) as u64 + 1, total)?;
        }
        Ok(Graph {
            core,
            roots: forest.roots(),
            border,
        })
    }
}

/// The core points, their components, and the border pairs.
struct Graph {
    core: Vec<bool>,
    /// Each core point's component, as its lowest core point (other
    /// points are their own).
    roots: Vec<u32>,
    /// `(border point, core neighbour)` pairs.
    border: Vec<(u32, u32)>,
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
