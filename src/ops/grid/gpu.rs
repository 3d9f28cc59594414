//! The grid on the GPU: built from points already on the device and
//! searched there, with the device's brute-force results to the bit, and
//! so the CPU twin's (`cpu.rs`) as brute force is: the same indices, the
//! scores up to the fused multiply-adds a GPU compiler may form.
//!
//! # Building ([`GridBuilder`], `build.wgsl`)
//!
//! One submission, no readback: each point's cell key (the CPU's `Cells`
//! arithmetic, see `grid.wgsl`), the stable radix sort of the keys
//! carrying the point indices (`ops/sort`), a flag where a sorted key
//! differs from the one before, the exclusive scan of the flags
//! (`ops/scan`), and the compaction into distinct keys and run starts. A
//! stable sort's result is unique, so [`DeviceGrid`]'s buffers hold what
//! `cpu::Grid::build` holds. The cells' origin and width come from the
//! host ([`Cells::new`], from the data's bounds); everything else stays on
//! the device, so a caller whose points move there (mean shift's
//! blurring) can record a rebuild into each iteration's submission.
//!
//! # Searching ([`within`], `search.wgsl`)
//!
//! Brute force's count, scan and fill (`ops/topk`), over only the points
//! in the cells around each query: the same scores (the same WGSL
//! expression), the same bound, the same exclusion by index, the lists
//! sorted by (score, index) on the host, and the same result budget (a
//! query tile whose lists pass it is cut and counted again; one query
//! whose list alone passes it is an out-of-memory error). A query's
//! candidates (the points of its runs) are cut into windows, one dispatch
//! each, within the loop budget of drivers that end long invocations
//! (llvmpipe) and the work a dispatch may take; a first pass counts the
//! candidates to know how many windows there are. Queries that are rows
//! of the grid's own points (all of them, or a range: DBSCAN's chunks) are
//! read from the data buffer, not uploaded; a tile of all of them is
//! served in the grid's order, so that neighbouring invocations belong to
//! one cell and walk the same runs; each query's state and list stay its
//! own. A range is served in index order: its rows' cells lie scattered
//! over the grid's order.

use std::ops::Range;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::MAX_DIM;
use super::cpu::Cells;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{Alloc, words};
use crate::gpu::pipelines::{Access, COMMON, Const, Pipeline, Spec, Stage, StageDef};
use crate::gpu::plan;
use crate::gpu::pool::Arena;
use crate::ops::scan;
use crate::ops::sort::gpu::{Keys, SortWork, Sorter};
use crate::ops::topk::{Queries, SelfOffset, Within, from_order_key, order_key, sort_runs};

/// The grid's cell arithmetic and header, for every stage that reads or
/// builds a device grid.
pub(crate) const CELLS_WGSL: &str = include_str!("grid.wgsl");

/// The runs around a point's cell (after [`CELLS_WGSL`]), for the stages
/// that read a device grid.
pub(crate) const RUNS_WGSL: &str = include_str!("runs.wgsl");

