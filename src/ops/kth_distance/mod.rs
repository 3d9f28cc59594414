//! The distance from each query to its k-th nearest data row (1-based; a
//! query that is also a data row finds itself at distance 0): what
//! scikit-learn's bandwidth estimate averages.
//!
//! It is the top-k op's k-th score without the list (`ops/topk`: on the
//! GPU, the bisection on the squared distance's order key, with the
//! feature axis split so any dimension fits; on the CPU, a selection over
//! each query's squared distances), then a square root. The squared
//! distance is summed in coordinate order on both backends, so both find
//! the same k-th value.

use crate::context::Context;
use crate::error::Result;
use crate::ops::topk::{self, Score};

/// Distance from each query to its `k`-th nearest data row (1-based;
/// `1 <= k <= data rows`, checked by the caller).
pub(crate) async fn kth_distance(
    ctx: &Context,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
) -> Result<Vec<f32>> {
    let d2 = topk::kth_score(ctx, data, queries, dim, k, Score::SquaredL2).await?;
    Ok(d2.into_iter().map(f32::sqrt).collect())
}
