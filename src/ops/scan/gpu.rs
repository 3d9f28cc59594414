//! Host side of `scan.wgsl`: exclusive prefix sums recorded into a batch.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use crate::error::Result;
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::pipelines::{Access, COMMON, Pipeline, Spec, Stage, StageDef};

/// The scan stage: counts in, prefix sums (and the total) out.
pub(crate) const SCAN: StageDef = StageDef {
    name: "scan",
    sources: &[COMMON, include_str!("scan.wgsl")],
    storage: &[Access::Read, Access::ReadWrite],
    row_extra: 0,
    audited: false,
};

/// Counts one dispatch covers: a workgroup of 64 threads with 4096 each,
/// well within the loop budget of drivers that cut long loops short.
pub(crate) const SPAN: usize = 64 * 4096;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ScanParams {
    begin: u32,
    end: u32,
    fresh: u32,
    pad: [u32; 5],
}

/// The scan pipeline on this device.
pub(crate) async fn pipeline(g: &Gpu) -> Result<Arc<Pipeline>> {
    g.pipeline(Spec {
        stage: Stage(&SCAN),
        entry: "scan",
        dim: 1,
        consts: Vec::new(),
        overrides: vec![("WG", g.workgroup_size())],
        rows_per_group: 1,
    })
    .await
}

/// Records the exclusive scan of the first `n` words of `input` into
/// `output` (`n + 1` words: the total last), in spans of `span` counts.
pub(crate) fn record(
    batch: &mut Batch<'_>,
    pipeline: &Arc<Pipeline>,
    input: &wgpu::Buffer,
    output: &wgpu::Buffer,
    n: usize,
    span: usize,
) {
    let spans = crate::gpu::plan::chunks(n, span).collect::<Vec<_>>();
    if spans.is_empty() {
        batch.clear(output);
    }
    for (i, s) in spans.into_iter().enumerate() {
        let params = ScanParams {
            begin: s.start as u32,
            end: s.end as u32,
            fresh: u32::from(i == 0),
            pad: [0; 5],
        };
        batch.dispatch(pipeline, params, &[input, output], 1);
    }
}

/// The scan of `counts` on the device and back, for tests.
#[cfg(test)]
pub(crate) async fn exclusive_scan(g: &Gpu, counts: &[u32], span: usize) -> Result<Vec<u32>> {
    use crate::gpu::buffers::{storage, upload, words};
    let scan = pipeline(g).await?;
    let readback = g
        .scoped(|| {
            let input = upload(g, "counts", counts);
            let output = storage(g, "offsets", (counts.len() as u64 + 1) * 4);
            let mut batch = Batch::new(g);
            record(&mut batch, &scan, &input, &output, counts.len(), span);
            batch.read(&output, 0, (counts.len() as u64 + 1) * 4);
            batch.submit()
        })
        .await?;
    Ok(words(&readback.wait(g).await?[0]))
}
