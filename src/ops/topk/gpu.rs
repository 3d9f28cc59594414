//! Host side of `topk.wgsl`: the k best data rows per query, and the rows
//! within a bound, with the semantics of the CPU twin in `cpu.rs`.
//!
//! Queries go in tiles sized to a memory budget for their results; each
//! tile is one submission with one readback (two for radius queries: the
//! list lengths decide the size of the second's output). Data stay
//! resident, in the chunking every op shares.

use std::ops::Range;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::{Queries, Score, SelfOffset, TopK, Within, from_order_key, order_key, sort_runs};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{Alloc, Chunk, Rows, words};
use crate::gpu::pipelines::{Access, COMMON, Const, Pipeline, Spec, Stage, StageDef};
use crate::gpu::plan;
use crate::gpu::pool::Arena;
use crate::ops::chunking::rows_per_chunk;
use crate::ops::scan;

/// The top-k stage: queries, data, per-query state, (key, index) output.
pub(crate) const TOPK: StageDef = StageDef {
    name: "topk",
    sources: &[COMMON, include_str!("topk.wgsl")],
    storage: &[
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    // The threshold passes' state: 8 words per query.
    row_extra: STATE_WORDS,
    audited: false,
};

/// Largest k kept in registers by `best_k`; above it, the threshold
/// passes (32 bisection rounds, a count and a fill: about 34 passes over
/// the data instead of one, the price of any k in O(N) memory).
const MAX_REGISTER_K: usize = 32;

/// Words of state per query for the threshold passes (lo, hi, count,
/// less, pos, ties, start, cap).
const STATE_WORDS: usize = 8;

/// Data rows per tile, at most: fewer where the device's workgroup memory
/// is small (results never depend on it).
const MAX_TILE: u32 = 32;

/// Coordinates per tile slice: a tile of 32 x 32 floats is 4 KiB of
/// workgroup memory, and a query's slice stays in registers.
const FC: u32 = 32;

/// Bytes of results one query tile may hold on the device.
const RESULT_BUDGET: u64 = 256 << 20;

/// Rounds of bisection: keys lie in [0, key(+inf)], fewer than 2^32 values.
const ROUNDS: usize = 32;

const NO_SELF: u32 = u32::MAX;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct TopkParams {
    query_rows: u32,
    data_begin: u32,
    data_end: u32,
    fresh: u32,
    k: u32,
    index_base: u32,
    self_base: u32,
    mode: u32,
}

/// Which bound `count_at_most` counts against.
#[derive(Clone, Copy)]
#[repr(u32)]
enum Bound {
    /// Keys at most the midpoint of [lo, hi] (bisection).
    Midpoint = 0,
    /// Keys below lo (the rows before the k-th's ties).
    BelowLo = 1,
    /// Keys at most hi (radius queries).
    AtMostHi = 2,
}

/// The pipelines of one (dimension, score, K) specialisation.
struct Stages<'g> {
    g: &'g Gpu,
    dim: usize,
    score: Score,
    k_slots: u32,
}

/// How the data go through one dispatch: its length, and the rows per
/// tile its spans are cut to.
#[derive(Clone, Copy)]
struct Launch {
    limits: plan::SpanLimits,
    tile: u32,
}

