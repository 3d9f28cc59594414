//! The reference data set: Gaussian blobs, reproducible everywhere.
//!
//! Centroids are drawn uniformly from `[-spread, spread]^dim`, then
//! `per_cluster` samples around each from a normal with standard deviation
//! `std`, cluster after cluster. The random numbers come from ChaCha8 and
//! normals from `rand_distr` (which uses `libm`, not the platform's maths),
//! so native and browser builds make bit-identical data for a seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use crate::error::{Error, Result};
use crate::points::Points;

/// Parameters of the blobs generator; the defaults are the reference
/// workload (6 blobs of 250 points in 2-D, centroids in `[-35, 35]^2`,
/// covariance `diag(5, 5)`).
///
/// ```
/// use gpu_cluster::Blobs;
/// let data = Blobs::default().generate()?;
/// assert_eq!((data.points.len(), data.points.dim()), (1500, 2));
/// assert_eq!(data.centroids.len(), 6);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Blobs {
    /// Number of blobs.
    pub clusters: usize,
    /// Samples drawn around each centroid.
    pub per_cluster: usize,
    /// Dimension of the points.
    pub dim: usize,
    /// Seed of the ChaCha8 generator. The default, [`Blobs::DEFAULT_SEED`],
    /// is one checked to give centroids at least 12 apart and exactly six
    /// clusters under 5 gaussian blurring iterations with bandwidth 2.5.
    pub seed: u64,
    /// Centroids are uniform in `[-spread, spread]` per coordinate.
    pub spread: f32,
    /// Standard deviation of each coordinate around its centroid.
    pub std: f32,
}

/// Generated blobs with their ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobsData {
    /// `clusters * per_cluster` points, blob after blob.
    pub points: Points,
    /// The blob each point was drawn from.
    pub labels: Vec<usize>,
    /// The true centroids, one row per blob.
    pub centroids: Points,
}

impl Default for Blobs {
    fn default() -> Self {
        Self {
            clusters: 6,
            per_cluster: 250,
            dim: 2,
            seed: Self::DEFAULT_SEED,
            spread: 35.0,
            std: 5.0f32.sqrt(),
        }
    }
}

impl Blobs {
    /// The default seed: the smallest that, with the default parameters,
    /// puts every pair of centroids at least 12 apart and gives exactly six
    /// clusters under 5 gaussian blurring iterations with bandwidth 2.5,
    /// each centre within 0.26 of its true centroid (checked on the CPU
    /// twin; pinned by `tests/blobs.rs`).
    ///
    /// Six uniform centroids often land close together: of seeds 0 to 39,
    /// 26 give six clusters and only 11 of those have centroids at least 12
    /// apart (touching blobs merge, stray tail points form extra groups).
    /// Seed 0 gives six clusters but puts two centroids 10.3 apart, close
    /// enough that the blobs exchange points; seed 1's closest pair is 17.1
    /// apart and every point lands in its own blob's cluster.
    pub const DEFAULT_SEED: u64 = 1;

    /// Draws the data.
    pub fn generate(&self) -> Result<BlobsData> {
        let invalid = |name, value: String, reason| Error::InvalidParameter {
            name,
            value,
            reason,
        };
        if self.clusters == 0 {
            return Err(invalid("clusters", "0".into(), "must be >= 1"));
        }
        if self.per_cluster == 0 {
            return Err(invalid("per_cluster", "0".into(), "must be >= 1"));
        }
        if self.dim == 0 {
            return Err(Error::ZeroDimension);
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return Err(invalid(
                "spread",
                self.spread.to_string(),
                "must be finite and > 0",
            ));
        }
        if !(self.std.is_finite() && self.std >= 0.0) {
            return Err(invalid(
                "std",
                self.std.to_string(),
                "must be finite and >= 0",
            ));
        }
        let too_big = || {
            invalid(
                "per_cluster",
                self.per_cluster.to_string(),
                "clusters * per_cluster * dim values must fit in memory",
            )
        };
        let n = self
            .clusters
            .checked_mul(self.per_cluster)
            .and_then(|n| n.checked_mul(self.dim).map(|_| n))
            .ok_or_else(too_big)?;
        let mut points = Vec::new();
        let mut labels = Vec::new();
        points
            .try_reserve_exact(n * self.dim)
            .and_then(|()| labels.try_reserve_exact(n))
            .map_err(|_| too_big())?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let uniform = Uniform::new_inclusive(-self.spread, self.spread)
            .map_err(|_| invalid("spread", self.spread.to_string(), "must be finite and > 0"))?;
        let centroids: Vec<f32> = (0..self.clusters * self.dim)
            .map(|_| uniform.sample(&mut rng))
            .collect();
        for (c, centre) in centroids.chunks_exact(self.dim).enumerate() {
            for _ in 0..self.per_cluster {
                for &m in centre {
                    let z: f32 = StandardNormal.sample(&mut rng);
                    points.push(m + self.std * z);
                }
                labels.push(c);
            }
        }
        Ok(BlobsData {
            points: Points::from_vec(points, self.dim)?,
            labels,
            centroids: Points::from_vec(centroids, self.dim)?,
        })
    }
}
