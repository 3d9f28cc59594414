//! CPU twin of `shift.wgsl` (and `shift_wide.wgsl`, `shift_finish.wgsl`,
//! `seek.wgsl`): kernel-weighted mean-shift sums.
//!
//! For a query `q` the stage accumulates, over the data `x_j` of each span
//! (`spans.rs`, a function of the number of data rows) in index order,
//! from zero, `num += w_j K(|x_j - q|) (x_j - q)`,
//! `den += w_j K(|x_j - q|)` and `count += w_j [|x_j - q| <= h]`, and adds
//! the spans' sums in span order, `((p0 + p1) + p2) + ...`, as the GPU's
//! finishing pass does; the shifted position is `q + num / den`.
//! Accumulating displacements rather than positions keeps `f32` precise.
//! [`counts`] computes `count` alone.
//!
//! Speed without giving up determinism: queries go through in blocks of
//! [`LANES`], one per lane (`lanes.rs`). The loop runs over the data rows in
//! index order; each row is broadcast to all lanes, and every lane computes
//! its query's distance, weight and sums with the same scalar operations a
//! query alone would, so a query's result does not depend on its block,
//! lane or thread, nor on the CPU features found at run time. The last
//! block is padded with copies of its last query, whose lanes are ignored.
//! Blocks are spread over threads with rayon.
//!
//! Two loops: for D <= 3 the queries and sums stay in registers
//! ([`sweep_fixed`]); for larger D the data rows go through in groups of
//! [`ROWS`] ([`sweep_rows`]), and a row that provably adds nothing to any
//! lane of the block (beyond the reach of every query: see [`in_reach`]) is
//! dropped, often after a few coordinates. Dropping changes no bit: the
//! scalar form adds nothing for such a row either.

use super::{BlurOutput, SeekOutput, SeekStatus, ShiftOutput, Window, cpu_gemm, grid, spans};
use crate::cpu::lanes::{self, LANES, Lanes, dim_of};
use crate::cpu::map_indices;
use crate::error::Result;
use crate::kernel::{Kernel, KernelCoeffs};
use crate::ops::grid::cpu::Grid;
use crate::progress::{Stage, Watch};

/// Window sums of a block of up to [`LANES`] queries, lane by lane.
struct BlockSums {
    /// Real queries in the block; lanes from here on are padding.
    rows: usize,
    /// Displacement sums, coordinate-major: `num[k][lane]`.
    num: Vec<Lanes>,
    /// Total kernel weight per lane.
    den: Lanes,
    /// Total sample weight within distance `h` per lane.
    count: Lanes,
}

/// The queries of a block (row-major, 1 to [`LANES`] rows) coordinate-major,
/// `q[k][lane]`, the last one copied into the padding lanes; and the number
/// of real queries.
fn block_queries(queries: &[f32], dim: usize) -> (Vec<Lanes>, usize) {
    let rows = queries.len() / dim;
    debug_assert!((1..=LANES).contains(&rows));
    let mut q = vec![[0.0f32; LANES]; dim];
    for lane in 0..LANES {
        let row = &queries[lane.min(rows - 1) * dim..][..dim];
        for (qk, &v) in q.iter_mut().zip(row) {
            qk[lane] = v;
        }
    }
    (q, rows)
}

/// The window cut at its spans (`spans.rs`): one window per span, in
/// order, each over that span's rows and weights.
pub(super) fn span_windows<'a>(win: &Window<'a>) -> Vec<Window<'a>> {
    let d = win.dim;
    spans::ranges(win.data.len() / d)
        .map(|r| Window {
            data: &win.data[r.start * d..r.end * d],
            weights: win.weights.map(|w| &w[r.clone()]),
            ..*win
        })
        .collect()
}

/// The sums of `queries` (row-major, 1 to [`LANES`] rows) over `pieces`
/// (windows of `dim` coordinates, in index order): each piece's sums from
/// zero, added in piece order, `((p0 + p1) + p2) + ...` (the GPU's
/// finishing pass adds the spans' partial sums so).
fn block_sums(dim: usize, pieces: &[Window<'_>], queries: &[f32]) -> BlockSums {
    let (q, rows) = block_queries(queries, dim);
    let zero = || BlockSums {
        rows,
        num: vec![[0.0; LANES]; dim],
        den: [0.0; LANES],
        count: [0.0; LANES],
    };
    let mut sums = zero();
    for (i, piece) in pieces.iter().enumerate() {
        if i == 0 {
            accumulate(piece, &q, &mut sums);
            continue;
        }
        let mut part = zero();
        accumulate(piece, &q, &mut part);
        for (t, p) in sums.num.iter_mut().zip(&part.num) {
            add_lanes(t, p);
        }
        add_lanes(&mut sums.den, &part.den);
        add_lanes(&mut sums.count, &part.count);
    }
    sums
}

/// `total += part`, lane by lane.
fn add_lanes(total: &mut Lanes, part: &Lanes) {
    for (t, p) in total.iter_mut().zip(part) {
        *t += p;
    }
}

/// Runs [`accumulate_portable`] compiled for the best instruction set this
/// CPU has. Every version performs the same `f32` operations (no fused
/// multiply-adds: Rust never contracts), so they give the same bits.
fn accumulate(win: &Window<'_>, q: &[Lanes], sums: &mut BlockSums) {
    let (coeffs, data, weights) = (win.coeffs, win.data, win.weights.unwrap_or(&[]));
    let (num, den, count) = (&mut sums.num[..], &mut sums.den, &mut sums.count);
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if x86::has_avx512() {
            // SAFETY: the CPU has the features the function is built for.
            return unsafe { x86::accumulate_avx512(coeffs, data, weights, q, num, den, count) };
        }
        if x86::has_avx2() {
            // SAFETY: as above.
            return unsafe { x86::accumulate_avx2(coeffs, data, weights, q, num, den, count) };
        }
    }
    accumulate_portable(coeffs, data, weights, q, num, den, count);
}

