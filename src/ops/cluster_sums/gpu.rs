//! Host side of `cluster_counts.wgsl` and `cluster_sums.wgsl`: the
//! per-cluster sums recorded into a batch, with the semantics (and the
//! bits) of the CPU twin in `cpu.rs`, and the Lloyd step that records the
//! nearest-centre pass before them in the same submission.
//!
//! Per chunk of rows, in one submission: count the labels (and how many
//! changed), scan the counts into each cluster's first sorted position,
//! sort the labels stably carrying each point's index (`ops/sort`), then
//! the reduction's levels (span counts, their scan, the sums). What comes back is `k` rows, the counts and the final offsets.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::{ClusterSums, LloydData, SPAN, Step};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{Alloc, Rows, floats, words};
use crate::gpu::pipelines::{Access, COMMON, Const, Pipeline, Spec, Stage, StageDef};
use crate::ops::chunking::rows_per_chunk;
use crate::ops::scan;
use crate::ops::sort::gpu::{Keys, SortWork, Sorter};
use crate::ops::topk::{NearestPass, TOPK};

/// The counts around the sort: label counts, span counts.
pub(crate) const COUNTS: StageDef = StageDef {
    name: "cluster_counts",
    sources: &[COMMON, include_str!("cluster_counts.wgsl")],
    storage: &[
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    row_extra: 0,
    audited: false,
};

/// The sums stage: one level of the reduction.
pub(crate) const SUMS: StageDef = StageDef {
    name: "cluster_sums",
    sources: &[COMMON, include_str!("cluster_sums.wgsl")],
    storage: &[
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
    ],
    row_extra: 0,
    audited: false,
};

/// The centre update on the device (`cluster_update.wgsl`): a Lloyd
/// step's sums divided by the masses, with the host's bits.
pub(crate) const UPDATE: StageDef = StageDef {
    name: "cluster_update",
    sources: &[COMMON, include_str!("cluster_update.wgsl")],
    storage: &[
        Access::Read,
        Access::Read,
        Access::Read,
        Access::ReadWrite,
        Access::ReadWrite,
        Access::ReadWrite,
    ],
    row_extra: 0,
    audited: false,
};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct CountParams {
    n: u32,
    stride: u32,
    offset: u32,
    k: u32,
    pad: [u32; 4],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SumParams {
    k: u32,
    pad: [u32; 7],
}

/// The pipelines of one (dimension, weighted) specialisation.
struct Pipelines {
    count: Arc<Pipeline>,
    sorter: Sorter,
    span_counts: Arc<Pipeline>,
    sum_points: Arc<Pipeline>,
    sum_partials: Arc<Pipeline>,
    scan: Arc<Pipeline>,
    divide: Arc<Pipeline>,
    commit: Arc<Pipeline>,
    width: usize,
}

impl Pipelines {
    async fn new(g: &Gpu, dim: usize, weighted: bool) -> Result<Self> {
        let wg = g.workgroup_size();
        let width = dim + usize::from(weighted);
        let dim32 = u32::try_from(dim)
            .map_err(|_| Error::Gpu(format!("dimension {dim} is too large for the GPU")))?;
        let counts = |entry: &'static str| {
            g.pipeline(Spec {
                stage: Stage(&COUNTS),
                entry,
                dim: 1,
                consts: vec![("SPAN_LEN", Const::U32(SPAN as u32))],
                overrides: vec![("WG", wg)],
                rows_per_group: wg,
            })
        };
        let sums = |entry: &'static str| {
            g.pipeline(Spec {
                stage: Stage(&SUMS),
                entry,
                dim: dim32,
                consts: vec![
                    ("SPAN_LEN", Const::U32(SPAN as u32)),
                    ("W", Const::U32(width as u32)),
                ],
                overrides: vec![("WG", wg)],
                rows_per_group: wg,
            })
        };
        let update = |entry: &'static str| {
            g.pipeline(Spec {
                stage: Stage(&UPDATE),
                entry,
                dim: dim32,
                consts: vec![("W", Const::U32(width as u32))],
                overrides: vec![("WG", wg)],
                rows_per_group: wg,
            })
        };
        Ok(Self {
            divide: update("divide").await?,
            commit: update("commit").await?,
            count: counts("count").await?,
            sorter: Sorter::new(g).await?,
            span_counts: counts("span_counts").await?,
            sum_points: sums("sum_points").await?,
            sum_partials: sums("sum_partials").await?,
            scan: scan::gpu::pipeline(g).await?,
            width,
        })
    }
}

