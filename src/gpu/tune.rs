//! Launch shapes chosen per adapter by timing a few candidates once and
//! remembered for the context's life, keyed by op, and on disk between
//! processes ([`cache`]).
//!
//! An op that has several launch shapes giving the same bits (threads per
//! workgroup, queries per thread, data rows per tile) lists its
//! candidates and times them on first use of a [`TuneKey`]: the op's
//! name, a variant it defines (the kernel and weighting, say), the
//! dimension and the size class of the query set (powers of 4). The
//! choice changes speed, never results: each op tests that every
//! candidate gives the built-in shape's bits.

mod cache;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

use super::Gpu;
pub(crate) use cache::DiskCache;

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

/// Where the shapes timed on a device are kept between processes, so a
/// program run again on the same GPU (a command-line run, say) does not
/// time them again. Choices are kept per adapter, driver and release of
/// this crate; a file that cannot be read, or that holds anything else, is
/// ignored and the shapes are timed again. Only timed shapes are kept:
/// nothing is written where [`Tuning`] uses the built-in ones.
///
/// The environment variable `GPU_CLUSTER_TUNE_CACHE` overrides this:
/// `off` (or `0`, `false`, `no`) keeps nothing whatever the options say,
/// and a directory stands for [`TuneCache::Auto`]'s.
///
/// ```no_run
/// use gpu_cluster::{Context, GpuOptions, TuneCache};
/// // Time the shapes in every process, keeping nothing on disk.
/// let ctx = Context::gpu_with(&GpuOptions { tune_cache: TuneCache::Off, ..Default::default() })?;
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TuneCache {
    /// `gpu-cluster/` in the user's cache directory: `$XDG_CACHE_HOME`
    /// (else `~/.cache`) on Linux and other Unix systems,
    /// `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows; nothing
    /// in the browser, which has no files.
    #[default]
    Auto,
    /// This directory (created where missing).
    Dir(PathBuf),
    /// Nothing kept: each process times its shapes again.
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
    /// The best timing run, in microseconds, when the shape was measured
    /// (in this process or, where [`remembered`](Self::remembered), an
    /// earlier one); `None` for the built-in shape.
    pub micros: Option<f64>,
    /// Shapes timed to choose this one (0 for the built-in shape).
    pub candidates: usize,
    /// Whether the choice was read from the tuning cache on disk (see
    /// [`TuneCache`]), timed by an earlier process, rather than timed now.
    pub remembered: bool,
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
            Some(us) => write!(f, " (fastest of {}: {us:.1} us a trial", self.candidates)?,
            None => return f.write_str(" (built in)"),
        }
        if self.remembered {
            f.write_str(", from the tuning cache")?;
        }
        f.write_str(")")
    }
}

/// A shape chosen for a key, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Choice {
    pub shape: Shape,
    /// The best trial in microseconds; `None` for the built-in shape.
    pub micros: Option<f64>,
    /// Shapes timed to choose it; 0 for the built-in shape.
    pub candidates: usize,
    /// Read from the cache on disk rather than timed in this process.
    pub remembered: bool,
}

impl Choice {
    /// The built-in shape, untimed.
    pub fn builtin(shape: Shape) -> Self {
        Self {
            shape,
            micros: None,
            candidates: 0,
            remembered: false,
        }
    }

    /// The fastest of `candidates` shapes, timed now.
    pub fn timed(shape: Shape, micros: f64, candidates: usize) -> Self {
        Self {
            shape,
            micros: Some(micros),
            candidates,
            remembered: false,
        }
    }
}

/// The shapes chosen so far on one device.
#[derive(Default)]
pub(crate) struct Chosen {
    shapes: Mutex<HashMap<TuneKey, Choice>>,
}

impl Chosen {
    pub fn get(&self, key: &TuneKey) -> Option<Shape> {
        self.shapes.lock().ok()?.get(key).map(|c| c.shape)
    }

    /// Remembers `choice` for `key` for the device's life.
    pub fn put(&self, key: TuneKey, choice: Choice) {
        if let Ok(mut m) = self.shapes.lock() {
            m.insert(key, choice);
        }
    }

    pub fn report(&self) -> Vec<TunedShape> {
        let Ok(m) = self.shapes.lock() else {
            return Vec::new();
        };
        let mut out: Vec<TunedShape> = m
            .iter()
            .map(|(k, c)| TunedShape {
                op: k.op,
                variant: k.variant.clone(),
                dim: k.dim,
                max_queries: 4usize.pow(k.queries_class),
                workgroup: c.shape.workgroup,
                queries_per_thread: c.shape.queries_per_thread,
                threads_per_query: c.shape.threads_per_query,
                tile_rows: c.shape.tile,
                micros: c.micros,
                candidates: c.candidates,
                remembered: c.remembered,
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

    /// The shape an earlier process timed for `key` on this adapter and
    /// driver, read from the cache on disk, where it is one of
    /// `candidates` (the op's shapes on this device today: a shape from a
    /// file is never trusted further than that). Kept for the device's
    /// life once read.
    pub(crate) fn remembered_shape(&self, key: &TuneKey, candidates: &[Shape]) -> Option<Shape> {
        let choice = self.tune_cache.as_ref()?.lookup(key)?;
        if !candidates.contains(&choice.shape) {
            log::debug!("tuning cache: {:?} is no longer a candidate", choice.shape);
            return None;
        }
        log::debug!(
            "tuning cache: {} D {} {}: {:?}",
            key.op,
            key.dim,
            key.variant,
            choice.shape
        );
        self.shapes.put(key.clone(), choice);
        Some(choice.shape)
    }

    /// Keeps a shape timed now for `key`, for the device's life and in the
    /// cache on disk (where there is one).
    pub(crate) fn remember_shape(&self, key: TuneKey, choice: Choice) {
        if let Some(cache) = &self.tune_cache {
            cache.store(&key, &choice);
        }
        self.shapes.put(key, choice);
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
    }
}
