//! CPU twin of `topk.wgsl`: for each query, the `k` data rows with the
//! smallest score, ties broken by the lower data index; and the rows within
//! a score bound.
//!
//! The result is defined by brute force: a pair's score is one `f32`
//! expression (see [`Score`]) summed over the coordinates in index order,
//! with no reassociation and no fused multiply-add, and a query keeps the
//! `k` rows that come first by `(score, index)`, scores ordered by
//! `f32::total_cmp`. The GPU stage computes the same expressions in the same
//! order; its indices are tested equal to these (its scores may differ by
//! the fused multiply-adds a GPU compiler forms).
//!
//! Speed without giving up exactness: queries go through in blocks of
//! [`LANES`], one per lane. The data rows go through in index order, each
//! broadcast to all lanes, and every lane computes its query's score with
//! the same scalar operations the query alone would, so a result does not
//! depend on the query's block, lane or thread, nor on the CPU features
//! found at run time: Rust never contracts `a * b + c` into a fused
//! multiply-add, so the AVX-512, AVX2 and portable copies of the loop give
//! the same bits. The last block is padded with copies of its last query,
//! whose lanes never take a row. Blocks are spread over threads with rayon.
//!
//! Each lane keeps a threshold, the score of its current k-th best row.
//! Rows come in index order, so a row whose score equals the threshold
//! loses the tie to the k-th best: a row is a candidate only if its score is
//! strictly below, and one vector compare per row rejects almost all rows.
//! Candidates go into the lane's buffer; when it fills, a selection keeps
//! the best `k` and lowers the threshold (see [`Selection`]), in time linear
//! in `k` plus the buffer, which holds at least `k`: O(1) per candidate for
//! any `k`.
//!
//! For squared distances the partial sums only grow, so a group of rows
//! whose partial sums after a few coordinates are already not below any
//! lane's threshold is dropped (see [`scores_below`]): its full sums would
//! be rejected too, so dropping changes no result.

use std::ops::Range;

use super::{Score, SelfOffset, TopK, Within, from_order_key, order_key};
use crate::cpu::lanes::{LANES, Lanes, dim_of};
use crate::cpu::map_indices;

/// For each query row (`queries`: `m x dim`, row-major), the `k` data rows
/// (`data`: `n x dim`) with the smallest score, sorted by `(score, index)`.
/// `exclude_from`: `Some(offset)` means query row `j` is data row
/// `offset + j` and must not be its own neighbour (excluded by index, never
/// by distance: duplicates stay neighbours).
///
/// # Panics
///
/// Unless `dim >= 1`, both slices hold whole rows, `n` fits in `u32`, and
/// `1 <= k <= n` (`k <= n - 1` with exclusion).
pub(crate) fn topk(
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    score: Score,
    exclude_from: SelfOffset,
) -> TopK {
    assert!(dim >= 1, "dim must be at least 1");
    assert_eq!(data.len() % dim, 0, "data must hold whole rows");
    assert_eq!(queries.len() % dim, 0, "queries must hold whole rows");
    let (n, m) = (data.len() / dim, queries.len() / dim);
    assert!(u32::try_from(n).is_ok(), "data row indices must fit in u32");
    // Rows every lane takes before it has a threshold: `k`, or one more
    // where the query's own row may be among them.
    let fill = k + usize::from(exclude_from.is_some());
    assert!(
        k >= 1 && fill <= n,
        "need 1 <= k <= n (n - 1 with exclusion)"
    );
    let blocks = map_indices(m.div_ceil(LANES), |b| {
        let first = b * LANES;
        let rows = LANES.min(m - first);
        let block = &queries[first * dim..(first + rows) * dim];
        let own = exclude_from.map(|o| o + first);
        block_topk(data, block, dim, score, k, fill, own)
    });
    let mut out = TopK {
        indices: Vec::with_capacity(m * k),
        scores: Vec::with_capacity(m * k),
    };
    for &key in blocks.iter().flatten() {
        out.indices.push(index_of(key));
        out.scores.push(score_of(key));
    }
    out
}