/// Runs [`count_portable`] compiled for the best instruction set this CPU
/// has, like [`accumulate`].
fn count_block(win: &Window<'_>, q: &[Lanes], count: &mut Lanes) {
    let (coeffs, data, weights) = (win.coeffs, win.data, win.weights.unwrap_or(&[]));
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if x86::has_avx512() {
            // SAFETY: the CPU has the features the function is built for.
            return unsafe { x86::count_avx512(coeffs, data, weights, q, count) };
        }
        if x86::has_avx2() {
            // SAFETY: as above.
            return unsafe { x86::count_avx2(coeffs, data, weights, q, count) };
        }
    }
    count_portable(coeffs, data, weights, q, count);
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    use super::{KernelCoeffs, Lanes, accumulate_portable, count_portable};
    pub(super) use crate::cpu::x86::{has_avx2, has_avx512};

    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2")]
    pub(super) fn accumulate_avx512(
        coeffs: KernelCoeffs,
        data: &[f32],
        weights: &[f32],
        q: &[Lanes],
        num: &mut [Lanes],
        den: &mut Lanes,
        count: &mut Lanes,
    ) {
        accumulate_portable(coeffs, data, weights, q, num, den, count);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn accumulate_avx2(
        coeffs: KernelCoeffs,
        data: &[f32],
        weights: &[f32],
        q: &[Lanes],
        num: &mut [Lanes],
        den: &mut Lanes,
        count: &mut Lanes,
    ) {
        accumulate_portable(coeffs, data, weights, q, num, den, count);
    }

    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2")]
    pub(super) fn count_avx512(
        coeffs: KernelCoeffs,
        data: &[f32],
        weights: &[f32],
        q: &[Lanes],
        count: &mut Lanes,
    ) {
        count_portable(coeffs, data, weights, q, count);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn count_avx2(
        coeffs: KernelCoeffs,
        data: &[f32],
        weights: &[f32],
        q: &[Lanes],
        count: &mut Lanes,
    ) {
        count_portable(coeffs, data, weights, q, count);
    }
}

// Kernels as constants, so each gets its own inner loop.
const FLAT: u8 = 0;
const TRIANGULAR: u8 = 1;
const EPANECHNIKOV: u8 = 2;
const GAUSSIAN: u8 = 3;

/// Adds the window sums of the block's queries `q` (coordinate-major) over
/// `data` to `num`, `den` and `count`; `weights` are the sample weights,
/// empty for all ones. Picks the inner loop for the kernel, the weights and
/// the dimension, and is inlined into each instruction-set version of
/// [`accumulate`]. Slices come as separate arguments, not in a struct, so
/// LLVM knows that the sums do not alias the data.
#[inline(always)]
fn accumulate_portable(
    coeffs: KernelCoeffs,
    data: &[f32],
    weights: &[f32],
    q: &[Lanes],
    num: &mut [Lanes],
    den: &mut Lanes,
    count: &mut Lanes,
) {
    #[inline(always)]
    fn by_dim<const K: u8, const W: bool>(
        coeffs: KernelCoeffs,
        data: &[f32],
        weights: &[f32],
        q: &[Lanes],
        num: &mut [Lanes],
        den: &mut Lanes,
        count: &mut Lanes,
    ) {
        match q.len() {
            1 => sweep_fixed::<1, K, W>(coeffs, data, weights, q, num, den, count),
            2 => sweep_fixed::<2, K, W>(coeffs, data, weights, q, num, den, count),
            3 => sweep_fixed::<3, K, W>(coeffs, data, weights, q, num, den, count),
            _ => sweep_rows::<K, W>(coeffs, data, weights, q, num, den, count),
        }
    }
    macro_rules! by_weights {
        ($k:expr) => {
            if weights.is_empty() {
                by_dim::<{ $k }, false>(coeffs, data, weights, q, num, den, count)
            } else {
                by_dim::<{ $k }, true>(coeffs, data, weights, q, num, den, count)
            }
        };
    }
    match coeffs.kernel {
        Kernel::Flat => by_weights!(FLAT),
        Kernel::Triangular => by_weights!(TRIANGULAR),
        Kernel::Epanechnikov => by_weights!(EPANECHNIKOV),
        Kernel::Gaussian => by_weights!(GAUSSIAN),
    }
}

/// Adds to `count` the sample weight of each data row within `h` of each of
/// the block's queries `q`, like [`accumulate_portable`] but computing
/// distances only. Inlined into each instruction-set version of
/// [`count_block`].
#[inline(always)]
fn count_portable(
    coeffs: KernelCoeffs,
    data: &[f32],
    weights: &[f32],
    q: &[Lanes],
    count: &mut Lanes,
) {
    #[inline(always)]
    fn by_dim<const W: bool>(
        c: &KernelCoeffs,
        data: &[f32],
        weights: &[f32],
        q: &[Lanes],
        count: &mut Lanes,
    ) {
        match q.len() {
            1 => count_rows::<1, W>(c, data, weights, q, count),
            2 => count_rows::<2, W>(c, data, weights, q, count),
            3 => count_rows::<3, W>(c, data, weights, q, count),
            _ => count_rows::<0, W>(c, data, weights, q, count),
        }
    }
    if weights.is_empty() {
        by_dim::<false>(&coeffs, data, weights, q, count);
    } else {
        by_dim::<true>(&coeffs, data, weights, q, count);
    }
}

/// Kernel weights at squared distances `d2`, times the sample weight `sw`:
/// per lane the expressions of `KernelCoeffs::weight`, except the
/// gaussian's `exp2`, which is [`lanes::exp2`].
#[inline(always)]
fn kernel_weights<const K: u8, const W: bool>(c: &KernelCoeffs, d2: &Lanes, sw: f32) -> Lanes {
    let mut w = [0.0f32; LANES];
    for (w, &d) in w.iter_mut().zip(d2) {
        *w = match K {
            FLAT => f32::from(u8::from(d <= c.h2)),
            TRIANGULAR if d <= c.h2 => 1.0 - (d * c.inv_h2).sqrt(),
            EPANECHNIKOV if d <= c.h2 => 1.0 - d * c.inv_h2,
            GAUSSIAN => c.exp2_coeff * d,
            _ => 0.0,
        };
    }
    if K == GAUSSIAN {
        lanes::exp2(&mut w);
    }
    if W {
        for w in &mut w {
            *w *= sw;
        }
    }
    w
}

/// Adds one data row's kernel weights `w` to `den` and its sample weight
/// `sw` to `count` in the lanes whose query is within `h` (`d2 <= h^2`).
#[inline(always)]
fn add_weights(
    c: &KernelCoeffs,
    d2: &Lanes,
    w: &Lanes,
    sw: f32,
    den: &mut Lanes,
    count: &mut Lanes,
) {
    for (s, &wl) in den.iter_mut().zip(w) {
        *s += wl;
    }
    for (n, &d) in count.iter_mut().zip(d2) {
        *n = if d <= c.h2 { *n + sw } else { *n };
    }
}

// The scalar form adds to `num` and `den` only where the weight is not 0;
// the loops below add `w * (x - q) = ±0` there instead (x - q is finite
// unless coordinates differ by more than f32::MAX), which changes no bit:
// sums that start at +0 never become -0 (in round-to-nearest a sum is -0
// only when both terms are), and s + (±0) = s for every other s. They
// start each squared distance from -0 rather than the scalar fold's 0,
// which is the same (squares are never -0) and costs no add.
//
// For D > 3 the loops compute each difference as `q - x`, so that x86 can
// take `x` from memory, broadcast to all lanes, inside the subtraction (a
// broadcast operand can only be subtracted). Rounding to nearest is
// symmetric, so `q - x = -(x - q)` and `w * (q - x) = -(w * (x - q))`
// exactly: the squares are the same, and `num - w * (q - x)` adds the
// scalar form's term (`a - b` is `a + (-b)`), but for the sign of a zero
// term (`x = q` gives +0 both ways), which changes nothing, as above.

/// The stage's loop for a fixed dimension `D`: data rows in index order,
/// all lanes at once, with the queries, differences and sums in local
/// arrays that LLVM keeps in registers. Per lane, the same operations in
/// the same order as the scalar sums.
#[inline(always)]
fn sweep_fixed<const D: usize, const K: u8, const W: bool>(
    c: KernelCoeffs,
    data: &[f32],
    weights: &[f32],
    q: &[Lanes],
    num_out: &mut [Lanes],
    den_out: &mut Lanes,
    count_out: &mut Lanes,
) {
    let q: [Lanes; D] = q.try_into().expect("D coordinates");
    let mut num: [Lanes; D] = (&*num_out).try_into().expect("D coordinates");
    let (mut den, mut count) = (*den_out, *count_out);
    assert!(!W || weights.len() * D >= data.len());
    for (j, x) in data.chunks_exact(D).enumerate() {
        let sw = if W { weights[j] } else { 1.0 };
        let mut t = [[0.0f32; LANES]; D];
        let mut d2 = [-0.0f32; LANES];
        for ((tk, qk), &xk) in t.iter_mut().zip(&q).zip(x) {
            for ((tl, &ql), d) in tk.iter_mut().zip(qk).zip(&mut d2) {
                *tl = xk - ql;
                *d += *tl * *tl;
            }
        }
        let w = kernel_weights::<K, W>(&c, &d2, sw);
        for (nk, tk) in num.iter_mut().zip(&t) {
            for ((n, &tl), &wl) in nk.iter_mut().zip(tk).zip(&w) {
                *n += wl * tl;
            }
        }
        add_weights(&c, &d2, &w, sw, &mut den, &mut count);
    }
    num_out.copy_from_slice(&num);
    (*den_out, *count_out) = (den, count);
}

/// Data rows whose distances are computed together, and whose displacements
/// are added together, by [`sweep_rows`] and [`count_rows`]: independent
/// chains of adds to hide their latency, and one load and store of each
/// `num[k]` per group rather than per row. (LLVM's code for 2 or 8 rows was
/// much slower, as measured on an AMD Zen 4.)
const ROWS: usize = 4;

/// The distance loop checks, after this many coordinates and then after
/// twice as many each time, whether any row of its group is still in reach
/// of any query (see [`in_reach`]): a group far from all queries is
/// dropped early, and checks cost little where none is.
const FIRST_CHECK: usize = 4;

/// Whether any of the rows at squared distances `d2` (final, or partial
/// sums of the coordinates' squares) may add anything to the sums of a
/// lane, for kernel `K` (the flat kernel's test is the count's). Partial
/// sums only grow as terms are added (each square is `>= 0`, and rounding
/// to nearest is monotone), so a lane that fails the test on a partial sum
/// fails it at the end: it is outside the window (`d2 > h^2`), so its count
/// and compact kernel weight are 0, and for the gaussian also
/// `c * d2 < -126` (`c < 0`: the product only falls as `d2` grows), where
/// [`lanes::exp2`] gives exactly 0. A row that fails in every lane adds
/// nothing to any sum, and the scalar form skips it too. A NaN passes the
/// test.
#[inline(always)]
fn in_reach<const K: u8>(c: &KernelCoeffs, d2: &[Lanes]) -> bool {
    // The test only fails more as `d2` grows, so it is enough to test each
    // lane's smallest squared distance over the rows (NaN if any is NaN).
    // Lane-wise operations without short-circuits, and then a bit mask of
    // the lanes: LLVM compares all lanes at once.
    let Some((first, rest)) = d2.split_first() else {
        return false;
    };
    let mut m = *first;
    for row in rest {
        for (m, &d) in m.iter_mut().zip(row) {
            *m = if d < *m || d.is_nan() { d } else { *m };
        }
    }
    let mut live = 0u32;
    for (l, &d) in m.iter().enumerate() {
        let out = (d > c.h2) & (K != GAUSSIAN || lanes::exp2_flushes(c.exp2_coeff * d));
        live |= u32::from(!out) << l;
    }
    live != 0
}

/// The squared distances of the block's queries `q` to the rows `xs` (each
/// of length `dim`), or `None` as soon as a check (see [`FIRST_CHECK`])
/// finds no row in reach of any lane (see [`in_reach`]). Per lane, the
/// scalar fold: the squares of the coordinates' differences added in order
/// (from -0, and with `q - x` for `x - q`: see above).
#[inline(always)]
fn distances<const G: usize, const D: usize, const K: u8>(
    c: &KernelCoeffs,
    xs: &[&[f32]; G],
    q: &[Lanes],
) -> Option<[Lanes; G]> {
    let dim = dim_of::<D>(q);
    for x in xs {
        assert_eq!(x.len(), dim);
    }
    let mut d2 = [[-0.0f32; LANES]; G];
    let (mut start, mut end) = (0, FIRST_CHECK.min(dim));
    loop {
        for k in start..end {
            let qk = &q[k];
            for (d, x) in d2.iter_mut().zip(xs) {
                let xk = x[k];
                for (dl, &ql) in d.iter_mut().zip(qk) {
                    let t = ql - xk;
                    *dl += t * t;
                }
            }
        }
        if end == dim {
            return Some(d2);
        }
        if !in_reach::<K>(c, &d2) {
            return None;
        }
        (start, end) = (end, (2 * end).min(dim));
    }
}

/// What to do with the data rows in reach of a block of queries (a trait
/// with inlined methods rather than a closure, which LLVM may leave out of
/// line, compiled without the caller's instruction set).
trait Rows {
    /// Row `j`, at squared distances `d2` from the block's queries.
    fn row(&mut self, j: usize, d2: &Lanes);
}

/// Calls `rows.row(j, d2)` in index order for the data rows `j` in reach of
/// the block's queries `q` for kernel `K` (see [`in_reach`]), with their
/// squared distances.
#[inline(always)]
fn rows_in_reach<const D: usize, const K: u8, R: Rows>(
    c: &KernelCoeffs,
    data: &[f32],
    q: &[Lanes],
    rows: &mut R,
) {
    let dim = dim_of::<D>(q);
    let mut groups = data.chunks_exact(ROWS * dim);
    let mut j = 0;
    for group in groups.by_ref() {
        let mut xs: [&[f32]; ROWS] = [&[]; ROWS];
        for (r, x) in xs.iter_mut().enumerate() {
            *x = &group[r * dim..][..dim];
        }
        if let Some(d2) = distances::<ROWS, D, K>(c, &xs, q) {
            for (r, d) in d2.iter().enumerate() {
                if in_reach::<K>(c, std::slice::from_ref(d)) {
                    rows.row(j + r, d);
                }
            }
        }
        j += ROWS;
    }
    for x in groups.remainder().chunks_exact(dim) {
        if let Some([d]) = distances::<1, D, K>(c, &[x], q) {
            if in_reach::<K>(c, &[d]) {
                rows.row(j, &d);
            }
        }
        j += 1;
    }
}

/// Adds the displacements of the rows `xs`, weighted by `w`, to `num`: per
/// lane and coordinate the scalar form's `num[k] += w * (x[k] - q[k])`,
/// row after row (written `num[k] -= w * (q[k] - x[k])`: see above).
#[inline(always)]
fn add_displacements<const G: usize>(
    xs: &[&[f32]; G],
    w: &[Lanes; G],
    q: &[Lanes],
    num: &mut [Lanes],
) {
    let dim = q.len();
    assert_eq!(num.len(), dim);
    for x in xs {
        assert_eq!(x.len(), dim);
    }
    for (k, (nk, qk)) in num.iter_mut().zip(q).enumerate() {
        let mut n = *nk;
        for (x, wr) in xs.iter().zip(w) {
            let xk = x[k];
            for ((nl, &ql), &wl) in n.iter_mut().zip(qk).zip(wr) {
                *nl -= wl * (ql - xk);
            }
        }
        *nk = n;
    }
}

/// Adds the terms of the data rows `rows`, at squared distances `d2`, to
/// the sums, row after row.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn add_rows<const G: usize, const K: u8, const W: bool>(
    c: &KernelCoeffs,
    data: &[f32],
    weights: &[f32],
    q: &[Lanes],
    rows: &[usize; G],
    d2: &[Lanes; G],
    num: &mut [Lanes],
    den: &mut Lanes,
    count: &mut Lanes,
) {
    let dim = q.len();
    // Loops rather than `array::map`, whose closures LLVM may leave out of
    // line.
    let (mut xs, mut sw, mut w): ([&[f32]; G], [f32; G], [Lanes; G]) =
        ([&[]; G], [1.0; G], [[0.0; LANES]; G]);
    for r in 0..G {
        xs[r] = &data[rows[r] * dim..][..dim];
        if W {
            sw[r] = weights[rows[r]];
        }
        w[r] = kernel_weights::<K, W>(c, &d2[r], sw[r]);
    }
    add_displacements::<G>(&xs, &w, q, num);
    for ((d, w), &sw) in d2.iter().zip(&w).zip(&sw) {
        add_weights(c, d, w, sw, den, count);
    }
}

