//! The launch shapes of the kernel-sums stages: whole queries per thread
//! (`shift.wgsl`) for small dimensions, the feature axis split over
//! several threads per query (`shift_wide.wgsl`) for large ones. The
//! tuner (`gpu::tune`) times these candidates per device.
//!
//! Every shape sums each query's terms in data-index order with the same
//! operations, so the choice changes speed, never results (tested bit for
//! bit). What suits a device differs: more queries per thread reuse each
//! data value read from workgroup memory more often and give the compiler
//! independent work to overlap, but leave fewer workgroups for small inputs
//! and need more registers as the dimension grows; wider workgroups share a
//! tile among more threads.
//!
//! Wide rows split each query's coordinates over [`slices`] threads; there
//! the tuned choices are the groups of such threads per workgroup, the
//! queries per thread (more reuse each data value a thread reads from
//! storage for more queries, at the cost of registers) and the data rows
//! per tile, and the threads per query are fixed by the dimension, because
//! they set the order in which a squared distance's terms are added.

use crate::gpu::plan;
use crate::gpu::tune::Shape;

/// Workgroup widths tried, where the device allows them. All are
/// multiples of 32 (an NVIDIA warp) and of every wide split
/// ([`SLICES`]); the shaders take the width as an override constant.
const WORKGROUPS: [u32; 3] = [64, 128, 256];

/// Queries per thread tried; at most [`MAX_PRIVATE_FLOATS`] coordinates of
/// queries per thread (and as many of sums), so they stay in registers.
const QUERIES_PER_THREAD: [u32; 3] = [1, 2, 4];

/// Query coordinates a thread may hold beyond the first query.
const MAX_PRIVATE_FLOATS: usize = 32;

/// The shapes of the whole-query strategy (`shift.wgsl`) that can
/// run rows of `dim` coordinates plus `extra` values per row (the sample
/// weight) within `limits`, the built-in one first: [`plan::WORKGROUP`]
/// threads, two queries each where they fit.
pub(crate) fn candidates(dim: usize, extra: usize, limits: &wgpu::Limits) -> Vec<Shape> {
    let max_threads = limits
        .max_compute_invocations_per_workgroup
        .min(limits.max_compute_workgroup_size_x);
    let storage = limits.max_compute_workgroup_storage_size;
    let fits = |qpt: u32| qpt == 1 || qpt as usize * dim <= MAX_PRIVATE_FLOATS;
    let mut out = Vec::new();
    let default_qpt = if fits(2) { 2 } else { 1 };
    let default_wg = plan::WORKGROUP.min(max_threads);
    if let Some(tile) = plan::tile_rows(dim, extra, storage, default_wg) {
        out.push(Shape {
            workgroup: default_wg,
            queries_per_thread: default_qpt,
            tile,
            threads_per_query: 1,
        });
    }
    for workgroup in WORKGROUPS.into_iter().filter(|&w| w <= max_threads) {
        for qpt in QUERIES_PER_THREAD.into_iter().filter(|&q| fits(q)) {
            let Some(tile) = plan::tile_rows(dim, extra, storage, workgroup) else {
                continue;
            };
            let shape = Shape {
                workgroup,
                queries_per_thread: qpt,
                tile,
                threads_per_query: 1,
            };
            if !out.contains(&shape) {
                out.push(shape);
            }
        }
    }
    out
}

/// Coordinates of a query a thread of the wide strategy keeps, at most,
/// up to the widest split; and of each data row of a tile, beyond which
/// `shift_wide.wgsl` reads the rows again rather than keep them.
pub(crate) const WIDE_COORDS_PER_THREAD: usize = 8;

/// Whether `shift_wide.wgsl` keeps each thread's coordinates of a tile's
/// data rows in registers for rows of `dim` coordinates (up to D = 512),
/// rather than read them again for each query.
pub(crate) fn wide_keeps_rows(dim: usize) -> bool {
    dim.div_ceil(slices(dim) as usize) <= WIDE_COORDS_PER_THREAD
}

/// Threads per query of the wide strategy, from narrowest to widest.
const SLICES: [u32; 4] = [8, 16, 32, 64];

/// Data rows per tile tried by the wide strategy, the built-in one first.
const WIDE_TILES: [u32; 2] = [8, 16];

/// Threads sharing each query's coordinates in the wide strategy
/// (`shift_wide.wgsl`) for rows of `dim` coordinates: the fewest of
/// 8, 16, 32 and 64 that leave each thread at most
/// [`WIDE_COORDS_PER_THREAD`] coordinates (so up to D = 512), else 64.
/// A function of `dim` alone: it fixes the order in which the terms of a
/// squared distance are added, so it must not depend on the device or on
/// tuning. 64 threads per query fit every device with compute (WebGPU
/// guarantees 256 invocations per workgroup); beyond D = 512 each thread
/// keeps more coordinates (16 at D = 1024, 79 at D = 5000).
pub(crate) fn slices(dim: usize) -> u32 {
    SLICES
        .into_iter()
        .find(|&s| dim.div_ceil(s as usize) <= WIDE_COORDS_PER_THREAD)
        .unwrap_or(SLICES[SLICES.len() - 1])
}