impl Stages<'_> {
    async fn entry(&self, entry: &'static str, tile: u32) -> Result<Arc<Pipeline>> {
        let dim = u32::try_from(self.dim)
            .map_err(|_| Error::Gpu(format!("dimension {} is too large for the GPU", self.dim)))?;
        self.g
            .pipeline(Spec {
                stage: Stage(&TOPK),
                entry,
                dim,
                consts: vec![
                    ("TILE", Const::U32(tile)),
                    ("FC", Const::U32(FC.min(dim))),
                    ("SCORE", Const::U32(self.score.shader_id())),
                    ("K", Const::U32(self.k_slots)),
                ],
                overrides: vec![("WG", self.g.workgroup_size())],
                rows_per_group: self.g.workgroup_size(),
            })
            .await
    }

    /// Data rows per tile: a tile of `FC` coordinates a row within the
    /// device's workgroup memory.
    fn tile(&self) -> Result<u32> {
        let storage = self.g.limits.max_compute_workgroup_storage_size;
        let fc = FC.min(self.dim as u32) as usize;
        plan::tile_rows(fc, 0, storage, MAX_TILE).ok_or_else(|| {
            Error::Gpu(format!(
                "the top-k stage needs {} bytes of workgroup memory; this adapter allows {storage}; use the CPU backend",
                4 * fc + 64
            ))
        })
    }

    /// How dispatches are cut; an error where not even one data row fits
    /// a driver's loop budget (rows of tens of thousands of coordinates on
    /// llvmpipe) or one tile row the workgroup memory.
    fn launch(&self) -> Result<Launch> {
        let tile = self.tile()?;
        let (per_row, fixed) = self.loop_iterations(tile);
        if !self.g.within_loop_budget(per_row, fixed) {
            return Err(Error::Gpu(format!(
                "dimension {}: one data row takes more shader loop iterations than this adapter runs; use the CPU backend",
                self.dim
            )));
        }
        Ok(Launch {
            limits: self.g.span_limits(per_row, fixed),
            tile,
        })
    }

    /// Loop iterations of one invocation: `(per data row, fixed)`, an
    /// upper bound counting each loop's exit, for `Gpu::span_limits`.
    fn loop_iterations(&self, tile: u32) -> (u64, u64) {
        let (dim, wg) = (self.dim as u64, u64::from(self.g.workgroup_size()));
        let (tile, fc) = (u64::from(tile), u64::from(FC.min(dim as u32)));
        let slices = dim.div_ceil(fc);
        // Per tile: clearing the sums, each slice's copy share, query
        // load and row loop, and turning sums into keys.
        let per_tile = (tile + 1) + slices * (tile * fc / wg + 2 + fc + 1 + tile + 1) + tile + 2;
        // Per row: its coordinates and the consumer (an insertion shifts
        // at most K entries).
        let per_row = dim + slices + u64::from(self.k_slots) + 3 + per_tile.div_ceil(tile);
        (per_row, per_tile + 4 * u64::from(self.k_slots) + 16)
    }
}

/// One query tile: its rows on the device and where they sit.
struct QueryTile {
    rows: Rows,
    range: Range<usize>,
}

/// The data on the device and the tiles of queries, for one call.
struct Plan<'a> {
    data: Rows,
    data_sizes: Vec<usize>,
    queries: Queries<'a>,
    shares_data: bool,
    dim: usize,
    per_chunk: usize,
}

