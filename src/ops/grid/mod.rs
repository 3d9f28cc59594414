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
//! The results are those of the brute-force search (`topk::within`) to the
//! bit: the same candidates pass (the cells only leave out points that are
//! farther than the radius), their scores come from the same function, and
//! the lists are sorted the same way, by (score, index).
//!
//! The grid is built and searched on the CPU. A GPU context runs the
//! brute-force search instead until the device version lands, and says so
//! through [`Method`].

pub(crate) mod cpu;

use std::sync::{Arc, Mutex};

use crate::context::{Context, Inner};
use crate::error::Result;
use crate::ops::topk::{self, Score, SelfOffset, Within};

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
pub(crate) struct Grids(Mutex<Option<(u32, Arc<cpu::Grid>)>>);

impl Grids {
    /// Every row of `data` (the same data on every call) within squared
    /// distance `bound` of each query: by the grid on a CPU context where
    /// one can be built and reaches every query, by brute force otherwise;
    /// and which of the two ran.
    pub async fn within(
        &self,
        ctx: &Context,
        data: &[f32],
        queries: &[f32],
        dim: usize,
        bound: f32,
        exclude: SelfOffset,
    ) -> Result<(Within, Method)> {
        if let Some(grid) = self.cpu_grid(ctx, data, dim, bound)
            && grid.covers(queries)
        {
            return Ok((grid.within(data, queries, bound, exclude), Method::Grid));
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
        match ctx.inner() {
            Inner::Cpu => self.for_bound(data, dim, bound),
            _ => None,
        }
    }

    /// The grid for `bound`: the kept one, or a new one kept instead.
    fn for_bound(&self, data: &[f32], dim: usize, bound: f32) -> Option<Arc<cpu::Grid>> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((bits, grid)) = &*kept
            && *bits == bound.to_bits()
        {
            return Some(Arc::clone(grid));
        }
        let grid = Arc::new(cpu::Grid::build(data, dim, bound)?);
        *kept = Some((bound.to_bits(), Arc::clone(&grid)));
        Some(grid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeded values in `[-scale, scale)` (splitmix64).
    fn values(n: usize, scale: f32, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                scale * ((z >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
            })
            .collect()
    }

    fn brute_force(data: &[f32], q: &[f32], dim: usize, bound: f32, exclude: SelfOffset) -> Within {
        let ctx = Context::cpu();
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
