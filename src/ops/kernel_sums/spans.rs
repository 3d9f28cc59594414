//! The data axis of the kernel sums cut into spans, a function of the
//! number of data rows `n` alone.
//!
//! Each query's sums run over each span's rows from zero, in index order,
//! and the spans' sums are then added in span order:
//! `total = ((p0 + p1) + p2) + ...` (one span: the plain index-order sum).
//! On a GPU every (group of queries, span) pair is a workgroup of its own,
//! writing its own partial sums, and the finishing pass adds them; the CPU
//! twin adds the same partials in the same order, so the two agree bit for
//! bit. The grid paths, which add only the rows listed around a query, cut
//! their sums at the same boundaries (a span without listed rows adds 0,
//! which changes no bit: a sum is never -0).
//!
//! Why spans: a workgroup of the dense stage owns 64 to 1024 queries (128
//! in the built-in shape), so at the reference workload (blurring,
//! N = 1500) the queries alone make 12 workgroups, a tenth of a large
//! GPU's multiprocessors (132 on an H100). Cutting the data into `S` spans
//! makes `S` times as many. From [`ONE_SPAN_FROM`] rows on, the queries
//! alone give at least 128 workgroups in the built-in shape (256 in the
//! narrowest), and there is one span: the order, and the bits, of the
//! sums before spans existed.
//!
//! The spans depend on `n` only: never on the adapter, the tuned launch
//! shape or the chunking of the data into bindings, none of which may
//! change a bit.

use std::ops::Range;

/// Data rows from which the sums run in one span.
pub(crate) const ONE_SPAN_FROM: usize = 16384;

/// Fewest data rows of a span: a span's work per query (its rows) stays
/// large beside the partial sums each workgroup writes and the finishing
/// pass reads again (`D + 2` values per query and span), and the partial
/// sums take at most `n / 64` times the queries' sums.
pub(crate) const MIN_SPAN_ROWS: usize = 64;

/// Data rows per span for `n` data rows (the last span may be shorter):
/// below [`ONE_SPAN_FROM`], as many spans as bring the query x span pairs
/// up to [`ONE_SPAN_FROM`] (so about as many workgroups as one span gives
/// there), but none shorter than [`MIN_SPAN_ROWS`]; `n` (one span) from
/// [`ONE_SPAN_FROM`] on. At least 1.
pub(crate) fn span_rows(n: usize) -> usize {
    if n >= ONE_SPAN_FROM {
        return n;
    }
    let spans = ONE_SPAN_FROM
        .div_ceil(n.max(1))
        .min(n / MIN_SPAN_ROWS)
        .max(1);
    n.div_ceil(spans).max(1)
}

/// Number of spans of `n` data rows (1 for `n = 0`).
pub(crate) fn count(n: usize) -> usize {
    n.div_ceil(span_rows(n)).max(1)
}

/// The spans of `n` data rows, in order.
pub(crate) fn ranges(n: usize) -> impl Iterator<Item = Range<usize>> {
    let rows = span_rows(n);
    (0..n.div_ceil(rows)).map(move |s| s * rows..((s + 1) * rows).min(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_the_rows_in_order() {
        for n in [0, 1, 63, 127, 128, 129, 300, 500, 1000, 1500, 8191, 16383] {
            let r: Vec<_> = ranges(n).collect();
            assert_eq!(r.len(), if n == 0 { 0 } else { count(n) }, "N {n}");
            let mut next = 0;
            for (s, span) in r.iter().enumerate() {
                assert_eq!(span.start, next, "N {n}");
                // All but the last are span_rows long, at least 64.
                if s + 1 < r.len() {
                    assert_eq!(span.len(), span_rows(n), "N {n}");
                    assert!(span.len() >= MIN_SPAN_ROWS, "N {n}: {span:?}");
                }
                next = span.end;
            }
            assert_eq!(next, n);
        }
    }

    #[test]
    fn the_reference_workload_fills_a_large_gpu() {
        // N = 1500: 11 spans of 137 rows (the last 130), 132 workgroups of
        // 128 queries.
        assert_eq!((span_rows(1500), count(1500)), (137, 11));
        assert_eq!(1500usize.div_ceil(128) * count(1500), 132);
        // Below 128 rows, and from ONE_SPAN_FROM on, one span.
        assert_eq!(count(127), 1);
        assert_eq!(count(128), 2);
        assert_eq!(count(ONE_SPAN_FROM - 1), 2);
        assert_eq!(count(ONE_SPAN_FROM), 1);
        assert_eq!(count(1 << 20), 1);
        for n in 1..ONE_SPAN_FROM {
            assert!(count(n) * n <= 2 * ONE_SPAN_FROM, "N {n}");
        }
    }
}