/// The build's stage: points (or sorted keys), the heads' scan, two
/// outputs and the header.
pub(crate) const GRID_BUILD: StageDef = StageDef {
    name: "grid_build",
    sources: &[COMMON, CELLS_WGSL, include_str!("build.wgsl")],
    storage: &[
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    row_extra: 0,
    audited: false,
};

/// The search's stage: queries, data, the grid's four buffers, the
/// per-query state and the (key, index) output.
pub(crate) const GRID_SEARCH: StageDef = StageDef {
    name: "grid_search",
    sources: &[COMMON, CELLS_WGSL, RUNS_WGSL, include_str!("search.wgsl")],
    storage: &[
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    // Count and start per query.
    row_extra: STATE_WORDS,
    audited: false,
};

/// Words of the grid's header (`grid.wgsl`): the number of cells, then
/// the bits of `inv` and of the origin's 4 coordinates.
const HEADER_WORDS: usize = 6;

/// Words of search state per query (`COUNT`, `START` in `search.wgsl`).
const STATE_WORDS: usize = 2;

/// Bytes of results one query tile may hold on the device (brute force's).
const RESULT_BUDGET: u64 = 256 << 20;

const NO_SELF: u32 = u32::MAX;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BuildParams {
    origin: [f32; 4],
    inv: f32,
    n: u32,
    pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SearchParams {
    query_rows: u32,
    query_base: u32,
    self_base: u32,
    lo: u32,
    hi: u32,
    fresh: u32,
    limit: u32,
    in_order: u32,
}

/// A grid of `n` points on the device, as `cpu::Grid` holds it: the point
/// indices sorted by cell key (ties by index), the distinct keys
/// ascending, where each key's run starts, and a header whose word 0 is
/// the number of distinct keys (known only on the device: the searches
/// read it there; tests read everything back with `DeviceGrid::read`).
/// Filled by [`GridBuilder::record`]; its buffers
/// can be filled again for new points of the same count.
pub(crate) struct DeviceGrid {
    cells: Cells,
    n: usize,
    /// `n` words: point indices sorted by key, ties by index.
    order: wgpu::Buffer,
    /// `n` words: the distinct keys, ascending, in the first `cells`.
    keys: wgpu::Buffer,
    /// `n + 1` words: run `c` of `order` is `starts[c]..starts[c + 1]`,
    /// for `c` below the number of cells.
    starts: wgpu::Buffer,
    /// [`HEADER_WORDS`] words: the number of cells, then `inv` and the
    /// origin as `f32` bits.
    header: wgpu::Buffer,
    /// The build's working buffers: the sort's, the keys, the heads and
    /// their scan.
    sort: SortWork,
    point_keys: wgpu::Buffer,
    heads: wgpu::Buffer,
    heads_scan: wgpu::Buffer,
}

impl DeviceGrid {
    /// The cells of the last build.
    pub fn cells(&self) -> &Cells {
        &self.cells
    }

    /// Points in the grid.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Point indices sorted by cell key, ties by index (`n` words).
    pub fn order(&self) -> &wgpu::Buffer {
        &self.order
    }

    /// The distinct cell keys, ascending (the first `cells` of `n` words).
    pub fn keys(&self) -> &wgpu::Buffer {
        &self.keys
    }

    /// Where each key's run of [`DeviceGrid::order`] starts, and `n` after
    /// the last (the first `cells + 1` of `n + 1` words).
    pub fn starts(&self) -> &wgpu::Buffer {
        &self.starts
    }

    /// Word 0: the number of cells; words 1 to 5: the bits of the cells'
    /// `inv` and origin, which `grid.wgsl`'s searches read.
    pub fn header(&self) -> &wgpu::Buffer {
        &self.header
    }

    /// The grid read back: the order, the distinct keys and the starts,
    /// as `cpu::Grid` holds them.
    #[cfg(test)]
    pub async fn read(&self, g: &Gpu) -> Result<(Vec<u32>, Vec<u32>, Vec<u32>)> {
        let n = self.n as u64;
        let readback = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                batch.read(&self.order, 0, 4 * n);
                batch.read(&self.keys, 0, 4 * n);
                batch.read(&self.starts, 0, 4 * (n + 1));
                batch.read(&self.header, 0, 4);
                batch.submit()
            })
            .await?;
        let bytes = readback.wait(g).await?;
        let cells = words(&bytes[3])[0] as usize;
        let mut keys = words(&bytes[1]);
        keys.truncate(cells);
        let mut starts = words(&bytes[2]);
        starts.truncate(cells + 1);
        Ok((words(&bytes[0]), keys, starts))
    }
}

/// The build's pipelines for one dimension.
pub(crate) struct GridBuilder {
    keys: Arc<Pipeline>,
    heads: Arc<Pipeline>,
    compact: Arc<Pipeline>,
    scan: Arc<Pipeline>,
    sorter: Sorter,
    dim: usize,
}

impl GridBuilder {
    /// The pipelines for points of `dim` coordinates (1 to [`MAX_DIM`]).
    pub async fn new(g: &Gpu, dim: usize) -> Result<Self> {
        let dim32 = check_dim(dim)?;
        let wg = g.workgroup_size();
        let entry = |entry: &'static str| {
            g.pipeline(Spec {
                stage: Stage(&GRID_BUILD),
                entry,
                dim: dim32,
                consts: Vec::new(),
                overrides: vec![("WG", wg)],
                rows_per_group: wg,
            })
        };
        Ok(Self {
            keys: entry("keys").await?,
            heads: entry("heads").await?,
            compact: entry("compact").await?,
            scan: scan::gpu::pipeline(g).await?,
            sorter: Sorter::new(g).await?,
            dim,
        })
    }

    /// Buffers for a grid of `n` points (at least one) with `cells`, to be
    /// filled by [`GridBuilder::record`]. Call inside [`Gpu::scoped`].
    pub fn grid(&self, g: &Gpu, n: usize, cells: Cells) -> DeviceGrid {
        let buf = |label: &str, words: usize| g.storage(label, (words.max(1) * 4) as u64);
        DeviceGrid {
            cells,
            n,
            order: buf("grid order", n),
            keys: buf("grid keys", n),
            starts: buf("grid starts", n + 1),
            header: buf("grid header", HEADER_WORDS),
            sort: self.sorter.work(g, n),
            point_keys: buf("grid point keys", n),
            heads: buf("grid heads", n),
            heads_scan: buf("grid heads scan", n + 1),
        }
    }

    /// Records the build of `grid` over `points` (its `n` rows of the
    /// builder's dimension, at the start of the buffer) with `cells`,
    /// which must have been made for that dimension (from these points'
    /// bounds, or wider ones).
    pub fn record(
        &self,
        batch: &mut Batch<'_>,
        points: &wgpu::Buffer,
        cells: Cells,
        grid: &mut DeviceGrid,
    ) {
        debug_assert_eq!(cells.dim(), self.dim);
        grid.cells = cells;
        let n = grid.n;
        let params = BuildParams {
            origin: cells.origin(),
            inv: cells.inv(),
            n: n as u32,
            pad: [0; 2],
        };
        batch.dispatch(
            &self.keys,
            params,
            &[
                points,
                &grid.heads_scan,
                &grid.point_keys,
                &grid.starts,
                &grid.header,
            ],
            n.max(1),
        );
        let source = Keys {
            buffer: &grid.point_keys,
            stride: 1,
            offset: 0,
        };
        let (sorted, order) = self
            .sorter
            .record(batch, source, None, u32::MAX, &grid.sort);
        let (sorted, order) = (sorted.clone(), order.clone());
        batch.copy(&order, &grid.order, 4 * n as u64);
        batch.dispatch(
            &self.heads,
            params,
            &[
                &sorted,
                &grid.heads_scan,
                &grid.heads,
                &grid.starts,
                &grid.header,
            ],
            n,
        );
        scan::gpu::record(
            batch,
            &self.scan,
            &grid.heads,
            &grid.heads_scan,
            n,
            scan::gpu::SPAN,
        );
        batch.dispatch(
            &self.compact,
            params,
            &[
                &sorted,
                &grid.heads_scan,
                &grid.keys,
                &grid.starts,
                &grid.header,
            ],
            n.max(1),
        );
    }
}

