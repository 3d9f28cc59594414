//! One submission's worth of work: dispatches, copies and readbacks,
//! recorded first and encoded together, so a whole fit's iterations go to
//! the device at once.
//!
//! Each dispatch's small parameter block goes into one uniform buffer at
//! its own aligned offset (a dynamic offset at binding 0), because writes
//! to a buffer between dispatches of one submission are not ordered with
//! them.

use std::sync::Arc;

use super::buffers::Readback;
use super::pipelines::{PARAMS_BYTES, Pipeline};
use super::{Gpu, plan, timing};

enum Op {
    Dispatch {
        pipeline: Arc<Pipeline>,
        buffers: Vec<wgpu::Buffer>,
        params_offset: u32,
        grid: (u32, u32),
    },
    Clear(wgpu::Buffer),
    Copy {
        from: wgpu::Buffer,
        offset: u64,
        to: wgpu::Buffer,
        to_offset: u64,
        size: u64,
    },
}

/// Work recorded for one submission.
pub(crate) struct Batch<'g> {
    gpu: &'g Gpu,
    params: Vec<u8>,
    ops: Vec<Op>,
    reads: Vec<wgpu::Buffer>,
}

impl<'g> Batch<'g> {
    pub fn new(gpu: &'g Gpu) -> Self {
        Self {
            gpu,
            params: Vec::new(),
            ops: Vec::new(),
            reads: Vec::new(),
        }
    }

    /// Runs `pipeline` over `rows` query rows (as many workgroups as cover
    /// them, [`Pipeline::rows_per_group`] each) with `params` at binding 0
    /// and `buffers` at bindings 1, 2, ...
    pub fn dispatch<P: bytemuck::Pod>(
        &mut self,
        pipeline: &Arc<Pipeline>,
        params: P,
        buffers: &[&wgpu::Buffer],
        rows: usize,
    ) {
        let groups = u32::try_from(rows.div_ceil(pipeline.rows_per_group.max(1) as usize))
            .unwrap_or(u32::MAX);
        if groups == 0 {
            return;
        }
        const {
            assert!(
                size_of::<P>() <= PARAMS_BYTES as usize,
                "a parameter block is larger than PARAMS_BYTES"
            )
        };
        let bytes = bytemuck::bytes_of(&params);
        let align = self.gpu.uniform_alignment().max(4) as usize;
        let params_offset = self.params.len().next_multiple_of(align);
        self.params.resize(params_offset, 0);
        self.params.extend_from_slice(bytes);
        self.params.resize(params_offset + PARAMS_BYTES as usize, 0);
        self.ops.push(Op::Dispatch {
            pipeline: Arc::clone(pipeline),
            buffers: buffers.iter().map(|b| (*b).clone()).collect(),
            params_offset: params_offset as u32,
            grid: plan::grid(groups, self.gpu.max_workgroups_per_dim()),
        });
    }

    /// Zeroes `buffer`.
    pub fn clear(&mut self, buffer: &wgpu::Buffer) {
        self.ops.push(Op::Clear(buffer.clone()));
    }

    /// Copies the first `size` bytes of `from` into `to` on the device.
    pub fn copy(&mut self, from: &wgpu::Buffer, to: &wgpu::Buffer, size: u64) {
        self.copy_range(from, 0, to, 0, size);
    }

    /// Copies `size` bytes of `from` at `offset` into `to` at `to_offset`
    /// on the device.
    pub fn copy_range(
        &mut self,
        from: &wgpu::Buffer,
        offset: u64,
        to: &wgpu::Buffer,
        to_offset: u64,
        size: u64,
    ) {
        if size > 0 {
            self.ops.push(Op::Copy {
                from: from.clone(),
                offset,
                to: to.clone(),
                to_offset,
                size,
            });
        }
    }

    /// Copies `size` bytes of `from` at `offset` back to the host; returns
    /// the index of the copy in what [`Readback::wait`] returns.
    pub fn read(&mut self, from: &wgpu::Buffer, offset: u64, size: u64) -> usize {
        // A copy's size is a multiple of 4, so the copy fills the whole
        // staging buffer it is read from.
        let (to, _) = self.gpu.pool.take(
            &self.gpu.device,
            "readback",
            size.max(4),
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        if size > 0 {
            self.ops.push(Op::Copy {
                from: from.clone(),
                offset,
                to: to.clone(),
                to_offset: 0,
                size,
            });
        }
        self.reads.push(to);
        self.reads.len() - 1
    }

    /// Encodes everything into one command buffer and submits it. Errors
    /// surface through the caller's error scope ([`Gpu::scoped`]).
    pub fn submit(self) -> Readback {
        let gpu = self.gpu;
        let (params, _) = gpu.pool.take(
            &gpu.device,
            "params",
            (self.params.len() as u64).max(PARAMS_BYTES),
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        gpu.queue.write_buffer(&params, 0, &self.params);
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("gpu-cluster"),
            });
        let timing = gpu
            .timer
            .as_ref()
            .and_then(|_| Timing::new(gpu, self.passes()));
        let mut passes = 0u32;
        let mut ops = self.ops.iter().peekable();
        while let Some(op) = ops.next() {
            match op {
                Op::Dispatch { .. } => {
                    let timestamp_writes = timing.as_ref().map(|t| t.writes(passes));
                    passes += 1;
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: None,
                        timestamp_writes,
                    });
                    let mut next = Some(op);
                    while let Some(Op::Dispatch {
                        pipeline,
                        buffers,
                        params_offset,
                        grid,
                    }) = next
                    {
                        let bind_group =
                            gpu.pool
                                .bind_group(&gpu.device, &pipeline.layout, &params, buffers);
                        pass.set_pipeline(&pipeline.pipeline);
                        pass.set_bind_group(0, &bind_group, &[*params_offset]);
                        pass.dispatch_workgroups(grid.0, grid.1, 1);
                        next = ops.next_if(|o| matches!(o, Op::Dispatch { .. }));
                    }
                }
                Op::Clear(buffer) => encoder.clear_buffer(buffer, 0, None),
                Op::Copy {
                    from,
                    offset,
                    to,
                    to_offset,
                    size,
                } => encoder.copy_buffer_to_buffer(from, *offset, to, *to_offset, *size),
            }
        }
        let timestamps = timing.map(|t| t.resolve(&mut encoder));
        gpu.queue.submit([encoder.finish()]);
        Readback {
            params: Some(params),
            buffers: self.reads,
            timestamps,
        }
    }

    /// Compute passes [`submit`](Batch::submit) begins: one per run of
    /// consecutive dispatches.
    fn passes(&self) -> u32 {
        let mut passes = 0;
        let mut in_pass = false;
        for op in &self.ops {
            let dispatch = matches!(op, Op::Dispatch { .. });
            if dispatch && !in_pass {
                passes += 1;
            }
            in_pass = dispatch;
        }
        passes
    }
}

