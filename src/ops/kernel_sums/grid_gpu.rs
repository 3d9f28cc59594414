//! Kernel sums through the grid on a GPU (`shift_grid.wgsl`), with the
//! bits of the CPU twin (`grid.rs`).
//!
//! The host groups the queries by home cell and lists, per group, the
//! data rows in the 3^D cells around it, ascending (`Grid::home_cells`,
//! `Grid::around`: the CPU twin's very groups and lists); the device adds,
//! per query, its list's rows with the dense stage's per-row arithmetic,
//! each span's (`spans.rs`) from zero and the spans' sums in span order,
//! as the dense stage does (the dispatches' START and LAST flags,
//! [`dispatches`]). The same rows in the same order with the same
//! operations: the CPU twin's sums (which are the dense sums where the
//! rows left out weigh 0, see `grid.rs`). Where the CPU twin falls back to
//! every row (no grid, or a query beyond its reach), standard mode takes
//! the dense stage's sums (`gpu.rs`, [`Dense`]: the same rows in the same
//! order, with no list to fit one binding); blurring, whose grid is built
//! over the very points it moves (all within its reach), one list of all
//! rows where there is no grid.
//!
//! Standard mode steps on the host between passes, with the CPU twin's
//! arithmetic (`cpu.rs`, `seek`), regrouping the moving seeds every step,
//! so positions come back to the host each step. Blurring rebuilds the
//! grid over the moved points every iteration: on the device, the
//! positions kept there, where they fit one binding (`grid_resident.rs`,
//! the same sums); otherwise on the host, like standard mode
//! ([`blur_on_host`], the twin's `blur` and `shift` arithmetic). The lists
//! total about 3^D x N words; the queries go in parts whose sums and
//! lists fit one binding.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::cpu::{Climb, Sums};
use super::gpu::Dense;
use super::{BlurOutput, SeekOutput, Window, grid, spans};
use crate::cpu::map_indices;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{Alloc, Rows, words};
use crate::gpu::pipelines::{Access, COMMON, Const, Pipeline, Spec, Stage, StageDef};
use crate::gpu::plan::SpanLimits;
use crate::ops::chunking::rows_per_chunk;
use crate::ops::grid::cpu::Grid;
use crate::progress::{self, Watch};

/// The sums over listed rows: queries, data, weights, sums and lists.
pub(crate) const SHIFT_GRID: StageDef = StageDef {
    name: "shift_grid",
    sources: &[
        COMMON,
        super::gpu::KERNEL_WEIGHT,
        include_str!("shift_grid.wgsl"),
    ],
    storage: &[Access::Read, Access::Read, Access::Read, Access::ReadWrite],
    // num, den, cnt and the list's range per query; queries are packed in
    // parts of their own, not in the shared chunking.
    row_extra: 4,
    audited: false,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    query_rows: u32,
    chunk_base: u32,
    data_begin: u32,
    data_end: u32,
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    flags: u32,
}

/// `Params::flags`: the dispatch starts a span (the span before's partial
/// sums go to the totals first), or is the last (its span's go after).
pub(super) const START: u32 = 1;
pub(super) const LAST: u32 = 2;

/// Which sums a pass takes.
#[derive(Debug, Clone, Copy)]
struct Terms {
    sums: bool,
    count: bool,
}

/// Blurring: `num` and `den`; standard mode also the count.
const MOVE: Terms = Terms {
    sums: true,
    count: false,
};
const SEEK: Terms = Terms {
    sums: true,
    count: true,
};
/// Blurring's intensities: the count alone.
const COUNT: Terms = Terms {
    sums: false,
    count: true,
};

/// The pipeline for one window and set of terms, and how long one of its
/// dispatches may be.
struct Pass {
    pipeline: Arc<Pipeline>,
    coeffs: crate::kernel::KernelCoeffs,
    dim: usize,
    limits: SpanLimits,
}

