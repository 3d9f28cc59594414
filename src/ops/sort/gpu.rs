//! Host side of `sort.wgsl`: the stable radix sort recorded into a batch.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::Alloc;
use crate::gpu::pipelines::{Access, COMMON, Pipeline, Spec, Stage, StageDef};
use crate::ops::scan;

/// The sort stage: a digit's histogram per block, and the scatter.
pub(crate) const SORT: StageDef = StageDef {
    name: "sort",
    sources: &[COMMON, include_str!("sort.wgsl")],
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

/// Elements per block, per thread (`PER_THREAD` in the shader).
const PER_THREAD: usize = 4;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SortParams {
    n: u32,
    stride: u32,
    offset: u32,
    shift: u32,
    first: u32,
    nblocks: u32,
    pad: [u32; 2],
}

/// Where the keys are: word `stride * i + offset` of `buffer` for element
/// `i`, so a pass can read them inside another op's output.
pub(crate) struct Keys<'b> {
    pub buffer: &'b wgpu::Buffer,
    pub stride: u32,
    pub offset: u32,
}

/// The sort's pipelines on a device.
pub(crate) struct Sorter {
    hist: Arc<Pipeline>,
    scatter: Arc<Pipeline>,
    scan: Arc<Pipeline>,
    /// Elements per block.
    block: usize,
}

/// The working buffers of a sort of up to `n` elements: two ping-pong
/// sets of keys and values, the histogram and its scan.
pub(crate) struct SortWork {
    n: usize,
    nblocks: usize,
    keys: [wgpu::Buffer; 2],
    vals: [wgpu::Buffer; 2],
    hist: wgpu::Buffer,
    hist_scan: wgpu::Buffer,
}

impl SortWork {
    /// The histogram buffer: free between sorts, for callers that need
    /// a scratch `ReadWrite` binding of at least 256 words.
    pub fn scratch(&self) -> [&wgpu::Buffer; 2] {
        [&self.hist, &self.hist_scan]
    }
}

impl Sorter {
    pub async fn new(g: &Gpu) -> Result<Self> {
        let wg = g.workgroup_size();
        let entry = |entry: &'static str| {
            g.pipeline(Spec {
                stage: Stage(&SORT),
                entry,
                dim: 1,
                consts: Vec::new(),
                overrides: vec![("WG", wg)],
                rows_per_group: wg,
            })
        };
        Ok(Self {
            hist: entry("hist").await?,
            scatter: entry("scatter").await?,
            scan: scan::gpu::pipeline(g).await?,
            block: PER_THREAD * wg as usize,
        })
    }

    /// Working buffers for sorts of up to `n` elements.
    pub fn work(&self, g: &Gpu, n: usize) -> SortWork {
        let nblocks = n.div_ceil(self.block).max(1);
        let buf = |label: &str, words: usize| g.storage(label, (words.max(1) * 4) as u64);
        SortWork {
            n,
            nblocks,
            keys: [buf("sorted keys", n), buf("sorted keys", n)],
            vals: [buf("sorted values", n), buf("sorted values", n)],
            hist: buf("radix histogram", 256 * nblocks),
            hist_scan: buf("radix offsets", 256 * nblocks + 1),
        }
    }

    /// Records the stable sort of `work`'s `n` elements by the keys at
    /// `keys` (each below `bound`), carrying `values` (`None`: each
    /// element's index). Returns the buffers that hold the sorted keys
    /// and values once the batch has run.
    pub fn record<'w>(
        &self,
        batch: &mut Batch<'_>,
        keys: Keys<'_>,
        values: Option<&wgpu::Buffer>,
        bound: u32,
        work: &'w SortWork,
    ) -> (&'w wgpu::Buffer, &'w wgpu::Buffer) {
        let passes = super::passes(bound) as usize;
        let groups = work.nblocks * (self.block / PER_THREAD);
        for pass in 0..passes {
            let (src, src_vals, stride, offset) = match pass {
                0 => (
                    keys.buffer,
                    values.unwrap_or(keys.buffer),
                    keys.stride,
                    keys.offset,
                ),
                _ => (&work.keys[(pass - 1) % 2], &work.vals[(pass - 1) % 2], 1, 0),
            };
            let to = pass % 2;
            let params = SortParams {
                n: work.n as u32,
                stride,
                offset,
                shift: 8 * pass as u32,
                first: u32::from(pass == 0 && values.is_none()),
                nblocks: work.nblocks as u32,
                pad: [0; 2],
            };
            let out = [&work.keys[to], &work.vals[to]];
            batch.dispatch(
                &self.hist,
                params,
                &[src, src_vals, &work.hist, out[0], out[1]],
                groups,
            );
            scan::gpu::record(
                batch,
                &self.scan,
                &work.hist,
                &work.hist_scan,
                256 * work.nblocks,
                scan::gpu::SPAN,
            );
            batch.dispatch(
                &self.scatter,
                params,
                &[src, src_vals, &work.hist_scan, out[0], out[1]],
                groups,
            );
        }
        let last = (passes - 1) % 2;
        (&work.keys[last], &work.vals[last])
    }
}

/// Sorts `keys` (each below `bound`) with `values` (`None`: the indices)
/// on the device and reads them back, for tests.
#[cfg(test)]
pub(crate) async fn sort_pairs(
    g: &Gpu,
    keys: &[u32],
    values: Option<&[u32]>,
    bound: u32,
) -> Result<(Vec<u32>, Vec<u32>)> {
    use crate::gpu::buffers::{upload, words};
    let sorter = Sorter::new(g).await?;
    let work = sorter.work(g, keys.len());
    let readback = g
        .scoped(|| {
            let key_buf = upload(g, "keys", keys);
            let val_buf = values.map(|v| upload(g, "values", v));
            let mut batch = Batch::new(g);
            let source = Keys {
                buffer: &key_buf,
                stride: 1,
                offset: 0,
            };
            let (k, v) = sorter.record(&mut batch, source, val_buf.as_ref(), bound, &work);
            let bytes = (keys.len() * 4) as u64;
            batch.read(k, 0, bytes);
            batch.read(v, 0, bytes);
            batch.submit()
        })
        .await?;
    let bytes = readback.wait(g).await?;
    Ok((words(&bytes[0]), words(&bytes[1])))
}
