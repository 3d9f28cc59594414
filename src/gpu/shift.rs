//! Host side of `shaders/shift.wgsl` (the fused kernel-weighted sums),
//! `shaders/shift_finish.wgsl` and `shaders/seek.wgsl`: one shift, blurring
//! iterations and standard mean shift, with the semantics of the CPU twin
//! in `src/cpu/shift.rs`.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::Gpu;
use super::batch::Batch;
use super::buffers::{Readback, Rows, floats, storage, words};
use super::pipelines::{Const, Pipeline, Spec, Stage};
use super::plan;
use crate::error::{Error, Result};
use crate::kernel::KernelCoeffs;
use crate::meanshift::stages::{BlurOutput, SeekOutput, SeekStatus, ShiftOutput, Window};

/// Standard-mode steps per submission; only a count of seeds still moving
/// is read back between submissions.
const STEPS_PER_BATCH: u64 = 8;

/// Words per seed of the seek state (iterations, intensity, status) that
/// follows the sums in standard mode.
const SEEK_STATE: usize = 3;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AccumulateParams {
    query_rows: u32,
    data_begin: u32,
    data_end: u32,
    fresh: u32,
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct FinishParams {
    query_rows: u32,
    slot: u32,
    pad: [u32; 6],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct StepParams {
    query_rows: u32,
    max_iter: u32,
    tol2: f32,
    slot: u32,
    pad: [u32; 4],
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

/// The window's data on the device and the pipeline that sums over it.
struct Sums {
    pipeline: Arc<Pipeline>,
    tile: usize,
    coeffs: KernelCoeffs,
    dim: usize,
    limits: plan::SpanLimits,
}

impl Sums {
    /// The accumulate pipeline for this window; `skip_settled` for standard
    /// mode, where seeds that stopped are passed over.
    async fn new(g: &Gpu, win: &Window<'_>, skip_settled: bool) -> Result<Self> {
        let tile = g.tile_rows(win.dim, 1)?;
        let pipeline = g
            .pipeline(Spec {
                stage: Stage::Shift,
                entry: "accumulate",
                dim: dim_u32(win.dim)?,
                consts: vec![
                    ("TILE", Const::U32(tile)),
                    ("KERNEL", Const::U32(win.coeffs.kernel.shader_id())),
                    ("WEIGHTED", Const::Bool(win.weights.is_some())),
                    ("SKIP_SETTLED", Const::Bool(skip_settled)),
                ],
                overrides: vec![("WG", g.workgroup_size())],
            })
            .await?;
        Ok(Self {
            pipeline,
            tile: tile as usize,
            coeffs: win.coeffs,
            dim: win.dim,
            // Per data row: the distance and displacement loops over the
            // coordinates, and a share of the tile copy.
            limits: g.span_limits(
                2 * win.dim as u64 + 4 + win.dim.div_ceil(g.workgroup_size() as usize) as u64,
                3 * win.dim as u64,
            ),
        })
    }

    /// Records the sums of every query over all of `data`, in index order,
    /// into `sums` (`dim + 2` values per query, chunked like `queries`;
    /// `dim + 5` in standard mode, where the seek state follows).
    fn record(&self, g: &Gpu, batch: &mut Batch<'_>, queries: &Rows, data: &Data, sums: &Rows) {
        let query_rows: Vec<usize> = queries.chunks.iter().map(|c| c.rows()).collect();
        let data_rows: Vec<usize> = data.rows.chunks.iter().map(|c| c.rows()).collect();
        for pass in plan::passes(&query_rows, &data_rows, self.dim, self.tile, self.limits) {
            let q = &queries.chunks[pass.query];
            let params = AccumulateParams {
                query_rows: rows_u32(q.rows()),
                data_begin: rows_u32(pass.span.start),
                data_end: rows_u32(pass.span.end),
                fresh: u32::from(pass.fresh),
                h2: self.coeffs.h2,
                inv_h2: self.coeffs.inv_h2,
                exp2_coeff: self.coeffs.exp2_coeff,
                pad: 0,
            };
            let weights = data
                .weights
                .as_ref()
                .map_or(g.placeholder(), |w| &w.chunks[pass.data].buffer);
            batch.dispatch(
                &self.pipeline,
                params,
                &[
                    &q.buffer,
                    &data.rows.chunks[pass.data].buffer,
                    weights,
                    &sums.chunks[pass.query].buffer,
                ],
                q.rows(),
            );
        }
    }
}

/// A window's data (and weights) on the device in chunks.
struct Data {
    rows: Rows,
    weights: Option<Rows>,
}

impl Data {
    /// The window's data and weights, resident from an earlier call where
    /// they can be (see [`Gpu::resident`]): read only.
    fn resident(g: &Gpu, win: &Window<'_>, rows_per_chunk: usize) -> Self {
        Self {
            rows: g.resident("data", win.data, win.dim, rows_per_chunk),
            weights: win
                .weights
                .map(|w| g.resident("weights", w, 1, rows_per_chunk)),
        }
    }
}

/// The finishing pipeline; `track_max` records each step's largest shift.
async fn finish_pipeline(g: &Gpu, dim: usize, track_max: bool) -> Result<Arc<Pipeline>> {
    g.pipeline(Spec {
        stage: Stage::ShiftFinish,
        entry: "finish",
        dim: dim_u32(dim)?,
        consts: vec![("TRACK_MAX", Const::Bool(track_max))],
        overrides: vec![("WG", g.workgroup_size())],
    })
    .await
}

/// Records the shifted positions of every chunk of `queries` into `moved`;
/// with `largest`, also the step's largest squared shift in slot `slot`.
fn record_finish(
    g: &Gpu,
    batch: &mut Batch<'_>,
    pipeline: &Arc<Pipeline>,
    queries: &Rows,
    sums: &Rows,
    moved: &Rows,
    largest: Option<(&wgpu::Buffer, u32)>,
) {
    let (largest, slot) = largest.unwrap_or((g.placeholder(), 0));
    for ((q, s), m) in queries.chunks.iter().zip(&sums.chunks).zip(&moved.chunks) {
        let params = FinishParams {
            query_rows: rows_u32(q.rows()),
            slot,
            pad: [0; 6],
        };
        batch.dispatch(
            pipeline,
            params,
            &[&q.buffer, &s.buffer, &m.buffer, largest],
            q.rows(),
        );
    }
}

/// Reads back every chunk of `rows` whole; returns the readback indices.
fn read_rows(batch: &mut Batch<'_>, rows: &Rows) -> Vec<usize> {
    rows.chunks
        .iter()
        .map(|c| batch.read(&c.buffer, 0, (c.rows() * rows.width * 4) as u64))
        .collect()
}

/// The `f32`s of several readbacks, concatenated.
fn gather(bytes: &[Vec<u8>], indices: &[usize]) -> Vec<f32> {
    indices.iter().flat_map(|&i| floats(&bytes[i])).collect()
}

/// One shift of `queries` over the window's data: `q + num / den` (or `q`
/// where `den` is 0), `den` and the count within `h`.
pub(crate) async fn shift(g: &Gpu, win: &Window<'_>, queries: &[f32]) -> Result<ShiftOutput> {
    let dim = win.dim;
    if queries.is_empty() {
        return Ok(ShiftOutput::default());
    }
    let sums_pipeline = Sums::new(g, win, false).await?;
    let finish = finish_pipeline(g, dim, false).await?;
    let per_chunk = g.rows_per_chunk(dim);
    let (readback, moved_reads, tail_reads) = g
        .scoped(|| {
            let data = Data::resident(g, win, per_chunk);
            let queries = g.query_rows(queries, win.data, &data.rows, dim, per_chunk);
            let sums = Rows::zeroed(g, "sums", &queries, dim + 2);
            let moved = Rows::zeroed(g, "moved", &queries, dim);
            let mut batch = Batch::new(g);
            sums_pipeline.record(g, &mut batch, &queries, &data, &sums);
            record_finish(g, &mut batch, &finish, &queries, &sums, &moved, None);
            let moved_reads = read_rows(&mut batch, &moved);
            // den and count: the last 2 values per row of each sums chunk.
            let tail_reads: Vec<usize> = sums
                .chunks
                .iter()
                .map(|c| {
                    batch.read(
                        &c.buffer,
                        (c.rows() * dim * 4) as u64,
                        (c.rows() * 2 * 4) as u64,
                    )
                })
                .collect();
            (batch.submit(), moved_reads, tail_reads)
        })
        .await?;
    let bytes = readback.wait(g).await?;
    let mut out = ShiftOutput {
        positions: gather(&bytes, &moved_reads),
        ..ShiftOutput::default()
    };
    for &i in &tail_reads {
        let tail = floats(&bytes[i]);
        let (den, count) = tail.split_at(tail.len() / 2);
        out.weight_sums.extend_from_slice(den);
        out.counts.extend_from_slice(count);
    }
    Ok(out)
}

/// `steps` blurring iterations from `win.data`, all in one submission with
/// one readback. The first step reads the resident data, the later ones
/// ping-pong between two sets of working buffers (the resident data is
/// never written). Each step's largest shift is found on the device; the
/// trajectory, when asked for, is copied out after every step within the
/// same submission.
pub(crate) async fn blur(
    g: &Gpu,
    win: &Window<'_>,
    steps: usize,
    record: bool,
) -> Result<BlurOutput> {
    let dim = win.dim;
    if steps == 0 || win.data.is_empty() {
        return Ok(BlurOutput {
            positions: win.data.to_vec(),
            ..BlurOutput::default()
        });
    }
    let sums_pipeline = Sums::new(g, win, false).await?;
    let finish = finish_pipeline(g, dim, true).await?;
    let per_chunk = g.rows_per_chunk(dim);
    let (readback, trajectory_reads, final_reads, largest_read) = g
        .scoped(|| {
            let mut current = Data::resident(g, win, per_chunk);
            let mut next = Rows::zeroed(g, "positions", &current.rows, dim);
            let sums = Rows::zeroed(g, "sums", &current.rows, dim + 2);
            let largest = storage(g, "largest squared shift", (steps * 4) as u64);
            let mut batch = Batch::new(g);
            let mut trajectory_reads = Vec::new();
            for step in 0..steps {
                let queries = current.rows.clone();
                sums_pipeline.record(g, &mut batch, &queries, &current, &sums);
                let slot = rows_u32(step);
                record_finish(
                    g,
                    &mut batch,
                    &finish,
                    &queries,
                    &sums,
                    &next,
                    Some((&largest, slot)),
                );
                if record {
                    trajectory_reads.push(read_rows(&mut batch, &next));
                }
                let read = std::mem::replace(&mut current.rows, next);
                next = if step == 0 && steps > 1 {
                    // `read` is the resident data: start the second set.
                    Rows::zeroed(g, "positions", &read, dim)
                } else {
                    // Written by the next step (never the resident data:
                    // after a single step there is none).
                    read
                };
            }
            let final_reads = (!record).then(|| read_rows(&mut batch, &current.rows));
            let largest_read = batch.read(&largest, 0, (steps * 4) as u64);
            (batch.submit(), trajectory_reads, final_reads, largest_read)
        })
        .await?;
    let bytes = readback.wait(g).await?;
    let trajectory: Vec<Vec<f32>> = trajectory_reads.iter().map(|r| gather(&bytes, r)).collect();
    let positions = match &final_reads {
        Some(r) => gather(&bytes, r),
        None => trajectory.last().cloned().unwrap_or_default(),
    };
    let max_shift = words(&bytes[largest_read])
        .into_iter()
        .map(|bits| f32::from_bits(bits).sqrt())
        .collect();
    Ok(BlurOutput {
        positions,
        max_shift,
        trajectory,
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
) -> Result<SeekOutput> {
    let dim = win.dim;
    if seeds.is_empty() {
        return Ok(SeekOutput::default());
    }
    let sums_pipeline = Sums::new(g, win, true).await?;
    let step = g
        .pipeline(Spec {
            stage: Stage::Seek,
            entry: "step",
            dim: dim_u32(dim)?,
            consts: Vec::new(),
            overrides: vec![("WG", g.workgroup_size())],
        })
        .await?;
    let per_chunk = g.rows_per_chunk(dim);
    let tol2 = tol_dist * tol_dist;
    let (data, positions, seed_source, sums, active) = g
        .scoped(|| {
            let data = Data::resident(g, win, per_chunk);
            // Seeds equal to resident rows (the data itself, by default)
            // are copied on the device into the positions that move.
            let seed_source = g.find_resident(seeds, dim, per_chunk);
            let positions = match &seed_source {
                Some(source) => Rows::zeroed(g, "seeds", source, dim),
                None => Rows::upload(g, "seeds", seeds, dim, per_chunk),
            };
            // The sums, then the seek state, whose zero is the start: 0
            // iterations, intensity 0, moving.
            let sums = Rows::zeroed(g, "sums and seek state", &positions, dim + 2 + SEEK_STATE);
            let active = storage(g, "seeds moving", STEPS_PER_BATCH * 4);
            (data, positions, seed_source, sums, active)
        })
        .await?;
    // Every seed stops within max_iter + 1 means.
    let total = u64::from(max_iter) + 1;
    let mut done = 0;
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
                    for (p, s) in positions.chunks.iter().zip(&sums.chunks) {
                        let params = StepParams {
                            query_rows: rows_u32(p.rows()),
                            max_iter,
                            tol2,
                            slot,
                            pad: [0; 4],
                        };
                        batch.dispatch(&step, params, &[&p.buffer, &s.buffer, &active], p.rows());
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
        if moving == 0 {
            break;
        }
    }
    let (readback, position_reads, state_reads): (Readback, _, _) = g
        .scoped(|| {
            let mut batch = Batch::new(g);
            let position_reads = read_rows(&mut batch, &positions);
            let state_reads: Vec<usize> = sums
                .chunks
                .iter()
                .map(|c| {
                    batch.read(
                        &c.buffer,
                        (c.rows() * (dim + 2) * 4) as u64,
                        (c.rows() * SEEK_STATE * 4) as u64,
                    )
                })
                .collect();
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::GpuOptions;
    use crate::kernel::Kernel;

    /// Cutting the data over many dispatches (a tiny work limit) continues
    /// the same index-order sums: the same bits as one dispatch. Skipped
    /// without an adapter; `tests/gpu_parity.rs` covers the rest.
    #[test]
    fn short_dispatches_give_the_same_bits() {
        let Ok(mut g) = pollster::block_on(Gpu::request(&GpuOptions::default(), true)) else {
            eprintln!("skipping: no GPU adapter");
            return;
        };
        let (n, dim) = (300, 3);
        let data: Vec<f32> = (0..n * dim)
            .map(|i| ((i * 7919) % 2003) as f32 / 100.0 - 10.0)
            .collect();
        let weights: Vec<f32> = (0..n).map(|i| (i % 7) as f32 / 3.0).collect();
        for kernel in Kernel::ALL {
            let win = Window {
                data: &data,
                weights: Some(&weights),
                dim,
                coeffs: KernelCoeffs::new(kernel, 4.0),
            };
            g.max_dispatch_work = u64::MAX;
            let whole = pollster::block_on(shift(&g, &win, &data)).unwrap();
            let blurred = pollster::block_on(blur(&g, &win, 2, false)).unwrap();
            g.max_dispatch_work = (n * dim * 5) as u64;
            let cut = pollster::block_on(shift(&g, &win, &data)).unwrap();
            assert_eq!(whole, cut, "{kernel}");
            assert_eq!(
                blurred,
                pollster::block_on(blur(&g, &win, 2, false)).unwrap(),
                "{kernel}"
            );
        }
    }
}
