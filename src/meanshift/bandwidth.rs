//! scikit-learn's `estimate_bandwidth`: the mean distance from each point to
//! its k-th nearest neighbour, `k = max(1, int(n * quantile))`, the point
//! itself counted as its own first neighbour.
//!
//! The estimate is 0 when every point's k-th neighbour is a duplicate of it
//! (constant data, many duplicates, a single point), as in scikit-learn. A
//! fit with the flat kernel then uses a radius-0 window: each distinct point
//! is a mode and identical points merge. Kernels that divide by the
//! bandwidth refuse it ([`Error::ZeroBandwidth`]).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::context::Context;
use crate::dataset::Input;
use crate::error::{Error, Result};
use crate::ops::kth_distance;

/// How to estimate the bandwidth when none is given.
///
/// ```no_run
/// use gpu_cluster::{BandwidthEstimate, Context, Points};
/// let x = Points::new(&[0.0, 0.1, 0.2, 5.0, 5.1, 5.2], 1)?;
/// let h = BandwidthEstimate::new(0.5).estimate(&Context::cpu(), &x)?;
/// assert!(h > 0.0);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandwidthEstimate {
    /// Fraction of the points that make a neighbourhood, in `(0, 1]`.
    /// scikit-learn's default is 0.3.
    pub quantile: f64,
    /// Estimate on a random subset of this many points (both as data and as
    /// queries, like scikit-learn), drawn with `seed`. `None`: all points.
    /// The estimate is O(n^2), so large data wants a subset.
    pub n_samples: Option<usize>,
    /// Seed of the subset draw (ChaCha8, the same on every platform).
    pub seed: u64,
}

impl Default for BandwidthEstimate {
    fn default() -> Self {
        Self {
            quantile: 0.3,
            n_samples: None,
            seed: 0,
        }
    }
}

impl BandwidthEstimate {
    /// The estimate with this quantile over all points.
    pub fn new(quantile: f64) -> Self {
        Self {
            quantile,
            ..Self::default()
        }
    }

    /// Checks the parameters against a data size.
    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.quantile > 0.0 && self.quantile <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "quantile",
                value: self.quantile.to_string(),
                reason: "must be in (0, 1]",
            });
        }
        if self.n_samples == Some(0) {
            return Err(Error::InvalidParameter {
                name: "n_samples",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        Ok(())
    }

    /// Estimates the bandwidth of `x` on `ctx` (the k-th-neighbour search is
    /// a GPU stage). The result is `>= 0`: 0 when every point's k-th
    /// neighbour is a copy of it (scikit-learn's answer too).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn estimate<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<f32> {
        pollster::block_on(self.estimate_async(ctx, x))
    }

    /// The async form of [`BandwidthEstimate::estimate`].
    pub async fn estimate_async<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<f32> {
        self.validate()?;
        let input = x.into();
        crate::points::check_spread(input.points())?;
        let (_, centred) = input.centred();
        self.estimate_centred(ctx, &centred, input.points().dim())
            .await
    }

    /// The estimate on data already centred (distances do not change).
    pub(crate) async fn estimate_centred(
        &self,
        ctx: &Context,
        data: &[f32],
        dim: usize,
    ) -> Result<f32> {
        let n = data.len() / dim;
        let subset;
        let data = match self.n_samples {
            Some(m) if m < n => {
                let mut idx: Vec<usize> = (0..n).collect();
                idx.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
                subset = idx[..m]
                    .iter()
                    .flat_map(|&i| data[i * dim..(i + 1) * dim].iter().copied())
                    .collect::<Vec<f32>>();
                &subset[..]
            }
            _ => data,
        };
        let rows = data.len() / dim;
        // In f64 exactly like scikit-learn's int(n * quantile).
        let k = ((rows as f64 * self.quantile) as usize).max(1);
        let kth = kth_distance::kth_distance(ctx, data, data, dim, k).await?;
        let h = (kth.iter().map(|&d| f64::from(d)).sum::<f64>() / rows as f64) as f32;
        if h == 0.0 {
            // scikit-learn's answer too (constant data, many duplicates):
            // the flat kernel then fits with a radius-0 window.
            Ok(0.0)
        } else if !super::params::usable_bandwidth(h) {
            Err(Error::InvalidParameter {
                name: "bandwidth",
                value: format!("{h} (estimated)"),
                reason: "the estimate is too small for f32 kernels (below 1e-19): rescale the data",
            })
        } else {
            Ok(h)
        }
    }
}