/// The state of [`sweep_rows`]: the sums, and the rows in reach whose terms
/// are still to be added.
struct Sweep<'a, const K: u8, const W: bool> {
    c: KernelCoeffs,
    data: &'a [f32],
    weights: &'a [f32],
    q: &'a [Lanes],
    num: &'a mut [Lanes],
    /// Held here rather than behind references, so that they stay in
    /// registers (a sum kept in memory makes a chain through the store).
    den: Lanes,
    count: Lanes,
    /// Rows in reach not yet added, with their squared distances.
    rows: [usize; ROWS],
    d2: [Lanes; ROWS],
    pending: usize,
}

impl<const K: u8, const W: bool> Rows for Sweep<'_, K, W> {
    #[inline(always)]
    fn row(&mut self, j: usize, d2: &Lanes) {
        (self.rows[self.pending], self.d2[self.pending]) = (j, *d2);
        self.pending += 1;
        if self.pending == ROWS {
            self.pending = 0;
            add_rows::<ROWS, K, W>(
                &self.c,
                self.data,
                self.weights,
                self.q,
                &self.rows,
                &self.d2,
                self.num,
                &mut self.den,
                &mut self.count,
            );
        }
    }
}

/// The stage's loop for any dimension: the data rows in reach of the block
/// (see [`in_reach`]) in index order, their distances computed [`ROWS`] at
/// a time, and their terms added [`ROWS`] at a time (each `num[k]` taking
/// the rows' terms in order). Per lane, the same operations in the same
/// order as the scalar sums, less rows that add nothing.
#[inline(always)]
fn sweep_rows<const K: u8, const W: bool>(
    c: KernelCoeffs,
    data: &[f32],
    weights: &[f32],
    q: &[Lanes],
    num: &mut [Lanes],
    den: &mut Lanes,
    count: &mut Lanes,
) {
    assert!(!W || weights.len() * q.len() >= data.len());
    let mut s = Sweep::<K, W> {
        c,
        data,
        weights,
        q,
        num,
        den: *den,
        count: *count,
        rows: [0; ROWS],
        d2: [[0.0; LANES]; ROWS],
        pending: 0,
    };
    rows_in_reach::<0, K, _>(&c, data, q, &mut s);
    for r in 0..s.pending {
        let (j, d2) = (s.rows[r], s.d2[r]);
        add_rows::<1, K, W>(
            &c,
            data,
            weights,
            q,
            &[j],
            &[d2],
            s.num,
            &mut s.den,
            &mut s.count,
        );
    }
    (*den, *count) = (s.den, s.count);
}

