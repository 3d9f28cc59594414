//! The distance from each query to its k-th nearest data row (1-based; a
//! query that is also a data row finds itself at distance 0): what
//! scikit-learn's bandwidth estimate averages. GPU: exact bisection on the
//! bits of the squared distance (`gpu.rs`, `kth_distance.wgsl`); CPU twin:
//! a selection over each query's distances (`cpu.rs`).

mod cpu;
mod gpu;

use crate::context::{Context, Inner};
use crate::error::Result;

pub(crate) use gpu::KTH_DISTANCE;

/// Distance from each query to its `k`-th nearest data row (1-based).
pub(crate) async fn kth_distance(
    ctx: &Context,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
) -> Result<Vec<f32>> {
    match ctx.inner() {
        Inner::Gpu(g) => gpu::kth_distance(g, data, queries, dim, k).await,
        Inner::Cpu => Ok(cpu::kth_distance(data, queries, dim, k)),
    }
}
