//! Blurring through a grid rebuilt on the device every iteration, the
//! positions kept there (`shift_grid_runs.wgsl`, `grid_bounds.wgsl`; the
//! grid: `ops/grid/gpu.rs`).
//!
//! Each iteration is one submission: the grid's build over the current
//! positions (`GridBuilder`, the CPU grid's buffers to the bit), the sums
//! of every point over the runs around its cell merged in index order
//! (`Grid::around`'s rows: `grid_gpu.rs`'s sums, bit for bit), the dense
//! stage's finish (`shift_finish.wgsl`), and the moved points' bounds.
//! Where the points are many enough that the sums' dispatches could pass
//! the device's work limit (blurring draws a cluster's points together, so
//! a point's neighbours grow towards its cluster), the build and a count
//! of the most rows any point visits (`grid_most.wgsl`, one word read
//! back) go first in a submission of their own, and the sums' dispatches
//! take only as many points as keep them within the limit. The sums serve
//! the points in the grid's order (a dispatch takes a range of it), so
//! that neighbouring invocations belong to one cell and walk the same
//! runs; each point's sums are still its own, in its own order. Only
//! the bounds come back between iterations (2 D words): the host makes the
//! next grid's cells from them (`Cells::new`, which reads nothing else of
//! the points, so the cells are the CPU twin's). Where the points do not
//! fit one binding, or the device allows too few storage buffers, the
//! blurring of `grid_gpu.rs` (the grid rebuilt on the host) runs instead.

use std::ops::Range;

use bytemuck::{Pod, Zeroable};

use super::gpu::row_pipeline;
use super::grid_gpu::{self, LAST, START};
use super::{BlurOutput, Window, spans};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{Alloc, gather, words};
use crate::gpu::pipelines::{Access, COMMON, Const, StageDef};
use crate::gpu::plan;
use crate::ops::grid::cpu::Cells;
use crate::ops::grid::gpu::{CELLS_WGSL, GridBuilder, RUNS_WGSL};
use crate::progress::{self, Watch};

