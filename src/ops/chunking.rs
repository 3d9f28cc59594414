//! The chunking every op shares: how many rows of a matrix go into one
//! device buffer. The same for every op, so each finds the others' data
//! where they left it (see `gpu::resident`).

use crate::gpu::Gpu;
use crate::gpu::pipelines::StageDef;

/// The widest per-row buffer any stage makes in this chunking, in values
/// beyond the coordinates: the top-k threshold state, 8 words per query
/// (standard mean shift's sums and seek state take 5). Each stage declares
/// its own (`StageDef::row_extra`); a test checks this is their largest.
pub(crate) const ROW_EXTRA: usize = 8;

/// Rows per device buffer for rows of `dim` coordinates, for `stage`: the
/// shared chunking, where the widest per-row buffer of any stage fits a
/// binding. A stage wider than [`ROW_EXTRA`] would get a narrower chunking
/// of its own (correct, but no longer sharing the others' data).
pub(crate) fn rows_per_chunk(g: &Gpu, dim: usize, stage: &StageDef) -> usize {
    g.rows_per_chunk(dim, ROW_EXTRA.max(stage.row_extra))
}
