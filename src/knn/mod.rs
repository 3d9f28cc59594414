//! Exact nearest neighbours: scikit-learn's `NearestNeighbors` (brute
//! force) and FAISS's flat indexes, on a GPU or the CPU twin.
//!
//! [`NearestNeighbors`] holds the metric; [`NearestNeighbors::fit`] checks
//! and prepares the data once and returns a [`KnnIndex`], which answers
//! [`kneighbors`](KnnIndex::kneighbors) and
//! [`radius_neighbors`](KnnIndex::radius_neighbors) as often as needed.
//! Both run the top-k op (`ops::topk`): every pair is scored, nothing is
//! approximated, and any `k` from 1 to the number of points works (FAISS's
//! GPU index stops at 2048). Radius searches with a euclidean metric in 1
//! to 4 dimensions may instead go through a uniform grid (`ops::grid`, on
//! either backend; see [`SearchMethod`]), which scores only the points in
//! the cells around each query and gives the same lists.
//!
//! Results are sorted by distance, ties broken by the lower index (the
//! inner product: largest first). Querying the indexed data with itself
//! (`queries = None`, scikit-learn's `kneighbors()` without arguments)
//! leaves each point out of its own list by index, never by distance, so
//! duplicates stay neighbours at distance 0.
//!
//! ```
//! use gpu_cluster::{Context, Metric, NearestNeighbors, Points};
//! let ctx = Context::auto()?;
//! let x = Points::new(&[0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 5.0, 5.0], 2)?;
//! let index = NearestNeighbors::new().metric(Metric::Euclidean).fit(&ctx, &x)?;
//! let q = Points::new(&[0.1, 0.0], 2)?;
//! let nn = index.kneighbors(Some(&q), 2)?; // the 2 nearest of each query
//! assert_eq!(nn.indices(0), &[0, 1]);
//! let others = index.kneighbors(None, 1)?; // each point's nearest other point
//! assert_eq!(others.indices(3), &[2]);
//! let near = index.radius_neighbors(None, 1.5)?; // all within 1.5
//! assert_eq!(near.indices(0), &[1]);
//! # Ok::<(), gpu_cluster::Error>(())
//! ```

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::context::Context;
use crate::error::{Error, Result};
use std::sync::Arc;

#[cfg(feature = "serde")]
mod model;

use crate::dataset::Input;
use crate::ops::grid;
use crate::ops::topk::{self, Queries, Score, sort_runs};
use crate::ops::{self, Pinned};
use crate::points::{Points, centre, mean_f64};

/// How far apart two points are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Metric {
    /// `|x - y|`, scikit-learn's default.
    #[default]
    Euclidean,
    /// `|x - y|^2`, what FAISS's `IndexFlatL2` returns.
    #[cfg_attr(feature = "serde", serde(rename = "sqeuclidean"))]
    SqEuclidean,
    /// `1 - cos(x, y)`, clipped to `[0, 2]`; a zero vector is at distance 1
    /// from every point, itself included.
    Cosine,
    /// `x . y`, largest first, like FAISS's `IndexFlatIP`. The "distances"
    /// returned are the inner products.
    InnerProduct,
}

impl Metric {
    /// Every metric, in the order above.
    pub const ALL: [Metric; 4] = [
        Metric::Euclidean,
        Metric::SqEuclidean,
        Metric::Cosine,
        Metric::InnerProduct,
    ];

