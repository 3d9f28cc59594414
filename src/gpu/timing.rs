//! Kernel time measured by the device itself, where the adapter offers
//! timestamp queries (`wgpu::Features::TIMESTAMP_QUERY`).
//!
//! Wall-clock timings of a fit include uploads, encoding, submission,
//! waiting and readback; the timestamps written at the start and end of
//! every compute pass tell how long the kernels themselves ran. Each
//! submission ([`Batch::submit`](super::batch::Batch::submit)) gives its
//! passes begin/end writes in one query set, resolves them into a small
//! buffer and copies that to a host-visible one, so timing adds one
//! resolve and one copy per submission and nothing where the feature is
//! absent. [`Readback::wait`](super::buffers::Readback::wait) adds the
//! passes' durations to the context's total. The timestamps only observe:
//! no result depends on them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Passes per query set: each takes a begin and an end query. Unit tests
/// use small sets (the least whose resolved bytes stay aligned), so that
/// their submissions also span several.
#[cfg(not(test))]
pub(crate) const PASSES_PER_SET: u32 = wgpu::QUERY_SET_MAX_QUERIES / 2;
#[cfg(test)]
pub(crate) const PASSES_PER_SET: u32 =
    (wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT / (2 * wgpu::QUERY_SIZE as u64)) as u32;

/// Bytes of resolved timestamps per query set (a multiple of
/// `QUERY_RESOLVE_BUFFER_ALIGNMENT`, so each set resolves at an aligned
/// offset).
pub(crate) const BYTES_PER_SET: u64 = PASSES_PER_SET as u64 * 2 * wgpu::QUERY_SIZE as u64;

const _: () = assert!(BYTES_PER_SET.is_multiple_of(wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT));

/// The device's timestamp period and the kernel time added up so far.
#[derive(Debug)]
pub(crate) struct Timer {
    /// Nanoseconds per timestamp tick.
    period_ns: f64,
    /// Kernel nanoseconds, every submission waited for so far.
    total_ns: AtomicU64,
}

impl Timer {
    /// A timer for `device`, or `None` where it has no timestamp queries
    /// (they are not asked for on the web, where browsers coarsen them).
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Option<Self> {
        if cfg!(target_arch = "wasm32")
            || !device.features().contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            return None;
        }
        let period_ns = f64::from(queue.get_timestamp_period());
        (period_ns > 0.0).then(|| Self {
            period_ns,
            total_ns: AtomicU64::new(0),
        })
    }

    /// Kernel nanoseconds so far.
    pub fn total_ns(&self) -> u64 {
        self.total_ns.load(Ordering::Relaxed)
    }

    /// Adds the passes whose begin/end tick pairs `resolved` holds (pairs
    /// of little-endian `u64`s, as the query set resolved them).
    pub fn add(&self, resolved: &[u8]) {
        let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(resolved);
        let ns: f64 = ticks
            .chunks_exact(2)
            // A pass that ran on a device whose counter wrapped or was
            // reset in between counts as nothing rather than as ages.
            .map(|p| p[1].saturating_sub(p[0]) as f64 * self.period_ns)
            .sum();
        self.total_ns
            .fetch_add(ns.round() as u64, Ordering::Relaxed);
    }
}

/// A submission's timestamps on their way back: the buffer the query sets
/// resolve into and the host-visible copy of it.
#[derive(Debug)]
pub(crate) struct Pending {
    pub resolve: wgpu::Buffer,
    pub read: wgpu::Buffer,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_add_up_in_nanoseconds() {
        let timer = Timer {
            period_ns: 2.0,
            total_ns: AtomicU64::new(0),
        };
        let ticks: [u64; 4] = [100, 150, 200, 190];
        timer.add(bytemuck::cast_slice(&ticks));
        // 50 ticks of 2 ns; the backwards pair counts as nothing.
        assert_eq!(timer.total_ns(), 100);
    }
}
