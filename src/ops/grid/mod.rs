//! A uniform grid over low-dimensional points, for radius searches that
//! look only at neighbouring cells: about N x (neighbours per point) work
//! instead of N^2.
//!
//! The cell side is a little more than the search radius, so every point
//! within the radius of a query lies in the query's cell or in one of the
//! 3^D cells around it. Only non-empty cells exist: the points are sorted
//! by a hash of their cell's coordinates, and a query finds a cell's
//! points by binary search among the distinct hashes, so memory follows
//! N, not the bounding box. Two cells with the same hash share a run of
//! points; that only adds candidates, each checked by its exact score.
//!
//! The results are those of the brute-force search (`topk::within`) on the
//! same backend to the bit: the same candidates pass (the cells only leave
//! out points that are farther than the radius), their scores come from the
//! same function (on a GPU the same WGSL expression: the same bits where
//! the compiler fuses multiply-adds in it, if at all, alike in both
//! shaders, which the tests check on their adapter), and the lists are
//! sorted the same way, by (score, index).
//!
//! Both backends build and search it: the CPU twin in `cpu.rs`, the GPU in
//! `gpu.rs` (`grid.wgsl`, `build.wgsl`, `search.wgsl`), whose
//! [`gpu::DeviceGrid`] holds the same order, keys and run starts as
//! `cpu::Grid`, built on the device from points already there. A GPU
//! search whose data do not fit one device buffer (of the chunking every
//! op shares), or on a device that binds too few storage buffers for the
//! grid's stages, goes brute force, and says so through [`Method`].

pub(crate) mod cpu;
pub(crate) mod gpu;

use std::sync::{Arc, Mutex};

use crate::context::{Context, Inner};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::upload;
use crate::ops::topk::{self, Queries, Score, SelfOffset, Within};

/// Highest dimension the grid serves: a query visits 3^D cells.
pub(crate) const MAX_DIM: usize = 4;

/// How a radius search ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Method {
    /// Every pair scored.
    BruteForce,
    /// Only points in the cells around each query scored.
    Grid,
}

/// The grid of an index's data, kept between its searches of one radius
/// (a search chunk after chunk, as DBSCAN's, builds it once).
#[derive(Default)]
pub(crate) struct Grids(Mutex<Option<(u32, Kept)>>);

/// A kept grid: on the CPU, or on a GPU with the data it indexes.
#[derive(Clone)]
enum Kept {
    Cpu(Arc<cpu::Grid>),
    Gpu(Arc<OnDevice>),
}

/// A device grid and the buffer of the points it was built over.
struct OnDevice {
    grid: gpu::DeviceGrid,
    data: wgpu::Buffer,
}

impl Grids {
    /// Every row of `data` (the same data on every call) within squared
    /// distance `bound` of each query: by the grid where one can be built
    /// and reaches every query (on a GPU: where the data fit one device
    /// buffer), by brute force otherwise; and which of the two ran. On a
    /// GPU, queries named as rows of the data ([`Queries::Rows`]) are read
    /// where the data are, by either search.
    pub async fn within(
        &self,
        ctx: &Context,
        data: &[f32],
        queries: Queries<'_>,
        dim: usize,
        bound: f32,
        exclude: SelfOffset,
    ) -> Result<(Within, Method)> {
        let values = queries.values(data, dim);
        match ctx.inner() {
            Inner::Cpu => {
                if let Some(grid) = self.cpu_grid(ctx, data, dim, bound)
                    && grid.covers(values)
                {
                    let found = grid.within(data, values, bound, exclude);
                    return Ok((found, Method::Grid));
                }
            }
            Inner::Gpu(g) => {
                if let Some(on) = self.device_grid(g, data, dim, bound).await?
                    && on.grid.cells().covers(values)
                {
                    let found = gpu::within(g, &on.grid, &on.data, queries, bound, exclude).await?;
                    return Ok((found, Method::Grid));
                }
            }
        }
        let found = topk::within(ctx, data, queries, dim, bound, Score::SquaredL2, exclude).await?;
        Ok((found, Method::BruteForce))
    }