impl Plan<'_> {
    /// The queries of `range` on the device: the data's own rows, rows
    /// resident from an earlier call (a fit's data being labelled), or an
    /// upload for this call; data rows named as such
    /// ([`Queries::Rows`]) are copied on the device into `batch`.
    fn tile(
        &self,
        g: &Gpu,
        arena: &Arena<'_>,
        batch: &mut Batch<'_>,
        range: Range<usize>,
    ) -> QueryTile {
        let d = self.dim;
        let rows = match &self.queries {
            Queries::Host(q) => {
                let values = &q[range.start * d..range.end * d];
                if self.shares_data && values.len() == q.len() {
                    self.data.clone()
                } else {
                    g.find_resident(values, d, self.per_chunk)
                        .unwrap_or_else(|| {
                            Rows::upload(arena, "queries", values, d, self.per_chunk)
                        })
                }
            }
            Queries::Rows(rows) => self.data_rows(
                arena,
                batch,
                rows.start + range.start..rows.start + range.end,
            ),
        };
        QueryTile { rows, range }
    }

    /// Data rows `rows` (at most one chunk's worth) as one buffer: the
    /// data's chunk where it holds exactly those rows, else a copy on the
    /// device from the (at most two) chunks that do, recorded into `batch`
    /// ahead of the tile's dispatches.
    fn data_rows(&self, arena: &Arena<'_>, batch: &mut Batch<'_>, rows: Range<usize>) -> Rows {
        let width = self.dim;
        if let Some(chunk) = self.data.chunks.iter().find(|c| c.range == rows) {
            let chunks = vec![chunk.clone()];
            return Rows { chunks, width };
        }
        let row_bytes = (width * 4) as u64;
        let buffer = arena.storage("queries", rows.len() as u64 * row_bytes);
        for chunk in &self.data.chunks {
            let (a, b) = (
                rows.start.max(chunk.range.start),
                rows.end.min(chunk.range.end),
            );
            if a < b {
                let from = (a - chunk.range.start) as u64 * row_bytes;
                let to = (a - rows.start) as u64 * row_bytes;
                batch.copy_range(&chunk.buffer, from, &buffer, to, (b - a) as u64 * row_bytes);
            }
        }
        let chunks = vec![Chunk {
            buffer,
            range: 0..rows.len(),
        }];
        Rows { chunks, width }
    }

    /// Records `entry` over all the data for the tile's queries, in index
    /// order, continuing the carried state after the first dispatch.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        batch: &mut Batch<'_>,
        pipeline: &Arc<Pipeline>,
        tile: &QueryTile,
        launch: Launch,
        k: u32,
        exclude: SelfOffset,
        mode: Bound,
        out: [&wgpu::Buffer; 2],
    ) {
        let q = &tile.rows.chunks[0];
        let self_base = exclude.map_or(NO_SELF, |o| (o + tile.range.start) as u32);
        let passes = plan::passes(
            &[q.rows()],
            &self.data_sizes,
            self.dim,
            launch.tile as usize,
            launch.limits,
        );
        for pass in passes {
            let chunk = &self.data.chunks[pass.data];
            let params = TopkParams {
                query_rows: q.rows() as u32,
                data_begin: pass.span.start as u32,
                data_end: pass.span.end as u32,
                fresh: u32::from(pass.fresh),
                k,
                index_base: chunk.range.start as u32,
                self_base,
                mode: mode as u32,
            };
            batch.dispatch(
                pipeline,
                params,
                &[&q.buffer, &chunk.buffer, out[0], out[1]],
                q.rows(),
            );
        }
    }
}

/// The data on the device: pinned or resident from an earlier call, or
/// else uploaded, and then kept in the cache of recent data with `keep`
/// (data a fit goes on to use: the bandwidth estimate's) or for this call
/// only (cluster centres change from call to call, and keeping them would
/// push other data out of the cache).
fn plan<'a>(
    g: &Gpu,
    arena: &Arena<'_>,
    data: &[f32],
    queries: Queries<'a>,
    dim: usize,
    keep: bool,
) -> Plan<'a> {
    let per_chunk = rows_per_chunk(g, dim, &TOPK);
    let rows = if keep {
        g.resident("data", data, dim, per_chunk)
    } else {
        g.find_resident(data, dim, per_chunk)
            .unwrap_or_else(|| Rows::upload(arena, "data", data, dim, per_chunk))
    };
    Plan {
        data_sizes: rows.chunks.iter().map(|c| c.rows()).collect(),
        data: rows,
        shares_data: matches!(queries, Queries::Host(q) if std::ptr::eq(q, data)),
        queries,
        dim,
        per_chunk,
    }
}

/// Query rows per tile when each holds `bytes_per_query` of results.
fn tile_rows(g: &Gpu, dim: usize, bytes_per_query: u64) -> usize {
    let budget = RESULT_BUDGET.min(g.max_binding());
    let by_results = usize::try_from(budget / bytes_per_query.max(1)).unwrap_or(usize::MAX);
    by_results.min(rows_per_chunk(g, dim, &TOPK)).max(1)
}

/// The nearest data row of each query recorded into a caller's batch
/// (`best_k` at k = 1): what k-means' assignment step records into its
/// step's submission, so the labels never leave the device. Each query
/// row gets two words in `state`: the order key of its squared distance
/// and the index of its nearest data row (ties to the lower index).
pub(crate) struct NearestPass {
    pipeline: Arc<Pipeline>,
    launch: Launch,
    dim: usize,
}

impl NearestPass {
    pub(crate) async fn new(g: &Gpu, dim: usize) -> Result<Self> {
        let stages = Stages {
            g,
            dim,
            score: Score::SquaredL2,
            k_slots: 1,
        };
        let launch = stages.launch()?;
        let pipeline = stages.entry("best_k", launch.tile).await?;
        Ok(Self {
            pipeline,
            launch,
            dim,
        })
    }

