//! The one error type of the crate.
//!
//! Every failure a caller can cause or meet has its own variant, so a program
//! can match on what went wrong and a person reading the message knows what to
//! change. Nothing in the library panics on user input: bad data and bad
//! parameters come back as one of these.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong in `gpu-cluster`.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The data has no rows.
    #[error("the data is empty: at least one point is needed")]
    EmptyData,

    /// A dimension of 0 was given.
    #[error("the dimension must be at least 1")]
    ZeroDimension,

    /// A flat buffer's length is not a multiple of the dimension.
    #[error("{len} values do not split into rows of {dim}")]
    LengthNotMultiple {
        /// Number of values given.
        len: usize,
        /// The dimension asked for.
        dim: usize,
    },

    /// Rows of different lengths.
    #[error("row {row} has {found} values, expected {expected} like the first row")]
    RaggedRows {
        /// Index of the first row whose length differs (0-based).
        row: usize,
        /// Length of the first row.
        expected: usize,
        /// Length of the offending row.
        found: usize,
    },

    /// A NaN or infinite value (also: an f64 too large for f32).
    #[error("value at row {row}, column {col} is not finite ({value})")]
    NonFinite {
        /// Row of the value (0-based).
        row: usize,
        /// Column of the value (0-based).
        col: usize,
        /// The value as read.
        value: f64,
    },

    /// Coordinates so far apart that squared distances would overflow `f32`.
    #[error("column {col} spans {spread:e}; the f32 stages allow at most 1e15 (rescale the data)")]
    SpreadTooLarge {
        /// The column (0-based).
        col: usize,
        /// Its largest value minus its smallest.
        spread: f64,
    },

    /// After centring on the data's mean, a column reaches values where
    /// `f32`'s steps are coarser than the work can tolerate (a thousandth
    /// of the bandwidth): results would be rounded to those steps without
    /// a word. Data spanning more than about 8000 bandwidths from its mean
    /// meets this; split it into regions or rescale it.
    #[error(
        "column {col} reaches {extent:e} from the data's mean, where f32 steps are {step}: \
         too coarse for bandwidth {bandwidth} (at most 1e-3 x bandwidth); \
         split the data into regions or rescale it"
    )]
    PrecisionLoss {
        /// The column (0-based).
        col: usize,
        /// Its largest distance from the mean.
        extent: f64,
        /// The gap between neighbouring `f32` values there.
        step: f64,
        /// The bandwidth.
        bandwidth: f32,
    },

    /// Points of the wrong dimension (seeds, new points to predict).
    #[error("dimension mismatch: expected {expected}, got {found}")]
    DimensionMismatch {
        /// The dimension the model or data has.
        expected: usize,
        /// The dimension given.
        found: usize,
    },

    /// Initial k-means centres given for another number of clusters.
    #[error("{found} initial centres given for k = {expected} clusters")]
    InitCentersCount {
        /// The number of clusters asked for.
        expected: usize,
        /// The number of centres given.
        found: usize,
    },

    /// Sample weights that do not match the data.
    #[error("{found} sample weights given for {expected} points")]
    WeightsLength {
        /// Number of points.
        expected: usize,
        /// Number of weights.
        found: usize,
    },

    /// A sample weight that is negative, NaN or infinite.
    #[error("sample weight {index} is {value}: weights must be finite and >= 0")]
    InvalidWeight {
        /// Index of the weight.
        index: usize,
        /// Its value.
        value: f32,
    },

    /// A parameter outside its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name, as in the builder method.
        name: &'static str,
        /// The value given.
        value: String,
        /// What a valid value looks like.
        reason: &'static str,
    },

    /// The bandwidth estimate came out as 0 (every point's k-th neighbour
    /// is a copy of it: constant data, many duplicates) and the kernel
    /// divides by the bandwidth (gaussian, triangular, epanechnikov). The
    /// flat kernel takes an estimate of 0 as scikit-learn does (a radius-0
    /// window: each distinct point is a cluster). Give a bandwidth, a larger
    /// quantile or the flat kernel.
    #[error(
        "the estimated bandwidth is 0 (quantile {quantile}: the k-th neighbours are duplicates) and the {kernel} kernel divides by it; give a bandwidth, a larger quantile or the flat kernel"
    )]
    ZeroBandwidth {
        /// The quantile used.
        quantile: f64,
        /// The kernel that needs a bandwidth > 0.
        kernel: crate::kernel::Kernel,
    },

    /// Bin seeding kept no bin.
    #[error("bin seeding found no bin with at least {min_bin_freq} points")]
    NoSeeds {
        /// The minimum bin frequency asked for.
        min_bin_freq: usize,
    },

    /// Every seed's window was empty.
    #[error("no point within bandwidth {bandwidth} of any seed")]
    NoPointInRange {
        /// The bandwidth used.
        bandwidth: f32,
    },

    /// `Context::gpu()` found no adapter (no driver, or `WGPU_BACKEND` names a
    /// backend that is not there).
    #[error("no GPU adapter found{0}")]
    NoAdapter(String),

    /// The device could not allocate what the job needs, even split.
    #[error("the GPU is out of memory: {0}")]
    OutOfMemory(String),

    /// The device was lost (driver reset, watchdog, unplugged).
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),

    /// Any other error reported by the GPU driver or wgpu.
    #[error("GPU error: {0}")]
    Gpu(String),

    /// A saved model (the `serde` feature's `save`/`load`, `to_json`/
    /// `from_json`) that cannot be used: the file cannot be read or
    /// written, is not JSON, is not a gpu-cluster model of this kind and a
    /// version this build reads, or holds invalid or inconsistent values.
    /// The message names the file, when there is one, and the problem.
    #[error("{0}")]
    Model(String),

    /// A data file that cannot be read as points (the `io` feature's
    /// readers): an unknown extension, a file that cannot be opened, a CSV
    /// layout that cannot be guessed safely, a field that is not a number,
    /// ragged rows, a value not finite as `f32`, no rows. The reason says
    /// where: the line and column (from 1), or the `.npy` element.
    #[error("{}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where in the file.
        reason: String,
    },

    /// A file that cannot be written (the `io` feature's writers): an
    /// unknown extension, a directory that does not exist, no permission, a
    /// full disk.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },

    /// The fit's [`Observer`](crate::Observer) asked it to stop.
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Whether the error is the input's fault: the data, a parameter, a
    /// file to read. A command line exits with a usage status for these
    /// and a binding raises its value error; everything else (the device,
    /// a file that cannot be written, a saved model, cancellation, and
    /// variants added later) is a failure at run time.
    ///
    /// ```
    /// use gpu_cluster::{Error, Points};
    /// assert!(Points::new(&[], 2).unwrap_err().is_input());
    /// assert!(!Error::DeviceLost("reset".into()).is_input());
    /// ```
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Error::EmptyData
                | Error::ZeroDimension
                | Error::LengthNotMultiple { .. }
                | Error::RaggedRows { .. }
                | Error::NonFinite { .. }
                | Error::SpreadTooLarge { .. }
                | Error::PrecisionLoss { .. }
                | Error::DimensionMismatch { .. }
                | Error::InitCentersCount { .. }
                | Error::WeightsLength { .. }
                | Error::InvalidWeight { .. }
                | Error::InvalidParameter { .. }
                | Error::ZeroBandwidth { .. }
                | Error::NoSeeds { .. }
                | Error::NoPointInRange { .. }
                | Error::Read { .. }
        )
    }
}

/// `Result` with this crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