/// The sorted keys (see [`key`]) of the `k` best rows of each query of a
/// block (`queries`: 1 to [`LANES`] rows), query after query. `fill`: the
/// rows every lane takes before it has a threshold (`k`, or `k + 1` with
/// exclusion). `own`: the data index of the block's first query, where
/// queries exclude their own row.
fn block_topk(
    data: &[f32],
    queries: &[f32],
    dim: usize,
    score: Score,
    k: usize,
    fill: usize,
    own: Option<usize>,
) -> Vec<u64> {
    let rows = queries.len() / dim;
    debug_assert!((1..=LANES).contains(&rows));
    // Coordinate-major, `q[k][lane]`; padding lanes copy the last query.
    let mut q = vec![[0.0f32; LANES]; dim];
    for lane in 0..LANES {
        let row = &queries[lane.min(rows - 1) * dim..][..dim];
        for (qk, &v) in q.iter_mut().zip(row) {
            qk[lane] = v;
        }
    }
    let mut lanes: Vec<Selection> = (0..rows)
        .map(|lane| Selection::new(k, own.map(|o| o + lane)))
        .collect();
    search(score, data, &q, fill, &mut lanes);
    lanes.into_iter().flat_map(Selection::into_sorted).collect()
}

/// A `(score, index)` pair as one integer whose order is the result's
/// order: the score's bits mapped so that unsigned order is
/// `f32::total_cmp`'s, above the index. Selecting and sorting plain `u64`s
/// is faster than comparing pairs.
fn key(score: f32, index: usize) -> u64 {
    u64::from(order_key(score)) << 32 | index as u64
}

/// The score of a [`key`].
fn score_of(key: u64) -> f32 {
    from_order_key((key >> 32) as u32)
}

/// The data index of a [`key`].
fn index_of(key: u64) -> u32 {
    key as u32
}

/// Smallest candidate buffer: for small `k`, selecting after every few
/// candidates would cost more than the candidates themselves.
const MIN_BUFFER: usize = 64;

/// One query's best rows so far. `keys` holds the best `k` of the rows
/// seen so far (in no order) followed by a buffer of later candidates; when
/// the buffer is full, [`Selection::settle`] keeps the best `k` of all.
/// The buffer holds at least `k` keys, so each settling (linear in `k` plus
/// the buffer) costs O(1) per candidate.
struct Selection {
    k: usize,
    /// The query's own data row, never taken.
    own: Option<usize>,
    /// Length at which the buffer is full.
    limit: usize,
    keys: Vec<u64>,
}

impl Selection {
    fn new(k: usize, own: Option<usize>) -> Self {
        let limit = k + k.max(MIN_BUFFER);
        Self {
            k,
            own,
            limit,
            keys: Vec::with_capacity(limit),
        }
    }

    /// Takes row `j` with score `s`, unless it is the query's own row.
    /// Returns whether the buffer is now full: the caller must then
    /// [`settle`](Self::settle).
    fn push(&mut self, j: usize, s: f32) -> bool {
        if self.own != Some(j) {
            self.keys.push(key(s, j));
        }
        self.keys.len() == self.limit
    }

    /// Keeps the best `k` keys (at least `k` must be held) and returns the
    /// score of the k-th best: the lane's new threshold.
    fn settle(&mut self) -> f32 {
        let k = self.k;
        // Puts the k-th smallest at k - 1, only smaller ones before it.
        self.keys.select_nth_unstable(k - 1);
        self.keys.truncate(k);
        score_of(self.keys[k - 1])
    }

    /// The best `k` keys, sorted.
    fn into_sorted(mut self) -> Vec<u64> {
        self.settle();
        self.keys.sort_unstable();
        self.keys
    }
}

