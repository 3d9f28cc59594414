//! Read-only matrices kept on the device between stage calls, so a dataset
//! uploaded once stays resident across iterations and fits: the next fit
//! with another bandwidth, the bandwidth estimate and then the fit, or
//! standard mode's seeds (the data itself) find it there.
//!
//! An entry is found by its exact contents: the same row width, the same
//! chunking and the same bytes as a copy kept on the host. Comparing bytes
//! is a `memcmp`, cheaper than the upload it saves, and bytes (not float
//! equality) tell `-0.0` from `0.0` and match NaNs, so a hit always holds
//! exactly what an upload would. The buffers of an entry are never written:
//! stages that move points copy them into working buffers first.
//!
//! The cache is bounded ([`MAX_ENTRIES`], [`MAX_BYTES`]), evicts the least
//! recently used entry, and is emptied when a stage's error scope catches
//! an error (an entry made in a failed scope may hold invalid buffers).
//!
//! Pinned entries are the explicit form: a handle that owns its values
//! (a `Dataset`, a kNN index) uploads them once with [`Gpu::pin`] and
//! unpins them when dropped. They are found by the address and length of
//! the owner's values, with no byte comparison and no host copy, and are
//! never evicted. The owner never changes its values while pinned, and
//! unpins before freeing them, so an address names one content.

use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};

use super::Gpu;
use super::buffers::Rows;

/// Most matrices kept: a dataset, its weights, and the positions of a
/// blurring fit (which its next iteration reads again), with one to spare.
pub(crate) const MAX_ENTRIES: usize = 4;

/// Most bytes kept, on the device and as the host copy each: a matrix
/// larger than this is uploaded by every call instead.
pub(crate) const MAX_BYTES: usize = 1 << 30;

struct Entry {
    /// The uploaded values' bytes, to compare with later calls.
    host: Vec<u8>,
    width: usize,
    rows_per_chunk: usize,
    rows: Rows,
}

/// What a GPU context moved to the device and what it found there, as
/// [`Context::device_stats`](crate::Context::device_stats) reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Bytes written to device buffers from the host, all stages together.
    pub uploaded_bytes: u64,
    /// Matrices found in the cache of recently used data (by their bytes).
    pub hits: u64,
    /// Matrices looked up in that cache and uploaded.
    pub misses: u64,
    /// Matrices found pinned by a [`Dataset`](crate::Dataset) or a kNN
    /// index (by address, without comparing bytes).
    pub pinned_hits: u64,
    /// Device buffers made: calls of the same shape reuse earlier calls'
    /// working buffers, staging buffers and parameter blocks instead.
    pub buffers_created: u64,
    /// Bind groups made: calls that bind the same buffers reuse them.
    pub bind_groups_created: u64,
}

/// The entries, least recently used first.
#[derive(Default)]
pub(crate) struct Cache {
    inner: Mutex<Inner>,
}

/// A pinned matrix: found by where its owner keeps the values.
struct Pinned {
    id: u64,
    address: usize,
    len: usize,
    width: usize,
    rows_per_chunk: usize,
    rows: Rows,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    pinned: Vec<Pinned>,
    next_pin: u64,
    stats: DeviceStats,
}