/// The state of [`count_rows`].
struct Count<'a, const W: bool> {
    h2: f32,
    weights: &'a [f32],
    count: Lanes,
}

impl<const W: bool> Rows for Count<'_, W> {
    #[inline(always)]
    fn row(&mut self, j: usize, d2: &Lanes) {
        let sw = if W { self.weights[j] } else { 1.0 };
        for (n, &d) in self.count.iter_mut().zip(d2) {
            *n = if d <= self.h2 { *n + sw } else { *n };
        }
    }
}

/// The loop of [`counts`] for any dimension (`D` = 0) or a fixed one: per
/// lane, the count of [`sweep_fixed`] and [`sweep_rows`] (the same squared
/// distances, and the same adds in the same order), with the flat kernel's
/// test for rows out of reach.
#[inline(always)]
fn count_rows<const D: usize, const W: bool>(
    c: &KernelCoeffs,
    data: &[f32],
    weights: &[f32],
    q: &[Lanes],
    count: &mut Lanes,
) {
    assert!(!W || weights.len() * q.len() >= data.len());
    let mut s = Count::<W> {
        h2: c.h2,
        weights,
        count: *count,
    };
    rows_in_reach::<D, FLAT, _>(c, data, q, &mut s);
    *count = s.count;
}

/// [`block_sums`] of every block of [`LANES`] rows of `queries` over
/// `pieces`, in parallel.
fn all_block_sums(dim: usize, pieces: &[Window<'_>], queries: &[f32]) -> Vec<BlockSums> {
    let d = dim;
    let m = queries.len() / d;
    map_indices(m.div_ceil(LANES), |b| {
        let rows = b * LANES..((b + 1) * LANES).min(m);
        block_sums(d, pieces, &queries[rows.start * d..rows.end * d])
    })
}

/// Each query's window sums, flat and in query order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Sums {
    /// Displacement sums, row-major (`m x dim`).
    pub num: Vec<f32>,
    /// Total kernel weight.
    pub den: Vec<f32>,
    /// Total sample weight within distance `h`.
    pub count: Vec<f32>,
}

impl Sums {
    pub fn with_capacity(m: usize, dim: usize) -> Self {
        Self {
            num: Vec::with_capacity(m * dim),
            den: Vec::with_capacity(m),
            count: Vec::with_capacity(m),
        }
    }
}

/// The window sums of every query: through `grid` (the window's, from
/// `grid::build`) where there is one and it reaches every query (the same
/// bits: see `grid.rs`), over every row, span by span, in blocks of
/// [`LANES`] otherwise.
pub(super) fn window_sums(win: &Window<'_>, grid: Option<&Grid>, queries: &[f32]) -> Sums {
    if cpu_gemm::applies(win) {
        return cpu_gemm::sums(win, queries);
    }
    if let Some(sums) = grid.and_then(|g| grid::sums(win, g, queries)) {
        return sums;
    }
    piece_sums(win.dim, &span_windows(win), queries)
}