    /// The name scikit-learn (and the command line) uses.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Euclidean => "euclidean",
            Metric::SqEuclidean => "sqeuclidean",
            Metric::Cosine => "cosine",
            Metric::InnerProduct => "inner_product",
        }
    }

    fn score(self) -> Score {
        match self {
            Metric::Euclidean | Metric::SqEuclidean => Score::SquaredL2,
            Metric::Cosine => Score::OneMinusDot,
            Metric::InnerProduct => Score::NegDot,
        }
    }

    /// The reported value of a score.
    fn report(self, s: f32) -> f32 {
        match self {
            Metric::Euclidean => s.sqrt(),
            Metric::SqEuclidean => s,
            Metric::Cosine => s.clamp(0.0, 2.0),
            Metric::InnerProduct => -s,
        }
    }

    /// The largest score whose reported value is within `radius` (for the
    /// inner product: at least `radius`), so that the op's test on scores
    /// is exactly the test on reported values.
    fn bound(self, radius: f32) -> f32 {
        match self {
            Metric::SqEuclidean => radius,
            Metric::Euclidean => {
                // sqrt is monotone and correctly rounded: step to the last
                // square whose root is still <= radius.
                let mut b = radius * radius;
                while b.sqrt() > radius {
                    b = b.next_down();
                }
                while b.next_up().sqrt() <= radius && b < f32::MAX {
                    b = b.next_up();
                }
                b
            }
            Metric::Cosine if radius >= 2.0 => f32::INFINITY,
            Metric::Cosine => radius,
            Metric::InnerProduct => -radius,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::InvalidParameter {
                name: "metric",
                value: s.to_string(),
                reason: "must be euclidean, sqeuclidean, cosine or inner_product",
            })
    }
}

/// Exact nearest-neighbour search parameters: a builder.
///
/// ```
/// use gpu_cluster::{Context, Metric, NearestNeighbors, Points};
/// let x = Points::new(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 2)?;
/// let index = NearestNeighbors::new().metric(Metric::Cosine).fit(&Context::auto()?, &x)?;
/// let nn = index.kneighbors(None, 1)?;
/// assert_eq!(nn.indices(0), &[2]); // [1, 1] is the closest direction to [1, 0]
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NearestNeighbors {
    metric: Metric,
    search: SearchMethod,
}

/// How radius searches find their neighbours.
///
/// Brute force scores every pair: right for any dimension, and the only
/// way for the cosine and inner-product metrics. For the euclidean
/// metrics in 1 to 4 dimensions, a uniform grid with cells a little
/// larger than the radius scores only the points in the 3^D cells around
/// each query: about N x (neighbours per point) work instead of N^2, with
/// the same results to the bit. The grid runs on either backend: a GPU
/// context builds and searches it on the device, where the indexed points
/// fit one device buffer (brute force otherwise, reported as such).
///
/// ```
/// use gpu_cluster::{Context, NearestNeighbors, Points, SearchMethod};
/// let x = Points::new(&[0.0, 0.0, 0.5, 0.0, 3.0, 3.0], 2)?;
/// let index = NearestNeighbors::new().search(SearchMethod::Grid).fit(&Context::cpu(), &x)?;
/// let near = index.radius_neighbors(None, 1.0)?;
/// assert_eq!(near.method(), SearchMethod::Grid);
/// assert_eq!(near.indices(0), &[1]);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SearchMethod {
    /// The grid where it applies (euclidean metrics, D <= 4, at least
    /// [`SearchMethod::GRID_MIN_POINTS`] points), brute force otherwise.
    #[default]
    Auto,
    /// Every pair scored.
    BruteForce,
    /// The grid where it applies (euclidean metrics, D <= 4); brute force
    /// otherwise, reported as such.
    Grid,
}

impl SearchMethod {
    /// Points from which [`SearchMethod::Auto`] takes the grid: below it,
    /// building the grid costs about what it saves.
    pub const GRID_MIN_POINTS: usize = 2048;
}

impl NearestNeighbors {
    /// Euclidean distance.
    pub fn new() -> Self {
        Self::default()
    }

    /// The metric (default: [`Metric::Euclidean`]).
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// How radius searches run (default: [`SearchMethod::Auto`]).
    pub fn search(mut self, search: SearchMethod) -> Self {
        self.search = search;
        self
    }

