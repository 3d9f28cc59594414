//! CPU twin of `topk.wgsl`: every pair's score in `f32`, coordinates in
//! index order, and each query's best rows by (score, index).

use super::{Score, SelfOffset, TopK, Within, order_key, sort_runs};
use crate::cpu::map_indices;
use crate::ops::scan::cpu::exclusive_scan;

/// The score of data row `x` for query `q`, as the GPU stage computes it.
#[inline]
pub(crate) fn score_of(score: Score, x: &[f32], q: &[f32]) -> f32 {
    match score {
        Score::SquaredL2 => crate::cpu::squared_distance(x, q),
        Score::NegDot => -dot(x, q),
        Score::OneMinusDot => 1.0 - dot(x, q),
    }
}

#[inline]
fn dot(x: &[f32], q: &[f32]) -> f32 {
    x.iter().zip(q).fold(0.0f32, |acc, (a, b)| acc + a * b)
}

/// The data rows a query compares with, with its own row left out.
fn candidates(
    data: &[f32],
    dim: usize,
    own: Option<usize>,
) -> impl Iterator<Item = (usize, &[f32])> {
    data.chunks_exact(dim)
        .enumerate()
        .filter(move |&(j, _)| Some(j) != own)
}

/// The `k` best data rows of each query (see [`super::topk`]).
pub(crate) fn topk(
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    score: Score,
    exclude: SelfOffset,
) -> TopK {
    let rows = map_indices(queries.len() / dim, |i| {
        let q = &queries[i * dim..(i + 1) * dim];
        let own = exclude.map(|o| o + i);
        let mut all: Vec<(u32, u32)> = candidates(data, dim, own)
            .map(|(j, x)| (order_key(score_of(score, x, q)), j as u32))
            .collect();
        if k < all.len() {
            all.select_nth_unstable(k - 1);
            all.truncate(k);
        }
        all.sort_unstable();
        all
    });
    let mut out = TopK {
        indices: Vec::with_capacity(rows.len() * k),
        scores: Vec::with_capacity(rows.len() * k),
    };
    for row in rows {
        for (key, j) in row {
            out.indices.push(j);
            out.scores.push(super::from_order_key(key));
        }
    }
    out
}

/// Every data row scoring at most `bound` for each query (see
/// [`super::within`]).
pub(crate) fn within(
    data: &[f32],
    queries: &[f32],
    dim: usize,
    bound: f32,
    score: Score,
    exclude: SelfOffset,
) -> Within {
    let limit = order_key(bound);
    let rows = map_indices(queries.len() / dim, |i| {
        let q = &queries[i * dim..(i + 1) * dim];
        candidates(data, dim, exclude.map(|o| o + i))
            .map(|(j, x)| (score_of(score, x, q), j as u32))
            .filter(|&(s, _)| order_key(s) <= limit)
            .collect::<Vec<_>>()
    });
    let counts: Vec<usize> = rows.iter().map(Vec::len).collect();
    let mut out = Within {
        offsets: exclusive_scan(&counts),
        ..Within::default()
    };
    for (s, j) in rows.into_iter().flatten() {
        out.indices.push(j);
        out.scores.push(s);
    }
    sort_runs(&out.offsets, &mut out.indices, &mut out.scores);
    out
}