/// Where a chunk's labels are: word `stride * i + offset` of `buffer`.
struct Labels<'b> {
    buffer: &'b wgpu::Buffer,
    stride: u32,
    offset: u32,
}

/// The working buffers of one chunk of rows.
struct Work {
    rows: usize,
    k: usize,
    /// The previous step's labels (the count stage compares and updates).
    old: wgpu::Buffer,
    /// `k` counts and, at `k`, the number of labels that changed.
    counts: wgpu::Buffer,
    /// Cluster offsets in the sorted order (`k + 1`).
    starts: wgpu::Buffer,
    sort: SortWork,
    span_counts: wgpu::Buffer,
    span_off: [wgpu::Buffer; 2],
    partials: [wgpu::Buffer; 2],
    /// Upper bounds on each level's output rows.
    levels: Vec<usize>,
}

impl Work {
    fn new(g: &Gpu, rows: usize, k: usize, p: &Pipelines) -> Self {
        let buf = |label: &str, n: usize| g.storage(label, (n.max(1) * 4) as u64);
        let levels = levels(rows, k);
        Self {
            rows,
            k,
            old: buf("previous labels", rows),
            counts: buf("cluster counts", k + 1),
            starts: buf("cluster starts", k + 1),
            sort: p.sorter.work(g, rows),
            span_counts: buf("span counts", k),
            span_off: [buf("span offsets", k + 1), buf("span offsets", k + 1)],
            partials: [
                buf("partial sums", levels[0] * p.width),
                buf("partial sums", levels[0] * p.width),
            ],
            levels,
        }
    }

    /// The buffers the centre update reads after [`Work::record`]: the
    /// counts, the final level's span offsets and its rows.
    fn finals(&self) -> [&wgpu::Buffer; 3] {
        let last = self.levels.len() - 1;
        [
            &self.counts,
            &self.span_off[last % 2],
            &self.partials[last % 2],
        ]
    }

    /// Rows the last level leaves: at most one per cluster.
    fn out_rows(&self) -> usize {
        self.levels.last().map_or(1, |&r| r.min(self.k))
    }

    /// Records the sums of this chunk and their readback; returns the
    /// readback indices of (counts and changed, final span offsets, final
    /// rows).
    fn record(
        &self,
        g: &Gpu,
        batch: &mut Batch<'_>,
        p: &Pipelines,
        labels: &Labels<'_>,
        values: &wgpu::Buffer,
        weights: Option<&wgpu::Buffer>,
    ) -> [usize; 3] {
        self.record_sums(g, batch, p, labels, values, weights);
        self.read_sums(batch, p)
    }

    /// Records the sums of this chunk, left on the device.
    fn record_sums(
        &self,
        g: &Gpu,
        batch: &mut Batch<'_>,
        p: &Pipelines,
        labels: &Labels<'_>,
        values: &wgpu::Buffer,
        weights: Option<&wgpu::Buffer>,
    ) {
        let (n, k) = (self.rows, self.k);
        let ph = g.placeholder();
        let params = |n: usize, stride: u32, offset: u32| CountParams {
            n: n as u32,
            stride,
            offset,
            k: k as u32,
            pad: [0; 4],
        };
        let [scratch, scratch_scan] = self.sort.scratch();
        batch.clear(&self.counts);
        batch.dispatch(
            &p.count,
            params(n, labels.stride, labels.offset),
            &[labels.buffer, ph, &self.counts, &self.old, scratch],
            n,
        );
        scan::gpu::record(
            batch,
            &p.scan,
            &self.counts,
            &self.starts,
            k,
            scan::gpu::SPAN,
        );
        let by_label = Keys {
            buffer: labels.buffer,
            stride: labels.stride,
            offset: labels.offset,
        };
        let (_, perm) = p.sorter.record(batch, by_label, None, k as u32, &self.sort);
        let mut elem_off = &self.starts;
        let sum_params = SumParams {
            k: k as u32,
            pad: [0; 7],
        };
        for (level, &upper) in self.levels.iter().enumerate() {
            let span_off = &self.span_off[level % 2];
            batch.dispatch(
                &p.span_counts,
                params(0, 1, 0),
                &[elem_off, ph, scratch, &self.span_counts, scratch_scan],
                k,
            );
            scan::gpu::record(
                batch,
                &p.scan,
                &self.span_counts,
                span_off,
                k,
                scan::gpu::SPAN,
            );
            let dst = &self.partials[level % 2];
            if level == 0 {
                batch.dispatch(
                    &p.sum_points,
                    sum_params,
                    &[
                        perm,
                        values,
                        weights.unwrap_or(ph),
                        elem_off,
                        span_off,
                        ph,
                        dst,
                    ],
                    upper * p.width,
                );
            } else {
                let src = &self.partials[(level - 1) % 2];
                batch.dispatch(
                    &p.sum_partials,
                    sum_params,
                    &[ph, ph, ph, elem_off, span_off, src, dst],
                    upper * p.width,
                );
            }
            elem_off = span_off;
        }
    }

