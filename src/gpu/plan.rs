//! How work is cut to fit the device: rows per buffer, data spans per
//! dispatch, workgroup grids and tile sizes. Pure arithmetic, so it is tested
//! without an adapter.
//!
//! None of these cuts changes a result: every accumulator sums its terms in
//! data-index order and carries its partial sums from one dispatch to the
//! next, so a split run gives the same bits as an unsplit one.

use std::ops::Range;

/// Threads per workgroup of the stages that are not tuned (and of the
/// built-in launch shape), when the device allows it.
pub(crate) const WORKGROUP: u32 = 64;

/// Workgroup memory kept aside for the few scalars a stage shares besides
/// its tile (flags, counters).
pub(crate) const WORKGROUP_RESERVE_BYTES: u32 = 64;

/// Rows of a row-major matrix that go into one buffer, when the widest
/// per-row buffer made in that chunking holds `width` 32-bit values per
/// row. At least one row, whatever the limit says.
pub(crate) fn rows_per_chunk(max_binding_bytes: u64, width: usize) -> usize {
    let row_bytes = 4 * width.max(1) as u64;
    usize::try_from(max_binding_bytes / row_bytes)
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Splits `0..total` into consecutive ranges of at most `per` items.
pub(crate) fn chunks(total: usize, per: usize) -> impl Iterator<Item = Range<usize>> {
    let per = per.max(1);
    (0..total.div_ceil(per)).map(move |c| c * per..((c + 1) * per).min(total))
}

/// How long one dispatch of a streaming stage may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpanLimits {
    /// Query-row x data-row x coordinate terms: long dispatches are what OS
    /// watchdogs kill.
    pub max_work: u64,
    /// Data rows, whatever the work: llvmpipe ends an invocation after a
    /// fixed number of loop iterations (see `Gpu::span_limits`).
    pub max_rows: usize,
}

/// The data rows of one chunk cut into spans, one per dispatch, within
/// `limits`. Spans are whole tiles where they can be.
pub(crate) fn spans(
    query_rows: usize,
    data_rows: usize,
    dim: usize,
    tile: usize,
    limits: SpanLimits,
) -> impl Iterator<Item = Range<usize>> {
    let per_row = (query_rows.max(1) as u64).saturating_mul(dim.max(1) as u64);
    let rows = usize::try_from(limits.max_work / per_row)
        .unwrap_or(usize::MAX)
        .min(limits.max_rows);
    let tile = tile.max(1);
    let rows = if rows >= tile {
        rows / tile * tile
    } else {
        rows.max(1)
    };
    chunks(data_rows, rows)
}

/// One dispatch of a streaming stage: queries of chunk `query` against the
/// rows `span` of data chunk `data`. `fresh` marks the first dispatch of a
/// query chunk, which starts its sums from zero; the others continue them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pass {
    pub query: usize,
    pub data: usize,
    pub span: Range<usize>,
    pub fresh: bool,
}

/// The dispatches that take every query chunk over all the data in index
/// order: data chunks in order, each cut by [`spans`].
pub(crate) fn passes(
    query_chunks: &[usize],
    data_chunks: &[usize],
    dim: usize,
    tile: usize,
    limits: SpanLimits,
) -> Vec<Pass> {
    let mut out = Vec::new();
    for (query, &query_rows) in query_chunks.iter().enumerate() {
        let mut fresh = true;
        for (data, &data_rows) in data_chunks.iter().enumerate() {
            for span in spans(query_rows, data_rows, dim, tile, limits) {
                out.push(Pass {
                    query,
                    data,
                    span,
                    fresh,
                });
                fresh = false;
            }
        }
    }
    out
}

/// A 2-D grid of at least `groups` workgroups with no side above
/// `max_per_dim` (65 535 on most devices). Shaders number groups
/// `y * x_size + x` and ignore those past the end.
pub(crate) fn grid(groups: u32, max_per_dim: u32) -> (u32, u32) {
    let max_per_dim = max_per_dim.max(1);
    if groups <= max_per_dim {
        (groups, 1)
    } else {
        (max_per_dim, groups.div_ceil(max_per_dim))
    }
}

/// Data rows per tile in workgroup memory for rows of `dim` coordinates
/// plus `extra` `f32`s per row (the sample weight), within
/// `storage_bytes` of workgroup memory: at most one row per thread, and
/// `None` when not even one row fits.
pub(crate) fn tile_rows(
    dim: usize,
    extra: usize,
    storage_bytes: u32,
    workgroup: u32,
) -> Option<u32> {
    let floats = storage_bytes.saturating_sub(WORKGROUP_RESERVE_BYTES) / 4;
    let per_row = u32::try_from(dim + extra).ok()?;
    let rows = (floats / per_row).min(workgroup);
    (rows > 0).then_some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_in_order() {
        let c: Vec<_> = chunks(10, 4).collect();
        assert_eq!(c, vec![0..4, 4..8, 8..10]);
        assert_eq!(chunks(0, 4).count(), 0);
        assert_eq!(chunks(3, 0).count(), 3);
    }

    #[test]
    fn rows_per_chunk_keeps_a_row() {
        assert_eq!(rows_per_chunk(1 << 20, 4), 65536);
        assert_eq!(rows_per_chunk(10, 1026), 1);
    }

    fn work(max_work: u64) -> SpanLimits {
        SpanLimits {
            max_work,
            max_rows: usize::MAX,
        }
    }

    #[test]
    fn spans_bound_the_work() {
        let s: Vec<_> = spans(100, 1000, 2, 64, work(100 * 2 * 200)).collect();
        assert_eq!(s[0], 0..192);
        assert_eq!(s.last().unwrap().end, 1000);
        assert!(s.windows(2).all(|w| w[0].end == w[1].start));
        // A budget below one tile still makes progress.
        assert_eq!(spans(100, 5, 2, 64, work(1)).count(), 5);
        assert_eq!(spans(1, 5, 1, 64, work(u64::MAX)).count(), 1);
        let rows = SpanLimits {
            max_work: u64::MAX,
            max_rows: 10,
        };
        assert_eq!(
            spans(1, 25, 1, 4, rows).collect::<Vec<_>>(),
            vec![0..8, 8..16, 16..24, 24..25]
        );
    }

    #[test]
    fn passes_visit_data_in_order() {
        let p = passes(&[3, 2], &[4, 1], 1, 2, work(6));
        let first: Vec<_> = p
            .iter()
            .filter(|p| p.query == 0)
            .map(|p| (p.data, p.span.clone(), p.fresh))
            .collect();
        assert_eq!(
            first,
            vec![(0, 0..2, true), (0, 2..4, false), (1, 0..1, false)]
        );
        assert_eq!(p.iter().filter(|p| p.fresh).count(), 2);
    }

    #[test]
    fn grid_respects_the_limit() {
        assert_eq!(grid(10, 65535), (10, 1));
        assert_eq!(grid(65536, 65535), (65535, 2));
        let (x, y) = grid(200_000, 65535);
        assert!(x * y >= 200_000 && x <= 65535 && y <= 65535);
    }

    #[test]
    fn tiles_fit_workgroup_memory() {
        assert_eq!(tile_rows(2, 1, 16384, 64), Some(64));
        assert_eq!(tile_rows(1024, 1, 16384, 64), Some(3));
        assert_eq!(tile_rows(5000, 1, 16384, 64), None);
    }
}