/// Runs [`search_portable`] compiled for the best instruction set this CPU
/// has. Every version performs the same `f32` operations (no fused
/// multiply-adds: Rust never contracts), so they give the same bits.
fn search(score: Score, data: &[f32], q: &[Lanes], fill: usize, lanes: &mut [Selection]) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if x86::has_avx512() {
            // SAFETY: the CPU has the features the function is built for.
            return unsafe { x86::search_avx512(score, data, q, fill, lanes) };
        }
        if x86::has_avx2() {
            // SAFETY: as above.
            return unsafe { x86::search_avx2(score, data, q, fill, lanes) };
        }
    }
    search_portable(score, data, q, fill, lanes);
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    use super::{Lanes, Score, Selection, search_portable};
    pub(super) use crate::cpu::x86::{has_avx2, has_avx512};

    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2")]
    pub(super) fn search_avx512(
        score: Score,
        data: &[f32],
        q: &[Lanes],
        fill: usize,
        lanes: &mut [Selection],
    ) {
        search_portable(score, data, q, fill, lanes);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn search_avx2(
        score: Score,
        data: &[f32],
        q: &[Lanes],
        fill: usize,
        lanes: &mut [Selection],
    ) {
        search_portable(score, data, q, fill, lanes);
    }
}

// Scores as constants, so each gets its own inner loop.
const SQUARED_L2: u8 = 0;
const NEG_DOT: u8 = 1;
const ONE_MINUS_DOT: u8 = 2;

/// Feeds the data rows to the block's lanes (`q`: the queries,
/// coordinate-major; `lanes`: one [`Selection`] per real query). Picks the
/// loop for the score and the dimension, and is inlined into each
/// instruction-set version of [`search`].
#[inline(always)]
fn search_portable(score: Score, data: &[f32], q: &[Lanes], fill: usize, lanes: &mut [Selection]) {
    #[inline(always)]
    fn by_dim<const S: u8>(data: &[f32], q: &[Lanes], fill: usize, lanes: &mut [Selection]) {
        match q.len() {
            1 => run::<S, 1>(data, q, fill, lanes),
            2 => run::<S, 2>(data, q, fill, lanes),
            3 => run::<S, 3>(data, q, fill, lanes),
            4 => run::<S, 4>(data, q, fill, lanes),
            8 => run::<S, 8>(data, q, fill, lanes),
            16 => run::<S, 16>(data, q, fill, lanes),
            _ => run::<S, 0>(data, q, fill, lanes),
        }
    }
    match score {
        Score::SquaredL2 => by_dim::<SQUARED_L2>(data, q, fill, lanes),
        Score::NegDot => by_dim::<NEG_DOT>(data, q, fill, lanes),
        Score::OneMinusDot => by_dim::<ONE_MINUS_DOT>(data, q, fill, lanes),
    }
}

/// [`sweep`] for score `S` and dimension `D` (0: any), with the queries in
/// a local array for a fixed `D`, which LLVM keeps in registers.
#[inline(always)]
fn run<const S: u8, const D: usize>(
    data: &[f32],
    q: &[Lanes],
    fill: usize,
    lanes: &mut [Selection],
) {
    if D > 0 {
        let local: [Lanes; D] = q.try_into().expect("D coordinates");
        sweep::<S, D>(data, &local, fill, lanes);
    } else {
        sweep::<S, 0>(data, q, fill, lanes);
    }
}

/// Data rows scored together: independent chains of adds to hide their
/// latency, one load of each query coordinate per group, and one test of
/// the group's hits.
const ROWS: usize = 4;

/// Gives every lane rows `0..fill`, settles its threshold, then offers it
/// the later rows, in index order, whose score is below its threshold.
#[inline(always)]
fn sweep<const S: u8, const D: usize>(
    data: &[f32],
    q: &[Lanes],
    fill: usize,
    lanes: &mut [Selection],
) {
    let dim = dim_of::<D>(q);
    let (head, tail) = data.split_at(fill * dim);
    for (j, x) in head.chunks_exact(dim).enumerate() {
        let [s] = scores::<S, D, 1>(&[x], q);
        for (sel, &sl) in lanes.iter_mut().zip(&s) {
            let full = sel.push(j, sl);
            debug_assert!(!full, "the buffer holds at least k + 1 keys");
        }
    }
    // Padding lanes' threshold is -inf: no score is below it.
    let mut block = Thresholds {
        lanes,
        thr: [f32::NEG_INFINITY; LANES],
    };
    for (t, sel) in block.thr.iter_mut().zip(block.lanes.iter_mut()) {
        *t = sel.settle();
    }
    // A copy the loop keeps in a register: only ever replaced whole.
    let mut thr = block.thr;
    let mut groups = tail.chunks_exact(ROWS * dim);
    let mut j = fill;
    for group in groups.by_ref() {
        let mut xs: [&[f32]; ROWS] = [&[]; ROWS];
        for (r, x) in xs.iter_mut().enumerate() {
            *x = &group[r * dim..][..dim];
        }
        if let Some(s) = scores_below::<S, D, ROWS>(&xs, q, &thr) {
            if any_below(&s, &thr) {
                for (r, s) in s.iter().enumerate() {
                    block.take(j + r, s, below(s, &thr));
                }
                thr = block.thr;
            }
        }
        j += ROWS;
    }
    for x in groups.remainder().chunks_exact(dim) {
        if let Some([s]) = scores_below::<S, D, 1>(&[x], q, &thr) {
            block.take(j, &s, below(&s, &thr));
            thr = block.thr;
        }
        j += 1;
    }
}