    /// Records the pass of `queries` (one chunk of rows) over all of
    /// `data`, in index order, into `state` (`2 * queries.rows()` words).
    pub(crate) fn record(
        &self,
        g: &Gpu,
        batch: &mut Batch<'_>,
        queries: &crate::gpu::buffers::Chunk,
        data: &Rows,
        state: &wgpu::Buffer,
    ) {
        let sizes: Vec<usize> = data.chunks.iter().map(|c| c.rows()).collect();
        let passes = plan::passes(
            &[queries.rows()],
            &sizes,
            self.dim,
            self.launch.tile as usize,
            self.launch.limits,
        );
        for pass in passes {
            let chunk = &data.chunks[pass.data];
            let params = TopkParams {
                query_rows: queries.rows() as u32,
                data_begin: pass.span.start as u32,
                data_end: pass.span.end as u32,
                fresh: u32::from(pass.fresh),
                k: 1,
                index_base: chunk.range.start as u32,
                self_base: NO_SELF,
                mode: Bound::Midpoint as u32,
            };
            batch.dispatch(
                &self.pipeline,
                params,
                &[&queries.buffer, &chunk.buffer, state, g.placeholder()],
                queries.rows(),
            );
        }
    }
}

/// The `k` best data rows of each query (see [`super::topk`]).
pub(crate) async fn topk(
    g: &Gpu,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    score: Score,
    exclude: SelfOffset,
) -> Result<TopK> {
    let m = queries.len() / dim;
    let mut out = TopK {
        indices: Vec::with_capacity(m * k),
        scores: Vec::with_capacity(m * k),
    };
    if m == 0 {
        return Ok(out);
    }
    let k32 =
        u32::try_from(k).map_err(|_| Error::Gpu(format!("k = {k} is too large for the GPU")))?;
    // Working buffers from the pool, back to it when the call is done.
    let arena = g.arena();
    let registers = k <= MAX_REGISTER_K;
    let stages = Stages {
        g,
        dim,
        score,
        k_slots: if registers {
            k.next_power_of_two() as u32
        } else {
            1
        },
    };
    let launch = stages.launch()?;
    let bytes_per_query = if registers {
        8 * u64::from(stages.k_slots)
    } else {
        8 * k as u64 + 4 * STATE_WORDS as u64
    };
    let per_tile = tile_rows(g, dim, bytes_per_query);
    let p = g
        .scoped(|| plan(g, &arena, data, Queries::Host(queries), dim, false))
        .await?;
    if registers {
        let best = stages.entry("best_k", launch.tile).await?;
        for range in plan::chunks(m, per_tile) {
            let slots = stages.k_slots as usize;
            let readback = g
                .scoped(|| {
                    let mut batch = Batch::new(g);
                    let tile = p.tile(g, &arena, &mut batch, range.clone());
                    let state = arena.storage("best k", (range.len() * 2 * slots * 4) as u64);
                    let out = [&state, g.placeholder()];
                    p.record(
                        &mut batch,
                        &best,
                        &tile,
                        launch,
                        k32,
                        exclude,
                        Bound::Midpoint,
                        out,
                    );
                    batch.read(&state, 0, (range.len() * 2 * slots * 4) as u64);
                    batch.submit()
                })
                .await?;
            let state = words(&readback.wait(g).await?[0]);
            for row in state.chunks_exact(2 * slots) {
                out.scores
                    .extend(row[..k].iter().map(|&key| from_order_key(key)));
                out.indices.extend_from_slice(&row[slots..slots + k]);
            }
        }
        arena.finish();
        return Ok(out);
    }
    let count = stages.entry("count_at_most", launch.tile).await?;
    let bisect = stages.entry("bisect", launch.tile).await?;
    let fill = stages.entry("fill", launch.tile).await?;
    for range in plan::chunks(m, per_tile) {
        let rows = range.len();
        let mut init = vec![0u32; STATE_WORDS * rows];
        init[rows..2 * rows].fill(order_key(f32::INFINITY));
        for (i, start) in init[6 * rows..7 * rows].iter_mut().enumerate() {
            *start = (i * k) as u32;
        }
        init[7 * rows..].fill(k32);
        let out_bytes = (rows * k * 8) as u64;
        let readback = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                let tile = p.tile(g, &arena, &mut batch, range.clone());
                let state = arena.upload("top-k state", &init);
                let pairs = arena.storage("top-k pairs", out_bytes);
                let out = [&state, &pairs];
                let bisection = Bisection {
                    count: &count,
                    bisect: &bisect,
                    launch,
                    k: k32,
                    exclude,
                };
                bisection.record(&mut batch, &p, &tile, out);
                p.record(
                    &mut batch,
                    &count,
                    &tile,
                    launch,
                    k32,
                    exclude,
                    Bound::BelowLo,
                    out,
                );
                p.record(
                    &mut batch,
                    &fill,
                    &tile,
                    launch,
                    k32,
                    exclude,
                    Bound::Midpoint,
                    out,
                );
                batch.read(&pairs, 0, out_bytes);
                batch.submit()
            })
            .await?;
        let pairs = words(&readback.wait(g).await?[0]);
        let first = out.indices.len();
        for pair in pairs.chunks_exact(2) {
            out.scores.push(from_order_key(pair[0]));
            out.indices.push(pair[1]);
        }
        let offsets: Vec<usize> = (0..=rows).map(|i| first + i * k).collect();
        sort_runs(&offsets, &mut out.indices, &mut out.scores);
    }
    arena.finish();
    Ok(out)
}

