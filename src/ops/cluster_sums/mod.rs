//! Per-cluster sums: for labels `l_i < k`, the sum of the rows `v_i` and
//! of the weights `w_i` of each cluster, with the member counts; and the
//! Lloyd step of k-means built on it (nearest centre, then these sums),
//! kept on the device from one step to the next.
//!
//! # Why the sums are the same bits everywhere
//!
//! A float sum depends on its order, so the order is part of the op's
//! contract, independent of threads, workgroups and backends: a cluster's
//! members in index order, cut into spans of [`SPAN`] members counted from
//! the cluster's first; each span summed from `0.0` member after member;
//! the spans' partial rows then cut into spans of [`SPAN`] again, level
//! after level, until one row per cluster remains. Nothing but `f32`
//! additions of stored values (weighted rows `x * w` are formed once by the
//! caller, so no compiler can fuse a multiply into a sum), and IEEE
//! addition is correctly rounded on both backends, so the CPU twin
//! (`cpu.rs`) and the GPU stage (`gpu.rs`, `cluster_sums.wgsl`) give the
//! same bits, run after run, whatever the thread count. No float atomics:
//! the GPU finds each cluster's members with a stable radix sort of the
//! labels (integer counts, integer atomics only), which yields exactly the
//! index order.
//!
//! # Assignment
//!
//! A point's label is its nearest centre by the nearest op's score, the
//! difference form `sum_d (x_d - c_d)^2` in `f32`, ties to the lower index.
//! The GPU computes it directly (`topk.wgsl`'s register pass). The CPU
//! twin (`assign.rs`) gets the same labels faster: a GEMM-form screen
//! (`|c|^2 - 2 x.c` through `sgemm`) whose near-ties, those within its
//! rigorous rounding bound, are refereed in the difference form, and
//! Hamerly bounds, with a rounding margin, that skip points whose centre
//! cannot have changed. Its labels are the nearest op's twin's, bit for
//! bit; GPU and CPU labels agree except where a GPU compiler's fused
//! multiply-adds break a near-tie differently, which the parity tests
//! avoid.
//!
//! Data past one device buffer is reduced chunk by chunk and the chunks'
//! rows added in chunk order; the twin takes the same chunk length to give
//! the same bits (a CPU fit uses one chunk).

mod assign;
pub(crate) mod cpu;
pub(crate) mod gpu;

use crate::context::{Context, Inner};
use crate::error::Result;

/// Members (or partial rows) one span sums before its row goes to the
/// next level.
pub(crate) const SPAN: usize = 256;

/// Per-cluster sums.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ClusterSums {
    /// `k x dim`, row-major: cluster `c`'s row is the sum of its members'.
    pub sums: Vec<f32>,
    /// Per cluster, the sum of its members' weights, when weights were given.
    pub weights: Option<Vec<f32>>,
    /// Members per cluster.
    pub counts: Vec<u32>,
}

impl ClusterSums {
    /// `self + other`, value by value (`self` first): how chunks combine.
    pub fn add(&self, other: &Self) -> Self {
        let add = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x + y).collect();
        Self {
            sums: add(&self.sums, &other.sums),
            weights: match (&self.weights, &other.weights) {
                (Some(a), Some(b)) => Some(add(a, b)),
                _ => None,
            },
            counts: self
                .counts
                .iter()
                .zip(&other.counts)
                .map(|(a, b)| a + b)
                .collect(),
        }
    }
}

/// The sums of `values` (`n x dim`) and `weights` per label (each `< k`):
/// the op on its own, which the parity tests drive (k-means records it
/// inside its Lloyd step instead).
#[cfg(test)]
pub(crate) async fn cluster_sums(
    ctx: &Context,
    labels: &[u32],
    values: &[f32],
    weights: Option<&[f32]>,
    k: usize,
    dim: usize,
) -> Result<ClusterSums> {
    match ctx.inner() {
        Inner::Gpu(g) => gpu::cluster_sums(g, labels, values, weights, k, dim).await,
        Inner::Cpu => Ok(cpu::cluster_sums(
            labels,
            values,
            weights,
            k,
            dim,
            usize::MAX,
        )),
    }
}

/// What a Lloyd run works on: the centred points, the rows to sum (the
/// points, or `x * w` with weights) and the weights, for `k` clusters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LloydData<'a> {
    pub points: &'a [f32],
    pub values: &'a [f32],
    pub weights: Option<&'a [f32]>,
    pub dim: usize,
    pub k: usize,
}

/// One Lloyd step: each point assigned to its nearest centre (ties to the
/// lower index), and the sums of the clusters that makes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub sums: ClusterSums,
    /// Points whose label differs from the previous step's (all of them
    /// at the first step).
    pub changed: u64,
}