    /// Reads back what [`Work::decode`] needs: the counts and changed
    /// count, the final span offsets and rows.
    fn read_sums(&self, batch: &mut Batch<'_>, p: &Pipelines) -> [usize; 3] {
        let k = self.k as u64;
        let [counts, span_off, rows] = self.finals();
        [
            batch.read(counts, 0, (k + 1) * 4),
            batch.read(span_off, 0, (k + 1) * 4),
            batch.read(rows, 0, (self.out_rows() * p.width * 4) as u64),
        ]
    }

    /// Reads back the number of labels that changed, alone.
    fn read_changed(&self, batch: &mut Batch<'_>) -> usize {
        batch.read(&self.counts, self.k as u64 * 4, 4)
    }

    /// The sums read back by [`Work::record`]'s readbacks, and the number
    /// of labels that changed.
    fn decode(
        &self,
        bytes: &[Vec<u8>],
        at: [usize; 3],
        dim: usize,
        weighted: bool,
    ) -> (ClusterSums, u64) {
        let k = self.k;
        let width = dim + usize::from(weighted);
        let counts = words(&bytes[at[0]]);
        let span_off = words(&bytes[at[1]]);
        let rows = floats(&bytes[at[2]]);
        let mut out = ClusterSums {
            sums: vec![0.0; k * dim],
            weights: weighted.then(|| vec![0.0; k]),
            counts: counts[..k].to_vec(),
        };
        for c in 0..k {
            if span_off[c + 1] > span_off[c] {
                let r = span_off[c] as usize;
                let row = &rows[r * width..(r + 1) * width];
                out.sums[c * dim..(c + 1) * dim].copy_from_slice(&row[..dim]);
                if let Some(w) = &mut out.weights {
                    w[c] = row[dim];
                }
            }
        }
        (out, u64::from(counts[k]))
    }
}

/// Upper bounds on the rows each level writes for `rows` elements in `k`
/// clusters, level 0 first: a cluster's `e` elements make `ceil(e / SPAN)`
/// spans, so a level makes at most `elements / SPAN + k` rows, and never
/// more than its elements. The last level leaves at most one row per
/// cluster.
fn levels(rows: usize, k: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut elements = rows;
    let mut reach = 1usize;
    loop {
        let next = elements.min(elements.div_ceil(SPAN) + k.min(elements));
        out.push(next.max(1));
        elements = next;
        reach = reach.saturating_mul(SPAN);
        if reach >= rows {
            return out;
        }
    }
}

/// Checks what the shaders index with 32-bit words.
fn check_sizes(rows: usize, k: usize) -> Result<()> {
    if u32::try_from(rows).is_err() || u32::try_from(k + 1).is_err() {
        return Err(Error::Gpu(format!(
            "{rows} rows in {k} clusters: too many for 32-bit indices on the GPU"
        )));
    }
    Ok(())
}