fn check_dim(dim: usize) -> Result<u32> {
    match dim {
        1..=MAX_DIM => Ok(dim as u32),
        _ => Err(Error::Gpu(format!(
            "the grid serves 1 to {MAX_DIM} dimensions, not {dim}"
        ))),
    }
}

/// The search's pipelines for one dimension, and how long a dispatch may
/// be.
struct Searcher {
    totals: Arc<Pipeline>,
    count: Arc<Pipeline>,
    fill: Arc<Pipeline>,
    scan: Arc<Pipeline>,
    dim: usize,
    /// Candidates one query may take in one dispatch (the loop budget's).
    window: usize,
    max_work: u64,
}

impl Searcher {
    async fn new(g: &Gpu, dim: usize, max_window: usize) -> Result<Self> {
        let dim32 = check_dim(dim)?;
        let around = 3u32.pow(dim32);
        let wg = g.workgroup_size();
        let entry = |entry: &'static str| {
            g.pipeline(Spec {
                stage: Stage(&GRID_SEARCH),
                entry,
                dim: dim32,
                consts: vec![("AROUND", Const::U32(around))],
                overrides: vec![("WG", wg)],
                rows_per_group: wg,
            })
        };
        // Loop iterations of one invocation, counting each loop's exit:
        // the query and its home cell, and per cell around it its
        // coordinates, the comparison with the keys before it and a binary
        // search (at most 33 rounds among < 2^32 keys); then per candidate
        // its score.
        let (d, a) = (dim as u64, u64::from(around));
        let fixed = 2 * d + 4 + a * (d + 1 + a.div_ceil(2) + 34) + a + 8;
        let per_candidate = d + 2;
        if !g.within_loop_budget(per_candidate, fixed) {
            return Err(Error::Gpu(format!(
                "the grid search in {dim} dimensions takes more shader loop iterations than this adapter runs"
            )));
        }
        let limits = g.span_limits(per_candidate, fixed);
        Ok(Self {
            totals: entry("totals").await?,
            count: entry("count").await?,
            fill: entry("fill").await?,
            scan: scan::gpu::pipeline(g).await?,
            dim,
            window: limits.max_rows.min(max_window).max(1),
            max_work: limits.max_work,
        })
    }

    /// The windows of candidates for a tile of `rows` queries whose most
    /// candidates are `most`: each within the loop budget and, over the
    /// tile, within the work one dispatch may take.
    fn windows(&self, rows: usize, most: u32) -> Vec<Range<u32>> {
        let per = (rows.max(1) as u64).saturating_mul(self.dim as u64);
        let by_work = usize::try_from(self.max_work / per).unwrap_or(usize::MAX);
        let width = u32::try_from(self.window.min(by_work).max(1)).unwrap_or(u32::MAX);
        (0..most.div_ceil(width))
            .map(|w| w * width..most.min(w.saturating_mul(width).saturating_add(width)))
            .collect()
    }
}

