//! The shift stage's shape (threads per workgroup, queries per thread or
//! threads per query, data rows per tile), chosen per adapter by timing a
//! few candidates once and remembered for the context's life.
//!
//! Every shape sums each query's terms in data-index order with the same
//! operations, so the choice changes speed, never results (tested bit for
//! bit). What suits a device differs: more queries per thread reuse each
//! data value read from workgroup memory more often and give the compiler
//! independent work to overlap, but leave fewer workgroups for small inputs
//! and need more registers as the dimension grows; wider workgroups share a
//! tile among more threads. So the choice is per dimension, kernel and size
//! of the query set (in classes of powers of 4), measured on the device
//! itself the first time that combination runs.
//!
//! Wide rows split each query's coordinates over [`slices`] threads
//! (`shaders/shift_wide.wgsl`); there the tuned choices are the queries per
//! workgroup and the data rows per tile, and the threads per query are
//! fixed by the dimension, because they set the order in which a squared
//! distance's terms are added.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use super::{Gpu, plan};
use crate::kernel::Kernel;

/// How the GPU stages choose their shape (workgroup size, queries per
/// thread, tile rows). Results never depend on it, only speed.
///
/// ```no_run
/// use gpu_cluster::{Context, GpuOptions, Tuning};
/// // Always use the built-in shape: no timing runs on first use.
/// let ctx = Context::gpu_with(&GpuOptions { tuning: Tuning::Off, ..Default::default() })?;
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tuning {
    /// Time the candidates on hardware adapters; use the built-in shape on
    /// software ones (lavapipe, SwiftShader), whose timings mean nothing
    /// for a GPU, and in the browser, which has no clock to time them.
    #[default]
    Auto,
    /// Time the candidates on any adapter, software ones included (native
    /// only: in the browser this is [`Tuning::Off`]).
    Measure,
    /// Always the built-in shape.
    Off,
}

/// One launch shape of the shift stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    /// Threads per workgroup.
    pub workgroup: u32,
    /// Queries each thread sums for.
    pub queries_per_thread: u32,
    /// Data rows per tile.
    pub tile: u32,
    /// Threads that share each query's coordinates: 1 where each thread
    /// holds whole queries, [`slices`] where the feature axis is split.
    pub threads_per_query: u32,
}

impl Shape {
    /// Query rows one workgroup covers.
    pub fn rows_per_group(&self) -> u32 {
        self.workgroup / self.threads_per_query.max(1) * self.queries_per_thread
    }
}

/// Workgroup widths tried, where the device allows them.
const WORKGROUPS: [u32; 2] = [64, 256];

/// Queries per thread tried; at most [`MAX_PRIVATE_FLOATS`] coordinates of
/// queries per thread (and as many of sums), so they stay in registers.
const QUERIES_PER_THREAD: [u32; 3] = [1, 2, 4];

/// Query coordinates a thread may hold beyond the first query.
const MAX_PRIVATE_FLOATS: usize = 32;

/// The shapes of the whole-query strategy (`shaders/shift.wgsl`) that can
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
/// up to the widest split.
const WIDE_COORDS_PER_THREAD: usize = 8;

/// Threads per query of the wide strategy, from narrowest to widest.
const SLICES: [u32; 4] = [8, 16, 32, 64];

/// Data rows per tile tried by the wide strategy, the built-in one first.
const WIDE_TILES: [u32; 2] = [8, 16];

/// Threads sharing each query's coordinates in the wide strategy
/// (`shaders/shift_wide.wgsl`) for rows of `dim` coordinates: the fewest of
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
    plan::wide_storage_bytes(slices(dim), 1, WIDE_TILES[0])
}