/// The bisection that leaves in each query's `lo` the order key of its
/// k-th best score: [`ROUNDS`] rounds of counting the keys at most the
/// midpoint of `[lo, hi]`, then halving it.
struct Bisection<'a> {
    count: &'a Arc<Pipeline>,
    bisect: &'a Arc<Pipeline>,
    launch: Launch,
    k: u32,
    exclude: SelfOffset,
}

impl Bisection<'_> {
    /// Records the rounds for `tile`; `out` is the state and the output
    /// bound at bindings 3 and 4.
    fn record(
        &self,
        batch: &mut Batch<'_>,
        p: &Plan<'_>,
        tile: &QueryTile,
        out: [&wgpu::Buffer; 2],
    ) {
        let q = &tile.rows.chunks[0];
        let rows = q.rows();
        for _ in 0..ROUNDS {
            p.record(
                batch,
                self.count,
                tile,
                self.launch,
                self.k,
                self.exclude,
                Bound::Midpoint,
                out,
            );
            let params = TopkParams {
                query_rows: rows as u32,
                k: self.k,
                self_base: NO_SELF,
                ..TopkParams::zeroed()
            };
            batch.dispatch(
                self.bisect,
                params,
                &[&q.buffer, &q.buffer, out[0], out[1]],
                rows,
            );
        }
    }
}

/// The `k`-th best score of each query (1-based, the query's own row
/// counted: see [`super::kth_score`]), by the bisection alone.
pub(crate) async fn kth_score(
    g: &Gpu,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    score: Score,
) -> Result<Vec<f32>> {
    let m = queries.len() / dim;
    if m == 0 {
        return Ok(Vec::new());
    }
    let k32 =
        u32::try_from(k).map_err(|_| Error::Gpu(format!("k = {k} is too large for the GPU")))?;
    let stages = Stages {
        g,
        dim,
        score,
        k_slots: 1,
    };
    let launch = stages.launch()?;
    let count = stages.entry("count_at_most", launch.tile).await?;
    let bisect = stages.entry("bisect", launch.tile).await?;
    let arena = g.arena();
    let p = g
        .scoped(|| plan(g, &arena, data, Queries::Host(queries), dim, true))
        .await?;
    let bisection = Bisection {
        count: &count,
        bisect: &bisect,
        launch,
        k: k32,
        exclude: None,
    };
    let mut out = Vec::with_capacity(m);
    for range in plan::chunks(m, tile_rows(g, dim, 4 * STATE_WORDS as u64)) {
        let rows = range.len();
        let mut init = vec![0u32; STATE_WORDS * rows];
        init[rows..2 * rows].fill(order_key(f32::INFINITY));
        let readback = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                let tile = p.tile(g, &arena, &mut batch, range.clone());
                let state = arena.upload("k-th state", &init);
                bisection.record(&mut batch, &p, &tile, [&state, g.placeholder()]);
                batch.read(&state, 0, (rows * 4) as u64);
                batch.submit()
            })
            .await?;
        let lo = words(&readback.wait(g).await?[0]);
        out.extend(lo.into_iter().map(from_order_key));
    }
    arena.finish();
    Ok(out)
}