/// The sums of `values` per label on the device (see [`super::cluster_sums`]),
/// in chunks of the shared chunking.
#[cfg(test)]
pub(crate) async fn cluster_sums(
    g: &Gpu,
    labels: &[u32],
    values: &[f32],
    weights: Option<&[f32]>,
    k: usize,
    dim: usize,
) -> Result<ClusterSums> {
    let n = labels.len();
    check_sizes(n, k)?;
    let p = Pipelines::new(g, dim, weights.is_some()).await?;
    let per_chunk = rows_per_chunk(g, dim, &SUMS);
    let mut total: Option<ClusterSums> = None;
    for start in (0..n.max(1)).step_by(per_chunk) {
        let end = (start + per_chunk).min(n);
        let rows = end - start;
        let (readback, work, at) = g
            .scoped(|| {
                let work = Work::new(g, rows, k, &p);
                let label_buf = g.upload("labels", &pad(&labels[start..end]));
                let value_buf = g.upload("values", &pad(&values[start * dim..end * dim]));
                let weight_buf = weights.map(|w| g.upload("weights", &pad(&w[start..end])));
                let mut batch = Batch::new(g);
                let at = work.record(
                    g,
                    &mut batch,
                    &p,
                    &Labels {
                        buffer: &label_buf,
                        stride: 1,
                        offset: 0,
                    },
                    &value_buf,
                    weight_buf.as_ref(),
                );
                (batch.submit(), work, at)
            })
            .await?;
        let bytes = readback.wait(g).await?;
        let (part, _) = work.decode(&bytes, at, dim, weights.is_some());
        total = Some(match total {
            None => part,
            Some(t) => t.add(&part),
        });
    }
    Ok(total.expect("at least one chunk"))
}

/// `values`, or one zero where there are none (a buffer is never empty).
#[cfg(test)]
fn pad<T: Pod + Default>(values: &[T]) -> Vec<T> {
    if values.is_empty() {
        vec![T::default()]
    } else {
        values.to_vec()
    }
}

/// Lloyd steps on the device: the points, the rows to sum and the
/// weights are uploaded once (the points found resident where a dataset
/// pinned them); each step writes the centres, records the nearest pass
/// and the sums of every chunk into one submission, and reads back `k`
/// rows per chunk.
pub(crate) struct Lloyd<'a> {
    g: &'a Gpu,
    data: LloydData<'a>,
    nearest: NearestPass,
    pipelines: Pipelines,
    points: Rows,
    values: Option<Rows>,
    weights: Option<Rows>,
    centres: Rows,
    /// Per chunk of points: the nearest pass's state (key, index pairs)
    /// and the sums' working buffers.
    state: Vec<wgpu::Buffer>,
    work: Vec<Work>,
    /// The device update's new centres, and its status word.
    next: wgpu::Buffer,
    status: wgpu::Buffer,
}

/// Most centre coordinates a batched step reads back (4 MiB): wider
/// centres go a step per submission, whose cost is then all work.
const MAX_BATCHED_CENTRES: usize = 1 << 20;

/// What [`Lloyd::steps`] gives back: per step, the labels that changed and
/// the centres the device made, or `None` from the first step whose update
/// it left to the host; and the last step's sums, which are that step's
/// where there is one (the steps after it repeat it).
pub(crate) struct Batched {
    pub steps: Vec<(u64, Option<Vec<f32>>)>,
    pub sums: ClusterSums,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct UpdateParams {
    k: u32,
    pad: [u32; 7],
}

impl<'a> Lloyd<'a> {
    pub async fn new(g: &'a Gpu, data: LloydData<'a>) -> Result<Self> {
        let dim = data.dim;
        let n = data.points.len() / dim;
        check_sizes(n, data.k)?;
        let nearest = NearestPass::new(g, dim).await?;
        let pipelines = Pipelines::new(g, dim, data.weights.is_some()).await?;
        let per_chunk = rows_per_chunk(g, dim, &TOPK);
        let zeros = vec![0.0f32; data.k * dim];
        let made = g
            .scoped(|| {
                let points = g.resident("data", data.points, dim, per_chunk);
                let values = data
                    .weights
                    .map(|_| Rows::upload(g, "weighted data", data.values, dim, per_chunk));
                let weights = data
                    .weights
                    .map(|w| Rows::upload(g, "weights", w, 1, per_chunk));
                let centres = Rows::upload(g, "centres", &zeros, dim, per_chunk);
                let state = points
                    .chunks
                    .iter()
                    .map(|c| g.storage("nearest centre", (c.rows() * 8) as u64))
                    .collect::<Vec<_>>();
                let work = points
                    .chunks
                    .iter()
                    .map(|c| Work::new(g, c.rows(), data.k, &pipelines))
                    .collect::<Vec<_>>();
                let next = g.storage("next centres", (data.k * dim * 4) as u64);
                let status = g.storage("update status", 4);
                (points, values, weights, centres, state, work, next, status)
            })
            .await?;
        let (points, values, weights, centres, state, work, next, status) = made;
        Ok(Self {
            g,
            data,
            nearest,
            pipelines,
            points,
            values,
            weights,
            centres,
            state,
            work,
            next,
            status,
        })
    }

