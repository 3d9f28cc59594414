//! Device buffers and bind groups kept for the next call of the same
//! shape, instead of being made for every call: staging buffers and
//! parameter blocks (taken by each submission), and the working buffers an
//! op takes through an [`Arena`].
//!
//! A buffer comes back only once the call that took it is done (after its
//! readbacks' wait), and is reused only for a buffer of the same size and
//! usage. Work on one queue runs in submission order, so a reused buffer
//! is never touched by the next call before the last one finished with it.
//! What a reused buffer held does not leak into results: a parameter block
//! is written whole before it is bound, a readback copy fills the whole
//! staging buffer it maps, an upload overwrites its buffer, and a working
//! buffer promised zero-filled is cleared on the device first. Bind groups
//! are cached by their layout and buffers, so the same buffers coming back
//! bind without a new group. Both are bounded ([`MAX_BYTES`],
//! [`MAX_BIND_GROUPS`]) and emptied when a call's error scope catches an
//! error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Gpu;
use super::buffers::{Alloc, WORKING};

/// Most bytes of free buffers kept, all together.
pub(crate) const MAX_BYTES: u64 = 256 << 20;

/// Most bind groups kept; past it the cache starts afresh.
pub(crate) const MAX_BIND_GROUPS: usize = 4096;

type Key = (u64, u32);

/// A bind group's identity: its layout, the parameter block at binding 0
/// and its storage buffers in binding order.
type BindKey = (wgpu::BindGroupLayout, wgpu::Buffer, Vec<wgpu::Buffer>);

/// Free buffers by (size, usage), and bind groups by what they bind.
#[derive(Default)]
pub(crate) struct Pool {
    free: Mutex<HashMap<Key, Vec<wgpu::Buffer>>>,
    bind_groups: Mutex<HashMap<BindKey, wgpu::BindGroup>>,
    /// Buffers made by [`Pool::take`] and working buffers made afresh.
    pub(crate) buffers_created: AtomicU64,
    pub(crate) bind_groups_created: AtomicU64,
}

impl Pool {
    /// A free buffer of `size` bytes and `usage`, and whether it was used
    /// before; or a new one.
    pub fn take(
        &self,
        device: &wgpu::Device,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> (wgpu::Buffer, bool) {
        let reused = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.get_mut(&(size, usage.bits()))?.pop());
        match reused {
            Some(b) => (b, true),
            None => {
                self.buffers_created.fetch_add(1, Ordering::Relaxed);
                let b = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size,
                    usage,
                    mapped_at_creation: false,
                });
                (b, false)
            }
        }
    }

    /// Keeps `buffers` (done with, unmapped) for later calls, within the
    /// bound. The last given back is the first taken again.
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

    /// Forgets every free buffer and bind group: after an error, any of
    /// them may be invalid.
    pub fn clear(&self) {
        if let Ok(mut free) = self.free.lock() {
            free.clear();
        }
        if let Ok(mut groups) = self.bind_groups.lock() {
            groups.clear();
        }
    }

    /// The bind group of `layout` with the parameter block `params` (a
    /// [`PARAMS_BYTES`](super::pipelines::PARAMS_BYTES) window at dynamic
    /// offsets) and `buffers`, made once.
    pub fn bind_group(
        &self,
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        params: &wgpu::Buffer,
        buffers: &[wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let key = (layout.clone(), params.clone(), buffers.to_vec());
        if let Some(group) = self
            .bind_groups
            .lock()
            .ok()
            .and_then(|g| g.get(&key).cloned())
        {
            return group;
        }
        let params_entry = wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: params,
                offset: 0,
                size: NonZeroU64::new(super::pipelines::PARAMS_BYTES),
            }),
        };
        let entries: Vec<_> = std::iter::once(params_entry)
            .chain(
                buffers
                    .iter()
                    .zip(1..)
                    .map(|(b, binding)| wgpu::BindGroupEntry {
                        binding,
                        resource: b.as_entire_binding(),
                    }),
            )
            .collect();
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        });
        self.bind_groups_created.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut groups) = self.bind_groups.lock() {
            if groups.len() >= MAX_BIND_GROUPS {
                groups.clear();
            }
            groups.insert(key, group.clone());
        }
        group
    }

    /// Buffers kept now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.free
            .lock()
            .map_or(0, |f| f.values().map(Vec::len).sum())
    }
}