/// A block's lanes and their thresholds. Invariant: `thr[l]` is the score
/// of the k-th best row of lane `l` among the rows before the next one
/// offered, or above it while candidates wait in the buffer; -inf for
/// padding lanes. Rows come in index order and lose ties to earlier rows,
/// so a row whose score is not below `thr[l]` is not among lane `l`'s best.
struct Thresholds<'a> {
    lanes: &'a mut [Selection],
    thr: Lanes,
}

impl Thresholds<'_> {
    /// Offers row `j`, at scores `s`, to the lanes in `mask`, settling (and
    /// lowering the threshold of) those whose buffer fills.
    #[inline(always)]
    fn take(&mut self, j: usize, s: &Lanes, mut mask: u32) {
        while mask != 0 {
            let lane = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let sel = &mut self.lanes[lane];
            if sel.push(j, s[lane]) {
                self.thr[lane] = sel.settle();
            }
        }
    }
}

/// The lanes where `s` is below `thr`, as a bit mask. Lane-wise operations
/// without short-circuits: LLVM compares all lanes at once.
///
/// The vector compare is IEEE `<`, the result's order `total_cmp`; they
/// agree on every pair of scores that occurs, as no NaN occurs and each
/// score has one sign of zero: squared sums start at +0 and add terms
/// `>= +0`; dot sums start at +0 and are never -0 (in round-to-nearest a
/// sum is -0 only when both terms are), so `NegDot` gives only -0 and
/// `OneMinusDot` (`1 - 1 = +0`) only +0.
#[inline(always)]
fn below(s: &Lanes, thr: &Lanes) -> u32 {
    let mut mask = 0u32;
    for (lane, (&sl, &tl)) in s.iter().zip(thr).enumerate() {
        mask |= u32::from(sl < tl) << lane;
    }
    mask
}

/// Whether any of the rows at scores `s` is below the threshold in any
/// lane: the lane-wise minimum over the rows, then one compare of all
/// lanes (LLVM vectorises the per-row masks of [`below`] poorly across
/// rows).
#[inline(always)]
fn any_below<const G: usize>(s: &[Lanes; G], thr: &Lanes) -> bool {
    let mut min = s[0];
    for row in &s[1..] {
        for (m, &v) in min.iter_mut().zip(row) {
            *m = if v < *m { v } else { *m };
        }
    }
    below(&min, thr) != 0
}

/// The distance loop first checks, after this many coordinates, whether
/// any row of its group still has a partial squared sum below any lane's
/// threshold (see [`scores_below`] and [`next_check`]).
const FIRST_CHECK: usize = 4;

/// Adds the terms of coordinates `ks` of the rows `xs` to their per-lane
/// sums `acc`: per lane the scalar fold's `acc = acc + d * d` (squared
/// distances; computed as `q - x`, the negation of `x - q` in
/// round-to-nearest, so the square is the same, and x86 can take the
/// broadcast `x` from memory inside the subtraction) or
/// `acc = acc + x * q` (dot products).
#[inline(always)]
fn add_terms<const S: u8, const D: usize, const G: usize>(
    xs: &[&[f32]; G],
    q: &[Lanes],
    ks: Range<usize>,
    acc: &mut [Lanes; G],
) {
    for k in ks {
        let qk = &q[k];
        for (a, x) in acc.iter_mut().zip(xs) {
            let xk = x[k];
            for (al, &ql) in a.iter_mut().zip(qk) {
                if S == SQUARED_L2 {
                    let t = ql - xk;
                    *al += t * t;
                } else {
                    *al += xk * ql;
                }
            }
        }
    }
}

