//! The k data rows with the smallest score for each query, any k from 1 to
//! the number of data rows, sorted by (score, index): exact, ties broken by
//! the lower index. Also the rows within a score bound of each query, as
//! compressed rows (radius queries). The kNN index and the nearest op are
//! built on it.
//!
//! A pair's score is one of [`Score`], summed over the coordinates in
//! index order in `f32` on both backends, so the CPU twin (`cpu.rs`) and
//! the GPU stage (`gpu.rs`, `topk.wgsl`) compute the same bits up to fused
//! multiply-adds a GPU compiler may form; scores are ordered by their bits
//! (`f32::total_cmp`), never by float comparison, so `-0.0` and `0.0` are
//! told apart the same way everywhere.

mod cpu;
mod gpu;

use std::ops::Range;

use crate::context::{Context, Inner};
use crate::error::Result;

pub(crate) use gpu::{NearestPass, TOPK};

/// What a pair's score is; smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Score {
    /// `sum_k (x_k - q_k)^2`.
    SquaredL2,
    /// `-(sum_k x_k q_k)`: the largest inner product first.
    NegDot,
    /// `1 - sum_k x_k q_k`: cosine distance on rows the caller normalised.
    OneMinusDot,
}

impl Score {
    /// The identifier the shader is specialised with.
    fn shader_id(self) -> u32 {
        match self {
            Score::SquaredL2 => 0,
            Score::NegDot => 1,
            Score::OneMinusDot => 2,
        }
    }
}

/// Which data row, if any, a query may not take as a neighbour: with
/// `Some(offset)`, query row `j` is data row `offset + j` (the data queried
/// with itself), excluded by index, never by distance, so duplicates stay
/// neighbours.
pub(crate) type SelfOffset = Option<usize>;

/// The queries of a radius search: rows the caller holds, or a range of
/// the data's own rows, which a GPU search reads where the data already
/// are (the data's buffer) rather than uploading them again.
#[derive(Debug, Clone)]
pub(crate) enum Queries<'a> {
    /// Rows held on the host, uploaded by a GPU search unless it finds
    /// them on the device already (data kept there, by address or bytes).
    Host(&'a [f32]),
    /// Data rows `range`: query `i` is data row `range.start + i`, bit for
    /// bit. Its own row is left out only through a [`SelfOffset`], as for
    /// any queries (`Some(range.start)` leaves each row's own out).
    Rows(Range<usize>),
}

impl<'a> Queries<'a> {
    /// The queries' values: `data`'s rows for [`Queries::Rows`].
    pub(crate) fn values(&self, data: &'a [f32], dim: usize) -> &'a [f32] {
        match self {
            Queries::Host(q) => q,
            Queries::Rows(rows) => &data[rows.start * dim..rows.end * dim],
        }
    }
}

/// The k best data rows per query: row-major `m x k`, each row sorted by
/// (score, index).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TopK {
    pub indices: Vec<u32>,
    pub scores: Vec<f32>,
}

/// Rows within a bound per query, compressed: query `i`'s neighbours are
/// `offsets[i]..offsets[i + 1]` of `indices` and `scores`, sorted by
/// (score, index).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Within {
    pub offsets: Vec<usize>,
    pub indices: Vec<u32>,
    pub scores: Vec<f32>,
}

impl Within {
    /// The lists of `(score, index)` pairs, one per query in query order,
    /// packed and each sorted by (score, index): how a CPU search that
    /// collects its candidates per query hands them over.
    pub(crate) fn from_lists(lists: Vec<Vec<(f32, u32)>>) -> Self {
        let counts: Vec<usize> = lists.iter().map(Vec::len).collect();
        let mut out = Within {
            offsets: crate::ops::scan::cpu::exclusive_scan(&counts),
            ..Within::default()
        };
        for (s, j) in lists.into_iter().flatten() {
            out.indices.push(j);
            out.scores.push(s);
        }
        sort_runs(&out.offsets, &mut out.indices, &mut out.scores);
        out
    }
}

/// The `k` best data rows of each query. Data a caller keeps on the
/// device (a pinned index) is found there; other data is uploaded for the
/// call. Requires `1 <= k <= n` (`n - 1`
/// with self excluded), checked by the caller.
pub(crate) async fn topk(
    ctx: &Context,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    score: Score,
    exclude: SelfOffset,
) -> Result<TopK> {
    match ctx.inner() {
        Inner::Gpu(g) => gpu::topk(g, data, queries, dim, k, score, exclude).await,
        Inner::Cpu => Ok(cpu::topk(data, queries, dim, k, score, exclude)),
    }
}

/// The `k`-th best score of each query (1-based; the queries' own rows are
/// not left out, so a query that is a data row finds itself first), with
/// no list kept: what an average distance to the k-th neighbour needs.
pub(crate) async fn kth_score(
    ctx: &Context,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    score: Score,
) -> Result<Vec<f32>> {
    match ctx.inner() {
        Inner::Gpu(g) => gpu::kth_score(g, data, queries, dim, k, score).await,
        Inner::Cpu => Ok(cpu::kth_score(data, queries, dim, k, score)),
    }
}

/// Every data row whose score is at most `bound` for each query.
pub(crate) async fn within(
    ctx: &Context,
    data: &[f32],
    queries: Queries<'_>,
    dim: usize,
    bound: f32,
    score: Score,
    exclude: SelfOffset,
) -> Result<Within> {
    match ctx.inner() {
        Inner::Gpu(g) => gpu::within(g, data, queries, dim, bound, score, exclude).await,
        Inner::Cpu => {
            let queries = queries.values(data, dim);
            Ok(cpu::within(data, queries, dim, bound, score, exclude))
        }
    }
}

/// A score's position in the total order of `f32::total_cmp`, as an
/// unsigned integer: what the GPU stage compares and bisects on.
pub(crate) fn order_key(s: f32) -> u32 {
    let b = s.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// The score whose [`order_key`] is `key`.
pub(crate) fn from_order_key(key: u32) -> f32 {
    f32::from_bits(if key & 0x8000_0000 != 0 {
        key & 0x7fff_ffff
    } else {
        !key
    })
}

/// Sorts each query's candidates by (score, index) in place: `offsets`
/// delimits the queries' runs.
pub(crate) fn sort_runs(offsets: &[usize], indices: &mut [u32], scores: &mut [f32]) {
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for run in offsets.windows(2) {
        let (a, b) = (run[0], run[1]);
        pairs.clear();
        pairs.extend((a..b).map(|j| (order_key(scores[j]), indices[j])));
        pairs.sort_unstable();
        for (j, &(key, index)) in (a..b).zip(&pairs) {
            scores[j] = from_order_key(key);
            indices[j] = index;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_follow_total_cmp() {
        let values = [
            f32::NEG_INFINITY,
            -3.5,
            -1e-40,
            -0.0,
            0.0,
            1e-40,
            2.0,
            f32::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{} {}", w[0], w[1]);
        }
        for v in values {
            assert_eq!(from_order_key(order_key(v)).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn runs_sort_by_score_then_index() {
        let offsets = [0, 3, 3, 5];
        let mut indices = [7, 2, 5, 1, 0];
        let mut scores = [1.0, 1.0, 0.5, 0.0, -0.0];
        sort_runs(&offsets, &mut indices, &mut scores);
        assert_eq!(indices, [5, 2, 7, 0, 1]);
        assert_eq!(
            scores.map(f32::to_bits),
            [0.5f32, 1.0, 1.0, -0.0, 0.0].map(f32::to_bits)
        );
    }
}
