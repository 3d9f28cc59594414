//! [`GpuOptions`]: how a GPU context is opened.

use super::tune::{TuneCache, Tuning};

/// Options for opening a GPU context.
///
/// ```no_run
/// use gpu_cluster::{Context, GpuOptions};
/// let ctx = Context::gpu_with(&GpuOptions { max_binding_bytes: Some(1 << 20), ..Default::default() })?;
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GpuOptions {
    /// Which adapter to prefer where there are several. Default: high
    /// performance (the discrete GPU of a laptop).
    pub power_preference: wgpu::PowerPreference,
    /// Lower the storage-binding size below the adapter's own limit. Data
    /// larger than a binding is split into several; this knob lets tests and
    /// benchmarks exercise the split path on small data. `None`: the
    /// adapter's limit.
    pub max_binding_bytes: Option<u64>,
    /// Whether the launch shapes of the tuned stages (the kernel sums) are
    /// timed on this device the first time each dimension, kernel and size
    /// class runs (compiling each candidate, then running them in turn a
    /// few times on synthetic data of the call's size), or built in.
    /// Default: [`Tuning::Auto`].
    pub tuning: Tuning,
    /// Where the shapes timed on this device are kept for later processes
    /// (a file in the user's cache directory by default), so that a program
    /// run again times nothing; the environment variable
    /// `GPU_CLUSTER_TUNE_CACHE=off` turns it off whatever this says.
    /// Default: [`TuneCache::Auto`].
    pub tune_cache: TuneCache,
    /// Build the audited stages (the mean-shift sums, the hottest loop)
    /// without wgpu's bounds checks and loop bounding. Their results are
    /// the same bits either way; on some drivers they run faster without.
    /// An audited shader's indices are proven in range from the host's
    /// own guarantees, so this does not expose memory to a caller's data,
    /// but it is a promise about this crate's shaders that a change to
    /// them must keep: off by default. Default: `false`.
    pub trusted_shaders: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            power_preference: wgpu::PowerPreference::HighPerformance,
            max_binding_bytes: None,
            tuning: Tuning::Auto,
            tune_cache: TuneCache::Auto,
            trusted_shaders: false,
        }
    }
}