/// Bytes of workgroup memory the smallest shape of the wide strategy
/// needs for rows of `dim` coordinates: one query per workgroup, the
/// smallest tile.
pub(crate) fn wide_min_storage(dim: usize) -> u64 {
    wide_storage_bytes(slices(dim), 1, WIDE_TILES[0])
}

/// Queries per thread the built-in shape of the wide strategy gives each
/// thread, where they fit ([`wide_queries_fit`]).
const WIDE_QUERIES_PER_THREAD: u32 = 2;

/// Whether `qpt` queries per thread of the wide strategy keep at most
/// [`MAX_PRIVATE_FLOATS`] coordinates of queries (and as many of sums) per
/// thread beyond the first query, as in the whole-query strategy.
fn wide_queries_fit(dim: usize, qpt: u32) -> bool {
    qpt == 1 || qpt as usize * dim.div_ceil(slices(dim) as usize) <= MAX_PRIVATE_FLOATS
}

/// The shapes of the wide strategy for rows of `dim` coordinates within
/// `limits`, the built-in one first: [`plan::WORKGROUP`] threads (as many
/// whole groups of [`slices`] threads as fit it, at least one),
/// [`WIDE_QUERIES_PER_THREAD`] queries per thread where they fit, and
/// tiles of 8 rows. Workgroups of 64, 128 and 256 threads, 1, 2 and 4
/// queries per thread and tiles of 8 and 16 rows are tried where the
/// device's invocations and workgroup memory and the registers allow them
/// (see [`wide_queries_fit`]). Empty when not even one query's threads
/// fit.
pub(crate) fn wide_candidates(dim: usize, limits: &wgpu::Limits) -> Vec<Shape> {
    let slices = slices(dim);
    let max_threads = limits
        .max_compute_invocations_per_workgroup
        .min(limits.max_compute_workgroup_size_x);
    let storage = u64::from(limits.max_compute_workgroup_storage_size);
    let default_wg = (plan::WORKGROUP.min(max_threads) / slices).max(1) * slices;
    let default_qpt = if wide_queries_fit(dim, WIDE_QUERIES_PER_THREAD) {
        WIDE_QUERIES_PER_THREAD
    } else {
        1
    };
    let first = std::iter::once((default_wg, default_qpt, WIDE_TILES[0]));
    let rest = std::iter::once(default_wg)
        .chain(WORKGROUPS)
        .flat_map(|workgroup| {
            QUERIES_PER_THREAD.into_iter().flat_map(move |qpt| {
                WIDE_TILES
                    .into_iter()
                    .map(move |tile| (workgroup, qpt, tile))
            })
        });
    let mut out = Vec::new();
    for (workgroup, qpt, tile) in first.chain(rest) {
        if workgroup > max_threads || workgroup % slices != 0 || !wide_queries_fit(dim, qpt) {
            continue;
        }
        let shape = Shape {
            workgroup,
            queries_per_thread: qpt,
            tile,
            threads_per_query: slices,
        };
        let fits = wide_storage_bytes(slices, shape.rows_per_group(), tile) <= storage;
        if fits && !out.contains(&shape) {
            out.push(shape);
        }
    }
    out
}