/// The shapes of the wide strategy for rows of `dim` coordinates within
/// `limits`, the built-in one first: [`plan::WORKGROUP`] threads (as many
/// whole queries as fit it, at least one) and tiles of 8 rows. Workgroups
/// of 64 and 256 threads and tiles of 8 and 16 rows are tried where the
/// device's invocations and workgroup memory allow them. Empty when not
/// even one query's threads fit.
pub(crate) fn wide_candidates(dim: usize, limits: &wgpu::Limits) -> Vec<Shape> {
    let slices = slices(dim);
    let max_threads = limits
        .max_compute_invocations_per_workgroup
        .min(limits.max_compute_workgroup_size_x);
    let storage = u64::from(limits.max_compute_workgroup_storage_size);
    let default_wg = (plan::WORKGROUP.min(max_threads) / slices).max(1) * slices;
    let workgroups = std::iter::once(default_wg).chain(WORKGROUPS);
    let mut out = Vec::new();
    for workgroup in workgroups.filter(|&w| w <= max_threads && w % slices == 0) {
        for tile in WIDE_TILES {
            let shape = Shape {
                workgroup,
                queries_per_thread: 1,
                tile,
                threads_per_query: slices,
            };
            let fits = plan::wide_storage_bytes(slices, workgroup / slices, tile) <= storage;
            if fits && !out.contains(&shape) {
                out.push(shape);
            }
        }
    }
    out
}

/// What a shape is chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ShapeKey {
    pub dim: usize,
    pub kernel: Kernel,
    pub weighted: bool,
    /// Query rows up to `4^queries_class`.
    pub queries_class: u32,
}

/// Largest class: 4^10, about a million queries; more behave alike.
const MAX_CLASS: u32 = 10;

impl ShapeKey {
    pub fn new(dim: usize, kernel: Kernel, weighted: bool, queries: usize) -> Self {
        let mut class = 0;
        while class < MAX_CLASS && 4usize.pow(class) < queries {
            class += 1;
        }
        Self {
            dim,
            kernel,
            weighted,
            queries_class: class,
        }
    }

    /// Queries in a timing run: the class's size, within `max_floats`
    /// coordinates.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn trial_queries(&self, max_floats: usize) -> usize {
        4usize
            .pow(self.queries_class)
            .min(max_floats / self.dim.max(1))
            .max(1)
    }
}

/// A shape in use, as [`Context::tuned_shapes`](crate::Context::tuned_shapes)
/// reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TunedShape {
    /// Coordinates per row.
    pub dim: usize,
    /// The kernel summed.
    pub kernel: Kernel,
    /// Whether the data carried sample weights.
    pub weighted: bool,
    /// The shape serves query sets of up to this many rows (and above the
    /// previous class's).
    pub max_queries: usize,
    /// Threads per workgroup.
    pub workgroup: u32,
    /// Queries each thread sums for.
    pub queries_per_thread: u32,
    /// Threads sharing each query's coordinates: 1, or more where the
    /// dimension is large enough for the stage to split the feature axis.
    pub threads_per_query: u32,
    /// Data rows per tile.
    pub tile_rows: u32,
    /// The best timing run, in microseconds, when the shape was measured;
    /// `None` for the built-in shape.
    pub micros: Option<f64>,
    /// Shapes timed to choose this one (0 for the built-in shape).
    pub candidates: usize,
}

impl fmt::Display for TunedShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "D {} {}{} up to {} queries: ",
            self.dim,
            self.kernel,
            if self.weighted { " weighted" } else { "" },
            self.max_queries,
        )?;
        if self.threads_per_query > 1 {
            write!(
                f,
                "{} threads, {} per query, ",
                self.workgroup, self.threads_per_query
            )?;
        } else {
            write!(
                f,
                "{} threads x {} queries, ",
                self.workgroup, self.queries_per_thread
            )?;
        }
        write!(f, "{} rows per tile", self.tile_rows)?;
        match self.micros {
            Some(us) => write!(f, " (fastest of {}: {us:.1} us a trial)", self.candidates),
            None => f.write_str(" (built in)"),
        }
    }
}

/// A chosen shape with its best time and how many shapes were timed.
type Choice = (Shape, Option<f64>, usize);

/// The shapes chosen so far on one device.
#[derive(Default)]
pub(crate) struct Chosen {
    shapes: Mutex<HashMap<ShapeKey, Choice>>,
}

