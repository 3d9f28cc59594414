//! Matrices on the device, split into buffers no larger than a binding,
//! and reading results back: whole matrices, blocks of per-row values, or
//! single buffers, gathered into host vectors.

use std::ops::Range;

use super::batch::Batch;
use super::{Gpu, plan};
use crate::error::Result;

/// Usage of every working buffer: bound as storage, copied from for
/// readback and into for trajectories.
pub(crate) const WORKING: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// One buffer of a [`Rows`]: rows `range` of the whole matrix.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub buffer: wgpu::Buffer,
    pub range: Range<usize>,
}

impl Chunk {
    pub fn rows(&self) -> usize {
        self.range.len()
    }
}

/// A row-major matrix of 32-bit values on the device, `width` per row, in
/// consecutive chunks of at most `rows_per_chunk` rows, one buffer each.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    pub chunks: Vec<Chunk>,
    pub width: usize,
}

/// Where working buffers come from: made afresh ([`Gpu`]: data kept for
/// later calls, pinned or resident) or taken from the pool for one call
/// ([`Arena`](super::pool::Arena)).
pub(crate) trait Alloc {
    /// A zero-filled working buffer of `bytes` bytes (at least 4).
    fn storage(&self, label: &str, bytes: u64) -> wgpu::Buffer;
    /// A working buffer holding `values` (32-bit values, so the size is a
    /// multiple of 4 as copies require).
    fn upload<T: bytemuck::Pod>(&self, label: &str, values: &[T]) -> wgpu::Buffer;
}

impl Alloc for Gpu {
    fn storage(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        storage(self, label, bytes)
    }

    fn upload<T: bytemuck::Pod>(&self, label: &str, values: &[T]) -> wgpu::Buffer {
        upload(self, label, values)
    }
}

impl Gpu {
    /// Writes `bytes` at the start of `buffer` through the queue, counted
    /// in the bytes uploaded.
    pub(crate) fn write(&self, buffer: &wgpu::Buffer, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.queue.write_buffer(buffer, 0, bytes);
            self.uploaded_bytes
                .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Rows {
    /// Uploads `values` (a multiple of `width` long).
    pub fn upload<T: bytemuck::Pod>(
        gpu: &impl Alloc,
        label: &str,
        values: &[T],
        width: usize,
        rows_per_chunk: usize,
    ) -> Self {
        let rows = values.len() / width;
        let chunks = plan::chunks(rows, rows_per_chunk)
            .map(|range| Chunk {
                buffer: gpu.upload(label, &values[range.start * width..range.end * width]),
                range,
            })
            .collect();
        Self { chunks, width }
    }

    /// Zero-filled buffers chunked like `like`, `width` values per row.
    pub fn zeroed(gpu: &impl Alloc, label: &str, like: &Rows, width: usize) -> Self {
        let chunks = like
            .chunks
            .iter()
            .map(|c| Chunk {
                buffer: gpu.storage(label, (c.rows() * width * 4) as u64),
                range: c.range.clone(),
            })
            .collect();
        Self { chunks, width }
    }
}

/// A zero-filled working buffer of `bytes` bytes (at least 4), made afresh
/// (wgpu zeroes new buffers).
pub(crate) fn storage(gpu: &Gpu, label: &str, bytes: u64) -> wgpu::Buffer {
    gpu.pool
        .buffers_created
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4),
        usage: WORKING,
        mapped_at_creation: false,
    })
}

/// A working buffer holding `values` (32-bit values, so the size is a
/// multiple of 4 as copies require).
///
/// The buffer is created unmapped and filled through the queue, never with
/// `mapped_at_creation`: on a lost or destroyed device wgpu hands back an
/// invalid buffer whose mapping fails (wgpu's `create_buffer_init` panics
/// there), while a queued write on it is only an error, which the stage's
/// error scopes and device-loss check report.
pub(crate) fn upload<T: bytemuck::Pod>(gpu: &Gpu, label: &str, values: &[T]) -> wgpu::Buffer {
    let bytes: &[u8] = bytemuck::cast_slice(values);
    let buffer = storage(gpu, label, bytes.len() as u64);
    gpu.write(&buffer, bytes);
    buffer
}

