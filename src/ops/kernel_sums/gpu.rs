//! Host side of `shift.wgsl` and `shift_wide.wgsl` (the fused
//! kernel-weighted sums, for small and large dimensions), `shift_gemm.wgsl`
//! (the same sums with expanded distances, where a window asks for them),
//! `shift_spans.wgsl`, `shift_finish.wgsl` and `seek.wgsl`: blurring
//! iterations, standard mean shift and counts within `h`, with the
//! semantics of the CPU twin in `cpu.rs`.
//!
//! The data axis is cut into spans (`spans.rs`): each (group of queries,
//! span) pair is a workgroup writing its span's partial sums in a slab of
//! its own, and `shift_spans.wgsl` adds the slabs in span order, as the
//! twin does. Where the slabs of a chunk of queries pass one binding, the
//! chunk's queries go in parts ([`Slabs`]).

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::{BlurOutput, SeekOutput, SeekStatus, Window};
use super::{cpu_gemm, shape, spans};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{
    Alloc, Chunk, Readback, Rows, floats, gather, read_block, read_rows, words,
};
use crate::gpu::pipelines::{Access, COMMON, Const, Pipeline, Spec, Stage, StageDef, TILE};
use crate::gpu::plan;
use crate::gpu::tune::{Choice, Shape, TuneKey};
use crate::kernel::KernelCoeffs;
use crate::ops::chunking::rows_per_chunk;
use crate::progress::{self, Watch};

const SHIFT_COMMON: &str = include_str!("shift_common.wgsl");

/// The kernel's weight, one expression for the dense and the grid stages.
pub(super) const KERNEL_WEIGHT: &str = include_str!("kernel_weight.wgsl");

/// The fused sums, whole queries per thread: queries, data, weights, sums
/// (and the seek state in standard mode).
pub(crate) const SHIFT: StageDef = StageDef {
    name: "shift",
    sources: &[
        COMMON,
        SHIFT_COMMON,
        KERNEL_WEIGHT,
        TILE,
        include_str!("shift.wgsl"),
    ],
    storage: &[Access::Read, Access::Read, Access::Read, Access::ReadWrite],
    row_extra: 2 + SEEK_STATE,
    audited: true,
};

/// The same sums with the feature axis split over several threads per
/// query, for large dimensions; the same bindings.
pub(crate) const SHIFT_WIDE: StageDef = StageDef {
    name: "shift_wide",
    sources: &[
        COMMON,
        SHIFT_COMMON,
        KERNEL_WEIGHT,
        include_str!("shift_wide.wgsl"),
    ],
    storage: SHIFT.storage,
    row_extra: 2 + SEEK_STATE,
    audited: false,
};

/// The same sums with each squared distance expanded into a matrix
/// product, `(|q|^2 + |x|^2) - 2 q.x`, and positions summed
/// (`Distances::Expanded`, rows of more than [`WIDE_ABOVE_DIM`]
/// coordinates; twin `cpu_gemm.rs`); the same bindings. Its `centre`
/// entry turns the added spans' position sums into displacement sums.
pub(crate) const SHIFT_GEMM: StageDef = StageDef {
    name: "shift_gemm",
    sources: &[
        COMMON,
        SHIFT_COMMON,
        KERNEL_WEIGHT,
        include_str!("shift_gemm.wgsl"),
    ],
    storage: SHIFT.storage,
    row_extra: 2 + SEEK_STATE,
    audited: false,
};

/// `shift_gemm.wgsl`'s fixed shape: threads per workgroup, queries per
/// workgroup, data rows per tile, coordinates per staged slice, phase 2's
/// queries per thread and threads per query group (the constants there).
const GEMM_THREADS: u32 = 256;
const GEMM_QUERIES: u32 = 32;
const GEMM_TILE: u64 = 32;
const GEMM_SLICE: u64 = 16;
const GEMM_QM: u64 = 4;
const GEMM_CG: u64 = 32;

/// Adds the spans' partial sums, in span order, into the first slab.
pub(crate) const SHIFT_SPANS: StageDef = StageDef {
    name: "shift_spans",
    sources: &[COMMON, include_str!("shift_spans.wgsl")],
    storage: &[Access::ReadWrite],
    row_extra: 0,
    audited: false,
};