/// Every point of `grid` (whose coordinates are `data`, `grid.len()` rows
/// on the device) within squared distance `bound` of each query, as
/// `topk::within` gives them: queries that are rows of the grid's points
/// ([`Queries::Rows`]) read from `data`, others uploaded a tile at a time;
/// the query's own row left out with `exclude`,
/// lists sorted by (score, index). `bound` is the one the grid's cells
/// were made for (or smaller), and every query lies within the cells'
/// reach (`Cells::covers`), which the caller checks.
pub(crate) async fn within(
    g: &Gpu,
    grid: &DeviceGrid,
    data: &wgpu::Buffer,
    queries: Queries<'_>,
    bound: f32,
    exclude: SelfOffset,
) -> Result<Within> {
    let cuts = Cuts {
        window: usize::MAX,
        budget: RESULT_BUDGET.min(g.max_binding()),
    };
    within_cut(g, grid, data, queries, bound, exclude, cuts).await
}

/// Where [`within`] cuts its work.
#[derive(Clone, Copy)]
struct Cuts {
    /// Candidates of one query one dispatch may take, at most (tests cut
    /// windows short to see the state carried).
    window: usize,
    /// Bytes of results one query tile may hold.
    budget: u64,
}

/// [`within`], cut at `cuts`: query tiles as brute force cuts them (query
/// rows within a binding, a tile's total within a u32); where a tile's
/// lists pass the result budget, it is cut where the offsets cross it and
/// counted again.
async fn within_cut(
    g: &Gpu,
    grid: &DeviceGrid,
    data: &wgpu::Buffer,
    queries: Queries<'_>,
    bound: f32,
    exclude: SelfOffset,
    cuts: Cuts,
) -> Result<Within> {
    let dim = grid.cells().dim();
    let n = grid.len();
    let m = match &queries {
        Queries::Rows(rows) => rows.len(),
        Queries::Host(q) => q.len() / dim,
    };
    let mut out = Within {
        offsets: vec![0],
        ..Within::default()
    };
    if m == 0 {
        return Ok(out);
    }
    let s = Searcher::new(g, dim, cuts.window).await?;
    let arena = g.arena();
    let by_total = (u32::MAX as usize / n.max(1)).max(1);
    let per_tile = crate::ops::chunking::rows_per_chunk(g, dim, &GRID_SEARCH).min(by_total);
    let mut pending: Vec<Range<usize>> = plan::chunks(m, per_tile).collect();
    pending.reverse();
    while let Some(range) = pending.pop() {
        let query_buf = match &queries {
            Queries::Rows(_) => data.clone(),
            Queries::Host(q) => {
                let values = &q[range.start * dim..range.end * dim];
                g.scoped(|| arena.upload("grid queries", values)).await?
            }
        };
        let state_bytes = (STATE_WORDS * range.len() * 4) as u64;
        let state = g
            .scoped(|| arena.storage("grid state", state_bytes))
            .await?;
        let in_order = matches!(queries, Queries::Rows(_)) && range.len() == n;
        // All n rows: the one range there is, from row 0 (the shader reads
        // `order[t]` with no base).
        debug_assert!(
            !in_order || matches!(&queries, Queries::Rows(r) if r.start == 0 && range.start == 0)
        );
        let tile = Tile {
            s: &s,
            rows: range.len(),
            query_base: match &queries {
                Queries::Rows(rows) => (rows.start + range.start) as u32,
                Queries::Host(_) => 0,
            },
            self_base: exclude.map_or(NO_SELF, |o| (o + range.start) as u32),
            limit: order_key(bound),
            // A tile of all the grid's points is served in the grid's
            // order; a part of them (a range of rows asked for, or where
            // the points pass a binding or their lists the budget) in
            // index order, read in place: its rows' cells are scattered
            // over the grid's order, and no list of them by cell is at
            // hand.
            in_order,
            buffers: [
                query_buf,
                data.clone(),
                grid.order().clone(),
                grid.keys().clone(),
                grid.starts().clone(),
                grid.header().clone(),
                state,
            ],
        };
        let windows = s.windows(tile.rows, tile.most_candidates(g).await?);
        let starts = tile.count(g, &arena, &windows).await?;
        if let Some(fit) = within_budget(&starts, cuts.budget)? {
            pending.push(range.start + fit..range.end);
            pending.push(range.start..range.start + fit);
            continue;
        }
        let base = out.indices.len();
        out.offsets
            .extend(starts[1..].iter().map(|&s| base + s as usize));
        let total = starts[tile.rows] as usize;
        if total > 0 {
            tile.fill(g, &arena, &windows, total, &mut out).await?;
        }
    }
    let offsets = out.offsets.clone();
    sort_runs(&offsets, &mut out.indices, &mut out.scores);
    arena.finish();
    Ok(out)
}