/// The sums over the grid's runs: positions, weights, the grid's order,
/// keys, starts and header, sums.
pub(crate) const SHIFT_GRID_RUNS: StageDef = StageDef {
    name: "shift_grid_runs",
    sources: &[
        COMMON,
        CELLS_WGSL,
        RUNS_WGSL,
        super::gpu::KERNEL_WEIGHT,
        include_str!("shift_grid_runs.wgsl"),
    ],
    storage: &[
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
    row_extra: 1,
    audited: false,
};

/// The most rows a point's sums visit: positions, the grid's keys, starts
/// and header, the largest total.
pub(crate) const GRID_MOST: StageDef = StageDef {
    name: "grid_most",
    sources: &[
        COMMON,
        CELLS_WGSL,
        RUNS_WGSL,
        include_str!("grid_most.wgsl"),
    ],
    storage: &[
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
    row_extra: 0,
    audited: false,
};

/// The points' bounds: positions, bounds.
pub(crate) const GRID_BOUNDS: StageDef = StageDef {
    name: "grid_bounds",
    sources: &[COMMON, include_str!("grid_bounds.wgsl")],
    storage: &[Access::Read, Access::ReadWrite],
    row_extra: 0,
    audited: false,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RunsParams {
    query_rows: u32,
    data_begin: u32,
    data_end: u32,
    flags: u32,
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    query_first: u32,
    query_end: u32,
    pad: [u32; 3],
}

/// `shift_finish.wgsl`'s parameters.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct FinishParams {
    query_rows: u32,
    slot: u32,
    pad: [u32; 6],
}

/// `grid_bounds.wgsl`'s and `grid_most.wgsl`'s parameters.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RowsParams {
    rows: u32,
    pad: [u32; 7],
}

/// The points whose sums one dispatch adds (a range of the grid's order):
/// as many as keep `points x most x dim` terms within `max_work`, where a
/// point visits at most `most` rows; at least 1, at most `n`. Cutting the
/// points never changes a bit: each point's sums are its own.
fn points_per_dispatch(n: usize, most: u64, dim: usize, max_work: u64) -> usize {
    let per_point = most.max(1).saturating_mul(dim as u64);
    usize::try_from(max_work / per_point)
        .unwrap_or(usize::MAX)
        .clamp(1, n.max(1))
}

/// The data rows of an iteration's sums, dispatch by dispatch: each span
/// of the dense sums (`spans.rs`) cut at `max_rows` (the loop budget), in
/// order, with its flags (`shift_grid_runs.wgsl`): START on a span's
/// first dispatch, LAST on the last of all.
fn row_dispatches(n: usize, max_rows: usize) -> Vec<(Range<usize>, u32)> {
    let mut out: Vec<(Range<usize>, u32)> = spans::ranges(n)
        .flat_map(|s| {
            plan::chunks(s.len(), max_rows)
                .enumerate()
                .map(move |(i, r)| {
                    let flags = if i == 0 { START } else { 0 };
                    (s.start + r.start..s.start + r.end, flags)
                })
        })
        .collect();
    if let Some(last) = out.last_mut() {
        last.1 |= LAST;
    }
    out
}

/// Whether blurring `win` (through a grid) runs here: its points, their
/// sums (totals and a span's partial sums) and the grid's buffers each fit
/// one binding, and the device allows the sums' storage buffers.
pub(super) fn applies(g: &Gpu, win: &Window<'_>) -> bool {
    let n = (win.data.len() / win.dim.max(1)) as u64;
    let widest = 4 * (n + 1).max(2 * n * (win.dim as u64 + 1));
    n > 0
        && widest <= g.max_binding()
        && g.limits.max_storage_buffers_per_shader_stage >= SHIFT_GRID_RUNS.storage.len() as u32
}

/// The value of an order-preserving word of `grid_bounds.wgsl`.
fn unordered(w: u32) -> f32 {
    f32::from_bits(if w & 0x8000_0000 != 0 {
        w & 0x7fff_ffff
    } else {
        !w
    })
}

/// The cells `Cells::new` makes for points with these bounds (`bounds`
/// as `grid_bounds.wgsl` leaves them): it reads only each coordinate's
/// smallest and largest value, so two rows holding them give the cells of
/// all the points.
fn cells_from_bounds(bounds: &[u32], dim: usize, support2: f32) -> Option<Cells> {
    let lo = bounds[..dim].iter().map(|&w| unordered(!w));
    let hi = bounds[dim..2 * dim].iter().map(|&w| unordered(w));
    let rows: Vec<f32> = lo.chain(hi).collect();
    Cells::new(&rows, dim, support2)
}

/// [`grid_gpu::blur`]'s iterations with the grid and the positions on the
/// device (see the module's comment); the same sums, so the same bits
/// where the device's division is the host's (the finish is the dense
/// stage's, on the device).
pub(super) async fn blur(
    g: &Gpu,
    win: &Window<'_>,
    steps: usize,
    record: bool,
    intensity: bool,
    watch: Watch<'_>,
) -> Result<BlurOutput> {
    let d = win.dim;
    let n = win.data.len() / d;
    let total = Some(steps as u64);
    watch.report(progress::Stage::Iterations, 0, total)?;
    let support2 = win
        .grid
        .ok_or_else(|| Error::Gpu("blurring through a grid without its radius".into()))?;
    let Some(mut cells) = Cells::new(win.data, d, support2) else {
        return Err(Error::Gpu("no grid for these points".into()));
    };
    let dim = u32::try_from(d).map_err(|_| Error::Gpu(format!("dimension {d}")))?;
    let around = 3u32.pow(dim);
    let builder = GridBuilder::new(g, d).await?;
    let runs = row_pipeline(
        g,
        &SHIFT_GRID_RUNS,
        "accumulate",
        dim,
        vec![
            ("AROUND", Const::U32(around)),
            ("KERNEL", Const::U32(win.coeffs.kernel.shader_id())),
            ("WEIGHTED", Const::Bool(win.weights.is_some())),
        ],
    )
    .await?;
    let finish = row_pipeline(g, &super::gpu::SHIFT_FINISH, "finish", dim, Vec::new()).await?;
    let bounds_of = row_pipeline(g, &GRID_BOUNDS, "bounds_of", dim, Vec::new()).await?;
    let most_rows = row_pipeline(
        g,
        &GRID_MOST,
        "most_rows",
        dim,
        vec![("AROUND", Const::U32(around))],
    )
    .await?;
    // Loop iterations of one invocation, each loop's exit counted: per
    // row, the scan over the runs and the three loops over coordinates;
    // besides, finding the runs (per cell: its coordinates, the distinct
    // keys seen, a binary search), skipping into each and reading its
    // first index, loading the point, loading and storing the sums, and
    // adding a span's partial sums to the totals twice and zeroing them
    // once. The rows a point visits follow its neighbours, not the
    // dispatch's rows, so this budget cuts a dispatch's rows and the work
    // limit its points (`points_per_dispatch`).
    let (a, dd) = (u64::from(around), u64::from(dim));
    let per_row = a + 2 + 3 * dd + 4;
    let fixed = a * (dd + a + 36) + a * 34 + 6 * dd + 12;
    if !g.within_loop_budget(per_row, fixed) {
        return Err(Error::Gpu(format!(
            "dimension {d}: the grid's sums pass this adapter's loop budget"
        )));
    }
    let limits = g.span_limits(per_row, fixed);
    let rows = row_dispatches(n, limits.max_rows);
    // Where every point visiting every row stays within the work limit,
    // one dispatch takes all the points; otherwise each iteration first
    // reads back the most rows a point visits (a submission of its own)
    // and cuts the points by it.
    let measure = (n as u64).saturating_mul(n as u64).saturating_mul(d as u64) > limits.max_work;
    let arena = g.arena();
    let (mut current, mut next, sums, largest, bounds, most, weights, mut grid) = g
        .scoped(|| {
            (
                arena.upload("grid positions", win.data),
                arena.storage("grid positions", (n * d * 4) as u64),
                // Totals and a span's partial sums.
                arena.storage("grid sums", (2 * n * (d + 1) * 4) as u64),
                arena.storage("largest squared shift", (steps.max(1) * 4) as u64),
                arena.storage("grid bounds", (2 * d * 4) as u64),
                arena.storage("most rows visited", 4),
                win.weights.map(|w| arena.upload("grid weights", w)),
                builder.grid(g, n, cells),
            )
        })
        .await?;
    let mut trajectory = Vec::new();
    for step in 0..steps {
        let mut points = n;
        let mut built = false;
        if measure {
            let readback = g
                .scoped(|| {
                    let mut batch = Batch::new(g);
                    builder.record(&mut batch, &current, cells, &mut grid);
                    batch.clear(&most);
                    let params = RowsParams {
                        rows: n as u32,
                        pad: [0; 7],
                    };
                    batch.dispatch(
                        &most_rows,
                        params,
                        &[&current, grid.keys(), grid.starts(), grid.header(), &most],
                        n,
                    );
                    batch.read(&most, 0, 4);
                    batch.submit()
                })
                .await?;
            let visited = words(&readback.wait(g).await?[0])[0];
            points = points_per_dispatch(n, u64::from(visited), d, limits.max_work);
            built = true;
        }
        let (readback, trajectory_read, bounds_read) = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                if !built {
                    builder.record(&mut batch, &current, cells, &mut grid);
                }
                batch.clear(&sums);
                // Each point's dispatches go over `rows` in order (the
                // points cut by the work limit, if at all, outside: ranges
                // of the grid's order, `shift_grid_runs.wgsl`).
                for sorted in plan::chunks(n, points) {
                    for (span, flags) in &rows {
                        let params = RunsParams {
                            query_rows: n as u32,
                            data_begin: span.start as u32,
                            data_end: span.end as u32,
                            flags: *flags,
                            h2: win.coeffs.h2,
                            inv_h2: win.coeffs.inv_h2,
                            exp2_coeff: win.coeffs.exp2_coeff,
                            query_first: sorted.start as u32,
                            query_end: sorted.end as u32,
                            pad: [0; 3],
                        };
                        batch.dispatch(
                            &runs,
                            params,
                            &[
                                &current,
                                weights.as_ref().unwrap_or(g.placeholder()),
                                grid.order(),
                                grid.keys(),
                                grid.starts(),
                                grid.header(),
                                &sums,
                            ],
                            sorted.len(),
                        );
                    }
                }
                let params = FinishParams {
                    query_rows: n as u32,
                    slot: step as u32,
                    pad: [0; 6],
                };
                batch.dispatch(&finish, params, &[&current, &sums, &next, &largest], n);
                let trajectory_read = record.then(|| batch.read(&next, 0, (n * d * 4) as u64));
                batch.clear(&bounds);
                let params = RowsParams {
                    rows: n as u32,
                    pad: [0; 7],
                };
                batch.dispatch(&bounds_of, params, &[&next, &bounds], n);
                let bounds_read = batch.read(&bounds, 0, (2 * d * 4) as u64);
                (batch.submit(), trajectory_read, bounds_read)
            })
            .await?;
        let bytes = readback.wait(g).await?;
        if let Some(r) = trajectory_read {
            trajectory.push(gather(&bytes, &[r]));
        }
        cells = cells_from_bounds(&words(&bytes[bounds_read]), d, support2)
            .ok_or_else(|| Error::Gpu("no grid for the moved points".into()))?;
        std::mem::swap(&mut current, &mut next);
        watch.report(progress::Stage::Iterations, step as u64 + 1, total)?;
    }
    let (readback, positions_read, largest_read) = g
        .scoped(|| {
            let mut batch = Batch::new(g);
            let positions_read = batch.read(&current, 0, (n * d * 4) as u64);
            let largest_read = batch.read(&largest, 0, (steps * 4) as u64);
            (batch.submit(), positions_read, largest_read)
        })
        .await?;
    let bytes = readback.wait(g).await?;
    arena.finish();
    let positions = gather(&bytes, &[positions_read]);
    let max_shift = words(&bytes[largest_read])
        .into_iter()
        .take(steps)
        .map(|bits| f32::from_bits(bits).sqrt())
        .collect();
    let counts = match intensity {
        true => grid_gpu::counts(g, win, &positions).await?,
        false => Vec::new(),
    };
    Ok(BlurOutput {
        positions,
        max_shift,
        trajectory,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::validate;
    use crate::kernel::{Kernel, KernelCoeffs};

    /// The order-preserving words of `grid_bounds.wgsl`, as the shader
    /// makes them.
    fn ordered(v: f32) -> u32 {
        let b = v.to_bits();
        if b & 0x8000_0000 != 0 {
            !b
        } else {
            b | 0x8000_0000
        }
    }

    #[test]
    fn bounds_give_the_cells_of_all_the_points() {
        let values = [-3.5f32, -0.0, 0.0, 1e-30, -1e-30, 2.25, 7e3, -7e3];
        let mut sorted = values.to_vec();
        sorted.sort_by(f32::total_cmp);
        for w in sorted.windows(2) {
            assert!(ordered(w[0]) <= ordered(w[1]), "{w:?}");
        }
        for v in values {
            assert_eq!(unordered(ordered(v)).to_bits(), v.to_bits());
        }
        // Two coordinates: the shader's words after all points.
        let points = [1.0f32, -2.0, 3.5, 0.25, -4.0, 9.0, 0.5, 0.5];
        let mut bounds = [0u32; 4];
        for x in points.chunks_exact(2) {
            for (a, &v) in x.iter().enumerate() {
                bounds[a] = bounds[a].max(!ordered(v));
                bounds[2 + a] = bounds[2 + a].max(ordered(v));
            }
        }
        let from_bounds = cells_from_bounds(&bounds, 2, 0.3).unwrap();
        let from_points = Cells::new(&points, 2, 0.3).unwrap();
        assert_eq!(from_bounds.origin(), from_points.origin());
        assert_eq!(from_bounds.inv(), from_points.inv());
        for x in points.chunks_exact(2) {
            assert_eq!(from_bounds.cell(x), from_points.cell(x));
        }
    }

    #[test]
    fn row_dispatches_start_each_span_once_and_end_the_last() {
        // 300 rows: 4 spans of 75, each cut after 40 rows.
        assert_eq!(
            row_dispatches(300, 40),
            vec![
                (0..40, START),
                (40..75, 0),
                (75..115, START),
                (115..150, 0),
                (150..190, START),
                (190..225, 0),
                (225..265, START),
                (265..300, LAST),
            ]
        );
        // One span from 16384 rows on, here uncut: it starts and ends.
        assert_eq!(
            row_dispatches(20_000, usize::MAX),
            vec![(0..20_000, START | LAST)]
        );
        assert_eq!(row_dispatches(0, 10), vec![]);
    }

    #[test]
    fn points_per_dispatch_keep_the_work_within_the_limit() {
        // 100 points of 100 rows at D = 2 within 20 000 terms.
        assert_eq!(points_per_dispatch(1000, 100, 2, 20_000), 100);
        // Never more than the points, never fewer than one.
        assert_eq!(points_per_dispatch(1000, 100, 2, u64::MAX), 1000);
        assert_eq!(points_per_dispatch(1000, 1 << 40, 4, 100), 1);
        assert_eq!(points_per_dispatch(0, 5, 2, 1000), 1);
        // No row visited counts as one.
        assert_eq!(points_per_dispatch(1000, 0, 2, 200), 100);
    }

    /// The points cut into dispatches by the work limit (each dispatch
    /// then adds the sums of only some points, a range of the grid's
    /// order, the grid measured first) give the bits of one dispatch over
    /// all of them; with the flat kernel, the CPU twin's bits. The points
    /// lie in several cells, neighbouring indices in different ones, so a
    /// point's sums written to the point at its position in the grid's
    /// order, or to any other, would show.
    #[test]
    fn points_cut_by_the_work_limit_give_the_twins_bits() {
        let options = crate::gpu::options::GpuOptions {
            tune_cache: crate::gpu::tune::TuneCache::Off,
            ..Default::default()
        };
        let Some(mut g) = crate::gpu::test_device(&options) else {
            return;
        };
        let (n, dim) = (700, 2);
        // Two tight clusters and a loose one, so points visit many rows.
        let data: Vec<f32> = (0..n * dim)
            .map(|i| {
                let centre = [0.0f32, 4.0, -6.0][(i / dim) % 3];
                centre + ((i * 7919) % 1009) as f32 / 1009.0 * if i % 3 == 2 { 8.0 } else { 1.5 }
            })
            .collect();
        let weights: Vec<f32> = (0..n).map(|i| 0.5 + (i % 7) as f32 / 7.0).collect();
        let grid = crate::ops::grid::cpu::Grid::build(&data, dim, 9.0).unwrap();
        assert!(grid.cells() > 3, "{} cells", grid.cells());
        // Where each point lies in the grid's order: rarely next to the
        // point of the next index.
        let mut sorted = vec![0; n];
        for (s, &i) in grid.parts().0.iter().enumerate() {
            sorted[i as usize] = s;
        }
        let apart = sorted.windows(2).filter(|w| w[1] != w[0] + 1).count();
        assert!(apart > n / 2, "{apart} of {n} points apart from the next");
        let twin = crate::context::Context::cpu();
        for kernel in [Kernel::Flat, Kernel::Gaussian] {
            let coeffs = KernelCoeffs::new(kernel, 1.2);
            let win = Window {
                data: &data,
                weights: Some(&weights),
                dim,
                coeffs,
                grid: Some(9.0),
                expanded: false,
            };
            let run = |g: &Gpu| {
                pollster::block_on(blur(g, &win, 3, true, true, Watch::default())).unwrap()
            };
            g.max_dispatch_work = u64::MAX;
            let whole = run(&g);
            // The gaussian's exp2 is the device's, a few ulp from the
            // twin's (`grid_gpu.rs`'s tests).
            if kernel == Kernel::Flat {
                let on_cpu = super::super::blur(&twin, &win, 3, true, true, Watch::default());
                assert_eq!(pollster::block_on(on_cpu).unwrap(), whole, "{kernel}, twin");
            }
            // n x n x dim is past each of these, so the grid is measured:
            // a few points a dispatch, then one.
            for work in [(n * dim * 40) as u64, dim as u64] {
                g.max_dispatch_work = work;
                assert_eq!(run(&g), whole, "{kernel}, work {work}");
            }
        }
    }

    #[test]
    fn the_stages_validate() {
        for dim in 1..=4u32 {
            let around = 3u32.pow(dim);
            for kernel in 0..4 {
                for weighted in [false, true] {
                    let consts = [
                        ("AROUND", Const::U32(around)),
                        ("KERNEL", Const::U32(kernel)),
                        ("WEIGHTED", Const::Bool(weighted)),
                    ];
                    validate(&SHIFT_GRID_RUNS, dim, "accumulate", &consts, &[("WG", 64)]);
                }
            }
            validate(&GRID_BOUNDS, dim, "bounds_of", &[], &[("WG", 64)]);
            let around = [("AROUND", Const::U32(around))];
            validate(&GRID_MOST, dim, "most_rows", &around, &[("WG", 64)]);
        }
    }
}