/// Shifted positions from the sums: queries, sums, moved positions,
/// largest squared shift per step.
pub(crate) const SHIFT_FINISH: StageDef = StageDef {
    name: "shift_finish",
    sources: &[COMMON, include_str!("shift_finish.wgsl")],
    storage: &[
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    row_extra: 2,
    audited: false,
};

/// One standard mean-shift step per seed: positions, sums and seek
/// state, active count per step.
pub(crate) const SEEK: StageDef = StageDef {
    name: "seek",
    sources: &[COMMON, include_str!("seek.wgsl")],
    storage: &[Access::ReadWrite, Access::ReadWrite, Access::ReadWrite],
    row_extra: 2 + SEEK_STATE,
    audited: false,
};

/// The op's name in tuning keys and reports.
const OP: &str = "kernel_sums";

/// Standard-mode steps per submission; only a count of seeds still moving
/// is read back between submissions.
const STEPS_PER_BATCH: u64 = 8;

/// Words per seed of the seek state (iterations, intensity, status) that
/// follows the sums in standard mode.
const SEEK_STATE: usize = 3;

/// Dimensions above which the sums split each query's coordinates over
/// several threads (`shift_wide.wgsl`, [`shape::slices`] threads
/// per query) instead of giving each thread whole queries
/// (`shift.wgsl`).
///
/// Above 16 coordinates the whole-query strategy is already down to one
/// query per thread ([`shape::candidates`] keep at most 32 coordinates of
/// queries per thread beyond the first query). At 32 that thread holds its
/// query, its `num` and the data row it reads, 96 floats, besides the
/// kernel's own values: about what a GPU thread keeps in registers before
/// occupancy falls or values spill to memory, and it grows with D (the
/// whole-query strategy also needs whole data rows in workgroup memory,
/// which fails above about 4000 coordinates). The wide strategy keeps at
/// most 8 coordinates of a query (and as many sums) per thread up to
/// D = 512.
///
/// A constant, never tuned: the two strategies add a squared distance's
/// terms in different orders, so which one runs must not depend on a
/// timing.
pub(crate) const WIDE_ABOVE_DIM: usize = 32;

/// Whether rows of `dim` coordinates take the wide strategy.
fn is_wide(dim: usize) -> bool {
    dim > WIDE_ABOVE_DIM
}

/// The launch shapes the sums over rows of `dim` coordinates may take on
/// this device, the built-in one first; an error when none fits.
fn candidates(g: &Gpu, dim: usize) -> Result<Vec<Shape>> {
    if is_wide(dim) {
        let shapes = shape::wide_candidates(dim, &g.limits);
        if shapes.is_empty() {
            return Err(Error::Gpu(format!(
                "dimension {dim}: the shift stage needs {} invocations per workgroup and {} bytes of workgroup memory; this adapter allows {} invocations and {} bytes of workgroup memory; use the CPU backend",
                shape::slices(dim),
                shape::wide_min_storage(dim),
                g.limits
                    .max_compute_invocations_per_workgroup
                    .min(g.limits.max_compute_workgroup_size_x),
                g.limits.max_compute_workgroup_storage_size,
            )));
        }
        return Ok(shapes);
    }
    // The error for rows that do not fit workgroup memory at all.
    g.tile_rows(dim, 1)?;
    let shapes = shape::candidates(dim, 1, &g.limits);
    if shapes.is_empty() {
        return Err(Error::Gpu(format!(
            "no launch shape fits dimension {dim} on this device"
        )));
    }
    Ok(shapes)
}

/// Loop iterations an invocation of `shift_wide.wgsl` in `shape`
/// runs, for rows of `dim` coordinates: `(per data row, fixed)`, for
/// [`Gpu::span_limits`]. Every loop counts one iteration more than it
/// runs (its last test); the per-tile loops are charged to every row of
/// a tile and once more to the dispatch, which covers a last partial tile.
/// Compilers may unroll short loops, so this is an upper bound; at
/// D = 5000, where the loops over a thread's coordinates stay loops, it
/// is what llvmpipe counts: one dispatch gives wrong sums from the row
/// where it passes 65 535 (checked at 382 and 386 rows).
fn wide_loop_iterations(dim: usize, shape: &Shape) -> (u64, u64) {
    let slices = u64::from(shape.threads_per_query.max(1));
    let workgroup = u64::from(shape.workgroup.max(1));
    let tile = u64::from(shape.tile.max(1));
    let qpt = u64::from(shape.queries_per_thread.max(1));
    let pairs = workgroup / slices * qpt * tile;
    // A thread's loop over its coordinates of one row (and the tail).
    let coords = dim as u64 / slices + 1;
    // Steps 1 and 3: the loop over the tile's rows; keeping a row's
    // coordinates, where the shader does; the loops over the thread's
    // queries, and each query's loop over the coordinates, once per step.
    let keep = if shape::wide_keeps_rows(dim) {
        1 + coords
    } else {
        0
    };
    let per_row = 2 + keep + 2 * (1 + qpt) + 2 * qpt * (1 + coords);
    // Per tile besides those: the tile loop itself, the sample weights,
    // the exits of the two row loops, and step 2 (the pairs shared out
    // over the workgroup, each adding `slices` partial sums).
    let per_tile =
        1 + (tile.div_ceil(workgroup) + 1) + 2 + (pairs.div_ceil(workgroup) * (1 + slices + 1) + 1);
    // Loading each query and its carried sums, storing the sums.
    let setup = 2 * (1 + qpt) + qpt * (3 * (dim as u64).div_ceil(slices) + 3) + 1;
    (per_row + per_tile.div_ceil(tile), setup + per_tile)
}

/// Loop iterations an invocation of `shift_gemm.wgsl` runs for rows of
/// `dim` coordinates, `(per data row, fixed)`, counted as
/// [`wide_loop_iterations`] counts them (each loop's exit included, the
/// per-tile loops charged to every row of a tile and once more to the
/// dispatch).
fn gemm_loop_iterations(dim: usize) -> (u64, u64) {
    let dim = dim as u64;
    let per_thread = dim.div_ceil(GEMM_CG);
    let queries_loop = (GEMM_QM + 1) + GEMM_QM * (per_thread + 1);
    // Loading the carried sums, the liveness loop, a query's |q|^2 (at
    // most one per thread: the loop's one pass and exit, and the loop over
    // its coordinates), storing the sums.
    let setup = 2 * queries_loop + (GEMM_QM + 1) + 2 + (dim + 1) + 1;
    // A staged slice: the two staging loops (two values each per thread),
    // the slice's coordinates, each with the 2 x 2 micro-tile's loops.
    let slice = 1 + 2 * 3 + (GEMM_SLICE + 1) + GEMM_SLICE * (3 + 2 * 3);
    // Per tile: the tile loop, the sample weights, the rows' |x|^2, the
    // slices and their exit, the pairs' weights, phase 2's exit.
    let per_tile = 1 + 2 + (2 + dim + 1) + dim.div_ceil(GEMM_SLICE) * slice + 1 + 9 + 1;
    // Phase 2 per row: the row loop, the coordinates, each with the
    // queries' loop, and the queries' den and cnt.
    let per_row = 1 + (per_thread + 1) + per_thread * (GEMM_QM + 1) + (GEMM_QM + 1);
    (per_row + per_tile.div_ceil(GEMM_TILE), setup + per_tile)
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AccumulateParams {
    query_rows: u32,
    query_first: u32,
    data_begin: u32,
    data_end: u32,
    chunk_base: u32,
    span_rows: u32,
    spans: u32,
    pad0: u32,
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    pad1: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SpansParams {
    words: u32,
    spans: u32,
    pad: [u32; 6],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct FinishParams {
    query_rows: u32,
    slot: u32,
    query_first: u32,
    pad: [u32; 5],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct StepParams {
    query_rows: u32,
    max_iter: u32,
    tol2: f32,
    slot: u32,
    query_first: u32,
    spans: u32,
    pad: [u32; 2],
}

/// The sums of a set of queries on the device: per query row, one slab of
/// `dim + 2` words per span of the data (`spans.rs`), then `extra` words
/// (standard mode's seek state). Each chunk of `parts` holds consecutive
/// queries of one chunk of the queries' rows, as many as fit one binding
/// with their slabs: the whole chunk, unless the spans are many and the
/// binding small.
struct Slabs {
    parts: Rows,
    /// Per part: its chunk of query rows, and its first row there.
    chunk_of: Vec<(usize, usize)>,
    /// Spans of the data, and data rows per span.
    spans: usize,
    span_rows: usize,
}

impl Slabs {
    /// Zeroed sums for `queries` (row chunks) over `data_rows` data rows.
    fn zeroed(
        g: &Gpu,
        alloc: &impl Alloc,
        label: &str,
        queries: &Rows,
        (data_rows, dim, extra): (usize, usize, usize),
    ) -> Self {
        let spans = spans::count(data_rows);
        let width = spans * (dim + 2) + extra;
        let per_part = plan::rows_per_chunk(g.max_binding(), width);
        let mut chunks = Vec::new();
        let mut chunk_of = Vec::new();
        for (c, chunk) in queries.chunks.iter().enumerate() {
            for range in plan::chunks(chunk.rows(), per_part) {
                chunk_of.push((c, range.start));
                let range = chunk.range.start + range.start..chunk.range.start + range.end;
                chunks.push(Chunk {
                    buffer: alloc.storage(label, (range.len() * width * 4) as u64),
                    range,
                });
            }
        }
        Self {
            parts: Rows { chunks, width },
            chunk_of,
            spans,
            span_rows: spans::span_rows(data_rows),
        }
    }

    /// Each part with its chunk of query rows and first row there.
    fn parts(&self) -> impl Iterator<Item = (&Chunk, usize, u32)> {
        self.parts
            .chunks
            .iter()
            .zip(&self.chunk_of)
            .map(|(part, &(c, first))| (part, c, rows_u32(first)))
    }
}

/// Row counts fit `u32`: a chunk never holds more rows than a binding
/// holds `f32`s.
fn rows_u32(rows: usize) -> u32 {
    u32::try_from(rows).unwrap_or(u32::MAX)
}

fn dim_u32(dim: usize) -> Result<u32> {
    u32::try_from(dim)
        .map_err(|_| Error::Gpu(format!("dimension {dim} is too large for the GPU stages")))
}

/// What one accumulate pipeline sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Terms {
    /// Kernel-weighted displacements and weights (`num`, `den`).
    sums: bool,
    /// Sample weight within `h` (`cnt`).
    count: bool,
    /// Standard mode: pass over seeds that have stopped.
    skip_settled: bool,
}

impl Terms {
    /// Blurring: the next positions need only `num` and `den`.
    const MOVE: Self = Self {
        sums: true,
        count: false,
        skip_settled: false,
    };
    /// Ranking blurring's final positions: only the count within `h`.
    const COUNT: Self = Self {
        sums: false,
        count: true,
        skip_settled: false,
    };
    /// Standard mode: everything, for the seeds still moving.
    const SEEK: Self = Self {
        sums: true,
        count: true,
        skip_settled: true,
    };
    /// Everything, for every query: sums the host steps from ([`Dense`]).
    const ALL: Self = Self {
        sums: true,
        count: true,
        skip_settled: false,
    };
}

/// The window's data on the device and the pipeline that sums over it.
struct Sums {
    pipeline: Arc<Pipeline>,
    add_spans: Arc<Pipeline>,
    /// `shift_gemm.wgsl`'s `centre`, which follows the spans' addition
    /// where the sums are expanded ones with `num`; `None` otherwise.
    centre: Option<Arc<Pipeline>>,
    tile: usize,
    coeffs: KernelCoeffs,
    dim: usize,
    limits: plan::SpanLimits,
}

impl Sums {
    /// The accumulate pipeline for `terms` of this window, in the shape
    /// tuned for `queries` query rows on this device.
    async fn new(g: &Gpu, win: &Window<'_>, terms: Terms, queries: usize) -> Result<Self> {
        if cpu_gemm::applies(win) {
            return Self::expanded(g, win, terms).await;
        }
        let shape = shape_for(g, win, queries).await?;
        Self::with_shape(g, win, terms, shape).await
    }

    /// The expanded-distance pipelines (`shift_gemm.wgsl`), in their one
    /// fixed shape: a timing never chooses between formulations or
    /// shapes that could round differently.
    async fn expanded(g: &Gpu, win: &Window<'_>, terms: Terms) -> Result<Self> {
        let threads = g
            .limits
            .max_compute_invocations_per_workgroup
            .min(g.limits.max_compute_workgroup_size_x);
        if threads < GEMM_THREADS {
            return Err(Error::Gpu(format!(
                "expanded distances need {GEMM_THREADS} invocations per workgroup; this adapter allows {threads}; use Distances::Direct or the CPU backend"
            )));
        }
        let consts = vec![
            ("KERNEL", Const::U32(win.coeffs.kernel.shader_id())),
            ("WEIGHTED", Const::Bool(win.weights.is_some())),
            ("SKIP_SETTLED", Const::Bool(terms.skip_settled)),
            ("SUMS", Const::Bool(terms.sums)),
            ("COUNT", Const::Bool(terms.count)),
        ];
        let dim = dim_u32(win.dim)?;
        let pipeline = g
            .pipeline(Spec {
                stage: Stage(&SHIFT_GEMM),
                entry: "accumulate",
                dim,
                consts: consts.clone(),
                overrides: vec![("WG", GEMM_THREADS)],
                rows_per_group: GEMM_QUERIES,
            })
            .await?;
        let centre = match terms.sums {
            true => Some(row_pipeline(g, &SHIFT_GEMM, "centre", dim, consts).await?),
            false => None,
        };
        let (per_row, fixed) = gemm_loop_iterations(win.dim);
        Ok(Self {
            pipeline,
            add_spans: add_spans_pipeline(g, win.dim).await?,
            centre,
            tile: GEMM_TILE as usize,
            coeffs: win.coeffs,
            dim: win.dim,
            limits: g.span_limits(per_row, fixed),
        })
    }

    /// The accumulate pipeline in `shape`, one of [`candidates`] for the
    /// window's dimension: the wide strategy above [`WIDE_ABOVE_DIM`].
    async fn with_shape(g: &Gpu, win: &Window<'_>, terms: Terms, shape: Shape) -> Result<Self> {
        let mut consts = vec![
            ("KERNEL", Const::U32(win.coeffs.kernel.shader_id())),
            ("WEIGHTED", Const::Bool(win.weights.is_some())),
            ("SKIP_SETTLED", Const::Bool(terms.skip_settled)),
            ("SUMS", Const::Bool(terms.sums)),
            ("COUNT", Const::Bool(terms.count)),
        ];
        let wide = is_wide(win.dim);
        let stage = if wide {
            debug_assert_eq!(shape.threads_per_query, shape::slices(win.dim));
            consts.extend([
                ("SLICES", Const::U32(shape.threads_per_query)),
                ("QB", Const::U32(shape.workgroup / shape.threads_per_query)),
                ("QPT", Const::U32(shape.queries_per_thread)),
                ("TILE", Const::U32(shape.tile)),
                (
                    "KEPT_COORDS",
                    Const::U32(shape::WIDE_COORDS_PER_THREAD as u32),
                ),
            ]);
            Stage(&SHIFT_WIDE)
        } else {
            debug_assert_eq!(shape.threads_per_query, 1);
            consts.extend([
                ("TILE", Const::U32(shape.tile)),
                ("QPT", Const::U32(shape.queries_per_thread)),
            ]);
            Stage(&SHIFT)
        };
        let pipeline = g
            .pipeline(Spec {
                stage,
                entry: "accumulate",
                dim: dim_u32(win.dim)?,
                consts,
                overrides: vec![("WG", shape.workgroup)],
                rows_per_group: shape.rows_per_group(),
            })
            .await?;
        let add_spans = add_spans_pipeline(g, win.dim).await?;
        let (dim, qpt) = (win.dim as u64, u64::from(shape.queries_per_thread));
        let limits = if wide {
            let (per_row, fixed) = wide_loop_iterations(win.dim, &shape);
            g.span_limits(per_row, fixed)
        } else {
            // An upper bound, counting each loop's exit too. Per data row:
            // loading it (dim + 1), the loop over the queries (qpt + 1)
            // and, per query, the distance and displacement loops
            // (2 dim + 2), the row loop itself, and a share of the tile
            // copies (rows and weights). Per query, outside the data loop:
            // loading and storing it and its sums.
            g.span_limits(
                (dim + 1)
                    + (qpt + 1)
                    + qpt * (2 * dim + 2)
                    + 1
                    + 2 * (dim.div_ceil(u64::from(shape.workgroup)) + 1),
                qpt * (3 * dim + 6) + 3 * qpt + 8,
            )
        };
        Ok(Self {
            pipeline,
            add_spans,
            centre: None,
            tile: shape.tile as usize,
            coeffs: win.coeffs,
            dim: win.dim,
            limits,
        })
    }

    /// Records the sums of every query over all of `data`, span by span
    /// in index order, into the slabs of `sums` (made for `queries` and
    /// `data`), and then the spans' sums added in span order into the
    /// first slab.
    fn record(&self, g: &Gpu, batch: &mut Batch<'_>, queries: &Rows, data: &Data, sums: &Slabs) {
        let part_rows: Vec<usize> = sums.parts.chunks.iter().map(|c| c.rows()).collect();
        let data_rows: Vec<usize> = data.rows.chunks.iter().map(|c| c.rows()).collect();
        let per_group = self.pipeline.rows_per_group.max(1) as usize;
        let parts: Vec<_> = sums.parts().collect();
        for pass in plan::passes(&part_rows, &data_rows, self.dim, self.tile, self.limits) {
            let (part, c, query_first) = parts[pass.query];
            let chunk = &data.rows.chunks[pass.data];
            // Global rows of the dispatch, and the spans they touch: one
            // workgroup per group of queries and span.
            let (first, last) = (
                chunk.range.start + pass.span.start,
                chunk.range.start + pass.span.end,
            );
            let span_count = (last - 1) / sums.span_rows - first / sums.span_rows + 1;
            let params = AccumulateParams {
                query_rows: rows_u32(part.rows()),
                query_first,
                data_begin: rows_u32(pass.span.start),
                data_end: rows_u32(pass.span.end),
                chunk_base: rows_u32(chunk.range.start),
                span_rows: rows_u32(sums.span_rows),
                spans: rows_u32(sums.spans),
                pad0: 0,
                h2: self.coeffs.h2,
                inv_h2: self.coeffs.inv_h2,
                exp2_coeff: self.coeffs.exp2_coeff,
                pad1: 0,
            };
            let weights = data
                .weights
                .as_ref()
                .map_or(g.placeholder(), |w| &w.chunks[pass.data].buffer);
            batch.dispatch(
                &self.pipeline,
                params,
                &[
                    &queries.chunks[c].buffer,
                    &chunk.buffer,
                    weights,
                    &part.buffer,
                ],
                part.rows().div_ceil(per_group) * span_count * per_group,
            );
        }
        if sums.spans > 1 {
            for part in &sums.parts.chunks {
                let words = part.rows() * (self.dim + 2);
                let params = SpansParams {
                    words: rows_u32(words),
                    spans: rows_u32(sums.spans),
                    pad: [0; 6],
                };
                batch.dispatch(&self.add_spans, params, &[&part.buffer], words);
            }
        }
        // Without data rows every sum is 0, and so is its centred value.
        if let (Some(centre), Some(first)) = (&self.centre, data.rows.chunks.first()) {
            for (part, c, query_first) in sums.parts() {
                let params = AccumulateParams {
                    query_rows: rows_u32(part.rows()),
                    query_first,
                    spans: rows_u32(sums.spans),
                    ..AccumulateParams::zeroed()
                };
                let buffers = [
                    &queries.chunks[c].buffer,
                    &first.buffer,
                    g.placeholder(),
                    &part.buffer,
                ];
                batch.dispatch(centre, params, &buffers, part.rows() * self.dim);
            }
        }
    }
}

/// The pipeline that adds the spans' sums into the first slab.
async fn add_spans_pipeline(g: &Gpu, dim: usize) -> Result<Arc<Pipeline>> {
    row_pipeline(g, &SHIFT_SPANS, "add_spans", dim_u32(dim)?, Vec::new()).await
}

/// A pipeline of `stage`'s `entry` for `dim` with `consts` whose
/// invocations take one row each, in workgroups of the adapter's size.
pub(super) async fn row_pipeline(
    g: &Gpu,
    stage: &'static StageDef,
    entry: &'static str,
    dim: u32,
    consts: Vec<(&'static str, Const)>,
) -> Result<Arc<Pipeline>> {
    g.pipeline(Spec {
        stage: Stage(stage),
        entry,
        dim,
        consts,
        overrides: vec![("WG", g.workgroup_size())],
        rows_per_group: g.workgroup_size(),
    })
    .await
}

/// Most coordinates the queries of a timing run hold (64 MiB).
#[cfg(not(target_arch = "wasm32"))]
const TRIAL_FLOATS: usize = 1 << 24;

/// Query x data x coordinate terms of a timing run, at most: about a
/// millisecond on a large GPU.
#[cfg(not(target_arch = "wasm32"))]
const TRIAL_WORK: usize = 1 << 31;

/// Data rows of a timing run: from one tile's worth to this many.
#[cfg(not(target_arch = "wasm32"))]
const TRIAL_DATA_ROWS: std::ops::RangeInclusive<usize> = 64..=2048;

/// Sums recorded per timed submission, so launch overhead weighs little.
#[cfg(not(target_arch = "wasm32"))]
const TRIAL_DISPATCHES: usize = 4;

/// Timed submissions per shape, after one untimed; the fastest counts.
#[cfg(not(target_arch = "wasm32"))]
const TRIAL_REPS: usize = 3;

/// Query rows of a timing run: the call's own (the size class's bound
/// would mistime small sets, whose few workgroups leave a GPU idle), within
/// [`TRIAL_FLOATS`] coordinates.
#[cfg(not(target_arch = "wasm32"))]
fn trial_queries(queries: usize, dim: usize) -> usize {
    queries.min(TRIAL_FLOATS / dim.max(1)).max(1)
}

/// What the sums' shape is chosen for: the dimension, kernel, weighting
/// and size class of the query set.
fn tune_key(win: &Window<'_>, queries: usize) -> TuneKey {
    let weighted = if win.weights.is_some() {
        ", weighted"
    } else {
        ""
    };
    let variant = format!("{}{weighted}", win.coeffs.kernel);
    TuneKey::new(OP, variant, win.dim, queries)
}

/// The shift stage's shape for this window and `queries` query rows: the
/// one chosen earlier for the same key ([`tune_key`]) by this context or,
/// through the tuning cache on disk, an earlier process, else the fastest
/// candidate timed now (see [`crate::gpu::tune`]), else the built-in one.
async fn shape_for(g: &Gpu, win: &Window<'_>, queries: usize) -> Result<Shape> {
    let key = tune_key(win, queries);
    if let Some(shape) = g.shapes.get(&key) {
        return Ok(shape);
    }
    let candidates = candidates(g, win.dim)?;
    let builtin = candidates[0];
    if !g.measures_shapes() || candidates.len() == 1 {
        g.shapes.put(key.clone(), Choice::builtin(builtin));
        return Ok(builtin);
    }
    if let Some(shape) = g.remembered_shape(&key, &candidates) {
        return Ok(shape);
    }
    let (shape, micros) = match time_shapes(g, win, queries, &candidates).await {
        Ok(timed) => timed,
        Err(lost @ Error::DeviceLost(_)) => return Err(lost),
        Err(e) => {
            // Timing is an optimisation: a device too small for the trial
            // data still runs the work itself in the built-in shape.
            log::warn!("timing launch shapes failed ({e}); using the built-in one");
            g.shapes.put(key.clone(), Choice::builtin(builtin));
            return Ok(builtin);
        }
    };
    log::info!(
        "shift stage, D {} {} up to {} queries: {} threads x {} queries per thread, {} threads per query, {} rows per tile ({micros:.1} us; {} shapes timed)",
        win.dim,
        win.coeffs.kernel,
        4usize.pow(key.queries_class),
        shape.workgroup,
        shape.queries_per_thread,
        shape.threads_per_query,
        shape.tile,
        candidates.len()
    );
    g.remember_shape(key, Choice::timed(shape, micros, candidates.len()));
    Ok(shape)
}

/// Times blurring sums with each candidate shape on synthetic data of
/// `queries` query rows (see [`trial_queries`]) and returns the fastest
/// (the earlier on ties) with its best time in microseconds. A candidate
/// the device rejects is passed over; the built-in one (first) must run,
/// or the error is returned.
///
/// Every pipeline is built before any timing, and the timed runs are
/// interleaved: each round runs every candidate once, in turn (in reverse
/// order every other round), the first round untimed. A change of clock
/// speed, or other work on the device, then weighs on all candidates
/// alike instead of on whichever ran while it lasted.
#[cfg(not(target_arch = "wasm32"))]
async fn time_shapes(
    g: &Gpu,
    win: &Window<'_>,
    queries: usize,
    candidates: &[Shape],
) -> Result<(Shape, f64)> {
    let dim = win.dim;
    let queries = trial_queries(queries, dim);
    // Within the work and memory bounds even for very wide rows.
    let rows = (TRIAL_WORK / (queries * dim))
        .clamp(*TRIAL_DATA_ROWS.start(), *TRIAL_DATA_ROWS.end())
        .min(TRIAL_FLOATS / dim)
        .max(1);
    // Points spread over a few bandwidths, so compact kernels see both
    // sides of their boundary.
    let spread = 4.0 * win.coeffs.h / 1009.0;
    let point = |i: usize| ((i * 7919) % 1009) as f32 * spread;
    let data: Vec<f32> = (0..rows * dim).map(point).collect();
    let query_data: Vec<f32> = (0..queries * dim).map(|i| point(i + 17)).collect();
    let weights = win.weights.map(|_| vec![1.0f32; rows]);
    let trial = Window {
        data: &data,
        weights: weights.as_deref(),
        dim,
        coeffs: win.coeffs,
        grid: None,
        expanded: false,
    };
    let per_chunk = rows_per_chunk(g, dim, &SHIFT);
    let (data, queries, sums) = g
        .scoped(|| {
            let data = Data {
                rows: Rows::upload(g, "trial data", &data, dim, per_chunk),
                weights: weights
                    .as_ref()
                    .map(|w| Rows::upload(g, "trial weights", w, 1, per_chunk)),
            };
            let queries = Rows::upload(g, "trial queries", &query_data, dim, per_chunk);
            let sums = Slabs::zeroed(g, g, "trial sums", &queries, (rows, dim, 0));
            (data, queries, sums)
        })
        .await?;
    // Compiling is not timed: every candidate's pipeline first. Each keeps
    // its best time, NaN once it has failed.
    let mut trials = Vec::with_capacity(candidates.len());
    for (i, &shape) in candidates.iter().enumerate() {
        match Sums::with_shape(g, &trial, Terms::MOVE, shape).await {
            Ok(stage) => trials.push((shape, stage, f64::INFINITY)),
            Err(e) if i > 0 && !matches!(e, Error::DeviceLost(_)) => {
                log::debug!("shape {shape:?} passed over: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    for round in 0..=TRIAL_REPS {
        let order: Vec<usize> = match round % 2 {
            0 => (0..trials.len()).collect(),
            _ => (0..trials.len()).rev().collect(),
        };
        for i in order {
            let (shape, stage, best) = &mut trials[i];
            if best.is_nan() {
                continue;
            }
            let start = std::time::Instant::now();
            let run = async {
                let readback = g
                    .scoped(|| {
                        let mut batch = Batch::new(g);
                        for _ in 0..TRIAL_DISPATCHES {
                            stage.record(g, &mut batch, &queries, &data, &sums);
                        }
                        batch.read(&sums.parts.chunks[0].buffer, 0, 4);
                        batch.submit()
                    })
                    .await?;
                readback.wait(g).await
            };
            match run.await {
                Ok(_) if round > 0 => *best = best.min(start.elapsed().as_secs_f64() * 1e6),
                Ok(_) => {}
                Err(e) if i > 0 && !matches!(e, Error::DeviceLost(_)) => {
                    log::debug!("shape {shape:?} passed over: {e}");
                    *best = f64::NAN;
                }
                Err(e) => return Err(e),
            }
        }
    }
    // The first of the fastest: `min_by` keeps the earlier of equals.
    trials
        .into_iter()
        .map(|(shape, _, best)| (shape, best))
        .filter(|(_, best)| !best.is_nan())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or_else(|| Error::Gpu("no launch shape ran".into()))
}

/// In the browser there is no clock to time shapes with.
#[cfg(target_arch = "wasm32")]
async fn time_shapes(
    _: &Gpu,
    _: &Window<'_>,
    _: usize,
    candidates: &[Shape],
) -> Result<(Shape, f64)> {
    Ok((candidates[0], 0.0))
}

/// A window's data (and weights) on the device in chunks.
struct Data {
    rows: Rows,
    weights: Option<Rows>,
}

impl Data {
    /// The window's data and weights, resident from an earlier call where
    /// they can be (see [`Gpu::resident`]): read only. With `rows`, the
    /// data are those device rows instead (positions a blurring call
    /// ended on).
    fn resident(g: &Gpu, win: &Window<'_>, rows_per_chunk: usize, rows: Option<Rows>) -> Self {
        Self {
            rows: rows.unwrap_or_else(|| g.resident("data", win.data, win.dim, rows_per_chunk)),
            weights: win
                .weights
                .map(|w| g.resident("weights", w, 1, rows_per_chunk)),
        }
    }
}

/// The pipeline that finishes a blurring step.
async fn finish_pipeline(g: &Gpu, dim: usize) -> Result<Arc<Pipeline>> {
    row_pipeline(g, &SHIFT_FINISH, "finish", dim_u32(dim)?, Vec::new()).await
}

/// Records the shifted positions of every chunk of `queries` into `moved`
/// (chunked alike), and the step's largest squared shift into slot `slot`
/// of `largest`.
fn record_finish(
    batch: &mut Batch<'_>,
    pipeline: &Arc<Pipeline>,
    queries: &Rows,
    sums: &Slabs,
    moved: &Rows,
    (largest, slot): (&wgpu::Buffer, u32),
) {
    for (part, c, query_first) in sums.parts() {
        let params = FinishParams {
            query_rows: rows_u32(part.rows()),
            slot,
            query_first,
            pad: [0; 5],
        };
        let buffers = [
            &queries.chunks[c].buffer,
            &part.buffer,
            &moved.chunks[c].buffer,
            largest,
        ];
        batch.dispatch(pipeline, params, &buffers, part.rows());
    }
}

/// `steps` blurring iterations from `win.data`, all in one submission with
/// one readback. The first step reads the resident data, the later ones
/// ping-pong between two sets of working buffers (the resident data is
/// never written). Each step's largest shift is found on the device; the
/// trajectory, when asked for, is copied out after every step within the
/// same submission. With `intensity`, a last pass in the same submission
/// counts the sample weight of final positions within `h` of each final
/// position (no kernel weights: the cheapest pass over all pairs).
///
/// `carry` holds where to start: `None` for the window's data (resident
/// where it can be), or the device rows a previous call ended on, which
/// must hold `win.data`'s values; it is left holding the rows this call
/// ends on, so stepping call by call uploads nothing.
pub(crate) async fn blur(
    g: &Gpu,
    win: &Window<'_>,
    steps: usize,
    record: bool,
    intensity: bool,
    carry: &mut Option<Rows>,
) -> Result<BlurOutput> {
    let dim = win.dim;
    if win.data.is_empty() || (steps == 0 && !intensity) {
        return Ok(BlurOutput {
            positions: win.data.to_vec(),
            ..BlurOutput::default()
        });
    }
    let n = win.data.len() / dim;
    let sums_pipeline = Sums::new(g, win, Terms::MOVE, n).await?;
    let count_pipeline = match intensity {
        true => Some(Sums::new(g, win, Terms::COUNT, n).await?),
        false => None,
    };
    let finish = finish_pipeline(g, dim).await?;
    let per_chunk = rows_per_chunk(g, dim, &SHIFT);
    let start = carry.take();
    let carried = start.is_some();
    // Working buffers come from the pool, and go back to it once the
    // positions are read, but the last positions, which the carry keeps;
    // the carried positions a call starts from are used up by it.
    let arena = g.arena();
    if let Some(rows) = &start {
        arena.adopt(rows);
    }
    let (readback, trajectory_reads, final_reads, largest_read, count_reads, end) = g
        .scoped(|| {
            let mut current = Data::resident(g, win, per_chunk, start);
            let mut next = Rows::zeroed(&arena, "positions", &current.rows, dim);
            let sums = Slabs::zeroed(g, &arena, "sums", &current.rows, (n, dim, 0));
            let largest = arena.storage("largest squared shift", (steps.max(1) * 4) as u64);
            let mut batch = Batch::new(g);
            let mut trajectory_reads = Vec::new();
            for step in 0..steps {
                let queries = current.rows.clone();
                sums_pipeline.record(g, &mut batch, &queries, &current, &sums);
                let slot = rows_u32(step);
                record_finish(
                    &mut batch,
                    &finish,
                    &queries,
                    &sums,
                    &next,
                    (&largest, slot),
                );
                if record {
                    trajectory_reads.push(read_rows(&mut batch, &next));
                }
                let read = std::mem::replace(&mut current.rows, next);
                next = if step == 0 && steps > 1 {
                    // `read` is the resident data: start the second set.
                    Rows::zeroed(&arena, "positions", &read, dim)
                } else {
                    // Written by the next step (never the resident data:
                    // after a single step there is none).
                    read
                };
            }
            let final_reads = (!record).then(|| read_rows(&mut batch, &current.rows));
            let largest_read = batch.read(&largest, 0, (steps * 4) as u64);
            // The count within h: the last value per row of the first slab.
            let count_reads: Vec<usize> = match &count_pipeline {
                Some(counts) => {
                    counts.record(g, &mut batch, &current.rows, &current, &sums);
                    read_block(&mut batch, &sums.parts, dim + 1, 1)
                }
                None => Vec::new(),
            };
            (
                batch.submit(),
                trajectory_reads,
                final_reads,
                largest_read,
                count_reads,
                current.rows,
            )
        })
        .await?;
    // The carry owns what it holds: the positions this call wrote, or the
    // carried ones it started from, never the resident data (no step ran
    // and nothing was carried), which the cache keeps.
    if steps > 0 || carried {
        arena.keep(&end);
        *carry = Some(end);
    }
    let bytes = readback.wait(g).await?;
    arena.finish();
    let trajectory: Vec<Vec<f32>> = trajectory_reads.iter().map(|r| gather(&bytes, r)).collect();
    let positions = match &final_reads {
        Some(r) => gather(&bytes, r),
        // Recorded: the last step's positions; no step: the data.
        None => trajectory
            .last()
            .cloned()
            .unwrap_or_else(|| win.data.to_vec()),
    };
    let max_shift = words(&bytes[largest_read])
        .into_iter()
        .take(steps)
        .map(|bits| f32::from_bits(bits).sqrt())
        .collect();
    Ok(BlurOutput {
        positions,
        max_shift,
        trajectory,
        counts: gather(&bytes, &count_reads),
    })
}

/// Standard mean shift of `seeds` over the window's data, with the CPU
/// twin's stopping rule and bookkeeping. Steps run [`STEPS_PER_BATCH`] to
/// a submission; between submissions only the number of seeds still moving
/// is read back, and the seeds' state once at the end.
pub(crate) async fn seek(
    g: &Gpu,
    win: &Window<'_>,
    seeds: &[f32],
    tol_dist: f32,
    max_iter: u32,
    watch: Watch<'_>,
) -> Result<SeekOutput> {
    let dim = win.dim;
    if seeds.is_empty() {
        return Ok(SeekOutput::default());
    }
    let sums_pipeline = Sums::new(g, win, Terms::SEEK, seeds.len() / dim).await?;
    let step = g
        .pipeline(Spec {
            stage: Stage(&SEEK),
            entry: "step",
            dim: dim_u32(dim)?,
            consts: Vec::new(),
            overrides: vec![("WG", g.workgroup_size())],
            rows_per_group: g.workgroup_size(),
        })
        .await?;
    let per_chunk = rows_per_chunk(g, dim, &SHIFT);
    let tol2 = tol_dist * tol_dist;
    let arena = g.arena();
    let (data, positions, seed_source, sums, active) = g
        .scoped(|| {
            let data = Data::resident(g, win, per_chunk, None);
            // Seeds equal to resident rows (the data itself, by default)
            // are copied on the device into the positions that move.
            let seed_source = g.find_resident(seeds, dim, per_chunk);
            let positions = match &seed_source {
                Some(source) => Rows::zeroed(&arena, "seeds", source, dim),
                None => Rows::upload(&arena, "seeds", seeds, dim, per_chunk),
            };
            // The sums, then the seek state, whose zero is the start: 0
            // iterations, intensity 0, moving.
            let n = win.data.len() / dim;
            let shape = (n, dim, SEEK_STATE);
            let sums = Slabs::zeroed(g, &arena, "sums and seek state", &positions, shape);
            let active = arena.storage("seeds moving", STEPS_PER_BATCH * 4);
            (data, positions, seed_source, sums, active)
        })
        .await?;
    // Every seed stops within max_iter + 1 means.
    let total = u64::from(max_iter) + 1;
    let mut done = 0;
    let n_seeds = (seeds.len() / dim) as u64;
    watch.report(progress::Stage::Climbing, 0, Some(n_seeds))?;
    while done < total {
        let n = STEPS_PER_BATCH.min(total - done);
        let readback = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                if done == 0 {
                    for (from, to) in seed_source
                        .iter()
                        .flat_map(|s| s.chunks.iter().zip(&positions.chunks))
                    {
                        batch.copy(&from.buffer, &to.buffer, (to.rows() * dim * 4) as u64);
                    }
                }
                batch.clear(&active);
                for slot in 0..n as u32 {
                    sums_pipeline.record(g, &mut batch, &positions, &data, &sums);
                    for (part, c, query_first) in sums.parts() {
                        let params = StepParams {
                            query_rows: rows_u32(part.rows()),
                            max_iter,
                            tol2,
                            slot,
                            query_first,
                            spans: rows_u32(sums.spans),
                            pad: [0; 2],
                        };
                        let buffers = [&positions.chunks[c].buffer, &part.buffer, &active];
                        batch.dispatch(&step, params, &buffers, part.rows());
                    }
                }
                batch.read(&active, (n - 1) * 4, 4);
                batch.submit()
            })
            .await?;
        let moving = words(&readback.wait(g).await?[0])
            .first()
            .copied()
            .unwrap_or(0);
        done += n;
        watch.report(
            progress::Stage::Climbing,
            n_seeds - u64::from(moving).min(n_seeds),
            Some(n_seeds),
        )?;
        if moving == 0 {
            break;
        }
    }
    let (readback, position_reads, state_reads): (Readback, _, _) = g
        .scoped(|| {
            let mut batch = Batch::new(g);
            let position_reads = read_rows(&mut batch, &positions);
            let state_reads =
                read_block(&mut batch, &sums.parts, sums.spans * (dim + 2), SEEK_STATE);
            (batch.submit(), position_reads, state_reads)
        })
        .await?;
    let bytes = readback.wait(g).await?;
    let mut out = SeekOutput {
        positions: gather(&bytes, &position_reads),
        ..SeekOutput::default()
    };
    for &i in &state_reads {
        let words = words(&bytes[i]);
        let rows = words.len() / SEEK_STATE;
        out.iterations.extend_from_slice(&words[..rows]);
        out.intensity
            .extend(words[rows..2 * rows].iter().map(|&b| f32::from_bits(b)));
        for &s in &words[2 * rows..] {
            let status = SeekStatus::from_u32(s).ok_or_else(|| {
                Error::Gpu(format!(
                    "a seed ended with status word {s} after {total} steps"
                ))
            })?;
            out.status.push(status);
        }
    }
    arena.finish();
    Ok(out)
}

/// The dense sums of queries whose steps the host takes: standard mode
/// through the grid (`grid_gpu.rs`) where the CPU twin falls back to
/// every row, because there is no grid or a seed lies beyond its reach
/// (`cpu::window_sums`). The pipeline and the resident data are made once
/// for a call's steps; each step's sums then cost one submission, however
/// many data rows there are (a list of every row could pass one binding).
pub(super) struct Dense {
    sums: Sums,
    data: Data,
    data_rows: usize,
    rows_per_chunk: usize,
}

impl Dense {
    /// For every row of `win`, coordinate by coordinate (no grid, direct
    /// distances: the twin's fallback, which never expands them), in the
    /// shape tuned for `queries` query rows.
    pub(super) async fn new(g: &Gpu, win: &Window<'_>, queries: usize) -> Result<Self> {
        let win = Window {
            grid: None,
            expanded: false,
            ..*win
        };
        let sums = Sums::new(g, &win, Terms::ALL, queries).await?;
        let rows_per_chunk = rows_per_chunk(g, win.dim, &SHIFT);
        let data = g
            .scoped(|| Data::resident(g, &win, rows_per_chunk, None))
            .await?;
        Ok(Self {
            sums,
            data,
            data_rows: win.data.len() / win.dim,
            rows_per_chunk,
        })
    }

    /// The sums (`num`, `den`, `count`) of `queries` (row-major) over every
    /// row, span by span in index order and the spans' sums in span order,
    /// read back in query order.
    pub(super) async fn sums(&self, g: &Gpu, queries: &[f32]) -> Result<super::cpu::Sums> {
        let dim = self.sums.dim;
        let m = queries.len() / dim;
        let mut out = super::cpu::Sums::with_capacity(m, dim);
        if m == 0 {
            return Ok(out);
        }
        let arena = g.arena();
        let (readback, reads) = g
            .scoped(|| {
                let rows = Rows::upload(&arena, "queries", queries, dim, self.rows_per_chunk);
                let shape = (self.data_rows, dim, 0);
                let slabs = Slabs::zeroed(g, &arena, "sums", &rows, shape);
                let mut batch = Batch::new(g);
                self.sums.record(g, &mut batch, &rows, &self.data, &slabs);
                // Each part's first slab: num (rows x dim), den, cnt.
                let reads = read_block(&mut batch, &slabs.parts, 0, dim + 2);
                (batch.submit(), reads)
            })
            .await?;
        let bytes = readback.wait(g).await?;
        arena.finish();
        for &r in &reads {
            let part = floats(&bytes[r]);
            let rows = part.len() / (dim + 2);
            out.num.extend_from_slice(&part[..rows * dim]);
            out.den
                .extend_from_slice(&part[rows * dim..rows * (dim + 1)]);
            out.count.extend_from_slice(&part[rows * (dim + 1)..]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::options::GpuOptions;
    use crate::gpu::pipelines::validate;
    use crate::gpu::tune::{TuneCache, Tuning};
    use crate::kernel::Kernel;

    /// A device with `tuning` that keeps nothing on disk, so a test times
    /// what it means to time and leaves no file behind.
    fn gpu(tuning: Tuning) -> Option<Gpu> {
        gpu_with(tuning, None)
    }

    /// [`gpu`] with bindings of at most `max_binding_bytes`.
    fn gpu_with(tuning: Tuning, max_binding_bytes: Option<u64>) -> Option<Gpu> {
        let options = GpuOptions {
            tuning,
            tune_cache: TuneCache::Off,
            max_binding_bytes,
            ..GpuOptions::default()
        };
        crate::gpu::test_device(&options)
    }

    fn points(n: usize, dim: usize) -> (Vec<f32>, Vec<f32>) {
        let data = (0..n * dim)
            .map(|i| ((i * 7919) % 2003) as f32 / 100.0 - 10.0)
            .collect();
        let weights = (0..n).map(|i| (i % 7) as f32 / 3.0).collect();
        (data, weights)
    }

    /// Blurring (with the intensity pass) and standard mean shift.
    fn run(g: &Gpu, win: &Window<'_>) -> (BlurOutput, SeekOutput) {
        let blurred = pollster::block_on(blur(g, win, 2, false, true, &mut None)).unwrap();
        let sought = pollster::block_on(seek(g, win, win.data, 1e-3, 5, Watch::default())).unwrap();
        (blurred, sought)
    }

    /// The CPU twin's blurring (with the intensities) and standard mean
    /// shift.
    fn twin(win: &Window<'_>) -> (BlurOutput, SeekOutput) {
        let mut blurred = super::super::cpu::blur(win, 2, false, Watch::default()).unwrap();
        let at_end = Window {
            data: &blurred.positions,
            ..*win
        };
        blurred.counts = super::super::cpu::counts(&at_end, &blurred.positions);
        let seek = super::super::cpu::seek(win, win.data, 1e-3, 5, Watch::default());
        (blurred, seek.unwrap())
    }

    /// Data cut into spans (`spans.rs`): one span just below 128 rows, two
    /// just above, three to eleven further on (the reference workload's
    /// N = 1500), both strategies (D = 40 and 70 split the feature axis),
    /// weighted or not, blurring with its intensities and standard mean
    /// shift. The device gives the CPU twin's bits, which add the spans'
    /// sums in span order (`cpu.rs`, where a test tells that order from
    /// others), for the compact kernels (the gaussian's `exp2` is the
    /// device's: see `tests/gpu_parity.rs`) and rows of the whole-query
    /// strategy (the wide one adds a distance's terms in another order),
    /// and blurred positions within 1e-3 of the twin's for the others; and
    /// 8 KiB bindings, which cut the data inside spans and the sums of a
    /// chunk of queries into parts, give the same bits as whole ones, for
    /// every kernel.
    #[test]
    fn spans_give_the_twins_bits() {
        let (Some(g), Some(small)) = (gpu(Tuning::Off), gpu_with(Tuning::Off, Some(8192))) else {
            return;
        };
        for (n, dim, h) in [
            (127, 2, 4.0),
            (128, 2, 4.0),
            (129, 3, 5.0),
            (300, 2, 3.0),
            (1500, 2, 2.0),
            (300, 40, 40.0),
            (200, 70, 60.0),
        ] {
            let (data, weights) = points(n, dim);
            for kernel in Kernel::ALL {
                for weighted in [false, true] {
                    let win = Window {
                        data: &data,
                        weights: weighted.then_some(&weights[..]),
                        dim,
                        coeffs: KernelCoeffs::new(kernel, h),
                        grid: None,
                        expanded: false,
                    };
                    let case = format!(
                        "N {n} ({} spans), D {dim}, {kernel}, weighted {weighted}",
                        spans::count(n)
                    );
                    let got = run(&g, &win);
                    let want = twin(&win);
                    if kernel != Kernel::Gaussian && !is_wide(dim) {
                        assert_eq!(got, want, "{case}");
                    } else {
                        let (a, b) = (&got.0.positions, &want.0.positions);
                        assert!(close(a, b, 1e-3), "{case}: blurred positions");
                    }
                    assert_eq!(got, run(&small, &win), "{case}, 8 KiB bindings");
                }
            }
        }
    }

    /// Positions at most `tol` apart, coordinate by coordinate.
    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    /// Expanded distances (`shift_gemm.wgsl`) give the CPU twin's bits
    /// (`cpu_gemm.rs`): rows of 33 to 300 coordinates, one span (127
    /// rows), two (128), several (300) and ten (700), weighted or not,
    /// every kernel at 64 coordinates and one a case elsewhere (the
    /// kernel's weight is the direct stages' expression; each pipeline
    /// takes a while to build on a software adapter), blurring with its
    /// intensities and standard mean shift; the
    /// gaussian (whose `exp2` is the device's) close to them. 8 KiB
    /// bindings, which cut the data inside spans and the sums into parts,
    /// and one-tile dispatches give the same bits. The direct twin gives
    /// other bits, so the comparison tells the formulations apart.
    #[test]
    fn expanded_distances_give_the_twins_bits() {
        let (Some(mut g), Some(small)) = (gpu(Tuning::Off), gpu_with(Tuning::Off, Some(8192)))
        else {
            return;
        };
        let mut differs = false;
        for (n, dim, h, kernels) in [
            (127, 33, 46.0, &[Kernel::Triangular][..]),
            (128, 64, 64.0, &Kernel::ALL[..]),
            (300, 128, 90.0, &[Kernel::Gaussian][..]),
            (129, 300, 140.0, &[Kernel::Epanechnikov][..]),
            (700, 40, 50.0, &[Kernel::Flat][..]),
        ] {
            let (data, weights) = points(n, dim);
            // Weighted and not alternate over the kernels and the cases.
            for (at, &kernel) in kernels.iter().enumerate() {
                let weighted = (at + dim) % 2 == 1;
                let win = Window {
                    data: &data,
                    weights: weighted.then_some(&weights[..]),
                    dim,
                    coeffs: KernelCoeffs::new(kernel, h),
                    grid: None,
                    expanded: true,
                };
                let case = format!(
                    "N {n} ({} spans), D {dim}, {kernel}, weighted {weighted}",
                    spans::count(n)
                );
                g.max_dispatch_work = u64::MAX;
                let got = run(&g, &win);
                let (blurred, sought) = twin(&win);
                if kernel == Kernel::Gaussian {
                    assert!(close(&got.0.positions, &blurred.positions, 1e-3), "{case}");
                    assert!(close(&got.1.positions, &sought.positions, 1e-3), "{case}");
                } else {
                    assert_eq!(got, (blurred, sought), "{case}");
                }
                let direct = twin(&Window {
                    expanded: false,
                    ..win
                });
                differs |= got.0.positions != direct.0.positions;
                if n <= 300 && (kernel == Kernel::Triangular || kernel == Kernel::Gaussian) {
                    assert_eq!(got, run(&small, &win), "{case}, 8 KiB bindings");
                    g.max_dispatch_work = (n * dim * GEMM_TILE as usize) as u64;
                    assert_eq!(got, run(&g, &win), "{case}, one-tile dispatches");
                }
            }
        }
        assert!(differs, "expanded and direct distances gave the same bits");
    }

    /// Points far from the origin and close together: `(qq + xx) - 2 dot`
    /// cancels and can come out negative, which the clamp turns into 0
    /// (without it the triangular kernel's square root is NaN). Every
    /// moved position stays finite, on the device and in the twin, and
    /// near the direct result.
    #[test]
    fn expanded_distances_are_clamped() {
        let Some(g) = gpu(Tuning::Off) else {
            return;
        };
        let (n, dim) = (200, 48);
        let data: Vec<f32> = (0..n * dim)
            .map(|i| 3000.0 + ((i * 7919) % 13) as f32 * 1e-3)
            .collect();
        let win = Window {
            data: &data,
            weights: None,
            dim,
            coeffs: KernelCoeffs::new(Kernel::Triangular, 0.5),
            grid: None,
            expanded: true,
        };
        let got = run(&g, &win);
        assert_eq!(got, twin(&win));
        let direct = twin(&Window {
            expanded: false,
            ..win
        });
        for p in [&got.0.positions, &got.1.positions] {
            assert!(p.iter().all(|v| v.is_finite()));
        }
        assert!(close(&got.0.positions, &direct.0.positions, 0.05));
    }

    /// The count within `h` includes a row at exactly `h`, as the direct
    /// sums do: the origin and `2 e_k` for each of 33 axes, `h = 2`, whose
    /// expanded distances are exact (4 from the origin, 8 between axes),
    /// so the origin counts 34 rows and every other row 2, on the device
    /// and in the twin (neither test of random data meets a tie).
    #[test]
    fn expanded_counts_include_rows_at_exactly_h() {
        let Some(g) = gpu(Tuning::Off) else {
            return;
        };
        let dim = 33;
        let mut data = vec![0.0f32; (dim + 1) * dim];
        for k in 0..dim {
            data[(k + 1) * dim + k] = 2.0;
        }
        let win = Window {
            data: &data,
            weights: None,
            dim,
            coeffs: KernelCoeffs::new(Kernel::Flat, 2.0),
            grid: None,
            expanded: true,
        };
        let mut want = vec![2.0f32; dim + 1];
        want[0] = (dim + 1) as f32;
        let got = pollster::block_on(blur(&g, &win, 0, false, true, &mut None)).unwrap();
        assert_eq!(got.counts, want, "device");
        assert_eq!(super::super::cpu::counts(&win, &data), want, "twin");
    }

    /// The expanded stage's dispatches, cut by its own loop count, reach
    /// every data row on llvmpipe (which cuts a loop off after 65 535
    /// iterations): only the last rows carry weight. At N = 8200 the data
    /// make two spans of 4100 rows, and one dispatch per span would run
    /// phase 2's innermost loop 4100 x 10 x 4 times (counting one
    /// iteration per row instead, the sums come out wrong).
    #[test]
    fn expanded_sums_reach_the_last_rows() {
        if let Some(g) = gpu(Tuning::Off) {
            seeds_reach_the_last_rows(&g, 8200, 300, true, 1e-3);
        }
    }

    /// Four seeds over `n` rows of `dim` coordinates, every pair within
    /// the flat window but only the last three rows weighted: each seed
    /// lands on their mean (within `tol`) with intensity 3, so a dispatch
    /// that stopped short of the last rows shows.
    fn seeds_reach_the_last_rows(g: &Gpu, n: usize, dim: usize, expanded: bool, tol: f32) {
        let (data, _) = points(n, dim);
        let mut weights = vec![0.0f32; n];
        weights[n - 3..].fill(1.0);
        let win = Window {
            data: &data,
            weights: Some(&weights),
            dim,
            coeffs: KernelCoeffs::new(Kernel::Flat, 1e4),
            grid: None,
            expanded,
        };
        let seeds = &data[..4 * dim];
        let out = pollster::block_on(seek(g, &win, seeds, 1e-3, 5, Watch::default())).unwrap();
        let last = &data[(n - 3) * dim..];
        for (i, row) in out.positions.chunks_exact(dim).enumerate() {
            for (k, &x) in row.iter().enumerate() {
                let mean = (last[k] + last[dim + k] + last[2 * dim + k]) / 3.0;
                assert!(
                    (x - mean).abs() <= tol,
                    "D {dim}, seed {i}, {k}: {x} vs {mean}"
                );
            }
        }
        assert_eq!(out.intensity, [3.0; 4], "D {dim}");
        assert_eq!(out.status, [SeekStatus::Converged; 4], "D {dim}");
    }

    /// At 32 coordinates and below, expanded distances change nothing:
    /// the direct stage's bits.
    #[test]
    fn expanded_distances_change_nothing_up_to_32_coordinates() {
        let Some(g) = gpu(Tuning::Off) else {
            return;
        };
        for dim in [2, 32] {
            let (data, weights) = points(150, dim);
            let direct = Window {
                data: &data,
                weights: Some(&weights),
                dim,
                coeffs: KernelCoeffs::new(Kernel::Epanechnikov, 40.0),
                grid: None,
                expanded: false,
            };
            let expanded = Window {
                expanded: true,
                ..direct
            };
            assert_eq!(run(&g, &expanded), run(&g, &direct), "D {dim}");
            assert_eq!(twin(&expanded), twin(&direct), "D {dim}");
        }
    }

    /// Cutting the data over many dispatches (a tiny work limit) continues
    /// the same index-order sums: the same bits as one dispatch. Skipped
    /// without an adapter; `tests/gpu_parity.rs` covers the rest.
    /// Both strategies: whole queries per thread (D = 3) and the feature
    /// axis split (D = 65), where five-row dispatches cut every tile short.
    #[test]
    fn short_dispatches_give_the_same_bits() {
        let Some(mut g) = gpu(Tuning::Off) else {
            return;
        };
        for (n, dim, h) in [(300, 3, 4.0), (120, 65, 50.0)] {
            let (data, weights) = points(n, dim);
            for kernel in Kernel::ALL {
                let win = Window {
                    data: &data,
                    weights: Some(&weights),
                    dim,
                    coeffs: KernelCoeffs::new(kernel, h),
                    grid: None,
                    expanded: false,
                };
                g.max_dispatch_work = u64::MAX;
                let whole = run(&g, &win);
                g.max_dispatch_work = (n * dim * 5) as u64;
                assert_eq!(whole, run(&g, &win), "D {dim} {kernel}");
            }
        }
    }

    /// Every launch shape the tuner may pick gives the built-in shape's
    /// bits: the sums run in data-index order whatever the workgroup,
    /// queries per thread and tile, and with the feature axis split, each
    /// squared distance adds the same slices in the same order whatever
    /// the queries per workgroup and tile.
    #[test]
    fn every_shape_gives_the_same_bits() {
        let Some(g) = gpu(Tuning::Off) else {
            return;
        };
        for (n, dim, h, kernel, weighted) in [
            (301, 1, 4.0, Kernel::Gaussian, false),
            (700, 2, 4.0, Kernel::Flat, true),
            (257, 3, 4.0, Kernel::Epanechnikov, false),
            (130, 17, 4.0, Kernel::Triangular, true),
            (75, 40, 50.0, Kernel::Flat, false),
            (70, 300, 120.0, Kernel::Gaussian, true),
            (37, 1030, 220.0, Kernel::Epanechnikov, true),
        ] {
            let (data, weights) = points(n, dim);
            let win = Window {
                data: &data,
                weights: weighted.then_some(&weights[..]),
                dim,
                coeffs: KernelCoeffs::new(kernel, h),
                grid: None,
                expanded: false,
            };
            let key = tune_key(&win, n);
            let shapes = candidates(&g, dim).unwrap();
            assert_eq!(
                shapes.iter().all(|s| s.threads_per_query > 1),
                dim > WIDE_ABOVE_DIM
            );
            assert!(shapes.len() > 1, "D {dim}: {shapes:?}");
            g.shapes.put(key.clone(), Choice::builtin(shapes[0]));
            let builtin = run(&g, &win);
            for &shape in &shapes[1..] {
                g.shapes.put(key.clone(), Choice::builtin(shape));
                assert_eq!(builtin, run(&g, &win), "D {dim} {kernel}: {shape:?}");
            }
        }
    }

    /// On llvmpipe, which silently ends an invocation after 65 535 loop
    /// iterations, the wide strategy's dispatches are cut short enough to
    /// reach every data row: only the last rows carry weight. At D = 5000
    /// the loops over a thread's 79 coordinates are not unrolled, and one
    /// dispatch over 1000 rows would take about 170 000 iterations
    /// (without the cut, llvmpipe gives wrong sums from about 385 rows on;
    /// counting half the iterations per row, at 1000 rows).
    #[test]
    fn wide_sums_reach_the_last_rows() {
        if let Some(g) = gpu(Tuning::Off) {
            seeds_reach_the_last_rows(&g, 1000, 5000, false, 1e-4);
        }
    }

    /// With tuning on, the first run times every candidate, picks one of
    /// them, reports it, and gives the built-in shape's results.
    #[test]
    fn tuning_picks_a_candidate() {
        let (Some(tuned), Some(fixed)) = (gpu(Tuning::Measure), gpu(Tuning::Off)) else {
            return;
        };
        let (n, dim) = (200, 2);
        let (data, _) = points(n, dim);
        let win = Window {
            data: &data,
            weights: None,
            dim,
            coeffs: KernelCoeffs::new(Kernel::Gaussian, 4.0),
            grid: None,
            expanded: false,
        };
        assert_eq!(run(&tuned, &win), run(&fixed, &win));
        let report = tuned.tuned_shapes();
        assert_eq!(report.len(), 1, "{report:?}");
        let t = &report[0];
        let shapes = shape::candidates(dim, 1, &tuned.limits);
        assert!(t.micros.is_some_and(|us| us > 0.0), "{t}");
        assert_eq!(t.candidates, shapes.len());
        assert!(
            shapes
                .iter()
                .any(|s| (s.workgroup, s.queries_per_thread, s.tile)
                    == (t.workgroup, t.queries_per_thread, t.tile_rows))
        );
        assert_eq!((t.dim, t.max_queries), (dim, 256));
        assert!(!t.remembered);
        let builtin = &fixed.tuned_shapes()[0];
        assert!(builtin.micros.is_none() && builtin.candidates == 0);
    }

    /// Every stage at every dimension, all three shift strategies included
    /// (the expanded one's sums and centring too):
    /// the wide one at dimensions that do and do not divide into its
    /// slices, in the shapes it is launched in (one query per workgroup;
    /// several, with more pairs per tile than threads; several per
    /// thread).
    #[test]
    fn every_stage_validates() {
        for dim in [1, 2, 3, 17, 33, 65, 300, 1024, 5000] {
            for kernel in 0..4 {
                for weighted in [false, true] {
                    for (skip, sums, count) in [
                        (false, true, false),
                        (false, true, true),
                        (false, false, true),
                        (true, true, true),
                    ] {
                        for qpt in [1, 4] {
                            let consts = [
                                ("TILE", Const::U32(3)),
                                ("KERNEL", Const::U32(kernel)),
                                ("WEIGHTED", Const::Bool(weighted)),
                                ("SKIP_SETTLED", Const::Bool(skip)),
                                ("SUMS", Const::Bool(sums)),
                                ("COUNT", Const::Bool(count)),
                                ("QPT", Const::U32(qpt)),
                            ];
                            validate(&SHIFT, dim, "accumulate", &consts, &[("WG", 64)]);
                        }
                        let slices = shape::slices(dim as usize);
                        for (groups, qpt, tile) in [(1, 1, 8), (4, 1, 16), (2, 4, 8)] {
                            let consts = [
                                ("KERNEL", Const::U32(kernel)),
                                ("WEIGHTED", Const::Bool(weighted)),
                                ("SKIP_SETTLED", Const::Bool(skip)),
                                ("SUMS", Const::Bool(sums)),
                                ("COUNT", Const::Bool(count)),
                                ("SLICES", Const::U32(slices)),
                                ("QB", Const::U32(groups)),
                                ("QPT", Const::U32(qpt)),
                                ("TILE", Const::U32(tile)),
                                (
                                    "KEPT_COORDS",
                                    Const::U32(shape::WIDE_COORDS_PER_THREAD as u32),
                                ),
                            ];
                            let wg = [("WG", groups * slices)];
                            validate(&SHIFT_WIDE, dim, "accumulate", &consts, &wg);
                        }
                        let consts = [
                            ("KERNEL", Const::U32(kernel)),
                            ("WEIGHTED", Const::Bool(weighted)),
                            ("SKIP_SETTLED", Const::Bool(skip)),
                            ("SUMS", Const::Bool(sums)),
                            ("COUNT", Const::Bool(count)),
                        ];
                        let wg = [("WG", GEMM_THREADS)];
                        validate(&SHIFT_GEMM, dim, "accumulate", &consts, &wg);
                        validate(&SHIFT_GEMM, dim, "centre", &consts, &[("WG", 64)]);
                    }
                }
            }
            validate(&SHIFT_FINISH, dim, "finish", &[], &[("WG", 64)]);
            validate(&SHIFT_SPANS, dim, "add_spans", &[], &[("WG", 64)]);
            validate(&SEEK, dim, "step", &[], &[("WG", 32)]);
        }
    }
}
