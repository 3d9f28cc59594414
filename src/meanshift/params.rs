//! Checking [`MeanShift`] parameters against the data before any work.

use super::{BandwidthEstimate, Distances, MeanShift, Method, Mode};
use crate::error::{Error, Result};
use crate::kernel::Kernel;
use crate::points::{MAX_SPREAD, Points, check_spread, check_weights};

/// Cap on an explicit blurring iteration count: gaussian blurring merges
/// everything long before it, and each iteration is recorded into one GPU
/// submission.
pub(crate) const MAX_BLUR_ITERATIONS: usize = 100_000;

/// What a usable bandwidth is, for the error messages.
pub(crate) const BANDWIDTH_RANGE: &str = "must be finite, > 0, and between 1e-19 and 1e15";

/// Whether `h` folds into finite kernel constants: `h^2` must be a normal
/// positive `f32` (so `1 / h^2` is finite) and `h` within the spread the
/// stages allow.
pub(crate) fn usable_bandwidth(h: f32) -> bool {
    h.is_finite() && h > 0.0 && (h * h).is_normal() && f64::from(h) <= MAX_SPREAD
}

/// Every parameter after checking, with defaults resolved: what a fit
/// runs on (it never reads the builder again).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checked<'a> {
    /// `None`: estimate from the data with `estimate`.
    pub bandwidth: Option<f32>,
    pub estimate: &'a BandwidthEstimate,
    pub kernel: Kernel,
    pub mode: Mode,
    /// Blurring: exactly this many iterations; `None`: until stable.
    pub iterations: Option<usize>,
    pub max_iter: u32,
    pub tol: f32,
    pub bin_seeding: bool,
    pub min_bin_freq: usize,
    pub cluster_all: bool,
    pub seeds: Option<&'a Points>,
    pub weights: Option<&'a [f32]>,
    pub record_trajectory: bool,
    pub method: super::Method,
    pub distances: Distances,
    /// The gaussian's cut for the grid, `c` in `c * h`; `None`: the flush
    /// radius.
    pub gaussian_cutoff: Option<f32>,
}

fn invalid(name: &'static str, value: impl ToString, reason: &'static str) -> Error {
    Error::InvalidParameter {
        name,
        value: value.to_string(),
        reason,
    }
}

/// Checks `ms` against the data `x`.
pub(crate) fn check<'a>(ms: &'a MeanShift, x: &Points) -> Result<Checked<'a>> {
    if let Some(h) = ms.bandwidth {
        if !usable_bandwidth(h) {
            return Err(invalid("bandwidth", h, BANDWIDTH_RANGE));
        }
    } else {
        ms.estimate.validate()?;
    }
    if let Some(n) = ms.iterations {
        if n > MAX_BLUR_ITERATIONS {
            return Err(invalid(
                "iterations",
                n,
                "blurring runs at most 100000 iterations",
            ));
        }
    }
    if !(ms.tol.is_finite() && ms.tol >= 0.0) {
        return Err(invalid("tol", ms.tol, "must be finite and >= 0"));
    }
    let max_iter = u32::try_from(ms.max_iter)
        .map_err(|_| invalid("max_iter", ms.max_iter, "must fit in 32 bits"))?;
    if ms.mode == Mode::Blurring && ms.iterations.is_none() && max_iter == 0 {
        return Err(invalid(
            "max_iter",
            0,
            "must be >= 1 for blurring until stable",
        ));
    }
    if ms.bin_seeding && ms.mode == Mode::Blurring {
        return Err(invalid(
            "bin_seeding",
            true,
            "bin seeding chooses seeds, which apply to standard mode only",
        ));
    }
    if ms.min_bin_freq == 0 {
        return Err(invalid("min_bin_freq", 0, "must be >= 1"));
    }
    if let Some(seeds) = &ms.seeds {
        if ms.mode == Mode::Blurring {
            return Err(invalid(
                "seeds",
                "given",
                "seeds apply to standard mode only",
            ));
        }
        if seeds.dim() != x.dim() {
            return Err(Error::DimensionMismatch {
                expected: x.dim(),
                found: seeds.dim(),
            });
        }
    }
    if let Some(w) = &ms.weights {
        check_weights(w, x.len())?;
    }
    if let Some(c) = ms.gaussian_cutoff
        && !(c.is_finite() && c > 0.0)
    {
        return Err(invalid("gaussian_cutoff", c, "must be finite and > 0"));
    }
    if ms.distances == Distances::Expanded && ms.method == Method::Grid {
        return Err(invalid(
            "distances",
            "expanded",
            "expanded distances are for the dense sums on rows of more than 32 coordinates; the grid method sums 1 to 4 coordinates directly",
        ));
    }
    check_spread(x)?;
    let kernel = ms.kernel.unwrap_or(match ms.mode {
        Mode::Standard => Kernel::Flat,
        Mode::Blurring => Kernel::Gaussian,
    });
    Ok(Checked {
        bandwidth: ms.bandwidth,
        estimate: &ms.estimate,
        kernel,
        mode: ms.mode,
        iterations: ms.iterations,
        max_iter,
        tol: ms.tol,
        bin_seeding: ms.bin_seeding,
        min_bin_freq: ms.min_bin_freq,
        cluster_all: ms.cluster_all,
        seeds: ms.seeds.as_ref(),
        weights: ms.weights.as_deref(),
        record_trajectory: ms.record_trajectory,
        method: ms.method,
        distances: ms.distances,
        gaussian_cutoff: ms.gaussian_cutoff,
    })
}

/// The largest `f32` step a centred coordinate may have, relative to the
/// bandwidth: the convergence tolerance's scale (scikit-learn's `tol`
/// default, 1e-3), so rounding never moves a point by more than a
/// converged step does.
const MAX_STEP_PER_BANDWIDTH: f64 = 1e-3;

/// Checks that `f32` resolves the centred data finely enough for bandwidth
/// `h` (see [`Error::PrecisionLoss`]).
pub(crate) fn check_resolution(centred: &[f32], dim: usize, h: f32) -> Result<()> {
    let mut extent = vec![0.0f32; dim];
    for r in centred.chunks_exact(dim) {
        for (e, v) in extent.iter_mut().zip(r) {
            *e = e.max(v.abs());
        }
    }
    let step = |v: f32| f64::from(v.next_up()) - f64::from(v);
    let limit = MAX_STEP_PER_BANDWIDTH * f64::from(h);
    match (0..dim).find(|&c| step(extent[c]) > limit) {
        Some(col) => Err(Error::PrecisionLoss {
            col,
            extent: f64::from(extent[col]),
            step: step(extent[col]),
            bandwidth: h,
        }),
        None => Ok(()),
    }
}