impl Cache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave an entry half made: entries are
        // pushed whole. Keep using the cache.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets every entry but the pinned ones, which were made in scopes
    /// of their own (their buffers go when no stage holds them).
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    pub fn stats(&self) -> DeviceStats {
        self.lock().stats
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl Inner {
    /// The rows holding `bytes` as rows of `width` values in chunks of
    /// `rows_per_chunk`: a pinned entry at the same address, else a cached
    /// one with the same bytes (marked most recently used). Counts the hit.
    fn lookup(&mut self, bytes: &[u8], width: usize, rows_per_chunk: usize) -> Option<Rows> {
        let address = bytes.as_ptr() as usize;
        if let Some(p) = self.pinned.iter().find(|p| {
            p.address == address
                && p.len == bytes.len()
                && p.width == width
                && p.rows_per_chunk == rows_per_chunk
        }) {
            let rows = p.rows.clone();
            self.stats.pinned_hits += 1;
            return Some(rows);
        }
        let rows = self
            .find(bytes, width, rows_per_chunk)
            .map(|e| e.rows.clone())?;
        self.stats.hits += 1;
        Some(rows)
    }

    /// The entry holding exactly `bytes` as rows of `width` values in
    /// chunks of `rows_per_chunk`, marked most recently used.
    fn find(&mut self, bytes: &[u8], width: usize, rows_per_chunk: usize) -> Option<&Entry> {
        let at = self.entries.iter().position(|e| {
            e.width == width
                && e.rows_per_chunk == rows_per_chunk
                && e.host.len() == bytes.len()
                && e.host == bytes
        })?;
        let entry = self.entries.remove(at);
        self.entries.push(entry);
        self.entries.last()
    }
}

impl Gpu {
    /// `values` (rows of `width`) on the device in chunks of
    /// `rows_per_chunk` rows, from the cache when an entry holds the same
    /// bytes, otherwise uploaded and kept (within the cache's bounds).
    /// The buffers must only be read. Call inside [`Gpu::scoped`].
    pub(crate) fn resident(
        &self,
        label: &str,
        values: &[f32],
        width: usize,
        rows_per_chunk: usize,
    ) -> Rows {
        let bytes: &[u8] = bytemuck::cast_slice(values);
        let mut cache = self.resident.lock();
        if let Some(rows) = cache.lookup(bytes, width, rows_per_chunk) {
            return rows;
        }
        cache.stats.misses += 1;
        let rows = Rows::upload(self, label, values, width, rows_per_chunk);
        if bytes.len() <= MAX_BYTES {
            let mut kept: usize = cache.entries.iter().map(|e| e.host.len()).sum();
            while !cache.entries.is_empty()
                && (cache.entries.len() >= MAX_ENTRIES || kept + bytes.len() > MAX_BYTES)
            {
                kept -= cache.entries.remove(0).host.len();
            }
            cache.entries.push(Entry {
                host: bytes.to_vec(),
                width,
                rows_per_chunk,
                rows: rows.clone(),
            });
        }
        rows
    }

    /// The resident copy of `values` when the cache holds one; nothing is
    /// uploaded or kept otherwise.
    pub(crate) fn find_resident(
        &self,
        values: &[f32],
        width: usize,
        rows_per_chunk: usize,
    ) -> Option<Rows> {
        self.resident
            .lock()
            .lookup(bytemuck::cast_slice(values), width, rows_per_chunk)
    }

    /// A new id for [`Gpu::pin`], taken before the upload so the caller
    /// can hold the guard that unpins it before anything can go wrong.
    pub(crate) fn pin_id(&self) -> u64 {
        let mut cache = self.resident.lock();
        cache.next_pin += 1;
        cache.next_pin
    }

    /// Uploads `values` and keeps them as `id` until [`Gpu::unpin`]; calls
    /// on the same slice (same address and length) find them without
    /// comparing bytes. The caller owns `values` and must not change or
    /// free them before unpinning. Call inside [`Gpu::scoped`].
    pub(crate) fn pin(&self, id: u64, values: &[f32], width: usize, rows_per_chunk: usize) {
        let rows = Rows::upload(self, "pinned", values, width, rows_per_chunk);
        let mut cache = self.resident.lock();
        cache.pinned.push(Pinned {
            id,
            address: values.as_ptr() as usize,
            len: std::mem::size_of_val(values),
            width,
            rows_per_chunk,
            rows,
        });
    }

    /// Forgets the pinned entry `id` (its buffers go when no stage holds
    /// them).
    pub(crate) fn unpin(&self, id: u64) {
        self.resident.lock().pinned.retain(|p| p.id != id);
    }

    /// What went to the device and what was found there so far.
    pub(crate) fn device_stats(&self) -> DeviceStats {
        DeviceStats {
            uploaded_bytes: self.uploaded_bytes.load(Ordering::Relaxed),
            buffers_created: self.pool.buffers_created.load(Ordering::Relaxed),
            bind_groups_created: self.pool.bind_groups_created.load(Ordering::Relaxed),
            ..self.resident.stats()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::options::GpuOptions;

    /// The cache keeps at most [`MAX_ENTRIES`] matrices, the most recently
    /// used, and tells matrices apart by every byte.
    #[test]
    fn the_cache_is_bounded_and_exact() {
        let Some(g) = crate::gpu::test_device(&GpuOptions::default()) else {
            return;
        };
        let per_chunk = g.rows_per_chunk(2, 0);
        let matrix = |k: usize| -> Vec<f32> { (0..8).map(|i| (i * k) as f32).collect() };
        let keep = |values: &[f32]| {
            pollster::block_on(g.scoped(|| g.resident("test", values, 2, per_chunk))).unwrap()
        };
        let first = matrix(1);
        keep(&first);
        for k in 2..=MAX_ENTRIES + 2 {
            keep(&matrix(k));
            // Using the first keeps it.
            assert!(g.find_resident(&first, 2, per_chunk).is_some(), "{k}");
        }
        assert_eq!(g.resident.len(), MAX_ENTRIES);
        assert!(g.find_resident(&matrix(2), 2, per_chunk).is_none());
        // Another width, another chunking, or -0.0 for 0.0: not the same.
        assert!(g.find_resident(&first, 4, per_chunk).is_none());
        assert!(g.find_resident(&first, 2, 1).is_none());
        let mut negative_zero = first.clone();
        negative_zero[0] = -0.0;
        assert!(g.find_resident(&negative_zero, 2, per_chunk).is_none());
        let stats = g.device_stats();
        assert_eq!(stats.misses, (MAX_ENTRIES + 2) as u64);
    }
}