impl Pass {
    async fn new(g: &Gpu, win: &Window<'_>, terms: Terms) -> Result<Self> {
        let dim = u32::try_from(win.dim)
            .map_err(|_| Error::Gpu(format!("dimension {} is too large", win.dim)))?;
        let pipeline = g
            .pipeline(Spec {
                stage: Stage(&SHIFT_GRID),
                entry: "accumulate",
                dim,
                consts: vec![
                    ("KERNEL", Const::U32(win.coeffs.kernel.shader_id())),
                    ("WEIGHTED", Const::Bool(win.weights.is_some())),
                    ("SUMS", Const::Bool(terms.sums)),
                    ("COUNT", Const::Bool(terms.count)),
                ],
                overrides: vec![("WG", g.workgroup_size())],
                rows_per_group: g.workgroup_size(),
            })
            .await?;
        // Loop iterations of one invocation, each loop's exit counted: per
        // listed row, the row loop and three loops over the coordinates;
        // besides, the binary search (at most 33 halvings of a u32 range),
        // loading and storing the query and its sums, and adding a span's
        // partial sums to the totals twice and zeroing them once.
        let d = u64::from(dim);
        let (per_row, fixed) = (3 * d + 4, 5 * d + 52);
        if !g.within_loop_budget(per_row, fixed) {
            return Err(Error::Gpu(format!(
                "dimension {dim}: one row of the grid's sums passes this adapter's loop budget"
            )));
        }
        Ok(Self {
            pipeline,
            coeffs: win.coeffs,
            dim: win.dim,
            limits: g.span_limits(per_row, fixed),
        })
    }
}

/// A window's data (and weights) on the device, in the shared chunking.
struct OnDevice {
    rows: Rows,
    weights: Option<Rows>,
}

/// Queries that add the same list of data rows (ascending indices).
struct Group {
    members: Vec<u32>,
    rows: Vec<u32>,
}

/// The CPU twin's groups (`grid::sums`): by home cell through `grid` where
/// it reaches every query, else all queries over every one of `n` rows.
fn groups(grid: Option<&Grid>, queries: &[f32], dim: usize, n: usize) -> Vec<Group> {
    match grid.filter(|g| g.covers(queries)) {
        Some(g) => {
            let homes = g.home_cells(queries);
            let lists = map_indices(homes.len(), |h| g.around(&homes[h].0));
            homes
                .into_iter()
                .zip(lists)
                .map(|((_, members), rows)| Group { members, rows })
                .collect()
        }
        None => {
            let m = queries.len() / dim;
            vec![Group {
                members: (0..m as u32).collect(),
                rows: (0..n as u32).collect(),
            }]
        }
    }
}

/// Members `range` of group `group`: part of one pass's queries.
type Slice = (usize, std::ops::Range<usize>);