    /// Whether [`Lloyd::steps`] can batch: the points in one chunk (the
    /// update reads one chunk's sums) and the centres in one buffer.
    pub fn batches(&self) -> bool {
        self.work.len() == 1
            && self.centres.chunks.len() == 1
            && self.data.k * self.data.dim <= MAX_BATCHED_CENTRES
    }

    /// `m` steps from `centres` in one submission, each followed by the
    /// centre update on the device (`cluster_update.wgsl`: the host's
    /// bits). Per step the readback is the changed count, the status word
    /// and the `k x dim` centres; the sums come back once, from the last
    /// step. Requires [`Lloyd::batches`].
    pub async fn steps(&mut self, centres: &[f32], m: usize) -> Result<Batched> {
        let g = self.g;
        let (k, dim) = (self.data.k, self.data.dim);
        let weighted = self.data.weights.is_some();
        let (readback, at, sums_at) = g
            .scoped(|| {
                self.write_centres(centres);
                let mut batch = Batch::new(g);
                let values = self.values.as_ref().unwrap_or(&self.points);
                let work = &self.work[0];
                let labels = Labels {
                    buffer: &self.state[0],
                    stride: 2,
                    offset: 1,
                };
                let weights = self.weights.as_ref().map(|w| &w.chunks[0].buffer);
                let centres = &self.centres.chunks[0].buffer;
                let params = UpdateParams {
                    k: k as u32,
                    pad: [0; 7],
                };
                let at: Vec<[usize; 3]> = (0..m)
                    .map(|_| {
                        self.record_nearest(&mut batch);
                        work.record_sums(
                            g,
                            &mut batch,
                            &self.pipelines,
                            &labels,
                            &values.chunks[0].buffer,
                            weights,
                        );
                        let [counts, span_off, rows] = work.finals();
                        let bindings = [counts, span_off, rows, &self.next, &self.status, centres];
                        batch.clear(&self.status);
                        batch.dispatch(&self.pipelines.divide, params, &bindings, k * dim);
                        batch.dispatch(&self.pipelines.commit, params, &bindings, k * dim);
                        [
                            work.read_changed(&mut batch),
                            batch.read(&self.status, 0, 4),
                            batch.read(centres, 0, (k * dim * 4) as u64),
                        ]
                    })
                    .collect();
                let sums_at = work.read_sums(&mut batch, &self.pipelines);
                (batch.submit(), at, sums_at)
            })
            .await?;
        let bytes = readback.wait(g).await?;
        let mut steps: Vec<(u64, Option<Vec<f32>>)> = Vec::with_capacity(m);
        for [changed, status, made] in at {
            let left = words(&bytes[status])[0] != 0
                || steps.last().is_some_and(|(_, made)| made.is_none());
            steps.push((
                u64::from(words(&bytes[changed])[0]),
                (!left).then(|| floats(&bytes[made])),
            ));
        }
        let (sums, _) = self.work[0].decode(&bytes, sums_at, dim, weighted);
        Ok(Batched { steps, sums })
    }

    fn write_centres(&self, centres: &[f32]) {
        let dim = self.data.dim;
        for c in &self.centres.chunks {
            let part = &centres[c.range.start * dim..c.range.end * dim];
            self.g.write(&c.buffer, bytemuck::cast_slice(part));
        }
    }

    fn record_nearest(&self, batch: &mut Batch<'_>) {
        for (chunk, state) in self.points.chunks.iter().zip(&self.state) {
            self.nearest
                .record(self.g, batch, chunk, &self.centres, state);
        }
    }