/// Every data row scoring at most `bound` for each query (see
/// [`super::within`]): per query tile, the counts, their exclusive scan
/// and the fill, each on the device.
pub(crate) async fn within(
    g: &Gpu,
    data: &[f32],
    queries: Queries<'_>,
    dim: usize,
    bound: f32,
    score: Score,
    exclude: SelfOffset,
) -> Result<Within> {
    let m = match &queries {
        Queries::Host(q) => q.len() / dim,
        Queries::Rows(rows) => rows.len(),
    };
    let n = data.len() / dim;
    let mut out = Within {
        offsets: vec![0],
        ..Within::default()
    };
    if m == 0 {
        return Ok(out);
    }
    let stages = Stages {
        g,
        dim,
        score,
        k_slots: 1,
    };
    let launch = stages.launch()?;
    let arena = g.arena();
    let count = stages.entry("count_at_most", launch.tile).await?;
    let fill = stages.entry("fill", launch.tile).await?;
    let scan = scan::gpu::pipeline(g).await?;
    // A tile's total must fit a u32 (at most n per query). Tiles are cut
    // for the counting state; where their lists together pass the result
    // budget, the tile is cut where the offsets cross it and counted again.
    let by_total = (u32::MAX as usize / n.max(1)).max(1);
    let per_tile = tile_rows(g, dim, 8 * STATE_WORDS as u64).min(by_total);
    let mut pending: Vec<Range<usize>> = plan::chunks(m, per_tile).collect();
    pending.reverse();
    let budget = RESULT_BUDGET.min(g.max_binding());
    let p = g
        .scoped(|| plan(g, &arena, data, queries, dim, false))
        .await?;
    while let Some(range) = pending.pop() {
        let rows = range.len();
        let mut init = vec![0u32; STATE_WORDS * rows];
        init[..rows].fill(order_key(bound));
        init[rows..2 * rows].fill(order_key(bound));
        init[7 * rows..].fill(u32::MAX);
        let (readback, state, tile) = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                let tile = p.tile(g, &arena, &mut batch, range.clone());
                let state = arena.upload("radius state", &init);
                let counts = arena.storage("radius counts", (rows * 4) as u64);
                let offsets = arena.storage("radius offsets", (rows as u64 + 1) * 4);
                let out = [&state, g.placeholder()];
                p.record(
                    &mut batch,
                    &count,
                    &tile,
                    launch,
                    0,
                    exclude,
                    Bound::AtMostHi,
                    out,
                );
                batch.copy_range(&state, (2 * rows * 4) as u64, &counts, 0, (rows * 4) as u64);
                scan::gpu::record(&mut batch, &scan, &counts, &offsets, rows, scan::gpu::SPAN);
                batch.copy_range(
                    &offsets,
                    0,
                    &state,
                    (6 * rows * 4) as u64,
                    (rows * 4) as u64,
                );
                batch.read(&offsets, 0, (rows as u64 + 1) * 4);
                (batch.submit(), state, tile)
            })
            .await?;
        let starts = words(&readback.wait(g).await?[0]);
        let total = starts[rows] as usize;
        let out_bytes = total as u64 * 8;
        if out_bytes > budget {
            // The most queries, from the first, whose lists fit.
            let fit = starts
                .iter()
                .position(|&s| u64::from(s) * 8 > budget)
                .map_or(rows, |first_over| first_over - 1);
            if fit == 0 {
                return Err(Error::OutOfMemory(format!(
                    "one query has {} neighbours within the radius, more than a GPU buffer holds; use a smaller radius or the CPU backend",
                    starts[1]
                )));
            }
            pending.push(range.start + fit..range.end);
            pending.push(range.start..range.start + fit);
            continue;
        }
        let base = out.indices.len();
        out.offsets
            .extend(starts[1..].iter().map(|&s| base + s as usize));
        if total == 0 {
            continue;
        }
        let readback = g
            .scoped(|| {
                let pairs = arena.storage("radius pairs", out_bytes);
                let mut batch = Batch::new(g);
                p.record(
                    &mut batch,
                    &fill,
                    &tile,
                    launch,
                    0,
                    exclude,
                    Bound::Midpoint,
                    [&state, &pairs],
                );
                batch.read(&pairs, 0, out_bytes);
                batch.submit()
            })
            .await?;
        let pairs = words(&readback.wait(g).await?[0]);
        for pair in pairs.chunks_exact(2).take(total) {
            out.scores.push(from_order_key(pair[0]));
            out.indices.push(pair[1]);
        }
    }
    let offsets = out.offsets.clone();
    sort_runs(&offsets, &mut out.indices, &mut out.scores);
    arena.finish();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::validate;

    #[test]
    fn every_entry_validates() {
        for dim in [1u32, 2, 3, 17, 33, 300, 4096] {
            for score in 0..3 {
                for k in [1u32, 4, 32] {
                    let consts = [
                        ("TILE", Const::U32(MAX_TILE)),
                        ("FC", Const::U32(FC.min(dim))),
                        ("SCORE", Const::U32(score)),
                        ("K", Const::U32(k)),
                    ];
                    for entry in ["best_k", "count_at_most", "bisect", "fill"] {
                        validate(&TOPK, dim, entry, &consts, &[("WG", 64)]);
                    }
                }
            }
        }
    }

    /// Data rows named as queries ([`Queries::Rows`]) give the lists of
    /// the same rows uploaded, to the bit, with or without their own rows,
    /// and upload none of their values: over data in several buffers of a
    /// small binding, with ranges that are one buffer, lie inside one, or
    /// straddle two.
    #[test]
    fn data_rows_as_queries_are_read_on_the_device() {
        let small = crate::GpuOptions {
            max_binding_bytes: Some(1 << 12),
            ..crate::GpuOptions::default()
        };
        let Some(ctx) = crate::context::Context::gpu_with(&small)
            .map_err(crate::gpu::no_adapter)
            .ok()
        else {
            return;
        };
        let crate::context::Inner::Gpu(g) = ctx.inner() else {
            unreachable!("a GPU context")
        };
        let (n, dim) = (500, 3);
        let data = crate::test_data::uniform(n * dim, 0.0, 10.0, 5);
        let chunk = rows_per_chunk(g, dim, &TOPK);
        assert!(chunk < n / 3, "the data span several buffers");
        let uploaded = || ctx.device_stats().unwrap().uploaded_bytes;
        // About two neighbours a point besides itself: lists short enough
        // that no tile passes the result budget (a tile cut and counted
        // again uploads given queries again).
        const BOUND: f32 = 1.0;
        let (mut pairs, mut queried) = (0, 0);
        for rows in [
            0..n,
            chunk..2 * chunk,
            3..chunk - 5,
            chunk - 7..2 * chunk + 9,
            41..42,
        ] {
            for exclude in [None, Some(rows.start)] {
                let copy = data[rows.start * dim..rows.end * dim].to_vec();
                let before = uploaded();
                let given = within(
                    g,
                    &data,
                    Queries::Host(&copy),
                    dim,
                    BOUND,
                    Score::SquaredL2,
                    exclude,
                );
                let given = pollster::block_on(given).unwrap();
                let with_copy = uploaded() - before;
                let before = uploaded();
                let named = Queries::Rows(rows.clone());
                let found = within(g, &data, named, dim, BOUND, Score::SquaredL2, exclude);
                let found = pollster::block_on(found).unwrap();
                assert_eq!(found, given, "rows {rows:?}, {exclude:?}");
                (pairs, queried) = (pairs + given.indices.len(), queried + rows.len());
                assert_eq!(
                    uploaded() - before,
                    with_copy - (copy.len() * 4) as u64,
                    "rows {rows:?}: no query values uploaded"
                );
            }
        }
        assert!(pairs > 2 * queried, "lists worth comparing: {pairs} pairs");
    }
}