    /// The grid of `data` for `bound` on a CPU context (kept for later
    /// calls), `None` on a GPU context or where no grid can be built.
    pub fn cpu_grid(
        &self,
        ctx: &Context,
        data: &[f32],
        dim: usize,
        bound: f32,
    ) -> Option<Arc<cpu::Grid>> {
        if !matches!(ctx.inner(), Inner::Cpu) {
            return None;
        }
        if let Some(Kept::Cpu(grid)) = self.kept(bound) {
            return Some(grid);
        }
        let grid = Arc::new(cpu::Grid::build(data, dim, bound)?);
        self.keep(bound, Kept::Cpu(Arc::clone(&grid)));
        Some(grid)
    }

    /// The grid of `data` for `bound` on the device (kept for later
    /// calls), `None` where no grid can be built, the data do not fit one
    /// buffer of the shared chunking, or the device cannot run the grid's
    /// stages ([`device_runs_the_grid`]). The data are found where an
    /// earlier call or a pin left them, else uploaded and kept with the
    /// grid.
    async fn device_grid(
        &self,
        g: &Gpu,
        data: &[f32],
        dim: usize,
        bound: f32,
    ) -> Result<Option<Arc<OnDevice>>> {
        if let Some(Kept::Gpu(on)) = self.kept(bound) {
            return Ok(Some(on));
        }
        if !device_runs_the_grid(&g.limits) {
            return Ok(None);
        }
        let n = data.len() / dim.max(1);
        let per_chunk = crate::ops::chunking::rows_per_chunk(g, dim, &gpu::GRID_SEARCH);
        let Some(cells) = cpu::Cells::new(data, dim, bound) else {
            return Ok(None);
        };
        if n == 0 || n > per_chunk || u32::try_from(n + 1).is_err() {
            return Ok(None);
        }
        let builder = gpu::GridBuilder::new(g, dim).await?;
        let readback_and_grid = g.scoped(|| {
            let data = match g.find_resident(data, dim, per_chunk) {
                Some(rows) if rows.chunks.len() == 1 => rows.chunks[0].buffer.clone(),
                _ => upload(g, "grid data", data),
            };
            let mut grid = builder.grid(g, n, cells);
            let mut batch = Batch::new(g);
            builder.record(&mut batch, &data, cells, &mut grid);
            (batch.submit(), OnDevice { grid, data })
        });
        let (readback, on) = readback_and_grid.await?;
        readback.wait(g).await?;
        let on = Arc::new(on);
        self.keep(bound, Kept::Gpu(Arc::clone(&on)));
        Ok(Some(on))
    }

    /// The grid kept for `bound`, if any.
    fn kept(&self, bound: f32) -> Option<Kept> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*kept {
            Some((bits, grid)) if *bits == bound.to_bits() => Some(grid.clone()),
            _ => None,
        }
    }

    /// Keeps `grid` for `bound`, in place of any other.
    fn keep(&self, bound: f32, grid: Kept) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((bound.to_bits(), grid));
    }
}