    pub async fn step(&mut self, centres: &[f32]) -> Result<Step> {
        let g = self.g;
        let weighted = self.data.weights.is_some();
        let (readback, at) = g
            .scoped(|| {
                self.write_centres(centres);
                let mut batch = Batch::new(g);
                self.record_nearest(&mut batch);
                let values = self.values.as_ref().unwrap_or(&self.points);
                let at: Vec<[usize; 3]> = self
                    .work
                    .iter()
                    .enumerate()
                    .map(|(i, work)| {
                        let labels = Labels {
                            buffer: &self.state[i],
                            stride: 2,
                            offset: 1,
                        };
                        let weights = self.weights.as_ref().map(|w| &w.chunks[i].buffer);
                        work.record(
                            g,
                            &mut batch,
                            &self.pipelines,
                            &labels,
                            &values.chunks[i].buffer,
                            weights,
                        )
                    })
                    .collect();
                (batch.submit(), at)
            })
            .await?;
        let bytes = readback.wait(g).await?;
        let mut total: Option<(ClusterSums, u64)> = None;
        for (work, at) in self.work.iter().zip(at) {
            let (part, changed) = work.decode(&bytes, at, self.data.dim, weighted);
            total = Some(match total {
                None => (part, changed),
                Some((t, c)) => (t.add(&part), c + changed),
            });
        }
        let (sums, changed) = total.expect("at least one chunk");
        Ok(Step { sums, changed })
    }

    pub async fn labels(&self) -> Result<Vec<u32>> {
        let g = self.g;
        let readback = g
            .scoped(|| {
                let mut batch = Batch::new(g);
                for (chunk, state) in self.points.chunks.iter().zip(&self.state) {
                    batch.read(state, 0, (chunk.rows() * 8) as u64);
                }
                batch.submit()
            })
            .await?;
        let bytes = readback.wait(g).await?;
        Ok(bytes
            .iter()
            .flat_map(|b| words(b).into_iter().skip(1).step_by(2))
            .collect())
    }