/// The scores of the rows `xs` (each of `dim` coordinates) for the block's
/// queries `q`: the sums from +0 over all coordinates in index order, then
/// negated (`NegDot`) or taken from 1 (`OneMinusDot`).
#[inline(always)]
fn scores<const S: u8, const D: usize, const G: usize>(
    xs: &[&[f32]; G],
    q: &[Lanes],
) -> [Lanes; G] {
    let dim = dim_of::<D>(q);
    for x in xs {
        assert_eq!(x.len(), dim);
    }
    let mut acc = [[0.0f32; LANES]; G];
    add_terms::<S, D, G>(xs, q, 0..dim, &mut acc);
    for a in &mut acc {
        for al in a.iter_mut() {
            *al = match S {
                NEG_DOT => -*al,
                ONE_MINUS_DOT => 1.0 - *al,
                _ => *al,
            };
        }
    }
    acc
}

/// [`scores`], or `None` where no row of `xs` can have a score below any
/// lane's threshold `thr`. For squared distances the sums are checked
/// after [`FIRST_CHECK`] coordinates and then at each [`next_check`]:
/// partial sums only grow as terms are added (each term is `>= +0`, and
/// rounding to nearest is monotone), so a row whose partial sum is not
/// below a lane's threshold ends up not below it either.
#[inline(always)]
fn scores_below<const S: u8, const D: usize, const G: usize>(
    xs: &[&[f32]; G],
    q: &[Lanes],
    thr: &Lanes,
) -> Option<[Lanes; G]> {
    let dim = dim_of::<D>(q);
    if S != SQUARED_L2 || dim <= FIRST_CHECK {
        return Some(scores::<S, D, G>(xs, q));
    }
    for x in xs {
        assert_eq!(x.len(), dim);
    }
    let mut acc = [[0.0f32; LANES]; G];
    let (mut start, mut end) = (0, FIRST_CHECK);
    while end < dim {
        add_terms::<S, D, G>(xs, q, start..end, &mut acc);
        if !any_below(&acc, thr) {
            return None;
        }
        (start, end) = (end, next_check(end, dim));
    }
    add_terms::<S, D, G>(xs, q, start..dim, &mut acc);
    Some(acc)
}

/// The coordinate after `end` at which [`scores_below`] checks next:
/// twice `end` up to half the dimension, then half way to the end (at
/// least 2 coordinates on). Rows far from every query are dropped after a
/// few coordinates; where most rows only fail near the end (uniform data
/// in many dimensions), the late checks still drop them before the last
/// coordinates. (Measured on AMD Zen 4, 100 000 uniform rows: as fast as
/// no checks at D = 16, 25% faster at D = 128.)
#[inline(always)]
fn next_check(end: usize, dim: usize) -> usize {
    if 2 * end <= dim {
        2 * end
    } else {
        (end + ((dim - end) / 2).max(2)).min(dim)
    }
}

/// The score of data row `x` for query `q`, as the GPU stage computes it.
#[inline]
fn pair_score(score: Score, x: &[f32], q: &[f32]) -> f32 {
    match score {
        Score::SquaredL2 => crate::cpu::squared_distance(x, q),
        Score::NegDot => -dot(x, q),
        Score::OneMinusDot => 1.0 - dot(x, q),
    }
}

#[inline]
fn dot(x: &[f32], q: &[f32]) -> f32 {
    x.iter().zip(q).fold(0.0f32, |acc, (a, b)| acc + a * b)
}

/// The data rows a query compares with, with its own row left out.
fn candidates(
    data: &[f32],
    dim: usize,
    own: Option<usize>,
) -> impl Iterator<Item = (usize, &[f32])> {
    data.chunks_exact(dim)
        .enumerate()
        .filter(move |&(j, _)| Some(j) != own)
}