/// Where a tile whose lists start at `starts` (the exclusive scan of their
/// lengths, one past the last) must be cut for its pairs to fit `budget`
/// bytes: `None` where they fit, else the most queries, from the first,
/// whose lists do; an out-of-memory error where the first query's alone
/// does not.
fn within_budget(starts: &[u32], budget: u64) -> Result<Option<usize>> {
    let bytes = |s: u32| u64::from(s) * 8;
    if starts.last().is_none_or(|&total| bytes(total) <= budget) {
        return Ok(None);
    }
    let first_over = starts.iter().position(|&s| bytes(s) > budget);
    match first_over.map_or(starts.len() - 1, |first_over| first_over.saturating_sub(1)) {
        0 => Err(Error::OutOfMemory(format!(
            "one query has {} neighbours within the radius, more than a GPU buffer holds; use a smaller radius or the CPU backend",
            starts[1]
        ))),
        fit => Ok(Some(fit)),
    }
}

/// One tile of queries on the device: its rows, where they lie, and the
/// buffers every entry binds (queries, data, the grid's four, the state).
struct Tile<'a> {
    s: &'a Searcher,
    rows: usize,
    /// Row of the queries buffer of the tile's first query.
    query_base: u32,
    /// Data index the tile's first query may not take, or [`NO_SELF`].
    self_base: u32,
    /// The order key of the squared-distance bound.
    limit: u32,
    /// Whether the tile's queries are all the grid's points, served in the
    /// grid's order (`search.wgsl`).
    in_order: bool,
    buffers: [wgpu::Buffer; 7],
}

