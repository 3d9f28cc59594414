//! Launch shapes chosen per adapter by timing a few candidates once and
//! remembered for the context's life, keyed by op.
//!
//! An op that has several launch shapes giving the same bits (threads per
//! workgroup, queries per thread, data rows per tile) lists its
//! candidates and times them on first use of a [`TuneKey`]: the op's
//! name, a variant it defines (the kernel and weighting, say), the
//! dimension and the size class of the query set (powers of 4). The
//! choice changes speed, never results: each op tests that every
//! candidate gives the built-in shape's bits.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use super::Gpu;

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

/// One launch shape of a tuned stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    /// Threads per workgroup.
    pub workgroup: u32,
    /// Queries each thread sums for.
    pub queries_per_thread: u32,
    /// Data rows per tile.
    pub tile: u32,
    /// Threads that share each query's coordinates: 1 where each thread
    /// holds whole queries, more where the feature axis is split.
    pub threads_per_query: u32,
}

impl Shape {
    /// Query rows one workgroup covers.
    pub fn rows_per_group(&self) -> u32 {
        self.workgroup / self.threads_per_query.max(1) * self.queries_per_thread
    }
}

/// What a shape is chosen for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TuneKey {
    /// The op's name.
    pub op: &'static str,
    /// What else the op's shape depends on, in words (e.g. "gaussian,
    /// weighted").
    pub variant: String,
    pub dim: usize,
    /// Query rows up to `4^queries_class`.
    pub queries_class: u32,
}

/// Largest class: 4^10, about a million queries; more behave alike.
const MAX_CLASS: u32 = 10;

impl TuneKey {
    pub fn new(op: &'static str, variant: String, dim: usize, queries: usize) -> Self {
        let mut class = 0;
        while class < MAX_CLASS && 4usize.pow(class) < queries {
            class += 1;
        }
        Self {
            op,
            variant,
            dim,
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
    /// The op the shape serves (e.g. `kernel_sums`).
    pub op: &'static str,
    /// What else the shape was chosen for, in the op's words (for
    /// `kernel_sums`: the kernel, and "weighted" with sample weights).
    pub variant: String,
    /// Coordinates per row.
    pub dim: usize,
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
            "{} D {} {} up to {} queries: ",
            self.op, self.dim, self.variant, self.max_queries,
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
    shapes: Mutex<HashMap<TuneKey, Choice>>,
}

impl Chosen {
    pub fn get(&self, key: &TuneKey) -> Option<Shape> {
        self.shapes.lock().ok()?.get(key).map(|c| c.0)
    }

    /// Remembers `shape` for `key`, with its best time and how many shapes
    /// were timed (`None`, 0 for the built-in one).
    pub fn put(&self, key: TuneKey, shape: Shape, micros: Option<f64>, candidates: usize) {
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
                op: k.op,
                variant: k.variant.clone(),
                dim: k.dim,
                max_queries: 4usize.pow(k.queries_class),
                workgroup: s.workgroup,
                queries_per_thread: s.queries_per_thread,
                threads_per_query: s.threads_per_query,
                tile_rows: s.tile,
                micros: *micros,
                candidates: *candidates,
            })
            .collect();
        out.sort_by(|a, b| {
            (a.op, a.dim, &a.variant, a.max_queries).cmp(&(b.op, b.dim, &b.variant, b.max_queries))
        });
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
    fn query_classes_are_powers_of_four() {
        let key = |n| TuneKey::new("op", String::new(), 2, n).queries_class;
        assert_eq!([key(1), key(4), key(5), key(1500)], [0, 1, 2, 6]);
        assert_eq!(key(usize::MAX), MAX_CLASS);
        let k = TuneKey::new("op", String::new(), 1000, 1 << 20);
        assert_eq!(k.trial_queries(1 << 20), 1048);
    }
}
