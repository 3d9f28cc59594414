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

/// Counts of what went through [`Gpu::resident`], for tests and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls that uploaded.
    pub misses: u64,
}

/// The entries, least recently used first.
#[derive(Default)]
pub(crate) struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    stats: Stats,
}

impl Cache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave an entry half made: entries are
        // pushed whole. Keep using the cache.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets every entry (their buffers go when no stage holds them).
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    #[cfg(test)]
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl Inner {
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
        if let Some(rows) = cache
            .find(bytes, width, rows_per_chunk)
            .map(|e| e.rows.clone())
        {
            cache.stats.hits += 1;
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

    /// Read-only query rows for a stage that streams `queries` over `data`
    /// (already bound as `data_rows`): the data's own rows when the queries
    /// are the data, otherwise resident rows or a fresh upload.
    pub(crate) fn query_rows(
        &self,
        queries: &[f32],
        data: &[f32],
        data_rows: &Rows,
        width: usize,
        rows_per_chunk: usize,
    ) -> Rows {
        if std::ptr::eq(queries, data) {
            return data_rows.clone();
        }
        self.find_resident(queries, width, rows_per_chunk)
            .unwrap_or_else(|| Rows::upload(self, "queries", queries, width, rows_per_chunk))
    }

    /// The resident copy of `values` when the cache holds one; nothing is
    /// uploaded or kept otherwise.
    pub(crate) fn find_resident(
        &self,
        values: &[f32],
        width: usize,
        rows_per_chunk: usize,
    ) -> Option<Rows> {
        let mut cache = self.resident.lock();
        let rows = cache
            .find(bytemuck::cast_slice(values), width, rows_per_chunk)
            .map(|e| e.rows.clone())?;
        cache.stats.hits += 1;
        Some(rows)
    }

    /// What went through the cache so far.
    #[cfg(test)]
    pub(crate) fn resident_stats(&self) -> Stats {
        self.resident.stats()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::context::{GpuOptions, Inner};
    use crate::{BandwidthEstimate, Context, MeanShift, MeanShiftFit, Points};

    /// Everything a fit returns, as bits.
    fn bits(fit: &MeanShiftFit) -> (Vec<u32>, Vec<i32>, Vec<u32>, usize) {
        let floats = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (
            floats(fit.centers().as_slice()),
            fit.labels().to_vec(),
            floats(fit.intensities()),
            fit.n_iter(),
        )
    }

    /// A second fit on the same data (another bandwidth, another mode, or
    /// after the bandwidth estimate) uploads nothing for the data, and
    /// gives the same bits as a fit that uploads it. Skipped without an
    /// adapter.
    #[test]
    fn later_fits_on_the_same_data_upload_nothing_for_it() {
        // Built-in launch shapes: timing them on a hardware adapter would
        // upload trial data.
        let options = crate::GpuOptions {
            tuning: crate::Tuning::Off,
            ..Default::default()
        };
        let Ok(ctx) = Context::gpu_with(&options) else {
            eprintln!("skipping: no GPU adapter");
            return;
        };
        let Inner::Gpu(g) = ctx.inner() else {
            unreachable!("Context::gpu is a GPU context")
        };
        let (n, dim) = (240, 3);
        let flat: Vec<f32> = (0..n * dim)
            .map(|i| ((i * 7919) % 2003) as f32 / 100.0 - 10.0 + (i % dim * 20) as f32)
            .collect();
        let x = Points::new(&flat, dim).unwrap();
        let weights: Vec<f32> = (0..n).map(|i| 1.0 + (i % 5) as f32).collect();
        let uploaded = || g.uploaded_bytes.load(Ordering::Relaxed);

        let h = BandwidthEstimate::new(0.3).estimate(&ctx, &x).unwrap();
        let after_estimate = uploaded();
        let hits = g.resident_stats().hits;
        // Labelling uploads the centres (the points are resident), and
        // nothing else may go up.
        let centres = |fit: &MeanShiftFit| (fit.centers().as_slice().len() * 4) as u64;
        // The estimate's data are resident: standard mode uploads neither
        // the data nor the seeds (the data again, copied on the device).
        let fit = |ms: &MeanShift| ms.fit(&ctx, &x).unwrap();
        let standard = fit(&MeanShift::new(h));
        assert_eq!(
            uploaded(),
            after_estimate + centres(&standard),
            "standard fit after the estimate"
        );
        assert!(g.resident_stats().hits >= hits + 3);
        let before = uploaded();
        let other_bandwidth = fit(&MeanShift::new(1.5 * h));
        assert_eq!(
            uploaded(),
            before + centres(&other_bandwidth),
            "a second standard fit"
        );
        // Blurring mode: nothing for the data (the final positions are
        // ranked in the same submission that moves them); labelling them
        // uploads them with the centres.
        let before = uploaded();
        let blurred = fit(&MeanShift::new(h).blurring(3));
        let positions = (n * dim * 4) as u64;
        assert_eq!(
            uploaded(),
            before + positions + centres(&blurred),
            "blurring fit"
        );
        // Sample weights are kept too.
        let weighted_ms = MeanShift::new(h).sample_weights(weights.clone());
        let weighted = fit(&weighted_ms);
        let before = uploaded();
        assert_eq!(bits(&fit(&weighted_ms)), bits(&weighted));
        assert_eq!(
            uploaded(),
            before + centres(&weighted),
            "a second weighted fit"
        );

        // The same bits when everything is uploaded afresh.
        let cold = |ms: &MeanShift| {
            g.resident.clear();
            let before = g.resident_stats().misses;
            let out = ms.fit(&ctx, &x).unwrap();
            assert!(g.resident_stats().misses > before);
            out
        };
        assert_eq!(bits(&cold(&MeanShift::new(h))), bits(&standard));
        assert_eq!(
            bits(&cold(&MeanShift::new(1.5 * h))),
            bits(&other_bandwidth)
        );
        let cold_blurred = cold(&MeanShift::new(h).blurring(3));
        assert_eq!(bits(&cold_blurred), bits(&blurred));
        assert_eq!(
            cold_blurred.final_positions(),
            blurred.final_positions(),
            "blurring reads the resident data, never writes it"
        );
        assert_eq!(bits(&cold(&weighted_ms)), bits(&weighted));
        g.resident.clear();
        assert_eq!(
            BandwidthEstimate::new(0.3)
                .estimate(&ctx, &x)
                .unwrap()
                .to_bits(),
            h.to_bits()
        );
    }

    /// The cache keeps at most [`MAX_ENTRIES`] matrices, the most recently
    /// used, and tells matrices apart by every byte.
    #[test]
    fn the_cache_is_bounded_and_exact() {
        let Ok(g) = pollster::block_on(Gpu::request(&GpuOptions::default(), true)) else {
            eprintln!("skipping: no GPU adapter");
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
        let stats = g.resident_stats();
        assert_eq!(stats.misses, (MAX_ENTRIES + 2) as u64);
    }
}
