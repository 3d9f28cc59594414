//! Host side of `kth_distance.wgsl`: the distance from each query to its
//! k-th nearest data row, exactly, by bisection on the bits of the squared
//! distance (CPU twin: `cpu.rs`).

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{Alloc, words};
use crate::gpu::pipelines::{Access, COMMON, Const, Spec, Stage, StageDef, TILE};
use crate::gpu::plan;
use crate::ops::rows_per_chunk;

/// Bisection for the k-th distance: queries, data, search state (lo, hi,
/// count per query).
pub(crate) const KTH_DISTANCE: StageDef = StageDef {
    name: "kth_distance",
    sources: &[COMMON, TILE, include_str!("kth_distance.wgsl")],
    storage: &[Access::Read, Access::Read, Access::ReadWrite],
    // The search state, 3 words per query: `dim + 3` bounds it.
    row_extra: 3,
};

/// Bisection rounds: [0, bits(+inf)] holds fewer than 2^31 values.
const ROUNDS: usize = 31;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct KthParams {
    query_rows: u32,
    data_begin: u32,
    data_end: u32,
    fresh: u32,
    k: u32,
    pad: [u32; 3],
}

/// For each query row, the Euclidean distance to its `k`-th nearest row of
/// `data` (1-based; a query that is also a data row finds itself at 0).
pub(crate) async fn kth_distance(
    g: &Gpu,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
) -> Result<Vec<f32>> {
    let n = data.len() / dim.max(1);
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let k32 = u32::try_from(k)
        .ok()
        .filter(|&k| k >= 1 && k as usize <= n)
        .ok_or_else(|| Error::InvalidParameter {
            name: "k",
            value: k.to_string(),
            reason: "must be between 1 and the number of data rows",
        })?;
    let tile = g.tile_rows(dim, 0)?;
    let spec = |entry| Spec {
        stage: Stage(&KTH_DISTANCE),
        entry,
        dim: u32::try_from(dim).unwrap_or(u32::MAX),
        consts: vec![("TILE", Const::U32(tile))],
        overrides: vec![("WG", g.workgroup_size())],
        rows_per_group: g.workgroup_size(),
    };
    let count = g.pipeline(spec("count_within")).await?;
    let bisect = g.pipeline(spec("bisect")).await?;
    // Queries and data take `dim` values a row, the search state 3; the
    // chunks are those of every stage, so the data may be resident.
    let per_chunk = rows_per_chunk(g, dim);
    let arena = g.arena();
    let (readback, hi_reads) = g
        .scoped(|| {
            let data_rows = g.resident("data", data, dim, per_chunk);
            let query_rows = g.query_rows(queries, data, &data_rows, dim, per_chunk);
            // Per query chunk: lo = 0, hi = bits(+inf), count = 0.
            let search: Vec<wgpu::Buffer> = query_rows
                .chunks
                .iter()
                .map(|c| {
                    let rows = c.rows();
                    let mut init = vec![0u32; 3 * rows];
                    init[rows..2 * rows].fill(f32::INFINITY.to_bits());
                    arena.upload("kth search", &init)
                })
                .collect();
            let query_sizes: Vec<usize> = query_rows.chunks.iter().map(|c| c.rows()).collect();
            let data_sizes: Vec<usize> = data_rows.chunks.iter().map(|c| c.rows()).collect();
            // Per data row: the distance loop and a share of the tile copy.
            let limits = g.span_limits(
                dim as u64 + 2 + dim.div_ceil(g.workgroup_size() as usize) as u64,
                dim as u64,
            );
            let passes = plan::passes(&query_sizes, &data_sizes, dim, tile as usize, limits);
            let mut batch = Batch::new(g);
            for _ in 0..ROUNDS {
                for pass in &passes {
                    let q = &query_rows.chunks[pass.query];
                    let params = KthParams {
                        query_rows: q.rows() as u32,
                        data_begin: pass.span.start as u32,
                        data_end: pass.span.end as u32,
                        fresh: u32::from(pass.fresh),
                        k: k32,
                        pad: [0; 3],
                    };
                    let buffers = [
                        &q.buffer,
                        &data_rows.chunks[pass.data].buffer,
                        &search[pass.query],
                    ];
                    batch.dispatch(&count, params, &buffers, q.rows());
                }
                for (q, s) in query_rows.chunks.iter().zip(&search) {
                    let params = KthParams {
                        query_rows: q.rows() as u32,
                        data_begin: 0,
                        data_end: 0,
                        fresh: 0,
                        k: k32,
                        pad: [0; 3],
                    };
                    batch.dispatch(&bisect, params, &[&q.buffer, &q.buffer, s], q.rows());
                }
            }
            let hi_reads: Vec<usize> = query_rows
                .chunks
                .iter()
                .zip(&search)
                .map(|(c, s)| batch.read(s, (c.rows() * 4) as u64, (c.rows() * 4) as u64))
                .collect();
            (batch.submit(), hi_reads)
        })
        .await?;
    let bytes = readback.wait(g).await?;
    arena.finish();
    Ok(hi_reads
        .iter()
        .flat_map(|&i| words(&bytes[i]))
        .map(|bits| f32::from_bits(bits).sqrt())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::validate;

    #[test]
    fn every_entry_validates() {
        for dim in [1, 2, 3, 17, 33, 65, 300, 1024, 5000] {
            for entry in ["count_within", "bisect"] {
                let consts = [("TILE", Const::U32(7))];
                validate(&KTH_DISTANCE, dim, entry, &consts, &[("WG", 64)]);
            }
        }
    }
}
