//! The one error type of the crate.
//!
//! Every failure a caller can cause or meet has its own variant, so a program
//! can match on what went wrong and a person reading the message knows what to
//! change. Nothing in the library panics on user input: bad data and bad
//! parameters come back as one of these.

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

    /// Points of the wrong dimension (seeds, new points to predict).
    #[error("dimension mismatch: expected {expected}, got {found}")]
    DimensionMismatch {
        /// The dimension the model or data has.
        expected: usize,
        /// The dimension given.
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

    /// The bandwidth estimate came out as 0 (for example, most points are
    /// duplicates of their neighbours); scikit-learn goes on silently, which
    /// then fails later. Give a bandwidth or a larger quantile.
    #[error(
        "the estimated bandwidth is 0 (quantile {quantile}: the k-th neighbours are duplicates); give a bandwidth or a larger quantile"
    )]
    ZeroBandwidth {
        /// The quantile used.
        quantile: f64,
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
}

/// `Result` with this crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
