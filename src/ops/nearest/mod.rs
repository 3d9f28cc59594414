//! The nearest data row of each query by squared Euclidean distance, ties
//! to the lower index: mean-shift labels and `predict` (the data rows are
//! the cluster centres), and later k-means assignment.
//!
//! It is the top-k op at k = 1 (`ops/topk`: the register pass of
//! `topk.wgsl` on the GPU, the twin's k = 1 on the CPU), so it shares its
//! semantics and its parity tests. The centres are uploaded for the call
//! and not kept (see `topk`); the points, a fit's data, are usually on the
//! device already.

use crate::context::Context;
use crate::error::Result;
use crate::ops::topk::{self, Score};

/// The nearest data row of each query and the squared distance to it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Nearest {
    pub index: Vec<u32>,
    pub d2: Vec<f32>,
}

/// For each query row, its nearest row of `data` (at least one row).
pub(crate) async fn nearest(
    ctx: &Context,
    data: &[f32],
    queries: &[f32],
    dim: usize,
) -> Result<Nearest> {
    let found = topk::topk(ctx, data, queries, dim, 1, Score::SquaredL2, None).await?;
    Ok(Nearest {
        index: found.indices,
        d2: found.scores,
    })
}