/// The `k`-th best score of each query (see [`super::kth_score`]): a
/// selection over its scores.
pub(crate) fn kth_score(
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    score: Score,
) -> Vec<f32> {
    map_indices(queries.len() / dim, |i| {
        let q = &queries[i * dim..(i + 1) * dim];
        let mut keys: Vec<u32> = data
            .chunks_exact(dim)
            .map(|x| order_key(pair_score(score, x, q)))
            .collect();
        let (_, kth, _) = keys.select_nth_unstable(k - 1);
        from_order_key(*kth)
    })
}

/// Every data row scoring at most `bound` for each query (see
/// [`super::within`]).
pub(crate) fn within(
    data: &[f32],
    queries: &[f32],
    dim: usize,
    bound: f32,
    score: Score,
    exclude: SelfOffset,
) -> Within {
    let limit = order_key(bound);
    let rows = map_indices(queries.len() / dim, |i| {
        let q = &queries[i * dim..(i + 1) * dim];
        candidates(data, dim, exclude.map(|o| o + i))
            .map(|(j, x)| (pair_score(score, x, q), j as u32))
            .filter(|&(s, _)| order_key(s) <= limit)
            .collect::<Vec<_>>()
    });
    Within::from_lists(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use rand_chacha::ChaCha8Rng;

    /// The tests' draws: indices below a bound and coordinates in
    /// `[-1, 1)`.
    struct Rng(ChaCha8Rng);

    impl Rng {
        fn new(seed: u64) -> Self {
            Self(crate::test_data::rng(seed))
        }

        fn below(&mut self, n: usize) -> usize {
            self.0.random_range(0..n)
        }

        fn value(&mut self) -> f32 {
            self.0.random_range(-1.0..1.0)
        }
    }

    /// What the rows look like.
    #[derive(Debug, Clone, Copy)]
    enum Kind {
        /// Uniform coordinates.
        Spread,
        /// Coordinates from `{-1, 0, 0.5, 1}` and many repeated rows: many
        /// exact ties in score.
        Ties,
    }

    /// `rows x dim` values of `kind`; for the dot scores a quarter of the
    /// rows are zero and the others normalised (in `f32`, as a caller
    /// would).
    fn rows(rng: &mut Rng, rows: usize, dim: usize, kind: Kind, score: Score) -> Vec<f32> {
        let mut out: Vec<f32> = Vec::with_capacity(rows * dim);
        for i in 0..rows {
            if matches!(kind, Kind::Ties) && i > 0 && rng.below(2) == 0 {
                let j = rng.below(i);
                out.extend_from_within(j * dim..(j + 1) * dim);
                continue;
            }
            let row: Vec<f32> = (0..dim)
                .map(|_| match kind {
                    Kind::Spread => rng.value(),
                    Kind::Ties => [-1.0, 0.0, 0.5, 1.0][rng.below(4)],
                })
                .collect();
            out.extend(row);
        }
        if score != Score::SquaredL2 {
            for row in out.chunks_exact_mut(dim) {
                if rng.below(4) == 0 {
                    row.fill(0.0);
                }
                let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
                if norm > 0.0 {
                    row.iter_mut().for_each(|v| *v /= norm);
                }
            }
        }
        out
    }

    /// The score, exactly as [`Score`] defines it.
    fn scalar_score(score: Score, x: &[f32], q: &[f32]) -> f32 {
        let mut acc = 0.0f32;
        for (&xk, &qk) in x.iter().zip(q) {
            acc = match score {
                Score::SquaredL2 => {
                    let d = xk - qk;
                    acc + d * d
                }
                _ => acc + xk * qk,
            };
        }
        match score {
            Score::SquaredL2 => acc,
            Score::NegDot => -acc,
            Score::OneMinusDot => 1.0 - acc,
        }
    }

    /// The definition: all scores, sorted by `(score, index)`, first `k`.
    fn brute(
        data: &[f32],
        queries: &[f32],
        dim: usize,
        k: usize,
        score: Score,
        exclude_from: Option<usize>,
    ) -> TopK {
        let mut out = TopK {
            indices: vec![],
            scores: vec![],
        };
        for (i, q) in queries.chunks_exact(dim).enumerate() {
            let mut all: Vec<(f32, u32)> = data
                .chunks_exact(dim)
                .enumerate()
                .filter(|&(j, _)| exclude_from.map(|o| o + i) != Some(j))
                .map(|(j, x)| (scalar_score(score, x, q), j as u32))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for &(s, j) in &all[..k] {
                out.indices.push(j);
                out.scores.push(s);
            }
        }
        out
    }

    /// Equal indices and bit-identical scores.
    fn assert_same(got: &TopK, want: &TopK, what: &str) {
        assert_eq!(got.indices, want.indices, "{what}");
        let bits = |t: &TopK| t.scores.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(want), "{what}");
    }

    /// Every case of the grid against the brute-force definition.
    #[test]
    fn matches_brute_force() {
        let mut rng = Rng::new(7);
        let mut cases = 0;
        for n in [1, 15, 16, 17, 100, 1000] {
            for dim in [1, 2, 3, 16, 17, 64, 300, 4096] {
                if dim * n > 300 * 1000 / 3 && n > 100 {
                    continue; // brute force too slow at large n x dim
                }
                for score in [Score::SquaredL2, Score::NegDot, Score::OneMinusDot] {
                    for kind in [Kind::Spread, Kind::Ties] {
                        let data = rows(&mut rng, n, dim, kind, score);
                        for exclude in [false, true] {
                            // With exclusion the queries are data rows
                            // `offset..offset + m`; else fresh rows of
                            // the same kind, and a few data rows.
                            let (queries, offset) = if exclude {
                                let offset = n / 3;
                                let m = (n - offset).min(37);
                                (
                                    data[offset * dim..(offset + m) * dim].to_vec(),
                                    Some(offset),
                                )
                            } else {
                                let mut q = rows(&mut rng, 33, dim, kind, score);
                                q.extend_from_slice(&data[..dim.min(data.len())]);
                                (q, None)
                            };
                            let most = n - usize::from(exclude);
                            let mut ks = vec![1, 2, 10, n / 2, most];
                            ks.retain(|&k| (1..=most).contains(&k));
                            ks.dedup();
                            for k in ks {
                                let what = format!(
                                    "n {n} dim {dim} k {k} {score:?} {kind:?} exclude {exclude}"
                                );
                                let got = topk(&data, &queries, dim, k, score, offset);
                                let want = brute(&data, &queries, dim, k, score, offset);
                                assert_same(&got, &want, &what);
                                cases += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(cases > 1000, "{cases} cases");
    }

    /// Many candidates per lane with a small `k` (settling many times) and
    /// a large `k` that is not all of `n`, on clustered data where the
    /// early exit drops most rows.
    #[test]
    fn matches_brute_force_with_many_settles() {
        let mut rng = Rng::new(11);
        let (n, dim) = (3000, 40);
        // Rows near one of 8 centres; queries in decreasing distance order
        // of the data would be the worst case, so reverse the data.
        let centres: Vec<f32> = (0..8 * dim).map(|_| rng.value() * 10.0).collect();
        let mut data: Vec<f32> = (0..n * dim)
            .map(|i| centres[(i / dim % 8) * dim + i % dim] + rng.value() * 0.1)
            .collect();
        data.reverse();
        let queries: Vec<f32> = (0..40 * dim).map(|i| centres[i % (8 * dim)]).collect();
        for k in [1, 3, 70, 500, 2999] {
            for exclude in [None, Some(0)] {
                let got = topk(&data, &queries, dim, k, Score::SquaredL2, exclude);
                let want = brute(&data, &queries, dim, k, Score::SquaredL2, exclude);
                assert_same(&got, &want, &format!("k {k} exclude {exclude:?}"));
            }
        }
    }

    /// The query's own row is excluded by index: an exact duplicate of it
    /// stays a neighbour, at score 0.
    #[test]
    fn exclusion_is_by_index_not_distance() {
        let data = [0.0, 0.0, 5.0, 5.0, 0.0, 0.0, 1.0, 1.0];
        let got = topk(&data, &data[..4], 2, 2, Score::SquaredL2, Some(0));
        assert_eq!(got.indices, [2, 3, 3, 0]);
        assert_eq!(got.scores, [0.0, 2.0, 32.0, 50.0]);
    }

    /// Zero rows under the dot scores: `NegDot` gives -0 (below +0 in
    /// `total_cmp`), `OneMinusDot` gives 1; ties go to the lower index.
    #[test]
    fn zero_rows_under_dot_scores() {
        let data = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0];
        let q = [0.0, 0.0];
        let got = topk(&data, &q, 2, 4, Score::NegDot, None);
        assert_eq!(got.indices, [0, 1, 2, 3]);
        assert!(
            got.scores
                .iter()
                .all(|s| s.to_bits() == (-0.0f32).to_bits())
        );
        let q = [1.0, 0.0];
        let got = topk(&data, &q, 2, 4, Score::OneMinusDot, None);
        assert_eq!(got.indices, [1, 0, 2, 3]);
        assert_eq!(got.scores, [0.0, 1.0, 1.0, 2.0]);
    }

    /// `key` orders like `total_cmp` then index, and round-trips.
    #[test]
    fn keys_order_like_total_cmp() {
        let scores = [
            f32::NEG_INFINITY,
            -3.5,
            -f32::MIN_POSITIVE,
            -0.0,
            0.0,
            1e-45,
            2.0,
            f32::MAX,
            f32::INFINITY,
        ];
        for (a, &sa) in scores.iter().enumerate() {
            for (b, &sb) in scores.iter().enumerate() {
                for (ia, ib) in [(0, 1), (5, 5), (u32::MAX as usize, 0)] {
                    let want = sa.total_cmp(&sb).then(ia.cmp(&ib));
                    assert_eq!(key(sa, ia).cmp(&key(sb, ib)), want, "{a} {b}");
                }
            }
            assert_eq!(score_of(key(sa, 9)).to_bits(), sa.to_bits());
            assert_eq!(index_of(key(sa, 9)), 9);
        }
    }

    /// The portable loop, the instruction-set versions and any split of
    /// the blocks over threads give the same bits.
    #[test]
    fn same_result_for_any_code_path() {
        let mut rng = Rng::new(3);
        let (n, m) = (2000, 70);
        for dim in [3, 16, 33] {
            for score in [Score::SquaredL2, Score::NegDot] {
                let data = rows(&mut rng, n, dim, Kind::Spread, score);
                let queries = rows(&mut rng, m, dim, Kind::Spread, score);
                let want = topk(&data, &queries, dim, 25, score, None);
                // Portable, block by block.
                let mut portable = Vec::new();
                for block in queries.chunks(LANES * dim) {
                    let rows = block.len() / dim;
                    let mut q = vec![[0.0f32; LANES]; dim];
                    for lane in 0..LANES {
                        for (k, qk) in q.iter_mut().enumerate() {
                            qk[lane] = block[lane.min(rows - 1) * dim + k];
                        }
                    }
                    let mut lanes: Vec<Selection> =
                        (0..rows).map(|_| Selection::new(25, None)).collect();
                    search_portable(score, &data, &q, 25, &mut lanes);
                    portable.extend(lanes.into_iter().flat_map(Selection::into_sorted));
                }
                let indices: Vec<u32> = portable.iter().map(|&k| index_of(k)).collect();
                let scores: Vec<f32> = portable.iter().map(|&k| score_of(k)).collect();
                assert_same(&TopK { indices, scores }, &want, &format!("portable {dim}"));
                #[cfg(feature = "parallel")]
                for threads in [1, 2, 5] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .expect("thread pool");
                    let got = pool.install(|| topk(&data, &queries, dim, 25, score, None));
                    assert_same(&got, &want, &format!("{threads} threads, dim {dim}"));
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "need 1 <= k <= n")]
    fn rejects_k_above_n_minus_one_with_exclusion() {
        topk(&[0.0, 1.0], &[0.0], 1, 2, Score::SquaredL2, Some(0));
    }
}
