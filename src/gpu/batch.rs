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
use super::{Gpu, plan};

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
        let mut ops = self.ops.iter().peekable();
        while let Some(op) = ops.next() {
            match op {
                Op::Dispatch { .. } => {
                    let mut pass =
                        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
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
        gpu.queue.submit([encoder.finish()]);
        Readback {
            params: Some(params),
            buffers: self.reads,
        }
    }
}