    /// Builds the index over `x` on `ctx`, which it keeps (a context is a
    /// shared handle), and on a GPU uploads the points once and keeps them
    /// there for every query. Data for the cosine metric is normalised to
    /// unit rows (in `f64`). For the euclidean metrics, points that hold
    /// `f64` values ([`Points::has_f64`]) are centred on their mean in
    /// `f64` before rounding, and queries on the same point, so that data
    /// far from the origin (UTM coordinates) keeps the precision `f32`
    /// would lose up there; distances do not change under the shift. Other
    /// data is used as given: the difference of two nearby `f32` values is
    /// exact however far from the origin they lie.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<KnnIndex> {
        pollster::block_on(self.fit_async(ctx, x))
    }

    /// The async form of [`NearestNeighbors::fit`].
    pub async fn fit_async<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<KnnIndex> {
        let x = x.into().points();
        let offset = match self.metric {
            Metric::Euclidean | Metric::SqEuclidean if x.has_f64() => Some(mean_f64(x)),
            _ => None,
        };
        let data = match (self.metric, &offset) {
            (Metric::Cosine, _) => Some(normalised(&x.to_f64(), x.dim())),
            (_, Some(offset)) => Some(centre(x, offset)),
            (_, None) => None,
        };
        KnnIndex::holding(ctx, *self, x.clone(), data, offset).await
    }
}

/// Rows scaled to unit length in `f64`; a zero row stays zero, so its
/// cosine distance to every point is 1.
fn normalised(flat: &[f64], dim: usize) -> Vec<f32> {
    flat.chunks_exact(dim)
        .flat_map(|r| {
            let norm = r.iter().map(|&v| v.powi(2)).sum::<f64>().sqrt();
            let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            r.iter().map(move |&v| (v * scale) as f32)
        })
        .collect()
}

/// An exact nearest-neighbour index over a fixed set of points, built by
/// [`NearestNeighbors::fit`] and queried many times. It owns its device
/// copy of the points (on a GPU context) until dropped; clones share it.
#[derive(Clone)]
pub struct KnnIndex {
    ctx: Context,
    metric: Metric,
    search: SearchMethod,
    dim: usize,
    held: Arc<Held>,
}

/// The points as given, as the op compares them (normalised for cosine,
/// centred on `offset` where there is one), and their device copy.
struct Held {
    /// First, so the device copy is let go before the values it names.
    _pinned: Option<Pinned>,
    source: Points,
    /// The rows as compared where they differ from the source's `f32`
    /// values (normalised or centred); `None`: those values themselves,
    /// so the index holds one host copy of its points.
    compared: Option<Vec<f32>>,
    /// The radius search's grid, built on its first use.
    grids: grid::Grids,
    /// The `f64` point the data and queries are centred on, if any.
    offset: Option<Vec<f64>>,
    /// The largest magnitude among the points' coordinates.
    max_abs: f32,
}

impl Held {
    /// The rows as the op compares them.
    fn data(&self) -> &[f32] {
        self.compared.as_deref().unwrap_or(self.source.as_slice())
    }
}

fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

impl fmt::Debug for KnnIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnnIndex")
            .field("metric", &self.metric)
            .field("points", &self.len())
            .field("dim", &self.dim)
            .field("backend", &self.ctx.to_string())
            .finish()
    }
}

impl KnnIndex {
    /// The index over `source`, whose rows as the op compares them are
    /// `data` (centred on `offset` if any), pinned on `ctx`'s device.
    async fn holding(
        ctx: &Context,
        params: NearestNeighbors,
        source: Points,
        compared: Option<Vec<f32>>,
        offset: Option<Vec<f64>>,
    ) -> Result<Self> {
        // An index outlives the call: points lent to it are copied, so
        // what it searches (and pins on the device, found by address) is
        // what it was given.
        let source = source.into_owned();
        let dim = source.dim();
        let n = source.len();
        if u32::try_from(n).is_err() {
            return Err(Error::InvalidParameter {
                name: "points",
                value: n.to_string(),
                reason: "an index holds at most 2^32 - 1 points (indices are 32-bit)",
            });
        }
        let data = compared.as_deref().unwrap_or(source.as_slice());
        let pinned = ops::pin(ctx, data, dim).await?;
        let max_abs = max_abs(data);
        Ok(KnnIndex {
            ctx: ctx.clone(),
            metric: params.metric,
            search: params.search,
            dim,
            held: Arc::new(Held {
                _pinned: pinned,
                max_abs,
                source,
                compared,
                grids: grid::Grids::default(),
                offset,
            }),
        })
    }

