//! The nearest data row of each query by squared Euclidean distance, ties
//! to the lower index: mean-shift labels and `predict` (the data rows are
//! the cluster centres), and later k-means assignment.
//!
//! It is the top-k op at k = 1 (`ops/topk`: the register pass of
//! `topk.wgsl` on the GPU, the twin's k = 1 on the CPU), so it shares its
//! semantics and its parity tests. The centres are uploaded for the call
//! and not kept (see `topk`); the points, a fit's data, are usually on the
//! device already.
//!
//! A small call is answered on the host by a plain loop, on any context:
//! both operands are on the host already (the caller holds them as
//! slices), and a GPU round trip (upload, submit, wait for the device, map
//! the result) costs more than a few thousand rows against a few centres;
//! the twin's blocks, threads and selection buffers pay off only on large
//! calls too. The loop gives the twin's answer (scores
//! summed over the coordinates in order, ties to the lower index); a GPU
//! that fuses a multiply-add may round a distance differently, which can
//! only change a label at a tie within that rounding.

use crate::context::Context;
use crate::cpu::squared_distance;
use crate::error::Result;
use crate::ops::topk::{self, Score};

/// Multiply-adds (queries x data rows x coordinates) up to which the host
/// loop answers: tens of microseconds of one core, less than a GPU round
/// trip's latency or the twin's start on its threads.
const HOST_WORK: usize = 1 << 16;

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
    debug_assert!(dim >= 1 && !data.is_empty(), "whole, non-empty rows");
    if (queries.len() / dim).saturating_mul(data.len()) <= HOST_WORK {
        return Ok(on_host(data, queries, dim));
    }
    let found = topk::topk(ctx, data, queries, dim, 1, Score::SquaredL2, None).await?;
    Ok(Nearest {
        index: found.indices,
        d2: found.scores,
    })
}

/// The top-k twin's answer at k = 1 by one loop: each query's first data
/// row of least squared distance (`f32`, coordinates in order).
fn on_host(data: &[f32], queries: &[f32], dim: usize) -> Nearest {
    let m = queries.len() / dim;
    let mut found = Nearest {
        index: Vec::with_capacity(m),
        d2: Vec::with_capacity(m),
    };
    for q in queries.chunks_exact(dim) {
        let (mut best, mut best_d2) = (0u32, f32::INFINITY);
        for (i, x) in (0u32..).zip(data.chunks_exact(dim)) {
            let d2 = squared_distance(x, q);
            // Strictly below: an equal score later in index order loses.
            if d2 < best_d2 || i == 0 {
                (best, best_d2) = (i, d2);
            }
        }
        found.index.push(best);
        found.d2.push(best_d2);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The host loop is the twin at k = 1, bits and ties: points on a
    /// coarse lattice, so that many distances tie exactly, a centre
    /// repeated and a query on a centre.
    #[test]
    fn the_host_loop_is_the_twin_at_k_1() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for dim in [1, 2, 3, 5, 17] {
            for centres in [1, 2, 6, 40] {
                let lattice = |rng: &mut ChaCha8Rng| ((rng.next_u64() % 7) as f32 - 3.0) * 0.5;
                let mut data: Vec<f32> = (0..centres * dim).map(|_| lattice(&mut rng)).collect();
                if centres > 1 {
                    let (first, rest) = data.split_at_mut(dim);
                    rest[..dim].copy_from_slice(first);
                }
                let mut queries: Vec<f32> = (0..300 * dim).map(|_| lattice(&mut rng)).collect();
                queries[..dim].copy_from_slice(&data[..dim]);
                let host = on_host(&data, &queries, dim);
                let twin = pollster::block_on(topk::topk(
                    &Context::cpu(),
                    &data,
                    &queries,
                    dim,
                    1,
                    Score::SquaredL2,
                    None,
                ))
                .unwrap();
                let case = format!("dim {dim}, {centres} centres");
                assert_eq!(host.index, twin.indices, "{case}");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&host.d2), bits(&twin.scores), "{case}");
                // Row 1 repeats row 0, which wins every tie with it.
                assert!(centres == 1 || !host.index.contains(&1), "{case}");
            }
        }
    }

    /// Above the host loop's share, a GPU context finds the nearest rows on
    /// the device, with the twin's indices; below it, the host loop's
    /// answer, bits and all, on any context.
    #[test]
    fn a_gpu_context_takes_the_large_calls() {
        let Some(gpu) = Context::gpu().map_err(crate::gpu::no_adapter).ok() else {
            return;
        };
        let dim = 3;
        let data: Vec<f32> = (0..40 * dim)
            .map(|i| ((i * 37) % 23) as f32 * 0.25)
            .collect();
        for queries in [100, 2000] {
            let q: Vec<f32> = (0..queries * dim)
                .map(|i| ((i * 7919) % 2003) as f32 / 300.0)
                .collect();
            let large = queries * data.len() > HOST_WORK;
            assert_eq!(large, queries == 2000, "the sizes straddle the threshold");
            let uploaded = || gpu.device_stats().unwrap().uploaded_bytes;
            let before = uploaded();
            let on_gpu = pollster::block_on(nearest(&gpu, &data, &q, dim)).unwrap();
            assert_eq!(uploaded() > before, large, "{queries} queries");
            let twin = pollster::block_on(topk::topk(
                &Context::cpu(),
                &data,
                &q,
                dim,
                1,
                Score::SquaredL2,
                None,
            ))
            .unwrap();
            assert_eq!(on_gpu.index, twin.indices, "{queries} queries");
            if !large {
                assert_eq!(on_gpu, on_host(&data, &q, dim));
            }
        }
    }
}