/// The query sets a submission's passes write their begin and end
/// timestamps into (see [`timing`]), and where they
/// resolve.
struct Timing {
    sets: Vec<wgpu::QuerySet>,
    passes: u32,
    pending: timing::Pending,
}

impl Timing {
    /// Query sets for `passes` passes, or `None` for a submission without
    /// any.
    fn new(gpu: &Gpu, passes: u32) -> Option<Self> {
        if passes == 0 {
            return None;
        }
        let sets = (0..passes.div_ceil(timing::PASSES_PER_SET))
            .map(|i| {
                let in_set = (passes - i * timing::PASSES_PER_SET).min(timing::PASSES_PER_SET);
                gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("pass timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2 * in_set,
                })
            })
            .collect();
        let bytes = u64::from(passes) * 2 * u64::from(wgpu::QUERY_SIZE);
        let (resolve, _) = gpu.pool.take(
            &gpu.device,
            "timestamps",
            bytes,
            wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        );
        let (read, _) = gpu.pool.take(
            &gpu.device,
            "readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        Some(Self {
            sets,
            passes,
            pending: timing::Pending { resolve, read },
        })
    }

    /// The begin and end writes of pass `pass`.
    fn writes(&self, pass: u32) -> wgpu::ComputePassTimestampWrites<'_> {
        let slot = pass % timing::PASSES_PER_SET * 2;
        wgpu::ComputePassTimestampWrites {
            query_set: &self.sets[(pass / timing::PASSES_PER_SET) as usize],
            beginning_of_pass_write_index: Some(slot),
            end_of_pass_write_index: Some(slot + 1),
        }
    }

    /// Resolves every set and copies the ticks to the host-visible buffer.
    fn resolve(self, encoder: &mut wgpu::CommandEncoder) -> timing::Pending {
        for (i, set) in self.sets.iter().enumerate() {
            let first = i as u32 * timing::PASSES_PER_SET;
            let in_set = (self.passes - first).min(timing::PASSES_PER_SET);
            encoder.resolve_query_set(
                set,
                0..2 * in_set,
                &self.pending.resolve,
                i as u64 * timing::BYTES_PER_SET,
            );
        }
        let p = self.pending;
        encoder.copy_buffer_to_buffer(&p.resolve, 0, &p.read, 0, p.resolve.size());
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::buffers::{storage, upload, words};
    use crate::gpu::options::GpuOptions;

    /// A submission of more passes than one query set holds (unit tests
    /// use small sets) times them all, and computes what it would
    /// untimed. Skipped without an adapter or without timestamp queries.
    #[test]
    fn many_passes_span_several_query_sets() {
        let Some(g) = crate::gpu::test_device(&GpuOptions::default()) else {
            return;
        };
        let Some(timer) = &g.timer else {
            eprintln!("skipping: no timestamp queries");
            return;
        };
        let scan = pollster::block_on(crate::ops::scan::gpu::pipeline(&g)).unwrap();
        let counts: Vec<u32> = (0..1000).map(|i| i % 7).collect();
        let passes = 2 * timing::PASSES_PER_SET + 3;
        let before = timer.total_ns();
        let readback = pollster::block_on(g.scoped(|| {
            let input = upload(&g, "counts", &counts);
            let output = storage(&g, "offsets", (counts.len() as u64 + 1) * 4);
            let last = storage(&g, "totals", 4 * u64::from(passes));
            let mut batch = Batch::new(&g);
            for pass in 0..passes {
                crate::ops::scan::gpu::record(
                    &mut batch,
                    &scan,
                    &input,
                    &output,
                    counts.len(),
                    crate::ops::scan::gpu::SPAN,
                );
                // A copy between dispatches ends the pass.
                batch.copy_range(
                    &output,
                    counts.len() as u64 * 4,
                    &last,
                    u64::from(pass) * 4,
                    4,
                );
            }
            assert_eq!(batch.passes(), passes);
            batch.read(&last, 0, 4 * u64::from(passes));
            batch.submit()
        }))
        .unwrap();
        let totals = words(&pollster::block_on(readback.wait(&g)).unwrap()[0]);
        let total: u32 = counts.iter().sum();
        assert_eq!(totals, vec![total; passes as usize]);
        assert!(timer.total_ns() > before);
    }
}