impl Chosen {
    pub fn get(&self, key: &ShapeKey) -> Option<Shape> {
        self.shapes.lock().ok()?.get(key).map(|c| c.0)
    }

    /// Remembers `shape` for `key`, with its best time and how many shapes
    /// were timed (`None`, 0 for the built-in one).
    pub fn put(&self, key: ShapeKey, shape: Shape, micros: Option<f64>, candidates: usize) {
        if let Ok(mut m) = self.shapes.lock() {
            m.insert(key, (shape, micros, candidates));
        }
    }

    pub fn report(&self) -> Vec<TunedShape> {
        let Ok(m) = self.shapes.lock() else {
            return Vec::new();
        };
        let mut out: Vec<TunedShape> = m
            .iter()
            .map(|(k, (s, micros, candidates))| TunedShape {
                dim: k.dim,
                kernel: k.kernel,
                weighted: k.weighted,
                max_queries: 4usize.pow(k.queries_class),
                workgroup: s.workgroup,
                queries_per_thread: s.queries_per_thread,
                threads_per_query: s.threads_per_query,
                tile_rows: s.tile,
                micros: *micros,
                candidates: *candidates,
            })
            .collect();
        out.sort_by_key(|t| (t.dim, t.kernel.shader_id(), t.weighted, t.max_queries));
        out
    }
}

impl Gpu {
    /// Whether this device times candidate shapes (see [`Tuning`]).
    pub(crate) fn measures_shapes(&self) -> bool {
        !cfg!(target_arch = "wasm32")
            && match self.tuning {
                Tuning::Auto => !super::is_software(&self.info),
                Tuning::Measure => true,
                Tuning::Off => false,
            }
    }

    pub(crate) fn tuned_shapes(&self) -> Vec<TunedShape> {
        self.shapes.report()
    }
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
        assert_eq!(c.len(), 6, "{c:?}");
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
    }

    #[test]
    fn wide_candidates_fit_the_device_and_start_with_the_default() {
        let limits = wgpu::Limits::default();
        for dim in [33, 65, 300, 1024, 5000, 100_000] {
            let c = wide_candidates(dim, &limits);
            let s = slices(dim);
            assert_eq!(
                c[0],
                Shape {
                    workgroup: 64,
                    queries_per_thread: 1,
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
                let queries = shape.rows_per_group();
                assert_eq!(queries * s, shape.workgroup);
                assert!(
                    plan::wide_storage_bytes(s, queries, shape.tile)
                        <= u64::from(limits.max_compute_workgroup_storage_size)
                );
            }
        }
        // 64 threads per query, 4 queries and 16 rows: 17 KiB, too much.
        let c = wide_candidates(300, &limits);
        assert_eq!(c.len(), 3, "{c:?}");
        // Few invocations: one query per workgroup where its threads fit.
        let few = wgpu::Limits {
            max_compute_invocations_per_workgroup: 32,
            ..limits.clone()
        };
        assert!(
            wide_candidates(40, &few)
                .iter()
                .all(|s| s.workgroup == 32 && s.rows_per_group() == 4)
        );
        assert!(wide_candidates(300, &few).is_empty());
        // Too little workgroup memory for one query's partial sums.
        let tiny = wgpu::Limits {
            max_compute_workgroup_storage_size: wide_min_storage(300) as u32 - 4,
            ..limits
        };
        assert!(wide_candidates(300, &tiny).is_empty());
        let just = wgpu::Limits {
            max_compute_workgroup_storage_size: wide_min_storage(300) as u32,
            ..tiny
        };
        assert_eq!(wide_candidates(300, &just).len(), 1);
    }

    #[test]
    fn query_classes_are_powers_of_four() {
        let key = |n| ShapeKey::new(2, Kernel::Gaussian, false, n).queries_class;
        assert_eq!([key(1), key(4), key(5), key(1500)], [0, 1, 2, 6]);
        assert_eq!(key(usize::MAX), MAX_CLASS);
        let k = ShapeKey::new(1000, Kernel::Flat, false, 1 << 20);
        assert_eq!(k.trial_queries(1 << 20), 1048);
    }
}