/// The groups' queries packed into parts whose words (per query
/// `2 (dim + 2) + 2`: the totals, a span's partial sums and the list's
/// range; per group slice its list) fit in
/// `max_words`; a group too large for one part is split over several,
/// each with the whole list. An error where one list with one query does
/// not fit.
fn parts(groups: &[Group], dim: usize, max_words: usize) -> Result<Vec<Vec<Slice>>> {
    let per_query = 2 * (dim + 2) + 2;
    let mut out: Vec<Vec<Slice>> = Vec::new();
    let mut current: Vec<Slice> = Vec::new();
    let mut used = 0;
    for (g, group) in groups.iter().enumerate() {
        let list = group.rows.len();
        if list + per_query > max_words {
            return Err(Error::Gpu(format!(
                "the grid lists {list} data rows around one cell, more than a binding of {} words holds with its sums; use the CPU backend or a smaller bandwidth",
                max_words
            )));
        }
        let mut done = 0;
        while done < group.members.len() {
            if used + list + per_query > max_words {
                out.push(std::mem::take(&mut current));
                used = 0;
            }
            let take = ((max_words - used - list) / per_query).min(group.members.len() - done);
            current.push((g, done..done + take));
            used += list + take * per_query;
            done += take;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// Data rows `[start, end)` of each dispatch over one chunk (rows `chunk`)
/// for a part whose lists name row `j` `load[j]` times: within the work
/// and loop limits, and only spans some list names.
fn spans(
    load: &[u32],
    chunk: std::ops::Range<usize>,
    dim: usize,
    limits: SpanLimits,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut work) = (chunk.start, 0u64);
    for j in chunk.clone() {
        let add = u64::from(load[j]) * dim as u64;
        if j > start && (work + add > limits.max_work || j - start >= limits.max_rows) {
            if work > 0 {
                out.push(start..j);
            }
            (start, work) = (j, 0);
        }
        work += add;
    }
    if work > 0 {
        out.push(start..chunk.end);
    }
    out
}

/// The dispatches of a part over the data's `chunks` (their global rows,
/// `n` in all): the ranges [`spans()`] gives each chunk, cut at the dense
/// sums' span boundaries (`spans.rs`), in index order, each with its
/// chunk and flags (`Params::flags`).
fn dispatches(
    chunks: &[std::ops::Range<usize>],
    n: usize,
    load: &[u32],
    dim: usize,
    limits: SpanLimits,
) -> Vec<(usize, std::ops::Range<usize>, u32)> {
    let span_rows = spans::span_rows(n);
    let mut out: Vec<(usize, std::ops::Range<usize>, u32)> = Vec::new();
    for (c, chunk) in chunks.iter().enumerate() {
        for range in spans(load, chunk.clone(), dim, limits) {
            let mut start = range.start;
            while start < range.end {
                let end = range.end.min((start / span_rows + 1) * span_rows);
                let new_span = out
                    .last()
                    .is_none_or(|(_, r, _)| (r.start / span_rows) != start / span_rows);
                out.push((c, start..end, if new_span { START } else { 0 }));
                start = end;
            }
        }
    }
    if let Some(last) = out.last_mut() {
        last.2 |= LAST;
    }
    out
}

/// The window sums of `queries` (row-major) over the listed rows of
/// `data` (`n` rows), in query order.
async fn sums(
    g: &Gpu,
    pass: &Pass,
    data: &OnDevice,
    n: usize,
    groups: &[Group],
    queries: &[f32],
) -> Result<Sums> {
    let d = pass.dim;
    let m = queries.len() / d;
    let mut out = Sums {
        num: vec![0.0; m * d],
        den: vec![0.0; m],
        count: vec![0.0; m],
    };
    let max_words = usize::try_from(g.max_binding() / 4).unwrap_or(usize::MAX);
    let chunks: Vec<_> = data.rows.chunks.iter().map(|c| c.range.clone()).collect();
    for part in parts(groups, d, max_words)? {
        let members: Vec<u32> = part
            .iter()
            .flat_map(|(gi, r)| groups[*gi].members[r.clone()].iter().copied())
            .collect();
        let rows = members.len();
        let q: Vec<f32> = members
            .iter()
            .flat_map(|&i| &queries[i as usize * d..(i as usize + 1) * d])
            .copied()
            .collect();
        // Totals and partial sums (zero), ranges, lists; and how often
        // each row is listed.
        let range_at = 2 * (d + 2) * rows;
        let mut work = vec![0u32; range_at + 2 * rows];
        let mut load = vec![0u32; n];
        let mut at = 0;
        for (gi, r) in &part {
            let list = &groups[*gi].rows;
            let start = u32::try_from(work.len()).unwrap_or(u32::MAX);
            work.extend_from_slice(list);
            let end = u32::try_from(work.len()).unwrap_or(u32::MAX);
            for _ in r.clone() {
                work[range_at + 2 * at] = start;
                work[range_at + 2 * at + 1] = end;
                at += 1;
            }
            for &j in list {
                load[j as usize] += r.len() as u32;
            }
        }
        let arena = g.arena();
        let (readback, read) = g
            .scoped(|| {
                let query_buffer = arena.upload("grid queries", &q);
                let work_buffer = arena.upload("grid sums and lists", &work);
                let mut batch = Batch::new(g);
                for (c, span, flags) in dispatches(&chunks, n, &load, d, pass.limits) {
                    let chunk = &data.rows.chunks[c];
                    let weights = data
                        .weights
                        .as_ref()
                        .map_or(g.placeholder(), |w| &w.chunks[c].buffer);
                    let params = Params {
                        query_rows: rows as u32,
                        chunk_base: chunk.range.start as u32,
                        data_begin: span.start as u32,
                        data_end: span.end as u32,
                        h2: pass.coeffs.h2,
                        inv_h2: pass.coeffs.inv_h2,
                        exp2_coeff: pass.coeffs.exp2_coeff,
                        flags,
                    };
                    batch.dispatch(
                        &pass.pipeline,
                        params,
                        &[&query_buffer, &chunk.buffer, weights, &work_buffer],
                        rows,
                    );
                }
                let read = batch.read(&work_buffer, 0, ((d + 2) * rows * 4) as u64);
                (batch.submit(), read)
            })
            .await?;
        let bytes = readback.wait(g).await?;
        arena.finish();
        let got = words(&bytes[read]);
        let value = |w: usize| f32::from_bits(got[w]);
        for (at, &i) in members.iter().enumerate() {
            let i = i as usize;
            for k in 0..d {
                out.num[i * d + k] = value(at * d + k);
            }
            out.den[i] = value(d * rows + at);
            out.count[i] = value((d + 1) * rows + at);
        }
    }
    Ok(out)
}

/// `win`'s data and weights on the device: resident (kept between calls)
/// for data that stay put, in the call's own buffers for positions that
/// move.
async fn upload(g: &Gpu, win: &Window<'_>, moving: bool) -> Result<(OnDevice, usize)> {
    let per_chunk = rows_per_chunk(g, win.dim, &super::gpu::SHIFT);
    let rows = g
        .scoped(|| OnDevice {
            rows: match moving {
                true => Rows::upload(g, "grid positions", win.data, win.dim, per_chunk),
                false => g.resident("data", win.data, win.dim, per_chunk),
            },
            weights: win.weights.map(|w| g.resident("weights", w, 1, per_chunk)),
        })
        .await?;
    Ok((rows, win.data.len() / win.dim))
}

/// Blurring through the grid on a GPU: with the grid built on the device
/// and the positions kept there where they fit (`grid_resident.rs`),
/// else [`blur_on_host`].
pub(crate) async fn blur(
    g: &Gpu,
    win: &Window<'_>,
    steps: usize,
    record: bool,
    intensity: bool,
    watch: Watch<'_>,
) -> Result<BlurOutput> {
    match super::grid_resident::applies(g, win) {
        true => super::grid_resident::blur(g, win, steps, record, intensity, watch).await,
        false => blur_on_host(g, win, steps, record, intensity, watch).await,
    }
}

/// The CPU twin's `blur` (and, with `intensity`, its counts through a grid
/// of side `h`) with the sums on the device: the grid is rebuilt on the
/// host over the positions of every iteration, which come back each time.
async fn blur_on_host(
    g: &Gpu,
    win: &Window<'_>,
    steps: usize,
    record: bool,
    intensity: bool,
    watch: Watch<'_>,
) -> Result<BlurOutput> {
    let d = win.dim;
    let mut current = win.data.to_vec();
    let mut out = BlurOutput::default();
    let total = Some(steps as u64);
    watch.report(progress::Stage::Iterations, 0, total)?;
    if current.is_empty() {
        out.positions = current;
        return Ok(out);
    }
    let pass = Pass::new(g, win, MOVE).await?;
    for step in 0..steps {
        let at = Window {
            data: &current,
            ..*win
        };
        let (data, n) = upload(g, &at, true).await?;
        let groups = groups(grid::build(&at).as_ref(), &current, d, n);
        let s = sums(g, &pass, &data, n, &groups, &current).await?;
        let mut next = Vec::with_capacity(current.len());
        for (i, q) in current.chunks_exact(d).enumerate() {
            let den = s.den[i];
            if den > 0.0 {
                let num = &s.num[i * d..(i + 1) * d];
                next.extend(q.iter().zip(num).map(|(qk, n)| qk + n / den));
            } else {
                next.extend_from_slice(q);
            }
        }
        let largest2 = next
            .chunks_exact(d)
            .zip(current.chunks_exact(d))
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>())
            .fold(0.0f32, f32::max);
        out.max_shift.push(largest2.sqrt());
        current = next;
        if record {
            out.trajectory.push(current.clone());
        }
        watch.report(progress::Stage::Iterations, step as u64 + 1, total)?;
    }
    if intensity {
        out.counts = counts(g, win, &current).await?;
    }
    out.positions = current;
    Ok(out)
}

/// The CPU twin's counts at the end of blurring (`cpu::counts` through a
/// grid of side `h`) with the sums on the device: the sample weight of
/// `positions` within `h` of each of them.
pub(super) async fn counts(g: &Gpu, win: &Window<'_>, positions: &[f32]) -> Result<Vec<f32>> {
    let d = win.dim;
    let at = Window {
        data: positions,
        ..*win
    };
    let pass = Pass::new(g, win, COUNT).await?;
    let (data, n) = upload(g, &at, true).await?;
    let grid = Grid::build(positions, d, win.coeffs.h2);
    let groups = groups(grid.as_ref(), positions, d, n);
    Ok(sums(g, &pass, &data, n, &groups, positions).await?.count)
}

/// The CPU twin's `seek` with the sums on the device: one grid over the
/// data (which stay put), the moving seeds regrouped every step.
pub(crate) async fn seek(
    g: &Gpu,
    win: &Window<'_>,
    seeds: &[f32],
    tol_dist: f32,
    max_iter: u32,
    watch: Watch<'_>,
) -> Result<SeekOutput> {
    let d = win.dim;
    let mut climb = Climb::new(seeds, d, tol_dist, max_iter);
    let total = Some(climb.seeds() as u64);
    watch.report(progress::Stage::Climbing, 0, total)?;
    if climb.seeds() == 0 {
        return Ok(SeekOutput::default());
    }
    let grid = match grid::build(win) {
        Some(grid) => {
            let pass = Pass::new(g, win, SEEK).await?;
            let (data, n) = upload(g, win, false).await?;
            Some((grid, pass, data, n))
        }
        None => None,
    };
    // Made at the first step that needs it: most calls never do.
    let mut dense: Option<Dense> = None;
    while let Some(queries) = climb.queries() {
        let step = match grid.as_ref().filter(|(grid, ..)| grid.covers(&queries)) {
            Some((grid, pass, data, n)) => {
                let groups = groups(Some(grid), &queries, d, *n);
                sums(g, pass, data, *n, &groups, &queries).await?
            }
            // No grid, or a seed beyond its reach: the twin's fallback
            // (`cpu::window_sums`), every query of the step over every row,
            // each span's rows in index order from zero and the spans' sums
            // in span order (`cpu::piece_sums` over `cpu::span_windows`).
            // That is the dense stage's order (`shift.wgsl`, whose twin is
            // that very loop) and the one the grid's stage takes over a
            // list of every row (the dispatches' START and LAST flags cut
            // the list at the same span boundaries); both stages weigh a
            // row with the same expression (`kernel_weight.wgsl`). The same
            // rows, order and operations, so the same bits: the twin's
            // where the device computes as the host does, for rows of up
            // to 32 coordinates (the dense stage's whole-query strategy;
            // a fit asks for a grid only up to 4 coordinates). And no list
            // of every row, which had to fit one binding.
            None => {
                let ready = match dense.take() {
                    Some(ready) => ready,
                    None => Dense::new(g, win, climb.seeds()).await?,
                };
                let step = ready.sums(g, &queries).await;
                dense = Some(ready);
                step?
            }
        };
        climb.step(&step);
        watch.report(progress::Stage::Climbing, climb.settled() as u64, total)?;
    }
    Ok(climb.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Context, test_gpu};
    use crate::gpu::options::GpuOptions;
    use crate::gpu::pipelines::validate;
    use crate::kernel::{Kernel, KernelCoeffs};
    use crate::ops::kernel_sums::{self, SeekStatus, grid::exact_support2};

    /// Seeded values in `[0, 1)`.
    fn unit(n: usize, seed: u64) -> Vec<f32> {
        crate::test_data::uniform(n, 0.0, 1.0, seed)
    }

    /// `n` points in three clumps and a sprinkle, `offset` from the origin
    /// in every coordinate, and seeded weights in [0.5, 1.5).
    fn points(n: usize, dim: usize, offset: f32) -> (Vec<f32>, Vec<f32>) {
        let u = unit(n * dim, dim as u64 * 1000 + n as u64);
        let data = u
            .chunks_exact(dim)
            .enumerate()
            .flat_map(|(i, x)| {
                let centre = [0.0f32, 6.0, -5.0, 20.0][i % 4];
                let spread = if i % 4 == 3 { 20.0 } else { 2.0 };
                x.iter()
                    .map(move |v| offset + centre + spread * (v - 0.5))
                    .collect::<Vec<_>>()
            })
            .collect();
        let weights = unit(n, 7).iter().map(|v| 0.5 + v).collect();
        (data, weights)
    }

    fn run(ctx: &Context, win: &Window<'_>, seeds: &[f32]) -> (BlurOutput, SeekOutput) {
        let blurred =
            pollster::block_on(kernel_sums::blur(ctx, win, 3, true, true, Watch::default()))
                .unwrap();
        let sought = pollster::block_on(kernel_sums::seek(
            ctx,
            win,
            seeds,
            1e-4,
            20,
            Watch::default(),
        ))
        .unwrap();
        (blurred, sought)
    }

    /// Largest difference between two runs' positions (blurring's last,
    /// standard mode's).
    fn apart(a: &(BlurOutput, SeekOutput), b: &(BlurOutput, SeekOutput)) -> f32 {
        let pairs = a.0.positions.iter().zip(&b.0.positions);
        pairs
            .chain(a.1.positions.iter().zip(&b.1.positions))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// The device's sums through the grid against the CPU twin's: D 1 to
    /// 4, every kernel, the gaussian cut and uncut, weighted or not, data
    /// near and far from the origin, and, with a small binding, queries
    /// split over parts and data over chunks (the same bits as one part).
    /// The compact kernels give the twin's bits and the device's dense
    /// bits. The gaussian's `exp2` is the device's (as in the dense stage,
    /// a few ulp from the twin's polynomial: see `tests/gpu_parity.rs`):
    /// uncut, the device's dense bits; cut, close to the twin.
    #[test]
    fn device_grid_sums_are_the_twins_bits() {
        let Some(gpu) = test_gpu() else { return };
        let small = GpuOptions {
            max_binding_bytes: Some(1 << 12),
            ..GpuOptions::default()
        };
        let split = Context::gpu_with(&small).expect("a second GPU context");
        let cpu = Context::cpu();
        let h = 1.5;
        for dim in 1..=4 {
            for offset in [0.0, 3e3] {
                let (data, weights) = points(300, dim, offset);
                let mut seeds = data[..40 * dim].to_vec();
                seeds.extend(vec![offset + 1.0; dim]);
                for kernel in Kernel::ALL {
                    let coeffs = KernelCoeffs::new(kernel, h);
                    let mut supports = vec![(exact_support2(&coeffs), true)];
                    if kernel == Kernel::Gaussian {
                        supports.push(((3.0 * h) * (3.0 * h), false));
                    }
                    for (support2, exact) in supports {
                        for weighted in [false, true] {
                            let win = Window {
                                data: &data,
                                weights: weighted.then_some(&weights[..]),
                                dim,
                                coeffs,
                                grid: Some(support2),
                                expanded: false,
                            };
                            let case = format!(
                                "D {dim}, offset {offset}, {kernel}, support {support2}, weighted {weighted}"
                            );
                            assert!(grid::build(&win).is_some(), "{case}");
                            let got = run(&gpu, &win, &seeds);
                            assert_eq!(run(&split, &win, &seeds), got, "{case}, split");
                            let dense = Window { grid: None, ..win };
                            if exact {
                                assert_eq!(run(&gpu, &dense, &seeds), got, "{case}, dense");
                            }
                            let twin = run(&cpu, &win, &seeds);
                            if kernel == Kernel::Gaussian {
                                let far = apart(&got, &twin);
                                assert!(far <= 1e-4 * (20.0 + h), "{case}: {far}");
                            } else {
                                assert_eq!(got, twin, "{case}, twin");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Blurring with the grid rebuilt on the device gives the host
    /// rebuild's bits (the same sums; the finish's division on the device,
    /// which on lavapipe is the host's): every kernel, the gaussian cut and
    /// uncut, weighted or not, D 1 to 4, with the trajectory and the
    /// intensities; and, on llvmpipe, whose loop budget cuts D = 4's
    /// dispatches at 478 rows, each of the 5 spans of 800 rows of its 4000
    /// points in two dispatches (the second continuing the first's
    /// partial sums).
    #[test]
    fn the_device_rebuild_gives_the_host_rebuilds_bits() {
        let Some(ctx) = test_gpu() else { return };
        let crate::context::Inner::Gpu(g) = ctx.inner() else {
            unreachable!("a GPU context")
        };
        for dim in 1..=4 {
            let n = if dim == 4 { 4000 } else { 400 };
            let (data, weights) = points(n, dim, 50.0);
            for kernel in Kernel::ALL {
                let coeffs = KernelCoeffs::new(kernel, 1.5);
                for support2 in [exact_support2(&coeffs), 20.25] {
                    for weighted in [false, true] {
                        let win = Window {
                            data: &data,
                            weights: weighted.then_some(&weights[..]),
                            dim,
                            coeffs,
                            grid: Some(support2),
                            expanded: false,
                        };
                        let case = format!("D {dim}, {kernel}, {support2}, weighted {weighted}");
                        assert!(super::super::grid_resident::applies(g, &win), "{case}");
                        let blur = |on_device: bool| {
                            let run = async {
                                match on_device {
                                    true => blur(g, &win, 3, true, true, Watch::default()).await,
                                    false => {
                                        blur_on_host(g, &win, 3, true, true, Watch::default()).await
                                    }
                                }
                            };
                            pollster::block_on(run).unwrap()
                        };
                        let device = blur(true);
                        assert_eq!(device, blur(false), "{case}");
                        assert_eq!(device.trajectory.len(), 3, "{case}");
                    }
                }
            }
        }
    }

    /// A seed beyond the grid's reach: that step's sums go over every row
    /// (the twin's fallback), on the device through the dense stage, with
    /// the twin's bits.
    #[test]
    fn seeds_beyond_reach_take_the_dense_sums() {
        let Some(gpu) = test_gpu() else { return };
        let (data, _) = points(200, 2, 0.0);
        let coeffs = KernelCoeffs::new(Kernel::Epanechnikov, 4.0);
        let win = Window {
            data: &data,
            weights: None,
            dim: 2,
            coeffs,
            grid: Some(16.0),
            expanded: false,
        };
        let seeds = [0.0, 0.0, 1e4, 1e4];
        let grid = grid::build(&win).unwrap();
        assert!(grid.covers(&seeds[..2]) && !grid.covers(&seeds));
        let twin = run(&Context::cpu(), &win, &seeds).1;
        assert_eq!(twin.status[1], SeekStatus::Dropped);
        assert_eq!(run(&gpu, &win, &seeds).1, twin);
    }

    /// Standard mode alone, as [`run`] takes it.
    fn seek_on(ctx: &Context, win: &Window<'_>, seeds: &[f32]) -> SeekOutput {
        let sought = kernel_sums::seek(ctx, win, seeds, 1e-4, 20, Watch::default());
        pollster::block_on(sought).unwrap()
    }

    /// A context whose bindings hold 4 KiB (1024 words).
    fn small_bindings() -> Context {
        let small = GpuOptions {
            max_binding_bytes: Some(1 << 12),
            ..GpuOptions::default()
        };
        Context::gpu_with(&small).expect("a second GPU context")
    }

    /// Whether a list of every one of `win`'s rows for `seeds` passes a
    /// binding of 1024 words: the grid's stage refuses it there.
    fn every_row_refused(win: &Window<'_>, seeds: &[f32]) -> bool {
        let every_row = groups(None, seeds, win.dim, win.data.len() / win.dim);
        parts(&every_row, win.dim, 1024).is_err()
    }

    /// With bindings too small for a list of every row, a first step with
    /// a seed beyond the grid's reach (every query over every row, as the
    /// twin falls back) and the later ones through the grid (2000 points
    /// spread over a 100 x 100 square, a few rows around each cell) give
    /// the twin's bits.
    #[test]
    fn seeds_beyond_reach_need_no_list_of_every_row() {
        let Some(gpu) = test_gpu() else { return };
        let data: Vec<f32> = unit(2000 * 2, 11).iter().map(|v| 100.0 * v).collect();
        let weights: Vec<f32> = unit(2000, 12).iter().map(|v| 0.5 + v).collect();
        let coeffs = KernelCoeffs::new(Kernel::Epanechnikov, 2.0);
        let win = Window {
            data: &data,
            weights: Some(&weights),
            dim: 2,
            coeffs,
            grid: Some(exact_support2(&coeffs)),
            expanded: false,
        };
        let mut seeds = data[..30 * 2].to_vec();
        seeds.extend([1e4, 1e4]);
        let grid = grid::build(&win).unwrap();
        assert!(grid.covers(&seeds[..60]) && !grid.covers(&seeds));
        assert!(every_row_refused(&win, &seeds));
        let twin = seek_on(&Context::cpu(), &win, &seeds);
        assert_eq!(twin.status[30], SeekStatus::Dropped);
        assert!(twin.iterations.iter().any(|&i| i > 1), "{twin:?}");
        let small = small_bindings();
        assert_eq!(seek_on(&small, &win, &seeds), twin, "4 KiB bindings");
        assert_eq!(seek_on(&gpu, &win, &seeds), twin);
    }

    /// A window that asks for a grid where none applies (five
    /// coordinates): every step through the dense stage, bindings too
    /// small for a list of every row included, weighted or not. A compact
    /// kernel gives the twin's bits; the gaussian (whose `exp2` is the
    /// device's) the device's dense bits, close to the twin's.
    #[test]
    fn without_a_grid_every_step_takes_the_dense_sums() {
        let Some(gpu) = test_gpu() else { return };
        let small = small_bindings();
        let (data, weights) = points(1500, 5, 0.0);
        let seeds = &data[..20 * 5];
        for kernel in [Kernel::Epanechnikov, Kernel::Gaussian] {
            let coeffs = KernelCoeffs::new(kernel, 3.0);
            for weighted in [false, true] {
                let win = Window {
                    data: &data,
                    weights: weighted.then_some(&weights[..]),
                    dim: 5,
                    coeffs,
                    grid: Some(exact_support2(&coeffs)),
                    expanded: false,
                };
                let case = format!("{kernel}, weighted {weighted}");
                assert!(grid::build(&win).is_none(), "{case}");
                assert!(every_row_refused(&win, seeds), "{case}");
                let got = seek_on(&gpu, &win, seeds);
                assert!(got.iterations.iter().any(|&i| i > 1), "{case}: {got:?}");
                assert_eq!(seek_on(&small, &win, seeds), got, "{case}, 4 KiB bindings");
                let twin = seek_on(&Context::cpu(), &win, seeds);
                if kernel == Kernel::Gaussian {
                    let dense = Window { grid: None, ..win };
                    assert_eq!(seek_on(&gpu, &dense, seeds), got, "{case}, dense");
                    let far = got
                        .positions
                        .iter()
                        .zip(&twin.positions)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max);
                    assert!(far <= 1e-4 * 20.0, "{case}: {far}");
                } else {
                    assert_eq!(got, twin, "{case}, twin");
                }
            }
        }
    }

    fn group(members: usize, rows: usize) -> Group {
        Group {
            members: (0..members as u32).collect(),
            rows: (0..rows as u32).collect(),
        }
    }

    #[test]
    fn parts_fit_a_binding_and_split_large_groups() {
        // D 2: 10 words per query. 100 words: a group of 10 rows takes 9
        // queries (10 + 9 x 10 = 100).
        let groups = [group(20, 10), group(2, 30), group(1, 85)];
        assert_eq!(
            parts(&groups, 2, 100).unwrap(),
            vec![
                vec![(0, 0..9)],
                vec![(0, 9..18)],
                vec![(0, 18..20), (1, 0..2)],
                vec![(2, 0..1)],
            ]
        );
        // A list that does not fit with one query is an error, not cut.
        let err = parts(&[group(1, 91)], 2, 100).unwrap_err();
        assert!(err.to_string().contains("91 data rows"), "{err}");
    }

    #[test]
    fn spans_bound_work_and_rows_and_skip_unlisted_rows() {
        let load = [0, 0, 3, 1, 0, 0, 0, 2, 2, 0];
        let limits = SpanLimits {
            max_work: 8,
            max_rows: 3,
        };
        // D 2: row 2 weighs 6, row 3 2, rows 7 and 8 4 each. Cut at three
        // rows, the last span (row 9) unlisted.
        assert_eq!(spans(&load, 0..10, 2, limits), vec![0..3, 3..6, 6..9]);
        let work = SpanLimits {
            max_work: 8,
            max_rows: usize::MAX,
        };
        assert_eq!(spans(&load, 0..10, 2, work), vec![0..7, 7..10]);
        assert_eq!(
            spans(&load, 4..7, 2, limits),
            Vec::<std::ops::Range<usize>>::new()
        );
        let wide = SpanLimits {
            max_work: u64::MAX,
            max_rows: usize::MAX,
        };
        assert_eq!(spans(&load, 0..10, 2, wide), vec![0..10]);
    }

    /// The dispatches start each span of the dense sums (N = 300: spans
    /// of 75 rows) once, at its first dispatch; a span continued past a
    /// cut by the work limit or across the chunks' edge is not started
    /// again; only the last dispatch ends the sums.
    #[test]
    fn dispatches_start_each_span_once_and_end_the_last() {
        // Listed rows (D 2: 2 terms each, 12 at most per dispatch) in
        // spans 0, 2 and 3, the last across the chunks' edge at 256.
        let mut load = vec![0u32; 300];
        for j in (10..20).chain(160..170).chain(250..262) {
            load[j] = 1;
        }
        let limits = SpanLimits {
            max_work: 12,
            max_rows: usize::MAX,
        };
        let got = dispatches(&[0..256, 256..300], 300, &load, 2, limits);
        assert_eq!(
            got,
            vec![
                (0, 0..16, START),
                (0, 16..75, 0),
                (0, 75..150, START),
                (0, 150..162, START),
                (0, 162..168, 0),
                (0, 168..225, 0),
                (0, 225..254, START),
                (0, 254..256, 0),
                (1, 256..300, LAST),
            ]
        );
    }

    #[test]
    fn the_stage_validates() {
        for dim in 1..=4 {
            for kernel in 0..4 {
                for weighted in [false, true] {
                    for terms in [MOVE, SEEK, COUNT] {
                        let consts = [
                            ("KERNEL", Const::U32(kernel)),
                            ("WEIGHTED", Const::Bool(weighted)),
                            ("SUMS", Const::Bool(terms.sums)),
                            ("COUNT", Const::Bool(terms.count)),
                        ];
                        validate(&SHIFT_GRID, dim, "accumulate", &consts, &[("WG", 64)]);
                    }
                }
            }
        }
    }
}