/// The working buffers one op call takes from the pool, given back
/// together by [`Arena::finish`] once the call is done. Dropped without
/// `finish` (the call failed), they are let go instead.
pub(crate) struct Arena<'g> {
    gpu: &'g Gpu,
    taken: RefCell<Vec<wgpu::Buffer>>,
}

impl Gpu {
    /// An arena for one op call's working buffers.
    pub(crate) fn arena(&self) -> Arena<'_> {
        Arena {
            gpu: self,
            taken: RefCell::new(Vec::new()),
        }
    }
}

impl Arena<'_> {
    fn take(&self, label: &str, bytes: u64) -> (wgpu::Buffer, bool) {
        let (b, reused) = self
            .gpu
            .pool
            .take(&self.gpu.device, label, bytes.max(4), WORKING);
        self.taken.borrow_mut().push(b.clone());
        (b, reused)
    }

    /// Takes `rows` into the arena, to go back to the pool with its own
    /// buffers: working rows a previous call kept and this one uses up.
    pub fn adopt(&self, rows: &super::buffers::Rows) {
        self.taken
            .borrow_mut()
            .extend(rows.chunks.iter().map(|c| c.buffer.clone()));
    }

    /// Keeps `rows` out of what goes back to the pool: the caller holds on
    /// to them after the call (a blurring call's last positions).
    pub fn keep(&self, rows: &super::buffers::Rows) {
        self.taken
            .borrow_mut()
            .retain(|b| !rows.chunks.iter().any(|c| c.buffer == *b));
    }

    /// Gives every buffer taken back to the pool, the first taken last, so
    /// the next call of the same shape takes them in the same order (and
    /// finds its bind groups made).
    pub fn finish(self) {
        let mut taken = self.taken.into_inner();
        taken.reverse();
        self.gpu.pool.give_back(taken);
    }
}

impl Alloc for Arena<'_> {
    fn storage(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        let (b, reused) = self.take(label, bytes);
        if reused {
            // Zero-filled like a new buffer, on the device, before any work
            // of this call (submissions run in order).
            let mut encoder =
                self.gpu
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("clear reused buffer"),
                    });
            encoder.clear_buffer(&b, 0, None);
            self.gpu.queue.submit([encoder.finish()]);
        }
        b
    }

    fn upload<T: bytemuck::Pod>(&self, label: &str, values: &[T]) -> wgpu::Buffer {
        let bytes: &[u8] = bytemuck::cast_slice(values);
        let (b, _) = self.take(label, bytes.len() as u64);
        self.gpu.write(&b, bytes);
        b
    }
}

#[cfg(test)]
mod tests {
    use crate::gpu::batch::Batch;
    use crate::gpu::buffers::{Alloc, words};
    use crate::gpu::options::GpuOptions;

    /// A second submission of the same shape reuses the first's staging
    /// buffer and parameter block, and reads the right values through
    /// them; an arena's buffers come back zeroed or overwritten. Skipped
    /// without an adapter.
    #[test]
    fn the_same_shape_reuses_its_buffers() {
        let Some(g) = crate::gpu::test_device(&GpuOptions::default()) else {
            return;
        };
        let run = |values: &[u32]| {
            let arena = g.arena();
            let readback = pollster::block_on(g.scoped(|| {
                let source = arena.upload("source", values);
                let zeros = arena.storage("zeros", 4 * values.len() as u64);
                let mut batch = Batch::new(&g);
                batch.read(&source, 0, 4 * values.len() as u64);
                batch.read(&zeros, 0, 4 * values.len() as u64);
                batch.copy(&source, &zeros, 4);
                batch.submit()
            }))
            .unwrap();
            let out = pollster::block_on(readback.wait(&g)).unwrap();
            arena.finish();
            (words(&out[0]), words(&out[1]))
        };
        assert_eq!(run(&[1, 2, 3]), (vec![1, 2, 3], vec![0, 0, 0]));
        let kept = g.pool.len();
        assert_eq!(
            kept, 5,
            "two staging buffers, a parameter block, two working buffers"
        );
        // The working buffer was dirtied (a copy after the read): it comes
        // back zeroed all the same.
        assert_eq!(run(&[4, 5, 6]), (vec![4, 5, 6], vec![0, 0, 0]));
        assert_eq!(g.pool.len(), kept, "reused, not made again");
        assert_eq!(run(&[7, 8]), (vec![7, 8], vec![0, 0]));
        assert_eq!(g.pool.len(), kept + 4, "another size: other buffers");
    }
}