/// Host-visible copies of results, filled by a submitted batch.
#[derive(Debug, Default)]
pub(crate) struct Readback {
    /// The submission's parameter block, back to the pool once it is done.
    pub(super) params: Option<wgpu::Buffer>,
    pub(super) buffers: Vec<wgpu::Buffer>,
    /// The passes' timestamps, where the device measures them.
    pub(super) timestamps: Option<super::timing::Pending>,
}

impl Readback {
    /// Waits for the copies and returns each one's bytes, in the order they
    /// were asked for. Blocks on native; on the web it yields to the
    /// browser, which completes the mapping. Where the submission's passes
    /// were timed, adds their kernel time to the device's total.
    pub async fn wait(self, gpu: &Gpu) -> Result<Vec<Vec<u8>>> {
        let map = |buffer: &wgpu::Buffer| {
            let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
            buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                // The receiver only goes away with this function's future.
                let _ = tx.send(r);
            });
            rx
        };
        let pending: Vec<_> = self.buffers.iter().map(map).collect();
        let timestamps = self.timestamps.map(|t| {
            let rx = map(&t.read);
            (t, rx)
        });
        #[cfg(not(target_arch = "wasm32"))]
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu.failure(format!("waiting for the GPU: {e}")))?;
        let mut out = Vec::with_capacity(self.buffers.len());
        for (buffer, rx) in self.buffers.iter().zip(pending) {
            match rx.receive().await {
                Some(Ok(())) => {}
                _ => return Err(gpu.failure("reading results back from the GPU failed")),
            }
            let bytes = {
                let view = buffer
                    .slice(..)
                    .get_mapped_range()
                    .map_err(|e| gpu.failure(format!("reading results back: {e:?}")))?;
                view.to_vec()
            };
            buffer.unmap();
            out.push(bytes);
        }
        if let Some((t, rx)) = timestamps {
            // Only an observation: a timing that cannot be read is left out
            // (with its buffers), and the results stand.
            if let (Some(Ok(())), Some(timer)) = (rx.receive().await, &gpu.timer) {
                if let Ok(view) = t.read.slice(..).get_mapped_range() {
                    timer.add(&view);
                }
                t.read.unmap();
                gpu.pool.give_back([t.resolve, t.read]);
            }
        }
        // The submission is done: the device poll waited for it (native),
        // or its copies were mapped, which follows it (web). Without a
        // copy the web cannot tell, so the parameter block is let go.
        let done = cfg!(not(target_arch = "wasm32")) || !self.buffers.is_empty();
        let params = self.params.filter(|_| done);
        gpu.pool.give_back(params.into_iter().chain(self.buffers));
        Ok(out)
    }
}

/// Reads back every chunk of `rows` whole; returns the readback indices.
pub(crate) fn read_rows(batch: &mut Batch<'_>, rows: &Rows) -> Vec<usize> {
    read_block(batch, rows, 0, rows.width)
}

/// Reads back, from every chunk of `rows`, the block of `take` values per
/// row that follows the first `skip` per row (the sums are laid out in
/// such blocks: num, den, cnt, seek state); returns the readback indices.
pub(crate) fn read_block(
    batch: &mut Batch<'_>,
    rows: &Rows,
    skip: usize,
    take: usize,
) -> Vec<usize> {
    rows.chunks
        .iter()
        .map(|c| {
            let block_bytes = c.rows() as u64 * 4;
            batch.read(
                &c.buffer,
                block_bytes * skip as u64,
                block_bytes * take as u64,
            )
        })
        .collect()
}

/// The `f32`s of several readbacks, concatenated.
pub(crate) fn gather(bytes: &[Vec<u8>], indices: &[usize]) -> Vec<f32> {
    indices.iter().flat_map(|&i| floats(&bytes[i])).collect()
}

/// Bytes read back as `f32`s (the copy realigns them).
pub(crate) fn floats(bytes: &[u8]) -> Vec<f32> {
    bytemuck::pod_collect_to_vec(bytes)
}

/// Bytes read back as `u32`s.
pub(crate) fn words(bytes: &[u8]) -> Vec<u32> {
    bytemuck::pod_collect_to_vec(bytes)
}