    pub async fn assign(&mut self, centres: &[f32]) -> Result<Vec<u32>> {
        let g = self.g;
        let readback = g
            .scoped(|| {
                self.write_centres(centres);
                let mut batch = Batch::new(g);
                self.record_nearest(&mut batch);
                for (chunk, state) in self.points.chunks.iter().zip(&self.state) {
                    batch.read(state, 0, (chunk.rows() * 8) as u64);
                }
                batch.submit()
            })
            .await?;
        let bytes = readback.wait(g).await?;
        Ok(bytes
            .iter()
            .flat_map(|b| words(b).into_iter().skip(1).step_by(2))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::pipelines::validate;

    #[test]
    fn every_entry_validates() {
        let span = ("SPAN_LEN", Const::U32(SPAN as u32));
        for entry in ["count", "span_counts"] {
            for wg in [32, 64, 256] {
                validate(&COUNTS, 1, entry, &[span], &[("WG", wg)]);
            }
        }
        for dim in [1u32, 2, 3, 17, 300, 4096] {
            for width in [dim, dim + 1] {
                for entry in ["divide", "commit"] {
                    validate(
                        &UPDATE,
                        dim,
                        entry,
                        &[("W", Const::U32(width))],
                        &[("WG", 64)],
                    );
                }
                for entry in ["sum_points", "sum_partials"] {
                    validate(
                        &SUMS,
                        dim,
                        entry,
                        &[span, ("W", Const::U32(width))],
                        &[("WG", 64)],
                    );
                }
            }
        }
    }

    /// `(quotients, status)` of the update's `divide` over clusters whose
    /// single rows are `rows` (W wide) with label counts `counts`.
    fn divide(
        g: &Gpu,
        dim: usize,
        weighted: bool,
        rows: &[f32],
        counts: &[u32],
    ) -> (Vec<u32>, u32) {
        let p = pollster::block_on(Pipelines::new(g, dim, weighted)).unwrap();
        let k = rows.len() / p.width;
        let mut with_changed = counts.to_vec();
        with_changed.push(0);
        let span_off: Vec<u32> = (0..=k as u32).collect();
        let readback = pollster::block_on(g.scoped(|| {
            let counts = g.upload("counts", &with_changed);
            let span_off = g.upload("span offsets", &span_off);
            let rows = g.upload("rows", rows);
            let next = g.storage("next", (k * dim * 4) as u64);
            let status = g.storage("status", 4);
            let centres = g.storage("centres", (k * dim * 4) as u64);
            let bindings = [&counts, &span_off, &rows, &next, &status, &centres];
            let params = UpdateParams {
                k: k as u32,
                pad: [0; 7],
            };
            let mut batch = Batch::new(g);
            batch.clear(&status);
            batch.dispatch(&p.divide, params, &bindings, k * dim);
            batch.read(&next, 0, (k * dim * 4) as u64);
            batch.read(&status, 0, 4);
            batch.submit()
        }))
        .unwrap();
        let bytes = pollster::block_on(readback.wait(g)).unwrap();
        (words(&bytes[0]), words(&bytes[1])[0])
    }

    /// The device's division is the host's `f32(f64(a) / f64(b))`, bit
    /// for bit, over seeded operands of every sign and a wide range of
    /// exponents, masses that are weights or counts, and zeros; and it
    /// leaves to the host what it cannot do exactly.
    #[test]
    fn the_device_update_divides_with_the_hosts_bits() {
        let Some(ctx) = crate::context::test_gpu() else {
            return;
        };
        let crate::context::Inner::Gpu(g) = ctx.inner() else {
            unreachable!("a GPU context")
        };
        let host = |a: f32, b: f32| ((f64::from(a) / f64::from(b)) as f32).to_bits();
        let mut rng = crate::test_data::rng(99);
        let mut next = move || rand::Rng::next_u32(&mut rng);
        // Weighted: sums and masses from bits, exponents kept where the
        // quotient stays normal.
        let mut rows = Vec::new();
        for _ in 0..20_000 {
            let a = f32::from_bits((next() & 0x807f_ffff) | ((next() % 120 + 60) << 23));
            let b = f32::from_bits((next() & 0x007f_ffff) | ((next() % 40 + 107) << 23));
            rows.extend([a, b]);
        }
        rows.extend([
            0.0,
            3.0,
            -0.0,
            0.5,
            1.0,
            3.0,
            -7.0,
            3.0,
            1.0,
            1.0 + f32::EPSILON,
        ]);
        let (got, status) = divide(g, 1, true, &rows, &vec![1; rows.len() / 2]);
        assert_eq!(status, 0);
        for (i, pair) in rows.chunks_exact(2).enumerate() {
            assert_eq!(got[i], host(pair[0], pair[1]), "{} / {}", pair[0], pair[1]);
        }
        // Counts as masses, up to the last f32 integer.
        let counts: Vec<u32> = (0..5000)
            .map(|i| 1 + next() % (1 << 24) * (i % 2) + i)
            .collect();
        let sums: Vec<f32> = (0..5000)
            .map(|_| f32::from_bits((next() & 0x807f_ffff) | (150 << 23)))
            .collect();
        let (got, status) = divide(g, 1, false, &sums, &counts);
        assert_eq!(status, 0);
        for i in 0..5000 {
            assert_eq!(
                got[i],
                host(sums[i], counts[i] as f32),
                "{} / {}",
                sums[i],
                counts[i]
            );
        }
        // Left to the host: an empty cluster, a count past 2^24, a
        // quotient too large or too small, an operand not normal.
        for (rows, counts) in [
            (vec![1.0f32, 0.0], vec![1]),
            (vec![1.0, f32::MAX], vec![1]),
            (vec![f32::MAX, 0.5], vec![1]),
            (vec![1e-30, 1e10], vec![1]),
            (vec![1e-40, 1.0], vec![1]),
            (vec![f32::INFINITY, 1.0], vec![1]),
        ] {
            assert_eq!(divide(g, 1, true, &rows, &counts).1, 1, "{rows:?}");
        }
        assert_eq!(divide(g, 1, false, &[1.0], &[0]).1, 1, "empty");
        assert_eq!(divide(g, 1, false, &[1.0], &[1 << 24]).1, 1, "2^24 members");
        assert_eq!(divide(g, 1, false, &[1.0], &[(1 << 24) - 1]).1, 0);
    }

    #[test]
    fn levels_end_with_a_row_per_cluster() {
        // Enough levels that SPAN^levels covers the rows; bounds never grow.
        for (rows, k, count) in [
            (1, 1, 1),
            (256, 1, 1),
            (257, 1, 2),
            (1000, 600, 2),
            (100_000, 3, 3),
        ] {
            let l = levels(rows, k);
            assert_eq!(l.len(), count, "{rows} rows, k {k}: {l:?}");
            assert!(l.windows(2).all(|w| w[1] <= w[0]) && l[0] <= rows.max(1));
        }
    }
}
