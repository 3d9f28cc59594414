//! CPU twin of `cluster_sums.wgsl`: per-cluster sums in the fixed order
//! the GPU stage uses, and the Lloyd step (nearest centre, then sums) on
//! the CPU.
//!
//! The order is defined without any sort: a cluster's members in index
//! order (a stable bucketing by label, which is exactly what the GPU's
//! stable radix sort produces), cut into spans of [`SPAN`] members from
//! the cluster's first; each span summed from `0.0`, member after member,
//! column by column; then the spans' partial rows cut into spans of
//! [`SPAN`] again, level after level, until one row per cluster is left.
//! Only additions of stored `f32` values, so no fused multiply-add can
//! change a bit, and every span is independent, so the spans are spread
//! over threads without changing a result.

use super::assign::Assign;
use super::{ClusterSums, SPAN, Step};
use crate::cpu::map_indices;
use crate::error::Result;

/// Per-cluster sums of `values` (`n x dim`, row-major) and, when given,
/// of `weights`, for `labels` (each `< k`), cut into chunks of
/// `chunk_rows` rows the way the GPU splits data past a binding: each
/// chunk reduced on its own, the chunks' rows then added in chunk order.
pub(crate) fn cluster_sums(
    labels: &[u32],
    values: &[f32],
    weights: Option<&[f32]>,
    k: usize,
    dim: usize,
    chunk_rows: usize,
) -> ClusterSums {
    let n = labels.len();
    let mut total: Option<ClusterSums> = None;
    let per = chunk_rows.max(1);
    for start in (0..n.max(1)).step_by(per) {
        let end = (start + per).min(n);
        let part = chunk_sums(
            &labels[start..end],
            &values[start * dim..end * dim],
            weights.map(|w| &w[start..end]),
            k,
            dim,
        );
        total = Some(match total {
            None => part,
            Some(t) => t.add(&part),
        });
    }
    total.expect("at least one chunk")
}

/// The sums of one chunk: see the module docs for the order.
fn chunk_sums(
    labels: &[u32],
    values: &[f32],
    weights: Option<&[f32]>,
    k: usize,
    dim: usize,
) -> ClusterSums {
    let width = dim + usize::from(weights.is_some());
    let mut counts = vec![0u32; k];
    for &l in labels {
        counts[l as usize] += 1;
    }
    // Stable bucketing: members of each cluster in index order.
    let mut offsets = Vec::with_capacity(k + 1);
    let mut acc = 0usize;
    offsets.push(0);
    for &c in &counts {
        acc += c as usize;
        offsets.push(acc);
    }
    let mut next = offsets[..k].to_vec();
    let mut members = vec![0u32; labels.len()];
    for (i, &l) in labels.iter().enumerate() {
        members[next[l as usize]] = i as u32;
        next[l as usize] += 1;
    }
    // Level 0: spans of members.
    let (mut span_off, spans) = spans_of(&offsets);
    let mut rows: Vec<f32> = map_indices(spans.len(), |s| {
        let (a, b) = spans[s];
        let mut sum = vec![0.0f32; width];
        for &i in &members[a..b] {
            let i = i as usize;
            for (acc, &v) in sum[..dim].iter_mut().zip(&values[i * dim..(i + 1) * dim]) {
                *acc += v;
            }
            if let Some(w) = weights {
                sum[dim] += w[i];
            }
        }
        sum
    })
    .concat();
    // Further levels: spans of partial rows, until one per cluster.
    while span_off.windows(2).any(|w| w[1] - w[0] > 1) {
        let (next_off, spans) = spans_of(&span_off);
        let prev = &rows;
        rows = map_indices(spans.len(), |s| {
            let (a, b) = spans[s];
            let mut sum = vec![0.0f32; width];
            for r in a..b {
                for (acc, &v) in sum.iter_mut().zip(&prev[r * width..(r + 1) * width]) {
                    *acc += v;
                }
            }
            sum
        })
        .concat();
        span_off = next_off;
    }
    let mut out = ClusterSums {
        sums: vec![0.0; k * dim],
        weights: weights.map(|_| vec![0.0; k]),
        counts,
    };
    for c in 0..k {
        if span_off[c + 1] > span_off[c] {
            let row = &rows[span_off[c] * width..(span_off[c] + 1) * width];
            out.sums[c * dim..(c + 1) * dim].copy_from_slice(&row[..dim]);
            if let Some(w) = &mut out.weights {
                w[c] = row[dim];
            }
        }
    }
    out
}

/// The spans of [`SPAN`] elements each segment `offsets[c]..offsets[c + 1]`
/// is cut into, in order, and where each segment's spans start (`k + 1`
/// offsets).
fn spans_of(offsets: &[usize]) -> (Vec<usize>, Vec<(usize, usize)>) {
    let mut starts = Vec::with_capacity(offsets.len());
    let mut spans = Vec::new();
    starts.push(0);
    for w in offsets.windows(2) {
        let (a, b) = (w[0], w[1]);
        let mut s = a;
        while s < b {
            spans.push((s, (s + SPAN).min(b)));
            s += SPAN;
        }
        starts.push(spans.len());
    }
    (starts, spans)
}

/// Lloyd steps on the CPU: the assignment (`assign.rs`: the nearest op's
/// twin's labels, through a GEMM screen and bounds kept from step to
/// step), then [`cluster_sums`].
pub(crate) struct Lloyd<'a> {
    data: super::LloydData<'a>,
    assign: Assign<'a>,
}

impl<'a> Lloyd<'a> {
    pub fn new(data: super::LloydData<'a>) -> Self {
        Self {
            data,
            assign: Assign::new(data.points, data.dim),
        }
    }

    pub async fn step(&mut self, centres: &[f32]) -> Result<Step> {
        let changed = self.assign.assign(centres);
        let d = &self.data;
        let labels = self.assign.labels();
        let sums = cluster_sums(labels, d.values, d.weights, d.k, d.dim, usize::MAX);
        Ok(Step { sums, changed })
    }

    pub fn labels(&self) -> Vec<u32> {
        self.assign.labels().to_vec()
    }

    pub async fn assign(&mut self, centres: &[f32]) -> Result<Vec<u32>> {
        self.assign.assign(centres);
        Ok(self.labels())
    }
}