    /// Points indexed.
    pub fn len(&self) -> usize {
        self.held.data().len() / self.dim
    }

    /// Always false: an index holds at least one point.
    pub fn is_empty(&self) -> bool {
        self.held.data().is_empty()
    }

    /// Coordinates per point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The points indexed, as given to [`NearestNeighbors::fit`].
    pub fn points(&self) -> &Points {
        &self.held.source
    }

    /// The `k` nearest indexed points of each query, sorted by distance,
    /// ties by lower index. `queries = None` queries the indexed points
    /// themselves, each leaving itself out (scikit-learn's `kneighbors()`);
    /// pass the points explicitly to keep each point in its own list.
    ///
    /// Errors: `k = 0`, `k` above the number of points (the number minus
    /// one with `None`), or queries of another dimension.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn kneighbors(&self, queries: Option<&Points>, k: usize) -> Result<Neighbors> {
        pollster::block_on(self.kneighbors_async(queries, k))
    }

    /// The async form of [`KnnIndex::kneighbors`].
    pub async fn kneighbors_async(&self, queries: Option<&Points>, k: usize) -> Result<Neighbors> {
        let available = self.len() - usize::from(queries.is_none());
        if k == 0 || k > available {
            return Err(Error::InvalidParameter {
                name: "k",
                value: k.to_string(),
                reason: if queries.is_none() {
                    "must be between 1 and the number of points minus one (each point leaves itself out)"
                } else {
                    "must be between 1 and the number of points"
                },
            });
        }
        let prepared = self.prepare(queries)?;
        let q = prepared.as_deref().unwrap_or(self.held.data());
        let exclude = queries.is_none().then_some(0);
        let found = topk::topk(
            &self.ctx,
            self.held.data(),
            q,
            self.dim,
            k,
            self.metric.score(),
            exclude,
        )
        .await?;
        let mut indices = found.indices;
        let offsets: Vec<usize> = (0..=indices.len() / k).map(|i| i * k).collect();
        let distances = self.report(&found.scores, &mut indices, &offsets);
        Ok(Neighbors {
            k,
            indices,
            distances,
        })
    }

    /// Every indexed point within `radius` of each query (distance
    /// `<= radius`; for the inner product: at least `radius`), sorted by
    /// distance, ties by lower index. Lists have any length, empty
    /// included. `queries = None` as for [`KnnIndex::kneighbors`].
    ///
    /// Errors: a negative or non-finite radius (any finite value for the
    /// inner product), queries of another dimension.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn radius_neighbors(
        &self,
        queries: Option<&Points>,
        radius: f32,
    ) -> Result<RadiusNeighbors> {
        pollster::block_on(self.radius_neighbors_async(queries, radius))
    }

    /// The async form of [`KnnIndex::radius_neighbors`].
    pub async fn radius_neighbors_async(
        &self,
        queries: Option<&Points>,
        radius: f32,
    ) -> Result<RadiusNeighbors> {
        self.check_radius(radius)?;
        let prepared = self.prepare(queries)?;
        let q = match &prepared {
            Some(q) => Queries::Host(q),
            None => Queries::Rows(0..self.len()),
        };
        let exclude = queries.is_none().then_some(0);
        self.radius_search(q, radius, exclude).await
    }

    /// Every indexed point within `radius` of each indexed point of `rows`,
    /// each keeping itself: the lists of those points passed as queries,
    /// to the bit (they are compared as the index compares its own rows),
    /// with none of them uploaded again. DBSCAN's chunks of its own points.
    ///
    /// Errors: rows past the index's points, or a radius
    /// [`KnnIndex::radius_neighbors`] refuses.
    pub(crate) async fn radius_neighbors_of_rows(
        &self,
        rows: Range<usize>,
        radius: f32,
    ) -> Result<RadiusNeighbors> {
        if rows.start > rows.end || rows.end > self.len() {
            return Err(Error::InvalidParameter {
                name: "rows",
                value: format!("{rows:?}"),
                reason: "must lie within the indexed points",
            });
        }
        self.check_radius(radius)?;
        // The inner product's overflow check, on the index's own values.
        self.prepare(None)?;
        self.radius_search(Queries::Rows(rows), radius, None).await
    }

    /// A negative or non-finite radius (any finite value for the inner
    /// product) is an error.
    fn check_radius(&self, radius: f32) -> Result<()> {
        let signed = self.metric == Metric::InnerProduct;
        if !radius.is_finite() || (!signed && radius < 0.0) {
            return Err(Error::InvalidParameter {
                name: "radius",
                value: radius.to_string(),
                reason: if signed {
                    "must be finite"
                } else {
                    "must be finite and >= 0"
                },
            });
        }
        Ok(())
    }

    /// The radius search of prepared `queries`, the query's own row left
    /// out with `exclude`.
    async fn radius_search(
        &self,
        q: Queries<'_>,
        radius: f32,
        exclude: topk::SelfOffset,
    ) -> Result<RadiusNeighbors> {
        let bound = self.metric.bound(radius);
        let (found, method) = match self.grid_applies() {
            true => {
                let data = self.held.data();
                let grids = &self.held.grids;
                grids
                    .within(&self.ctx, data, q, self.dim, bound, exclude)
                    .await?
            }
            false => {
                let score = self.metric.score();
                let found = topk::within(
                    &self.ctx,
                    self.held.data(),
                    q,
                    self.dim,
                    bound,
                    score,
                    exclude,
                )
                .await?;
                (found, grid::Method::BruteForce)
            }
        };
        let mut indices = found.indices;
        let distances = self.report(&found.scores, &mut indices, &found.offsets);
        Ok(RadiusNeighbors {
            offsets: found.offsets,
            indices,
            distances,
            method: match method {
                grid::Method::Grid => SearchMethod::Grid,
                grid::Method::BruteForce => SearchMethod::BruteForce,
            },
        })
    }

    /// The grid that radius searches of `radius` take on a CPU context,
    /// with the rows as compared and the squared bound: DBSCAN visits its
    /// neighbourhoods through it without building sorted lists. `None`
    /// where radius searches go brute force.
    pub(crate) fn radius_grid(&self, radius: f32) -> Option<(Arc<grid::cpu::Grid>, &[f32], f32)> {
        if !self.grid_applies() {
            return None;
        }
        let (data, bound) = (self.held.data(), self.metric.bound(radius));
        let grid = self.held.grids.cpu_grid(&self.ctx, data, self.dim, bound)?;
        Some((grid, data, bound))
    }

    /// Whether radius searches take the grid: a euclidean metric in at
    /// most 4 dimensions, asked for or (auto) on enough points.
    fn grid_applies(&self) -> bool {
        let euclidean = matches!(self.metric, Metric::Euclidean | Metric::SqEuclidean);
        let asked = match self.search {
            SearchMethod::BruteForce => false,
            SearchMethod::Grid => true,
            SearchMethod::Auto => self.len() >= SearchMethod::GRID_MIN_POINTS,
        };
        euclidean && asked && self.dim <= grid::MAX_DIM
    }

    /// Queries as the op compares them, or `None` for the indexed data.
    fn prepare(&self, queries: Option<&Points>) -> Result<Option<Vec<f32>>> {
        if let Some(q) = queries
            && q.dim() != self.dim
        {
            return Err(Error::DimensionMismatch {
                expected: self.dim,
                found: q.dim(),
            });
        }
        if self.metric == Metric::InnerProduct {
            // |x . q| <= D max|x| max|q|: past f32's range a sum could add
            // +inf and -inf into NaN, which has no place in the order.
            let largest = queries.map_or(self.held.max_abs, |q| max_abs(q.as_slice()));
            let bound = f64::from(self.held.max_abs) * f64::from(largest) * self.dim as f64;
            if bound >= f64::from(f32::MAX) {
                return Err(Error::InvalidParameter {
                    name: "points",
                    value: format!("values up to {} and {largest}", self.held.max_abs),
                    reason: "their inner products could overflow f32: rescale the data",
                });
            }
        }
        let Some(q) = queries else {
            return Ok(None);
        };
        Ok(Some(match (self.metric, &self.held.offset) {
            (Metric::Cosine, _) => normalised(&q.to_f64(), self.dim),
            (_, Some(offset)) => centre(q, offset),
            (_, None) => q.as_slice().to_vec(),
        }))
    }

    /// The metric's distances of `scores`, each query's run (delimited by
    /// `offsets`) sorted by (distance, index) with `indices`. Runs sorted
    /// by (score, index) stay so, but where the square root or the clip
    /// makes two scores one distance: those runs are sorted again.
    fn report(&self, scores: &[f32], indices: &mut [u32], offsets: &[usize]) -> Vec<f32> {
        let mut distances: Vec<f32> = scores.iter().map(|&s| self.metric.report(s)).collect();
        if matches!(self.metric, Metric::Euclidean | Metric::Cosine) {
            sort_runs(offsets, indices, &mut distances);
        }
        distances
    }
}