impl Tile<'_> {
    /// The tile's search state: a block of `rows` words for each of
    /// `search.wgsl`'s `COUNT` and `START`.
    fn state(&self) -> &wgpu::Buffer {
        &self.buffers[6]
    }

    /// Records `pipeline` over the tile's candidates `window`, starting the
    /// carried count afresh where `fresh`, its pairs into `out`.
    fn dispatch(
        &self,
        batch: &mut Batch<'_>,
        pipeline: &Arc<Pipeline>,
        window: &Range<u32>,
        fresh: bool,
        out: &wgpu::Buffer,
    ) {
        let params = SearchParams {
            query_rows: self.rows as u32,
            query_base: self.query_base,
            self_base: self.self_base,
            lo: window.start,
            hi: window.end,
            fresh: u32::from(fresh),
            limit: self.limit,
            in_order: u32::from(self.in_order),
        };
        let mut refs: Vec<&wgpu::Buffer> = self.buffers.iter().collect();
        refs.push(out);
        batch.dispatch(pipeline, params, &refs, self.rows);
    }

    /// The most candidates any query of the tile has (the points of the
    /// runs around it), which sets the windows.
    async fn most_candidates(&self, g: &Gpu) -> Result<u32> {
        let readback = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                self.dispatch(&mut batch, &self.s.totals, &(0..0), true, g.placeholder());
                batch.read(self.state(), 0, (self.rows * 4) as u64);
                batch.submit()
            })
            .await?;
        let totals = words(&readback.wait(g).await?[0]);
        Ok(totals.into_iter().max().unwrap_or(0))
    }

    /// Counts each query's points within the bound over `windows`, scans
    /// the counts into the starts of the lists (kept in the state for the
    /// fill) and returns them, one past the last.
    async fn count(&self, g: &Gpu, arena: &Arena<'_>, windows: &[Range<u32>]) -> Result<Vec<u32>> {
        let rows = self.rows;
        let row_bytes = (rows * 4) as u64;
        let readback = g
            .scoped(|| {
                let counts = arena.storage("grid counts", row_bytes);
                let offsets = arena.storage("grid offsets", row_bytes + 4);
                let mut batch = Batch::new(g);
                if windows.is_empty() {
                    batch.clear(self.state());
                }
                for (w, window) in windows.iter().enumerate() {
                    self.dispatch(&mut batch, &self.s.count, window, w == 0, g.placeholder());
                }
                batch.copy(self.state(), &counts, row_bytes);
                let scan = &self.s.scan;
                scan::gpu::record(&mut batch, scan, &counts, &offsets, rows, scan::gpu::SPAN);
                batch.copy_range(&offsets, 0, self.state(), row_bytes, row_bytes);
                batch.read(&offsets, 0, row_bytes + 4);
                batch.submit()
            })
            .await?;
        Ok(words(&readback.wait(g).await?[0]))
    }

    /// Fills the tile's `total` pairs over `windows` and appends them to
    /// `out`, each list in the order found (sorted later).
    async fn fill(
        &self,
        g: &Gpu,
        arena: &Arena<'_>,
        windows: &[Range<u32>],
        total: usize,
        out: &mut Within,
    ) -> Result<()> {
        let out_bytes = total as u64 * 8;
        let readback = g
            .scoped(|| {
                let pairs = arena.storage("grid pairs", out_bytes);
                let mut batch = Batch::new(g);
                for (w, window) in windows.iter().enumerate() {
                    self.dispatch(&mut batch, &self.s.fill, window, w == 0, &pairs);
                }
                batch.read(&pairs, 0, out_bytes);
                batch.submit()
            })
            .await?;
        let pairs = words(&readback.wait(g).await?[0]);
        for pair in pairs.chunks_exact(2).take(total) {
            out.scores.push(from_order_key(pair[0]));
            out.indices.push(pair[1]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::values;
    use super::super::{Grids, Method, cpu};
    use super::*;
    use crate::context::{Context, Inner, test_gpu};
    use crate::gpu::pipelines::validate;
    use crate::ops::topk::{self, Score};

    #[test]
    fn the_stage_validates() {
        for dim in 1..=MAX_DIM as u32 {
            let around = [("AROUND", Const::U32(3u32.pow(dim)))];
            for wg in [32, 64, 256] {
                for entry in ["keys", "heads", "compact"] {
                    validate(&GRID_BUILD, dim, entry, &[], &[("WG", wg)]);
                }
                for entry in ["totals", "count", "fill"] {
                    validate(&GRID_SEARCH, dim, entry, &around, &[("WG", wg)]);
                }
            }
        }
    }

    fn gpu_of(ctx: &Context) -> &Gpu {
        match ctx.inner() {
            Inner::Gpu(g) => g,
            Inner::Cpu => unreachable!("test_gpu gives a GPU context"),
        }
    }

    /// Data of `n` rows: seeded values around `offset`, or (`spread` 0)
    /// the same few values over and over, so many points share a key.
    fn points(n: usize, dim: usize, spread: f32, offset: f32, seed: u64) -> Vec<f32> {
        if spread == 0.0 {
            return (0..n * dim).map(|i| offset + (i % 3) as f32).collect();
        }
        values(n * dim, spread, seed)
            .iter()
            .map(|v| v + offset)
            .collect()
    }

    /// The device grid over `data`, on the device with its buffer.
    fn device_grid(g: &Gpu, data: &[f32], dim: usize, bound: f32) -> (DeviceGrid, wgpu::Buffer) {
        let cells = cpu::Cells::new(data, dim, bound).expect("cells");
        let n = data.len() / dim;
        let builder = pollster::block_on(GridBuilder::new(g, dim)).unwrap();
        let made = g.scoped(|| {
            let buf = crate::gpu::buffers::upload(g, "points", data);
            let mut grid = builder.grid(g, n, cells);
            let mut batch = Batch::new(g);
            builder.record(&mut batch, &buf, cells, &mut grid);
            (batch.submit(), grid, buf)
        });
        let (readback, grid, buf) = pollster::block_on(made).unwrap();
        pollster::block_on(readback.wait(g)).unwrap();
        (grid, buf)
    }

    /// The device's order, keys and starts against `cpu::Grid::build`'s:
    /// D 1 to 4, sizes around workgroups and sort blocks, data near and far
    /// from the origin, duplicates, radii from tiny (a cell per point) to
    /// large (everything in a few cells), and many equal keys. A rebuild
    /// into the same buffers over other points gives their grid.
    #[test]
    fn the_device_grid_is_the_cpu_grid() {
        let Some(ctx) = test_gpu() else { return };
        let g = gpu_of(&ctx);
        for dim in 1..=MAX_DIM {
            // Past a scan span (`scan::gpu::SPAN`) once, at D 2.
            let large = if dim == 2 { 270_000 } else { 4097 };
            for n in [
                1usize, 2, 63, 64, 65, 255, 256, 257, 511, 512, 513, 1023, 1025, large,
            ] {
                for (spread, offset, radius) in [
                    (10.0, 0.0, 0.7),
                    (10.0, 0.0, 1e-3),
                    (10.0, 0.0, 40.0),
                    (3.0, 1e5, 0.5),
                    (50.0, -7e6, 4.0),
                    (0.0, 2.5e4, 0.9),
                ] {
                    let mut data = points(n, dim, spread, offset, (dim * n) as u64);
                    data.extend_from_within(..dim * n.min(10));
                    let bound = radius * radius;
                    let want = cpu::Grid::build(&data, dim, bound).expect("a grid");
                    let (grid, _) = device_grid(g, &data, dim, bound);
                    let got = pollster::block_on(grid.read(g)).unwrap();
                    let (order, keys, starts) = want.parts();
                    let what = format!("D {dim}, n {n}, spread {spread}, radius {radius}");
                    assert_eq!(got.0, order, "order: {what}");
                    assert_eq!(got.1, keys, "keys: {what}");
                    assert_eq!(got.2, starts, "starts: {what}");
                }
            }
            // A rebuild over moved points of the same count.
            let first = points(500, dim, 5.0, 0.0, 1);
            let moved = points(500, dim, 5.0, 3.0, 2);
            let builder = pollster::block_on(GridBuilder::new(g, dim)).unwrap();
            let cells = cpu::Cells::new(&first, dim, 0.25).unwrap();
            let again = cpu::Cells::new(&moved, dim, 0.25).unwrap();
            let done = g.scoped(|| {
                let a = crate::gpu::buffers::upload(g, "points", &first);
                let b = crate::gpu::buffers::upload(g, "points", &moved);
                let mut grid = builder.grid(g, 500, cells);
                let mut batch = Batch::new(g);
                builder.record(&mut batch, &a, cells, &mut grid);
                builder.record(&mut batch, &b, again, &mut grid);
                (batch.submit(), grid)
            });
            let (readback, grid) = pollster::block_on(done).unwrap();
            pollster::block_on(readback.wait(g)).unwrap();
            let got = pollster::block_on(grid.read(g)).unwrap();
            let want = cpu::Grid::build(&moved, dim, 0.25).unwrap();
            let (order, keys, starts) = want.parts();
            assert_eq!((&got.0[..], &got.1[..], &got.2), (order, keys, &starts));
        }
    }

    fn search(
        g: &Gpu,
        data: &[f32],
        queries: Queries<'_>,
        dim: usize,
        bound: f32,
        exclude: SelfOffset,
        cuts: Cuts,
    ) -> Result<Within> {
        let (grid, buf) = device_grid(g, data, dim, bound);
        pollster::block_on(within_cut(g, &grid, &buf, queries, bound, exclude, cuts))
    }

    /// The device grid's search against brute force on the device, bit for
    /// bit (and the CPU grid's indices): dimensions 1 to 4, radii from tiny to
    /// large, data far from the origin, duplicates, points exactly at the
    /// radius (integer coordinates), the data as queries with and without
    /// their own rows (one tile, served in the grid's order, which the
    /// random data's indices do not follow), a range of the data's rows
    /// read in place (in index order), other queries; windows of
    /// every candidate and of a few (the state carried from dispatch to
    /// dispatch).
    #[test]
    fn the_device_grid_finds_what_brute_force_finds() {
        let Some(ctx) = test_gpu() else { return };
        let g = gpu_of(&ctx);
        let whole = Cuts {
            window: usize::MAX,
            budget: RESULT_BUDGET,
        };
        let short = Cuts { window: 7, ..whole };
        for dim in 1..=MAX_DIM {
            let mut cases: Vec<(Vec<f32>, Vec<f32>, f32)> = Vec::new();
            for (n, spread, offset, radius) in [
                (600, 10.0, 0.0, 0.7),
                (600, 10.0, 0.0, 0.01),
                (400, 10.0, 0.0, 25.0),
                (500, 3.0, 1e5, 0.5),
                (300, 50.0, -7e6, 4.0),
            ] {
                let mut data = points(n, dim, spread, offset, dim as u64 * 31 + n as u64);
                data.extend_from_within(..20 * dim);
                let queries = points(50, dim, spread, offset, 7);
                cases.push((data, queries, radius * radius));
            }
            // Integer points, radius 1: many pairs exactly at the radius.
            let ints: Vec<f32> = (0..300 * dim).map(|i| ((i * 7) % 11) as f32).collect();
            cases.push((ints.clone(), ints, 1.0));
            for (data, queries, bound) in &cases {
                let (data, bound) = (&data[..], *bound);
                let cpu_grid = cpu::Grid::build(data, dim, bound).unwrap();
                let n = data.len() / dim;
                let part = n / 3..n / 3 + n / 2;
                for (q, exclude) in [
                    (Queries::Rows(0..n), None),
                    (Queries::Rows(0..n), Some(0)),
                    (Queries::Host(&queries[..]), None),
                    (Queries::Rows(part.clone()), None),
                    (Queries::Rows(part.clone()), Some(part.start)),
                ] {
                    let rows = q.values(data, dim);
                    let brute = topk::within(
                        &ctx,
                        data,
                        Queries::Host(rows),
                        dim,
                        bound,
                        Score::SquaredL2,
                        exclude,
                    );
                    let brute = pollster::block_on(brute).unwrap();
                    assert!(cpu_grid.covers(rows));
                    let asked = match &q {
                        Queries::Rows(r) => format!("rows {r:?}"),
                        Queries::Host(_) => "other queries".to_string(),
                    };
                    let what = format!("D {dim}, n {n}, bound {bound}, {asked}, {exclude:?}");
                    for cuts in [whole, short] {
                        let got = search(g, data, q.clone(), dim, bound, exclude, cuts).unwrap();
                        assert_eq!(got, brute, "{what}, window {}", cuts.window);
                    }
                    // The CPU twin's lists: the same indices (its scores
                    // may differ by a GPU compiler's fused multiply-adds).
                    let twin = cpu_grid.within(data, rows, bound, exclude);
                    assert_eq!(twin.offsets, brute.offsets, "{what}");
                    assert_eq!(twin.indices, brute.indices, "{what}");
                }
            }
        }
    }

    /// A tile is cut after the most queries whose lists fit the budget;
    /// one whose first list alone passes it is refused.
    #[test]
    fn tiles_are_cut_where_the_lists_pass_the_budget() {
        // Lists of 3, 0, 2 and 4 pairs (8 bytes each).
        let starts = [0, 3, 3, 5, 9];
        assert_eq!(within_budget(&starts, 72).unwrap(), None);
        assert_eq!(within_budget(&starts, 71).unwrap(), Some(3));
        assert_eq!(within_budget(&starts, 40).unwrap(), Some(3));
        assert_eq!(within_budget(&starts, 39).unwrap(), Some(2));
        assert_eq!(within_budget(&starts, 24).unwrap(), Some(2));
        assert!(matches!(
            within_budget(&starts, 23),
            Err(Error::OutOfMemory(_))
        ));
        assert_eq!(within_budget(&[0], 0).unwrap(), None);
    }

    /// Tiles whose lists pass the result budget are cut and counted again
    /// (the same lists; the parts of the data's rows served in index
    /// order); one query whose list alone passes it is an out-of-memory
    /// error.
    #[test]
    fn lists_past_the_budget_are_cut_or_refused() {
        let Some(ctx) = test_gpu() else { return };
        let g = gpu_of(&ctx);
        let data = points(400, 2, 5.0, 0.0, 3);
        let bound = 1.0;
        let q = Queries::Host(&data);
        let brute = topk::within(&ctx, &data, q, 2, bound, Score::SquaredL2, Some(0));
        let brute = pollster::block_on(brute).unwrap();
        let longest = brute.offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        let cut = Cuts {
            window: usize::MAX,
            budget: 8 * longest as u64 + 8,
        };
        let all = || Queries::Rows(0..data.len() / 2);
        let got = search(g, &data, all(), 2, bound, Some(0), cut).unwrap();
        assert_eq!(got, brute);
        let refuse = Cuts {
            budget: 8 * longest as u64 - 8,
            ..cut
        };
        match search(g, &data, all(), 2, bound, Some(0), refuse) {
            Err(Error::OutOfMemory(why)) => assert!(why.contains("neighbours"), "{why}"),
            other => panic!("expected an out-of-memory error, got {other:?}"),
        }
    }

    /// On a GPU context, `Grids::within` takes the device grid (kept from
    /// call to call) where it applies, brute force where it does not (too
    /// many dimensions, queries beyond the grid's reach, data over more
    /// than one buffer), with the same lists either way.
    #[test]
    fn grids_on_a_gpu_take_the_device_grid() {
        let Some(ctx) = test_gpu() else { return };
        let run = |ctx: &Context, data: &[f32], q: &[f32], dim, bound| {
            let grids = Grids::default();
            let q = Queries::Host(q);
            let brute = topk::within(ctx, data, q.clone(), dim, bound, Score::SquaredL2, None);
            let brute = pollster::block_on(brute).unwrap();
            let mut methods = Vec::new();
            for _ in 0..2 {
                let found = grids.within(ctx, data, q.clone(), dim, bound, None);
                let (found, method) = pollster::block_on(found).unwrap();
                assert_eq!(found, brute, "D {dim}");
                methods.push(method);
            }
            assert_eq!(methods[0], methods[1]);
            methods[0]
        };
        let data = points(300, 3, 4.0, 0.0, 5);
        assert_eq!(run(&ctx, &data, &data, 3, 0.5), Method::Grid);
        let q = points(20, 3, 4.0, 0.0, 6);
        assert_eq!(run(&ctx, &data, &q, 3, 0.5), Method::Grid);
        let away: Vec<f32> = q.iter().map(|v| v + 1e6).collect();
        assert_eq!(run(&ctx, &data, &away, 3, 0.5), Method::BruteForce);
        let wide = points(60, 5, 4.0, 0.0, 7);
        assert_eq!(run(&ctx, &wide, &wide, 5, 0.5), Method::BruteForce);
        let small = crate::GpuOptions {
            max_binding_bytes: Some(1 << 12),
            ..crate::GpuOptions::default()
        };
        let split = Context::gpu_with(&small).expect("a second GPU context");
        assert_eq!(run(&split, &data, &data, 3, 0.5), Method::BruteForce);
        // Data within one buffer, queries over several tiles.
        let few = points(50, 3, 4.0, 0.0, 8);
        assert_eq!(run(&split, &few, &few, 3, 0.5), Method::Grid);
        let many = points(300, 3, 4.0, 0.0, 9);
        assert_eq!(run(&split, &few, &many, 3, 0.5), Method::Grid);
    }
}