/// Bytes of workgroup memory `shift_wide.wgsl` uses with `slices`
/// threads per query, `queries` queries per workgroup and tiles of `tile`
/// data rows: the partial squared distances of every (query, row) pair
/// from every slice (each slice's run padded by one), each pair's weight
/// and count term, the tile's sample weights, and the reserve for flags.
pub(crate) fn wide_storage_bytes(slices: u32, queries: u32, tile: u32) -> u64 {
    let pairs = u64::from(queries) * u64::from(tile);
    let floats = u64::from(slices) * (pairs + 1) + 2 * pairs + u64::from(tile);
    4 * floats + u64::from(plan::WORKGROUP_RESERVE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_fit_the_device_and_start_with_the_default() {
        let limits = wgpu::Limits::default();
        let c = candidates(2, 1, &limits);
        assert_eq!(
            c[0],
            Shape {
                workgroup: 64,
                queries_per_thread: 2,
                tile: 64,
                threads_per_query: 1,
            }
        );
        // 64, 128 and 256 threads, 1, 2 and 4 queries each.
        assert_eq!(c.len(), 9, "{c:?}");
        assert!(c.iter().all(|s| s.workgroup <= 256));
        // Wide rows: one query per thread, tiles of what fits.
        let wide = candidates(1024, 1, &limits);
        assert!(
            wide.iter()
                .all(|s| s.queries_per_thread == 1 && s.tile == 3)
        );
        assert!(candidates(5000, 1, &limits).is_empty());
        let small = wgpu::Limits {
            max_compute_invocations_per_workgroup: 128,
            ..limits
        };
        assert!(candidates(2, 1, &small).iter().all(|s| s.workgroup <= 128));
    }

    #[test]
    fn slices_depend_on_the_dimension_alone() {
        let s: Vec<u32> = [33, 64, 65, 128, 129, 256, 257, 300, 1024, 5000]
            .into_iter()
            .map(slices)
            .collect();
        assert_eq!(s, [8, 8, 16, 16, 32, 32, 64, 64, 64, 64]);
        assert_eq!(5000usize.div_ceil(slices(5000) as usize), 79);
        assert!(wide_keeps_rows(512) && !wide_keeps_rows(513));
    }

    #[test]
    fn wide_candidates_fit_the_device_and_start_with_the_default() {
        let limits = wgpu::Limits::default();
        for dim in [33, 65, 300, 1024, 5000, 100_000] {
            let c = wide_candidates(dim, &limits);
            let s = slices(dim);
            // Two queries per thread where they keep at most 32 floats.
            let qpt = if dim <= 1024 { 2 } else { 1 };
            assert_eq!(
                c[0],
                Shape {
                    workgroup: 64,
                    queries_per_thread: qpt,
                    tile: 8,
                    threads_per_query: s,
                },
                "D {dim}"
            );
            assert!(c.len() >= 3, "D {dim}: {c:?}");
            for shape in &c {
                assert_eq!(shape.threads_per_query, s);
                assert_eq!(shape.workgroup % s, 0);
                assert!(shape.workgroup <= 256);
                assert!(wide_queries_fit(dim, shape.queries_per_thread));
                let queries = shape.rows_per_group();
                assert_eq!(queries * s, shape.workgroup * shape.queries_per_thread);
                assert!(
                    wide_storage_bytes(s, queries, shape.tile)
                        <= u64::from(limits.max_compute_workgroup_storage_size)
                );
            }
        }
        // 64 threads per query: workgroups of 1, 2 and 4 groups of them,
        // 1, 2 and 4 queries each and tiles of 8 and 16 rows, within
        // 16 KiB: (1 group, queries, rows) (1, 1, 8), (1, 1, 16),
        // (1, 2, 8), (1, 2, 16), (1, 4, 8), (2, 1, 8), (2, 1, 16), (2, 2, 8)
        // and (4, 1, 8); 64 pairs per tile are too many.
        let c = wide_candidates(300, &limits);
        assert_eq!(c.len(), 9, "{c:?}");
        assert!(c.iter().all(|s| s.rows_per_group() * s.tile <= 32));
        // Five coordinates per thread: four queries fit, but not eight.
        assert!(c.iter().any(|s| s.queries_per_thread == 4));
        // Sixteen coordinates per thread: two queries, not four.
        let c = wide_candidates(1024, &limits);
        assert_eq!(c.iter().map(|s| s.queries_per_thread).max(), Some(2));
        // Few invocations: one group per workgroup where its threads fit.
        let few = wgpu::Limits {
            max_compute_invocations_per_workgroup: 32,
            ..limits.clone()
        };
        let c = wide_candidates(40, &few);
        assert_eq!(c.len(), 6, "{c:?}");
        assert!(
            c.iter()
                .all(|s| s.workgroup == 32 && s.rows_per_group() == 4 * s.queries_per_thread)
        );
        assert!(wide_candidates(300, &few).is_empty());
        // Too little workgroup memory for one query's partial sums.
        let tiny = wgpu::Limits {
            max_compute_workgroup_storage_size: wide_min_storage(300) as u32 - 4,
            ..limits
        };
        assert!(wide_candidates(300, &tiny).is_empty());
        // Just enough for one query and the smallest tile: the built-in
        // shape's two queries per thread do not fit.
        let just = wgpu::Limits {
            max_compute_workgroup_storage_size: wide_min_storage(300) as u32,
            ..tiny
        };
        let c = wide_candidates(300, &just);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].queries_per_thread, 1);
    }

    #[test]
    fn wide_storage_does_not_grow_with_the_dimension() {
        // 64 x 9 partial sums, 8 weights, 8 counts, 8 sample weights.
        assert_eq!(wide_storage_bytes(64, 1, 8), 4 * (576 + 24) + 64);
        assert_eq!(wide_storage_bytes(8, 8, 8), 4 * (8 * 65 + 128 + 8) + 64);
        assert!(wide_storage_bytes(64, 4, 16) > 16384);
    }
}
