//! Host-visible staging buffers and parameter blocks kept for the next
//! call of the same shape, instead of being made for every submission.
//!
//! A buffer comes back only once its submission is done (after the
//! readback's wait), unmapped, and is reused only for a buffer of the same
//! size and usage, which the next submission overwrites whole before any
//! read (a parameter block is written before it is bound; a readback copy
//! fills the whole staging buffer it maps). The pool is bounded: a buffer
//! that would pass [`MAX_BYTES`] is let go instead.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most bytes kept, all buffers together.
pub(crate) const MAX_BYTES: u64 = 64 << 20;

type Key = (u64, u32);

/// Free buffers by (size, usage).
#[derive(Default)]
pub(crate) struct Pool {
    free: Mutex<HashMap<Key, Vec<wgpu::Buffer>>>,
}

impl Pool {
    /// A free buffer of `size` bytes and `usage`, or a new one.
    pub fn take(
        &self,
        device: &wgpu::Device,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let reused = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.get_mut(&(size, usage.bits()))?.pop());
        reused.unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// Keeps `buffers` (done with, unmapped) for later calls, within the
    /// bound.
    pub fn give_back(&self, buffers: impl IntoIterator<Item = wgpu::Buffer>) {
        let Ok(mut free) = self.free.lock() else {
            return;
        };
        let mut kept: u64 = free.values().flatten().map(wgpu::Buffer::size).sum();
        for b in buffers {
            if kept + b.size() <= MAX_BYTES {
                kept += b.size();
                free.entry((b.size(), b.usage().bits()))
                    .or_default()
                    .push(b);
            }
        }
    }

    /// Buffers kept now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.free
            .lock()
            .map_or(0, |f| f.values().map(Vec::len).sum())
    }
}

#[cfg(test)]
mod tests {
    use crate::context::GpuOptions;
    use crate::gpu::Gpu;
    use crate::gpu::batch::Batch;
    use crate::gpu::buffers::{upload, words};

    /// A second submission of the same shape reuses the first's staging
    /// buffer and parameter block, and reads the right values through
    /// them. Skipped without an adapter.
    #[test]
    fn the_same_shape_reuses_its_buffers() {
        let Ok(g) = pollster::block_on(Gpu::request(&GpuOptions::default(), true)) else {
            eprintln!("skipping: no GPU adapter");
            return;
        };
        let run = |values: &[u32]| {
            let readback = pollster::block_on(g.scoped(|| {
                let source = upload(&g, "source", values);
                let mut batch = Batch::new(&g);
                batch.read(&source, 0, 4 * values.len() as u64);
                batch.submit()
            }))
            .unwrap();
            words(&pollster::block_on(readback.wait(&g)).unwrap()[0])
        };
        assert_eq!(run(&[1, 2, 3]), [1, 2, 3]);
        let kept = g.pool.len();
        assert_eq!(kept, 2, "the staging buffer and the parameter block");
        assert_eq!(run(&[4, 5, 6]), [4, 5, 6]);
        assert_eq!(g.pool.len(), kept, "reused, not made again");
        assert_eq!(run(&[7, 8]), [7, 8]);
        assert_eq!(
            g.pool.len(),
            kept + 1,
            "another size: another staging buffer"
        );
    }
}