/// Whether a device with `limits` runs the grid's build and search
/// stages: the search binds 8 storage buffers, where brute force binds 4,
/// the most downlevel devices allow; on those the search goes brute force
/// rather than failing.
fn device_runs_the_grid(limits: &wgpu::Limits) -> bool {
    [
        &gpu::GRID_BUILD,
        &gpu::GRID_SEARCH,
        &crate::ops::sort::gpu::SORT,
    ]
    .into_iter()
    .all(|stage| crate::gpu::pipelines::unmet_limit(limits, stage).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeded values in `[-scale, scale)`.
    pub(super) fn values(n: usize, scale: f32, seed: u64) -> Vec<f32> {
        crate::test_data::uniform(n, -scale, scale, seed)
    }

    fn brute_force(data: &[f32], q: &[f32], dim: usize, bound: f32, exclude: SelfOffset) -> Within {
        let ctx = Context::cpu();
        let q = Queries::Host(q);
        let found = topk::within(&ctx, data, q, dim, bound, Score::SquaredL2, exclude);
        pollster::block_on(found).unwrap()
    }

    /// The grid against brute force, bit for bit: dimensions 1 to 4,
    /// radii from tiny (mostly empty lists) to large (many cells hashed
    /// together), data far from the origin, duplicates, and points exactly
    /// at the radius (integer coordinates).
    #[test]
    fn the_grid_finds_what_brute_force_finds() {
        for dim in 1..=MAX_DIM {
            for (n, scale, offset, radius) in [
                (600, 10.0, 0.0, 0.7),
                (600, 10.0, 0.0, 0.01),
                (400, 10.0, 0.0, 25.0),
                (500, 3.0, 1e5, 0.5),
                (300, 50.0, -7e6, 4.0),
            ] {
                let mut data: Vec<f32> = values(n * dim, scale, dim as u64 * 31 + n as u64)
                    .iter()
                    .map(|v| v + offset)
                    .collect();
                data.extend_from_within(..20 * dim);
                let queries = values(50 * dim, scale, 7)
                    .iter()
                    .map(|v| v + offset)
                    .collect::<Vec<_>>();
                let bound = radius * radius;
                for (q, exclude) in [(&queries, None), (&data, Some(0))] {
                    let brute = brute_force(&data, q, dim, bound, exclude);
                    let grid = cpu::Grid::build(&data, dim, bound).expect("a grid");
                    assert!(grid.covers(q));
                    let found = grid.within(&data, q, bound, exclude);
                    assert_eq!(
                        found, brute,
                        "D {dim}, n {n}, radius {radius}, offset {offset}"
                    );
                }
            }
            // Integer points, radius 1: many pairs exactly at the radius.
            let ints: Vec<f32> = (0..300 * dim).map(|i| ((i * 7) % 11) as f32).collect();
            let brute = brute_force(&ints, &ints, dim, 1.0, Some(0));
            let grid = cpu::Grid::build(&ints, dim, 1.0).unwrap();
            assert_eq!(
                grid.within(&ints, &ints, 1.0, Some(0)),
                brute,
                "D {dim}, integers"
            );
        }
    }

    /// The device grid's stages need more storage buffers than downlevel
    /// devices allow: there radius searches go brute force.
    #[test]
    fn downlevel_devices_search_by_brute_force() {
        assert!(device_runs_the_grid(&wgpu::Limits::default()));
        let downlevel = wgpu::Limits::downlevel_defaults();
        assert!(downlevel.max_storage_buffers_per_shader_stage < 8);
        assert!(!device_runs_the_grid(&downlevel));
        let brute_force = crate::gpu::pipelines::unmet_limit(&downlevel, &topk::TOPK);
        assert_eq!(brute_force, None);
    }

    #[test]
    fn no_grid_where_it_cannot_help() {
        let data = values(40, 1.0, 1);
        // Too many dimensions, a zero or infinite radius, or data spanning
        // so many cells that f32 steps are no longer small against one.
        assert!(cpu::Grid::build(&data, 5, 0.1).is_none());
        assert!(cpu::Grid::build(&data, 2, 0.0).is_none());
        assert!(cpu::Grid::build(&data, 2, f32::INFINITY).is_none());
        assert!(cpu::Grid::build(&data, 2, 1e-14).is_none());
        // Far from the origin is no obstacle: cells count from the data's
        // middle.
        let far: Vec<f32> = data.iter().map(|v| v + 1e9).collect();
        assert!(cpu::Grid::build(&far, 2, 1e-3).is_some_and(|g| g.covers(&far)));
        // Queries far from the data are: those searches go brute force.
        let away: Vec<f32> = data.iter().map(|v| v - 1e9).collect();
        let grid = cpu::Grid::build(&data, 2, 1e-3).unwrap();
        assert!(grid.covers(&data) && !grid.covers(&away));
    }
}