/// Lloyd steps on a context's backend. On a GPU the data, the labels and
/// the working buffers stay on the device from step to step: a step is
/// one submission (assignment, sort, sums) whose readback is `k` rows, or
/// several steps go in one submission with the centre update on the
/// device ([`Lloyd::batched`]).
pub(crate) enum Lloyd<'a> {
    Cpu(cpu::Lloyd<'a>),
    Gpu(Box<gpu::Lloyd<'a>>),
}

impl<'a> Lloyd<'a> {
    pub async fn new(ctx: &'a Context, data: LloydData<'a>) -> Result<Self> {
        Ok(match ctx.inner() {
            Inner::Gpu(g) => Lloyd::Gpu(Box::new(gpu::Lloyd::new(g, data).await?)),
            Inner::Cpu => Lloyd::Cpu(cpu::Lloyd::new(data)),
        })
    }

    /// Assigns every point to its nearest of `centres` (`k x dim`) and
    /// sums the clusters.
    pub async fn step(&mut self, centres: &[f32]) -> Result<Step> {
        match self {
            Lloyd::Cpu(l) => l.step(centres).await,
            Lloyd::Gpu(l) => l.step(centres).await,
        }
    }

    /// The GPU's batched steps ([`gpu::Lloyd::steps`]) where they apply;
    /// `None` on the CPU twin, which has no submissions to save, and where
    /// the data span several device buffers.
    pub fn batched(&mut self) -> Option<&mut gpu::Lloyd<'a>> {
        match self {
            Lloyd::Gpu(l) if l.batches() => Some(l),
            _ => None,
        }
    }

    /// The labels of the last step or assignment.
    pub async fn labels(&self) -> Result<Vec<u32>> {
        match self {
            Lloyd::Cpu(l) => Ok(l.labels()),
            Lloyd::Gpu(l) => l.labels().await,
        }
    }

    /// Assigns every point to its nearest of `centres`, without sums.
    pub async fn assign(&mut self, centres: &[f32]) -> Result<Vec<u32>> {
        match self {
            Lloyd::Cpu(l) => l.assign(centres).await,
            Lloyd::Gpu(l) => l.assign(centres).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct statement of the order: members in index order, spans of
    /// SPAN, levels until one row.
    fn reference(labels: &[u32], values: &[f32], k: usize, dim: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; k * dim];
        for c in 0..k {
            let members: Vec<usize> = (0..labels.len())
                .filter(|&i| labels[i] as usize == c)
                .collect();
            for f in 0..dim {
                let mut level: Vec<f32> = members.iter().map(|&i| values[i * dim + f]).collect();
                let mut first = true;
                while first || level.len() > 1 {
                    first = false;
                    level = level
                        .chunks(SPAN)
                        .map(|s| s.iter().fold(0.0f32, |a, &v| a + v))
                        .collect();
                }
                out[c * dim + f] = level.first().copied().unwrap_or(0.0);
            }
        }
        out
    }

    #[test]
    fn the_twin_sums_in_the_stated_order() {
        for (n, k, dim) in [
            (1, 1, 1),
            (7, 3, 2),
            (1000, 5, 3),
            (70_000, 2, 1),
            (600, 600, 2),
        ] {
            let labels: Vec<u32> = (0..n).map(|i| ((i * 7919 + i / 3) % k) as u32).collect();
            let values: Vec<f32> = (0..n * dim)
                .map(|i| ((i * 2654435761usize) % 1000) as f32 * 0.001 - 0.4)
                .collect();
            let got = cpu::cluster_sums(&labels, &values, None, k, dim, usize::MAX);
            let want = reference(&labels, &values, k, dim);
            assert_eq!(
                got.sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "n {n} k {k} dim {dim}"
            );
            let mut counts = vec![0u32; k];
            labels.iter().for_each(|&l| counts[l as usize] += 1);
            assert_eq!(got.counts, counts);
        }
    }

    /// The GPU stage against the twin, bit for bit, over sizes that cut
    /// spans, levels and radix passes in different places. Skipped without
    /// an adapter unless `REQUIRE_GPU=1`.
    #[test]
    fn the_gpu_sums_are_the_twins_bits() {
        let Some(ctx) = crate::context::test_gpu() else {
            return;
        };
        let cases = [
            (1, 1, 1),
            (5, 3, 2),
            (257, 1, 3),
            (1000, 7, 17),
            (3000, 300, 2),
            (600, 600, 1),
            (70_000, 2, 1),
            (2000, 5, 300),
        ];
        for (n, k, dim) in cases {
            let labels: Vec<u32> = (0..n).map(|i| ((i * 7919 + i / 3) % k) as u32).collect();
            let values: Vec<f32> = (0..n * dim)
                .map(|i| ((i * 2654435761usize) % 1000) as f32 * 0.001 - 0.4)
                .collect();
            let weights: Vec<f32> = (0..n).map(|i| (i % 5) as f32 * 0.3).collect();
            for w in [None, Some(&weights[..])] {
                let got =
                    pollster::block_on(cluster_sums(&ctx, &labels, &values, w, k, dim)).unwrap();
                let want = cpu::cluster_sums(&labels, &values, w, k, dim, usize::MAX);
                let bits = |s: &ClusterSums| {
                    let mut b: Vec<u32> = s.sums.iter().map(|v| v.to_bits()).collect();
                    b.extend(s.weights.iter().flatten().map(|v| v.to_bits()));
                    b
                };
                assert_eq!(got.counts, want.counts, "n {n} k {k} dim {dim}");
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "n {n} k {k} dim {dim} weighted {}",
                    w.is_some()
                );
            }
        }
    }

    #[test]
    fn weights_are_summed_like_a_column() {
        let labels = [1u32, 0, 1, 1];
        let values = [1.0f32, 2.0, 3.0, 4.0];
        let weights = [0.5f32, 1.0, 0.25, 2.0];
        let got = cpu::cluster_sums(&labels, &values, Some(&weights), 3, 1, usize::MAX);
        assert_eq!(got.sums, [2.0, 8.0, 0.0]);
        assert_eq!(got.weights, Some(vec![1.0, 2.75, 0.0]));
        assert_eq!(got.counts, [1, 3, 0]);
        // Chunks of two rows: each chunk's rows, then added in order.
        let chunked = cpu::cluster_sums(&labels, &values, Some(&weights), 3, 1, 2);
        assert_eq!(chunked, got);
    }
}
