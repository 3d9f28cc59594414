//! The ops layer: the primitives every algorithm shares, each with the
//! same contract on both backends. An op's folder holds its types and
//! backend dispatch (`mod.rs`), its CPU twin (`cpu.rs`), its GPU host code
//! (`gpu.rs`) and its WGSL, side by side; one parity test drives both
//! backends. Algorithms (`meanshift`, `knn`, `kmeans`) are drivers over these ops:
//! they never reach into `gpu/` or `cpu/`, and no op imports an algorithm.
//!
//! - [`kernel_sums`]: kernel-weighted sums over the data (mean-shift steps),
//!   and their count-only form, the sample weight within `h` of each query;
//! - [`kth_distance`]: distance to the k-th nearest data row;
//! - [`nearest`]: the nearest data row of each query (k = 1);
//! - [`topk`]: the k nearest data rows of each query, any k;
//! - [`scan`]: exclusive prefix sums, for lists built by count and fill;
//! - [`sort`]: a stable sort of `u32` keys carrying `u32` values (radix
//!   on the GPU), for cluster members in index order and grid cells;
//! - [`cluster_sums`]: per-cluster sums in a fixed order (k-means' update),
//!   and the Lloyd step that records the nearest pass before them;
//! - [`components`]: connected components of a graph sent in chunks of
//!   edges, each vertex labelled by its component's lowest vertex (DBSCAN);
//! - [`grid`]: a uniform grid over points in 1 to 4 dimensions, built on
//!   either backend, for radius searches with brute force's results
//!   (kNN's radius search, DBSCAN, mean shift's grid sums).

mod chunking;
pub(crate) mod cluster_sums;
pub(crate) mod components;
pub(crate) mod grid;
pub(crate) mod kernel_sums;
pub(crate) mod kth_distance;
pub(crate) mod nearest;
pub(crate) mod scan;
pub(crate) mod sort;
pub(crate) mod topk;

use std::sync::Arc;

use crate::context::{Context, Inner};
use crate::error::Result;
use crate::gpu::Gpu;

pub(crate) use crate::cpu::{map_indices, squared_distance};

/// Values kept on a GPU for as long as this handle lives, in the chunking
/// every op shares: each op finds them by their address, without comparing
/// bytes, and they are never evicted (see `gpu::resident`). The owner
/// keeps the values unchanged and drops this handle before them (declare
/// it first among the owner's fields).
pub(crate) struct Pinned {
    gpu: Arc<Gpu>,
    id: u64,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.gpu.unpin(self.id);
    }
}

/// Pins `values` (rows of `dim`) on the context's GPU; `None` on the CPU,
/// where there is nothing to keep.
pub(crate) async fn pin(ctx: &Context, values: &[f32], dim: usize) -> Result<Option<Pinned>> {
    let Inner::Gpu(g) = ctx.inner() else {
        return Ok(None);
    };
    let per_chunk = g.rows_per_chunk(dim, chunking::ROW_EXTRA);
    // The guard exists before the upload: if the upload fails, or this
    // future is dropped while it waits, the entry is unpinned all the same.
    let pinned = Pinned {
        gpu: Arc::clone(g),
        id: g.pin_id(),
    };
    g.scoped(|| g.pin(pinned.id, values, dim, per_chunk))
        .await?;
    Ok(Some(pinned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::StageDef;

    /// Every stage's widest per-row buffer fits the shared chunking, and
    /// the chunking is no wider than the widest of them needs.
    #[test]
    fn the_chunking_fits_every_stage() {
        let stages: [&StageDef; 6] = [
            &kernel_sums::SHIFT,
            &kernel_sums::SHIFT_WIDE,
            &kernel_sums::SHIFT_FINISH,
            &kernel_sums::SEEK,
            &topk::TOPK,
            &scan::gpu::SCAN,
        ];
        let widest = stages.iter().map(|s| s.row_extra).max();
        assert_eq!(widest, Some(chunking::ROW_EXTRA));
    }
}