/// The sums of every query over `pieces` (windows of `dim` coordinates in
/// index order, each summed from zero and then added in order, as in
/// [`block_sums`]).
pub(super) fn piece_sums(dim: usize, pieces: &[Window<'_>], queries: &[f32]) -> Sums {
    let m = queries.len() / dim;
    let mut out = Sums::with_capacity(m, dim);
    for b in all_block_sums(dim, pieces, queries) {
        for l in 0..b.rows {
            out.num.extend(b.num.iter().map(|n| n[l]));
            out.den.push(b.den[l]);
            out.count.push(b.count[l]);
        }
    }
    out
}

/// One shift of every query over the window's data. A query with zero total
/// weight stays where it is.
pub(crate) fn shift(win: &Window<'_>, queries: &[f32]) -> ShiftOutput {
    let d = win.dim;
    let sums = window_sums(win, grid::build(win).as_ref(), queries);
    let mut out = ShiftOutput::with_capacity(queries.len() / d, d);
    for (i, q) in queries.chunks_exact(d).enumerate() {
        let den = sums.den[i];
        if den > 0.0 {
            let num = &sums.num[i * d..(i + 1) * d];
            out.positions
                .extend(q.iter().zip(num).map(|(qk, n)| qk + n / den));
        } else {
            out.positions.extend_from_slice(q);
        }
        out.weight_sums.push(den);
        out.counts.push(sums.count[i]);
    }
    out
}

/// For each query, the total sample weight of the data rows within `h` of
/// it (`d^2 <= h^2`), summed in index order: the bits of
/// `shift(win, queries).counts`, for any kernel, without the kernel weights
/// and displacements (and dropping, early, data rows beyond `h` of every
/// query of a block), so at a fraction of the cost.
pub(crate) fn counts(win: &Window<'_>, queries: &[f32]) -> Vec<f32> {
    if cpu_gemm::applies(win) {
        return cpu_gemm::sums(win, queries).count;
    }
    if let Some(counts) = win.grid.and_then(|_| grid::counts(win, queries)) {
        return counts;
    }
    piece_counts(win.dim, &span_windows(win), queries)
}

/// [`counts`] over `pieces` (as [`piece_sums`]): each piece's counts from
/// zero, added in piece order.
pub(super) fn piece_counts(dim: usize, pieces: &[Window<'_>], queries: &[f32]) -> Vec<f32> {
    let d = dim;
    let m = queries.len() / d;
    let blocks = map_indices(m.div_ceil(LANES), |b| {
        let rows = b * LANES..((b + 1) * LANES).min(m);
        let (q, _) = block_queries(&queries[rows.start * d..rows.end * d], d);
        let mut count = [0.0f32; LANES];
        for (i, piece) in pieces.iter().enumerate() {
            if i == 0 {
                count_block(piece, &q, &mut count);
                continue;
            }
            let mut part = [0.0f32; LANES];
            count_block(piece, &q, &mut part);
            add_lanes(&mut count, &part);
        }
        count
    });
    let mut out = blocks.as_flattened().to_vec();
    out.truncate(m);
    out
}

/// Blurring mean shift: `steps` iterations in which every point moves to the
/// kernel-weighted mean of all current positions (ping-pong: an iteration
/// reads only the previous one's positions). `win.data` holds the start.
/// Each iteration is reported to `watch`, which may stop the work.
pub(crate) fn blur(
    win: &Window<'_>,
    steps: usize,
    record: bool,
    watch: Watch<'_>,
) -> Result<BlurOutput> {
    let d = win.dim;
    let mut current = win.data.to_vec();
    let mut max_shift = Vec::with_capacity(steps);
    let mut trajectory = Vec::new();
    let total = Some(steps as u64);
    watch.report(Stage::Iterations, 0, total)?;
    for step in 0..steps {
        let next = shift(
            &Window {
                data: &current,
                ..*win
            },
            &current,
        )
        .positions;
        let largest2 = next
            .chunks_exact(d)
            .zip(current.chunks_exact(d))
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>())
            .fold(0.0f32, f32::max);
        max_shift.push(largest2.sqrt());
        current = next;
        if record {
            trajectory.push(current.clone());
        }
        watch.report(Stage::Iterations, step as u64 + 1, total)?;
    }
    Ok(BlurOutput {
        positions: current,
        max_shift,
        trajectory,
        ..BlurOutput::default()
    })
}

/// Standard mean shift: each seed climbs on its own over the fixed data,
/// with scikit-learn's stopping rule and bookkeeping (see [`SeekOutput`]).
///
/// Seeds move in rounds: each round shifts the seeds still moving, packed
/// into blocks, and then applies each seed's stopping rule. A seed's steps
/// are the ones it would take alone, so the packing does not change it.
/// After each round the seeds that have stopped are reported to `watch`,
/// which may stop the work.
pub(crate) fn seek(
    win: &Window<'_>,
    seeds: &[f32],
    tol_dist: f32,
    max_iter: u32,
    watch: Watch<'_>,
) -> Result<SeekOutput> {
    let mut climb = Climb::new(seeds, win.dim, tol_dist, max_iter);
    // The data stay put: one grid serves every round.
    let grid = grid::build(win);
    let total = Some(climb.seeds() as u64);
    watch.report(Stage::Climbing, 0, total)?;
    while let Some(queries) = climb.queries() {
        climb.step(&window_sums(win, grid.as_ref(), &queries));
        watch.report(Stage::Climbing, climb.settled() as u64, total)?;
    }
    Ok(climb.finish())
}

/// Standard mode's bookkeeping, which both backends share (the GPU's
/// grid path in `grid_gpu.rs`): the seeds' positions, intensities,
/// iteration counts and stopping states, and the seeds still moving.
pub(super) struct Climb {
    dim: usize,
    tol2: f32,
    max_iter: u32,
    pos: Vec<f32>,
    intensity: Vec<f32>,
    iterations: Vec<u32>,
    status: Vec<Option<SeekStatus>>,
    moving: Vec<usize>,
}

impl Climb {
    pub fn new(seeds: &[f32], dim: usize, tol_dist: f32, max_iter: u32) -> Self {
        let m = seeds.len() / dim;
        Self {
            dim,
            tol2: tol_dist * tol_dist,
            max_iter,
            pos: seeds.to_vec(),
            intensity: vec![0.0; m],
            iterations: vec![0; m],
            status: vec![None; m],
            moving: (0..m).collect(),
        }
    }

    /// Number of seeds.
    pub fn seeds(&self) -> usize {
        self.status.len()
    }

    /// Seeds that have stopped.
    pub fn settled(&self) -> usize {
        self.seeds() - self.moving.len()
    }

    /// The positions of the seeds still moving, in seed order, or `None`
    /// once every seed has stopped.
    pub fn queries(&self) -> Option<Vec<f32>> {
        let d = self.dim;
        (!self.moving.is_empty()).then(|| {
            self.moving
                .iter()
                .flat_map(|&i| &self.pos[i * d..(i + 1) * d])
                .copied()
                .collect()
        })
    }

    /// One step of the moving seeds from their window sums (in
    /// [`queries`](Self::queries)' order), with scikit-learn's rule: a seed
    /// without weight in its window drops; otherwise it moves by
    /// `num / den`, takes the window's count as its intensity, and stops
    /// once its squared shift is within `tol^2` or it has taken `max_iter`
    /// steps.
    pub fn step(&mut self, sums: &Sums) {
        let d = self.dim;
        for (at, &i) in self.moving.iter().enumerate() {
            let den = sums.den[at];
            if den <= 0.0 {
                self.status[i] = Some(SeekStatus::Dropped);
                continue;
            }
            let mut shift2 = 0.0f32;
            let num = &sums.num[at * d..(at + 1) * d];
            for (p, n) in self.pos[i * d..(i + 1) * d].iter_mut().zip(num) {
                let s = n / den;
                *p += s;
                shift2 += s * s;
            }
            self.intensity[i] = sums.count[at];
            if shift2 <= self.tol2 {
                self.status[i] = Some(SeekStatus::Converged);
            } else if self.iterations[i] == self.max_iter {
                self.status[i] = Some(SeekStatus::MaxIter);
            } else {
                self.iterations[i] += 1;
            }
        }
        let status = &self.status;
        self.moving.retain(|&i| status[i].is_none());
    }

    /// The seeds' results, once every seed has stopped.
    pub fn finish(self) -> SeekOutput {
        SeekOutput {
            positions: self.pos,
            intensity: self.intensity,
            iterations: self.iterations,
            status: self
                .status
                .into_iter()
                .map(|s| s.expect("every seed settled"))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeded uniform values in `[-scale, scale)`.
    fn uniform(len: usize, scale: f32, seed: u64) -> Vec<f32> {
        crate::test_data::uniform(len, -scale, scale, seed)
    }

    /// The stage as it was written before blocking, span by span: each
    /// span's sums from zero ([`scalar_span`]), then added in span order.
    fn scalar_sums(win: &Window<'_>, q: &[f32]) -> (Vec<f32>, f32, f32) {
        let mut pieces = span_windows(win).into_iter().map(|p| scalar_span(&p, q));
        let first = pieces.next().unwrap_or((vec![0.0; win.dim], 0.0, 0.0));
        pieces.fold(first, |(mut num, den, count), (n, d, c)| {
            num.iter_mut().zip(&n).for_each(|(a, b)| *a += b);
            (num, den + d, count + c)
        })
    }

    /// One query at a time, `KernelCoeffs::weight` (the same polynomial
    /// `exp2`), adding only nonzero weights.
    fn scalar_span(win: &Window<'_>, q: &[f32]) -> (Vec<f32>, f32, f32) {
        let mut num = vec![0.0f32; win.dim];
        let (mut den, mut count) = (0.0f32, 0.0f32);
        for (j, x) in win.data.chunks_exact(win.dim).enumerate() {
            let d2 = x
                .iter()
                .zip(q)
                .fold(0.0f32, |acc, (a, b)| acc + (a - b) * (a - b));
            let sw = win.weights.map_or(1.0, |w| w[j]);
            let w = win.coeffs.weight(d2) * sw;
            if w != 0.0 {
                for ((n, a), b) in num.iter_mut().zip(x).zip(q) {
                    *n += w * (a - b);
                }
                den += w;
            }
            if d2 <= win.coeffs.h2 {
                count += sw;
            }
        }
        (num, den, count)
    }

    /// Exact sums in `f64` from the same `f32` squared distances (so the
    /// window's edge falls where the stage puts it), with `f64` weights,
    /// and a tolerance for each sum (see [`block_sums_match_exact_sums`]).
    struct Exact {
        num: Vec<f64>,
        num_tol: Vec<f64>,
        den: f64,
        den_tol: f64,
        count: f64,
    }

    fn exact_sums(win: &Window<'_>, q: &[f32]) -> Exact {
        let h2 = f64::from(win.coeffs.h2);
        let mut e = Exact {
            num: vec![0.0; win.dim],
            num_tol: vec![0.0; win.dim],
            den: 0.0,
            den_tol: 0.0,
            count: 0.0,
        };
        for (j, x) in win.data.chunks_exact(win.dim).enumerate() {
            let d2f = x
                .iter()
                .zip(q)
                .fold(0.0f32, |acc, (a, b)| acc + (a - b) * (a - b));
            let (d2, inside) = (f64::from(d2f), d2f <= win.coeffs.h2);
            let sw = f64::from(win.weights.map_or(1.0, |w| w[j]));
            let k = match win.coeffs.kernel {
                Kernel::Flat => f64::from(u8::from(inside)),
                Kernel::Triangular if inside => 1.0 - (d2 / h2).sqrt(),
                Kernel::Epanechnikov if inside => 1.0 - d2 / h2,
                Kernel::Gaussian => (-0.5 * d2 / h2).exp(),
                _ => 0.0,
            };
            let w = k * sw;
            // Rounding bound: 2e-5 of each term, and 2^-22 (two ulp of 1)
            // of the sample weight for the compact kernels' `1 - ...`,
            // whose error is absolute, not relative.
            let slack = 2e-5 * w + 2f64.powi(-22) * sw;
            for (k, (a, b)) in x.iter().zip(q).enumerate() {
                let diff = f64::from(*a) - f64::from(*b);
                e.num[k] += w * diff;
                e.num_tol[k] += slack * diff.abs();
            }
            e.den += w;
            e.den_tol += slack;
            if inside {
                e.count += sw;
            }
        }
        e
    }

    fn window<'a>(
        data: &'a [f32],
        weights: Option<&'a [f32]>,
        dim: usize,
        kernel: Kernel,
        h: f32,
    ) -> Window<'a> {
        Window {
            data,
            weights,
            dim,
            coeffs: KernelCoeffs::new(kernel, h),
            grid: None,
            expanded: false,
        }
    }

    /// The sums of every query of `queries`, blocked as `shift` blocks them.
    fn blocked(win: &Window<'_>, queries: &[f32]) -> Vec<(Vec<f32>, f32, f32)> {
        all_block_sums(win.dim, &span_windows(win), queries)
            .iter()
            .flat_map(|b| {
                (0..b.rows).map(|l| (b.num.iter().map(|n| n[l]).collect(), b.den[l], b.count[l]))
            })
            .collect()
    }

    /// How the test data lie.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Layout {
        /// Uniform in a cube, with windows holding a fair share of it.
        Spread,
        /// Clusters of 8 consecutive points, 30 apart in every coordinate,
        /// with windows about a cluster wide: most groups of rows are out
        /// of reach of most blocks of queries, and dropped at a check
        /// (see [`clustered_data_drop_rows`]).
        Clustered,
    }

    /// Data sizes around the block size and the row group, and one cut
    /// into three spans (`spans.rs`), dimensions of each loop (fixed, any,
    /// with and without checks in the distance loop), every kernel, with
    /// and without sample weights (some of them 0), both layouts.
    fn cases() -> Vec<(usize, usize, Kernel, bool, Layout)> {
        let mut v = Vec::new();
        for n in [1, 15, 16, 17, 70, 200] {
            for dim in [1, 2, 3, 4, 5, 7, 8, 16, 17, 32, 64, 300, 1024] {
                for kernel in Kernel::ALL {
                    for weighted in [false, true] {
                        for layout in [Layout::Spread, Layout::Clustered] {
                            v.push((n, dim, kernel, weighted, layout));
                        }
                    }
                }
            }
        }
        v
    }

    fn data_for(
        n: usize,
        dim: usize,
        weighted: bool,
        layout: Layout,
    ) -> (Vec<f32>, Option<Vec<f32>>, Vec<f32>, f32) {
        let seed = (n * 100 + dim) as u64;
        let weights = weighted.then(|| {
            let mut w: Vec<f32> = uniform(n, 1.0, 7).iter().map(|w| w + 1.0).collect();
            w[0] = 0.0;
            w
        });
        match layout {
            Layout::Spread => {
                let data = uniform(n * dim, 10.0, seed);
                // The data points themselves and 23 other queries in the
                // same cube.
                let mut queries = data.clone();
                queries.extend(uniform(23 * dim, 10.0, 99));
                // A bandwidth that puts a fair share of the points in each
                // window.
                let h = 6.0 * (dim as f32).sqrt();
                (data, weights, queries, h)
            }
            Layout::Clustered => {
                let centre = |i: usize| 30.0 * (i / 8) as f32;
                let mut data = uniform(n * dim, 1.0, seed);
                for (j, x) in data.chunks_exact_mut(dim).enumerate() {
                    x.iter_mut().for_each(|v| *v += centre(j));
                }
                // The data points themselves, and 23 other queries: near
                // the clusters' centres, and halfway between two.
                let mut queries = data.clone();
                let mut more = uniform(23 * dim, 1.0, 99);
                for (i, x) in more.chunks_exact_mut(dim).enumerate() {
                    let at = centre(8 * (i % n.div_ceil(8))) + if i % 3 == 0 { 15.0 } else { 0.0 };
                    x.iter_mut().for_each(|v| *v += at);
                }
                queries.extend(more);
                let h = 0.8 * (dim as f32).sqrt() + 1.0;
                (data, weights, queries, h)
            }
        }
    }

    /// The clustered cases do take the early exit of the distance loop: the
    /// first block of queries (clusters 0 and 1) and the rows 64..68
    /// (cluster 8) are out of reach at the first check, for every kernel.
    #[test]
    fn clustered_data_drop_rows() {
        for dim in [5, 17, 300, 1024] {
            let (data, _, queries, h) = data_for(70, dim, false, Layout::Clustered);
            let (q, _) = block_queries(&queries[..LANES * dim], dim);
            let mut xs: [&[f32]; ROWS] = [&[]; ROWS];
            for (r, x) in xs.iter_mut().enumerate() {
                *x = &data[(64 + r) * dim..][..dim];
            }
            let c = KernelCoeffs::new(Kernel::Gaussian, h);
            let gaussian = distances::<ROWS, 0, GAUSSIAN>(&c, &xs, &q);
            assert!(gaussian.is_none(), "D {dim}");
            assert!(distances::<ROWS, 0, FLAT>(&c, &xs, &q).is_none(), "D {dim}");
            // Nor does the loop stop for rows in reach.
            xs[3] = &data[..dim];
            assert!(
                distances::<ROWS, 0, GAUSSIAN>(&c, &xs, &q).is_some(),
                "D {dim}"
            );
        }
    }

    /// Against exact sums, each within 2e-5 of the sum of its terms'
    /// magnitudes plus, for the compact kernels, 2^-22 of the sample
    /// weights (times the displacement for `num`); `count` within 2e-5. The
    /// `f32` errors are of the order of (number of terms) x 2^-24 from the
    /// sums, up to 70 x 6e-8 = 4e-6, plus a few ulp in each weight:
    /// `exp2`'s 1.23 ulp and the rounding of `c * d^2` (up to |c d^2| x
    /// 6e-8, large only for weights that are tiny anyway) for the gaussian,
    /// and an ulp of 1 in `1 - d/h` or `1 - (d/h)^2` near the window's edge.
    #[test]
    fn block_sums_match_exact_sums() {
        for (n, dim, kernel, weighted, layout) in cases() {
            let (data, weights, queries, h) = data_for(n, dim, weighted, layout);
            let win = window(&data, weights.as_deref(), dim, kernel, h);
            for (i, (num, den, count)) in blocked(&win, &queries).into_iter().enumerate() {
                let what =
                    format!("N {n}, D {dim}, {kernel}, weighted {weighted}, {layout:?}, query {i}");
                let e = exact_sums(&win, &queries[i * dim..(i + 1) * dim]);
                for (k, ((&got, want), tol)) in num.iter().zip(&e.num).zip(&e.num_tol).enumerate() {
                    let err = (f64::from(got) - want).abs();
                    assert!(err <= *tol, "{what}: num[{k}] {got} vs {want}");
                }
                assert!(
                    (f64::from(den) - e.den).abs() <= e.den_tol,
                    "{what}: den {den} vs {}",
                    e.den
                );
                assert!(
                    (f64::from(count) - e.count).abs() <= 2e-5 * e.count,
                    "{what}: count {count} vs {}",
                    e.count
                );
            }
        }
    }

    /// Through a grid of the kernel's whole support (`h`, or where the
    /// gaussian flushes to 0) the sums and counts are the dense ones' bits:
    /// every dimension the grid serves, every kernel, with and without
    /// weights, windows holding a fair share of the data or one cluster.
    #[test]
    fn grid_sums_give_the_dense_bits() {
        for (n, dim, kernel, weighted, layout) in cases() {
            if dim > crate::ops::grid::MAX_DIM {
                continue;
            }
            let (data, weights, queries, h) = data_for(n, dim, weighted, layout);
            let dense = window(&data, weights.as_deref(), dim, kernel, h);
            let gridded = Window {
                grid: Some(grid::exact_support2(&dense.coeffs)),
                ..dense
            };
            let g = grid::build(&gridded).expect("a grid");
            let case = format!("n {n}, D {dim}, {kernel:?}, weighted {weighted}, {layout:?}");
            // The queries within the grid's reach (the data's own rows
            // always are); the others go dense.
            let near: Vec<f32> = queries
                .chunks_exact(dim)
                .filter(|q| g.covers(q))
                .flatten()
                .copied()
                .collect();
            assert!(near.len() >= data.len(), "{case}");
            let got = grid::sums(&gridded, &g, &near).expect("queries within reach");
            assert_eq!(got, window_sums(&dense, None, &near), "{case}");
            assert_eq!(counts(&gridded, &near), counts(&dense, &near), "{case}");
            assert_eq!(shift(&gridded, &queries), shift(&dense, &queries), "{case}");
        }
    }

    /// The blocked loops perform exactly the scalar operations (the
    /// gaussian's `exp2` included: `KernelCoeffs::weight` uses the same
    /// polynomial), less terms that add nothing: the same bits, for every
    /// kernel and dimension, with rows dropped or not.
    #[test]
    fn blocked_sums_give_the_scalar_bits() {
        for (n, dim, kernel, weighted, layout) in cases() {
            let (data, weights, queries, h) = data_for(n, dim, weighted, layout);
            let win = window(&data, weights.as_deref(), dim, kernel, h);
            for (i, got) in blocked(&win, &queries).into_iter().enumerate() {
                let want = scalar_sums(&win, &queries[i * dim..(i + 1) * dim]);
                let bits = |(num, den, count): &(Vec<f32>, f32, f32)| {
                    (
                        num.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        den.to_bits(),
                        count.to_bits(),
                    )
                };
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "N {n}, D {dim}, {kernel}, weighted {weighted}, {layout:?}, query {i}"
                );
            }
        }
    }

    /// The bits of a query's sums.
    fn sum_bits((num, den, count): &(Vec<f32>, f32, f32)) -> (Vec<u32>, u32, u32) {
        let num = num.iter().map(|v| v.to_bits()).collect();
        (num, den.to_bits(), count.to_bits())
    }

    /// From 128 rows on the sums run in spans (`spans.rs`): the blocked
    /// loops give the scalar sums of each span added in span order, which
    /// for some queries differ from the sums in one pass and from the
    /// spans added in reverse order, so this tells those orders apart.
    /// Spans of the fixed-dimension and the row-dropping loops, weighted.
    #[test]
    fn spans_are_added_in_span_order() {
        for (n, dim, layout) in [
            (200, 2, Layout::Spread),
            (1500, 2, Layout::Spread),
            (300, 5, Layout::Spread),
            (300, 40, Layout::Spread),
        ] {
            let (data, weights, queries, h) = data_for(n, dim, true, layout);
            let win = window(&data, weights.as_deref(), dim, Kernel::Gaussian, 4.0 * h);
            let pieces = span_windows(&win);
            assert!(pieces.len() > 1 && pieces.len() == spans::count(n), "N {n}");
            let (mut from_one, mut from_reverse) = (false, false);
            for (i, got) in blocked(&win, &queries).iter().enumerate() {
                let q = &queries[i * dim..(i + 1) * dim];
                let want = sum_bits(&scalar_sums(&win, q));
                assert_eq!(sum_bits(got), want, "N {n}, D {dim}, query {i}");
                from_one |= sum_bits(&scalar_span(&win, q)) != want;
                let reverse = pieces
                    .iter()
                    .rev()
                    .map(|p| scalar_span(p, q))
                    .reduce(|(mut num, den, count), (n, d, c)| {
                        num.iter_mut().zip(&n).for_each(|(a, b)| *a += b);
                        (num, den + d, count + c)
                    })
                    .unwrap();
                from_reverse |= sum_bits(&reverse) != want;
            }
            assert!(from_one && from_reverse, "N {n}, D {dim}");
            let counts = counts(&win, &queries);
            let sums = shift(&win, &queries).counts;
            assert_eq!(counts, sums, "N {n}, D {dim}");
        }
    }

    /// `counts` gives the bits of `shift`'s counts, for every kernel.
    #[test]
    fn counts_give_the_bits_of_shift() {
        for (n, dim, kernel, weighted, layout) in cases() {
            let (data, weights, queries, h) = data_for(n, dim, weighted, layout);
            let win = window(&data, weights.as_deref(), dim, kernel, h);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&counts(&win, &queries)),
                bits(&shift(&win, &queries).counts),
                "N {n}, D {dim}, {kernel}, weighted {weighted}, {layout:?}"
            );
            assert!(counts(&win, &[]).is_empty());
        }
    }

    /// The versions compiled for this CPU's best instruction set and the
    /// portable ones give the same bits.
    #[test]
    fn instruction_sets_give_the_same_bits() {
        for (n, dim, kernel, weighted, layout) in cases() {
            let (data, weights, queries, h) = data_for(n, dim, weighted, layout);
            let win = window(&data, weights.as_deref(), dim, kernel, h);
            let sw = win.weights.unwrap_or(&[]);
            for rows in queries.chunks(LANES * dim) {
                let fast = block_sums(dim, std::slice::from_ref(&win), rows);
                let (q, _) = block_queries(rows, dim);
                let mut num = vec![[0.0f32; LANES]; dim];
                let (mut den, mut count) = ([0.0f32; LANES], [0.0f32; LANES]);
                accumulate_portable(win.coeffs, &data, sw, &q, &mut num, &mut den, &mut count);
                let (mut fast_only, mut only) = ([0.0f32; LANES], [0.0f32; LANES]);
                count_block(&win, &q, &mut fast_only);
                count_portable(win.coeffs, &data, sw, &q, &mut only);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let what = format!("N {n}, D {dim}, {kernel}, weighted {weighted}, {layout:?}");
                assert_eq!(
                    bits(fast.num.as_flattened()),
                    bits(num.as_flattened()),
                    "{what}"
                );
                assert_eq!(bits(&fast.den), bits(&den), "{what}");
                assert_eq!(bits(&fast.count), bits(&count), "{what}");
                assert_eq!(bits(&fast_only), bits(&only), "{what}");
                assert_eq!(bits(&fast_only), bits(&count), "{what}");
            }
        }
    }

    /// A query's result does not depend on the block it shares: shifting
    /// each query alone gives the bits of shifting them all together.
    #[test]
    fn blocking_does_not_change_results() {
        for kernel in Kernel::ALL {
            for dim in [2, 5] {
                let (data, _, queries, h) = data_for(40, dim, false, Layout::Spread);
                let win = window(&data, None, dim, kernel, h);
                let together = shift(&win, &queries);
                for (i, q) in queries.chunks_exact(dim).enumerate() {
                    let alone = shift(&win, q);
                    assert_eq!(alone.positions, together.positions[i * dim..(i + 1) * dim]);
                    assert_eq!(
                        alone.weight_sums[0].to_bits(),
                        together.weight_sums[i].to_bits()
                    );
                    assert_eq!(alone.counts[0].to_bits(), together.counts[i].to_bits());
                }
            }
        }
    }

    /// Seeds moving in rounds, packed into blocks, take the steps each
    /// would take alone.
    #[test]
    fn seek_moves_each_seed_as_alone() {
        for kernel in Kernel::ALL {
            let (data, _, seeds, h) = data_for(70, 2, false, Layout::Spread);
            let win = window(&data, None, 2, kernel, 3.0 + h * 0.0);
            let all = seek(&win, &seeds, 1e-3 * 3.0, 40, Watch::default()).unwrap();
            for (i, s) in seeds.chunks_exact(2).enumerate() {
                let one = seek(&win, s, 1e-3 * 3.0, 40, Watch::default()).unwrap();
                assert_eq!(
                    one.positions,
                    all.positions[2 * i..2 * i + 2],
                    "{kernel} seed {i}"
                );
                assert_eq!(one.iterations[0], all.iterations[i]);
                assert_eq!(one.status[0], all.status[i]);
                assert_eq!(one.intensity[0].to_bits(), all.intensity[i].to_bits());
            }
            assert!(
                all.iterations.iter().any(|&it| it > 1),
                "{kernel}: seeds climb"
            );
        }
    }
}