/// The `k` nearest points of each query: row-major `queries x k`.
///
/// Which points make the list is decided on the squared distance (the
/// cosine distance before clipping), ties to the lower index; two squared
/// distances one `f32` apart can share a rounded square root, so at the
/// k-th place a reported tie may keep the higher index.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbors {
    k: usize,
    indices: Vec<u32>,
    distances: Vec<f32>,
}

impl Neighbors {
    /// Neighbours per query.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.indices.len() / self.k
    }

    /// True when there were no queries.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Indices of query `i`'s neighbours, nearest first.
    pub fn indices(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }

    /// Distances of query `i`'s neighbours (inner products for
    /// [`Metric::InnerProduct`]), in the order of [`Neighbors::indices`].
    pub fn distances(&self, i: usize) -> &[f32] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }

    /// All indices, row-major `len() x k`.
    pub fn all_indices(&self) -> &[u32] {
        &self.indices
    }

    /// All distances, row-major `len() x k`.
    pub fn all_distances(&self) -> &[f32] {
        &self.distances
    }
}

/// The points within a radius of each query, as compressed rows: query
/// `i`'s neighbours are entries `offsets()[i]..offsets()[i + 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RadiusNeighbors {
    offsets: Vec<usize>,
    indices: Vec<u32>,
    distances: Vec<f32>,
    method: SearchMethod,
}

impl RadiusNeighbors {
    /// How the search ran: [`SearchMethod::Grid`] or
    /// [`SearchMethod::BruteForce`] (the results are the same).
    pub fn method(&self) -> SearchMethod {
        self.method
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there were no queries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Indices of query `i`'s neighbours, nearest first (may be empty).
    pub fn indices(&self, i: usize) -> &[u32] {
        &self.indices[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Distances of query `i`'s neighbours, in the order of
    /// [`RadiusNeighbors::indices`].
    pub fn distances(&self, i: usize) -> &[f32] {
        &self.distances[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Row boundaries: `len() + 1` entries, from 0 to the total count.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// All indices, query after query.
    pub fn all_indices(&self) -> &[u32] {
        &self.indices
    }

    /// All distances, query after query.
    pub fn all_distances(&self) -> &[f32] {
        &self.distances
    }
}
