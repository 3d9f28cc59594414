//! CPU twin of `shaders/shift.wgsl`: kernel-weighted mean-shift sums.
//!
//! For a query `q` the stage accumulates, over the data `x_j` in index order,
//! `num += w_j K(|x_j - q|) (x_j - q)`, `den += w_j K(|x_j - q|)` and
//! `count += w_j [|x_j - q| <= h]`; the shifted position is `q + num / den`.
//! Accumulating displacements rather than positions keeps `f32` precise.
//!
//! Speed without giving up determinism: queries go through in blocks of
//! [`LANES`], one per lane (`lanes.rs`). The loop runs over the data rows in
//! index order; each row is broadcast to all lanes, and every lane computes
//! its query's distance, weight and sums with the same scalar operations a
//! query alone would, so a query's result does not depend on its block,
//! lane or thread, nor on the CPU features found at run time. The last
//! block is padded with copies of its last query, whose lanes are ignored.
//! Blocks are spread over threads with rayon.

use crate::kernel::{Kernel, KernelCoeffs};
use crate::meanshift::stages::{BlurOutput, SeekOutput, SeekStatus, ShiftOutput, Window};

use super::lanes::{self, LANES, Lanes};
use super::map_indices;

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

/// The window sums of `queries` (row-major, 1 to [`LANES`] rows).
fn block_sums(win: &Window<'_>, queries: &[f32]) -> BlockSums {
    let dim = win.dim;
    let rows = queries.len() / dim;
    debug_assert!((1..=LANES).contains(&rows));
    let mut q = vec![[0.0f32; LANES]; dim];
    for lane in 0..LANES {
        let row = &queries[lane.min(rows - 1) * dim..][..dim];
        for (qk, &v) in q.iter_mut().zip(row) {
            qk[lane] = v;
        }
    }
    let mut sums = BlockSums {
        rows,
        num: vec![[0.0; LANES]; dim],
        den: [0.0; LANES],
        count: [0.0; LANES],
    };
    accumulate(win, &q, &mut sums);
    sums
}

/// Runs [`accumulate_portable`] compiled for the best instruction set this
/// CPU has. Every version performs the same `f32` operations (no fused
/// multiply-adds: Rust never contracts), so they give the same bits.
fn accumulate(win: &Window<'_>, q: &[Lanes], sums: &mut BlockSums) {
    let (coeffs, data, weights) = (win.coeffs, win.data, win.weights.unwrap_or(&[]));
    let (num, den, count) = (&mut sums.num[..], &mut sums.den, &mut sums.count);
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq") {
            // SAFETY: the CPU has the features the function is built for.
            return unsafe { x86::accumulate_avx512(coeffs, data, weights, q, num, den, count) };
        }
        if has!("avx2") {
            // SAFETY: as above.
            return unsafe { x86::accumulate_avx2(coeffs, data, weights, q, num, den, count) };
        }
    }
    accumulate_portable(coeffs, data, weights, q, num, den, count);
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    use super::{KernelCoeffs, Lanes, accumulate_portable};

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
}

// Kernels as constants, so each gets its own inner loop.
const FLAT: u8 = 0;
const TRIANGULAR: u8 = 1;
const EPANECHNIKOV: u8 = 2;
const GAUSSIAN: u8 = 3;

/// Adds the window sums of the block's queries `q` (coordinate-major) over
/// `data` to `num`, `den` and `count`; `weights` are the sample weights,
/// empty for all ones. Picks the inner loop for the kernel, the weights and
/// (D <= 3) the dimension, and is inlined into each instruction-set version
/// of [`accumulate`]. Slices come as separate arguments, not in a struct,
/// so LLVM knows that the sums do not alias the data.
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
            _ => sweep_any::<K, W>(coeffs, data, weights, q, num, den, count),
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

/// [`sweep_fixed`] for any dimension, with the queries and sums in memory.
/// A row's displacements are added to `num` while the next row's distances
/// are computed, in the same loop over coordinates: each lane still adds
/// its terms in row order, and the distance sum the loop then carries keeps
/// LLVM from vectorising it across coordinates (with gathers and scatters)
/// rather than across lanes. The first row goes through that loop with a
/// zero weight standing for a "previous" row.
#[inline(always)]
fn sweep_any<const K: u8, const W: bool>(
    c: KernelCoeffs,
    data: &[f32],
    weights: &[f32],
    q: &[Lanes],
    num: &mut [Lanes],
    den: &mut Lanes,
    count: &mut Lanes,
) {
    let dim = q.len();
    assert!(!W || weights.len() * dim >= data.len());
    let Some(first) = data.get(..dim) else {
        return;
    };
    // The row whose displacements are still to be added, and its weights.
    let (mut prev, mut prev_w) = (first, [0.0f32; LANES]);
    for (j, x) in data.chunks_exact(dim).enumerate() {
        let sw = if W { weights[j] } else { 1.0 };
        let mut d2 = [-0.0f32; LANES];
        for (((&xk, &pk), qk), nk) in x.iter().zip(prev).zip(q).zip(num.iter_mut()) {
            for (((d, n), &ql), &wl) in d2.iter_mut().zip(nk).zip(qk).zip(&prev_w) {
                let t = xk - ql;
                *d += t * t;
                *n += wl * (pk - ql);
            }
        }
        let w = kernel_weights::<K, W>(&c, &d2, sw);
        add_weights(&c, &d2, &w, sw, den, count);
        (prev, prev_w) = (x, w);
    }
    for ((&pk, qk), nk) in prev.iter().zip(q).zip(num.iter_mut()) {
        for ((n, &ql), &wl) in nk.iter_mut().zip(qk).zip(&prev_w) {
            *n += wl * (pk - ql);
        }
    }
}

/// [`block_sums`] of every block of [`LANES`] rows of `queries`, in
/// parallel.
fn all_block_sums(win: &Window<'_>, queries: &[f32]) -> Vec<BlockSums> {
    let d = win.dim;
    let m = queries.len() / d;
    map_indices(m.div_ceil(LANES), |b| {
        let rows = b * LANES..((b + 1) * LANES).min(m);
        block_sums(win, &queries[rows.start * d..rows.end * d])
    })
}

/// `(lane's block, lane)` for every real query, in order.
fn lanes_of(blocks: &[BlockSums]) -> impl Iterator<Item = (&BlockSums, usize)> {
    blocks.iter().flat_map(|b| (0..b.rows).map(move |l| (b, l)))
}

/// One shift of every query over the window's data. A query with zero total
/// weight stays where it is.
pub(crate) fn shift(win: &Window<'_>, queries: &[f32]) -> ShiftOutput {
    let d = win.dim;
    let blocks = all_block_sums(win, queries);
    let mut out = ShiftOutput::with_capacity(queries.len() / d, d);
    for ((s, l), q) in lanes_of(&blocks).zip(queries.chunks_exact(d)) {
        let den = s.den[l];
        if den > 0.0 {
            out.positions
                .extend(q.iter().zip(&s.num).map(|(qk, n)| qk + n[l] / den));
        } else {
            out.positions.extend_from_slice(q);
        }
        out.weight_sums.push(den);
        out.counts.push(s.count[l]);
    }
    out
}

/// Blurring mean shift: `steps` iterations in which every point moves to the
/// kernel-weighted mean of all current positions (ping-pong: an iteration
/// reads only the previous one's positions). `win.data` holds the start.
pub(crate) fn blur(win: &Window<'_>, steps: usize, record: bool) -> BlurOutput {
    let d = win.dim;
    let mut current = win.data.to_vec();
    let mut max_shift = Vec::with_capacity(steps);
    let mut trajectory = Vec::new();
    for _ in 0..steps {
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
    }
    BlurOutput {
        positions: current,
        max_shift,
        trajectory,
        ..BlurOutput::default()
    }
}

/// Standard mean shift: each seed climbs on its own over the fixed data,
/// with scikit-learn's stopping rule and bookkeeping (see [`SeekOutput`]).
///
/// Seeds move in rounds: each round shifts the seeds still moving, packed
/// into blocks, and then applies each seed's stopping rule. A seed's steps
/// are the ones it would take alone, so the packing does not change it.
pub(crate) fn seek(win: &Window<'_>, seeds: &[f32], tol_dist: f32, max_iter: u32) -> SeekOutput {
    let d = win.dim;
    let m = seeds.len() / d;
    let tol2 = tol_dist * tol_dist;
    let mut pos = seeds.to_vec();
    let mut intensity = vec![0.0f32; m];
    let mut iterations = vec![0u32; m];
    let mut status: Vec<Option<SeekStatus>> = vec![None; m];
    let mut moving: Vec<usize> = (0..m).collect();
    while !moving.is_empty() {
        let queries: Vec<f32> = moving
            .iter()
            .flat_map(|&i| &pos[i * d..(i + 1) * d])
            .copied()
            .collect();
        let blocks = all_block_sums(win, &queries);
        for ((s, l), &i) in lanes_of(&blocks).zip(&moving) {
            let den = s.den[l];
            if den <= 0.0 {
                status[i] = Some(SeekStatus::Dropped);
                continue;
            }
            let mut shift2 = 0.0f32;
            for (p, n) in pos[i * d..(i + 1) * d].iter_mut().zip(&s.num) {
                let s = n[l] / den;
                *p += s;
                shift2 += s * s;
            }
            intensity[i] = s.count[l];
            if shift2 <= tol2 {
                status[i] = Some(SeekStatus::Converged);
            } else if iterations[i] == max_iter {
                status[i] = Some(SeekStatus::MaxIter);
            } else {
                iterations[i] += 1;
            }
        }
        moving.retain(|&i| status[i].is_none());
    }
    let mut out = SeekOutput::with_capacity(m, d);
    out.positions.extend_from_slice(&pos);
    out.intensity.extend_from_slice(&intensity);
    out.iterations.extend_from_slice(&iterations);
    out.status
        .extend(status.into_iter().map(|s| s.expect("every seed settled")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeded uniform values in `[-scale, scale]` (xorshift; tests only).
    fn uniform(len: usize, scale: f32, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
                scale * (2.0 * unit - 1.0)
            })
            .collect()
    }

    /// The stage as it was written before blocking: one query at a time,
    /// `KernelCoeffs::weight` (the same polynomial `exp2`), adding only nonzero weights.
    fn scalar_sums(win: &Window<'_>, q: &[f32]) -> (Vec<f32>, f32, f32) {
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
        }
    }

    /// The sums of every query of `queries`, blocked as `shift` blocks them.
    fn blocked(win: &Window<'_>, queries: &[f32]) -> Vec<(Vec<f32>, f32, f32)> {
        all_block_sums(win, queries)
            .iter()
            .flat_map(|b| {
                (0..b.rows).map(|l| (b.num.iter().map(|n| n[l]).collect(), b.den[l], b.count[l]))
            })
            .collect()
    }

    /// Data sizes around the block size, dimensions with and without a
    /// fixed-size loop, every kernel, with and without sample weights
    /// (some of them 0).
    fn cases() -> Vec<(usize, usize, Kernel, bool)> {
        let mut v = Vec::new();
        for n in [1, 15, 16, 17, 70] {
            for dim in [1, 2, 3, 4, 7, 17] {
                for kernel in Kernel::ALL {
                    for weighted in [false, true] {
                        v.push((n, dim, kernel, weighted));
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
    ) -> (Vec<f32>, Option<Vec<f32>>, Vec<f32>, f32) {
        let data = uniform(n * dim, 10.0, (n * 100 + dim) as u64);
        let weights = weighted.then(|| {
            let mut w: Vec<f32> = uniform(n, 1.0, 7).iter().map(|w| w + 1.0).collect();
            w[0] = 0.0;
            w
        });
        // The data points themselves and 23 other queries in the same cube.
        let mut queries = data.clone();
        queries.extend(uniform(23 * dim, 10.0, 99));
        // A bandwidth that puts a fair share of the points in each window.
        let h = 6.0 * (dim as f32).sqrt();
        (data, weights, queries, h)
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
        for (n, dim, kernel, weighted) in cases() {
            let (data, weights, queries, h) = data_for(n, dim, weighted);
            let win = window(&data, weights.as_deref(), dim, kernel, h);
            for (i, (num, den, count)) in blocked(&win, &queries).into_iter().enumerate() {
                let what = format!("N {n}, D {dim}, {kernel}, weighted {weighted}, query {i}");
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

    /// Without `exp2`, the blocked loop performs exactly the scalar
    /// operations: the same bits. With the gaussian, only `exp2` differs.
    #[test]
    fn compact_kernels_give_the_scalar_bits() {
        for (n, dim, kernel, weighted) in cases() {
            if kernel == Kernel::Gaussian {
                continue;
            }
            let (data, weights, queries, h) = data_for(n, dim, weighted);
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
                    "N {n}, D {dim}, {kernel}, weighted {weighted}, query {i}"
                );
            }
        }
    }

    /// The version compiled for this CPU's best instruction set and the
    /// portable one give the same bits.
    #[test]
    fn instruction_sets_give_the_same_bits() {
        for (n, dim, kernel, weighted) in cases() {
            let (data, weights, queries, h) = data_for(n, dim, weighted);
            let win = window(&data, weights.as_deref(), dim, kernel, h);
            for rows in queries.chunks(LANES * dim) {
                let fast = block_sums(&win, rows);
                let mut q = vec![[0.0f32; LANES]; dim];
                for lane in 0..LANES {
                    let row = lane.min(rows.len() / dim - 1);
                    for (k, qk) in q.iter_mut().enumerate() {
                        qk[lane] = rows[row * dim + k];
                    }
                }
                let mut num = vec![[0.0f32; LANES]; dim];
                let (mut den, mut count) = ([0.0f32; LANES], [0.0f32; LANES]);
                accumulate_portable(
                    win.coeffs,
                    &data,
                    win.weights.unwrap_or(&[]),
                    &q,
                    &mut num,
                    &mut den,
                    &mut count,
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let what = format!("N {n}, D {dim}, {kernel}, weighted {weighted}");
                assert_eq!(
                    bits(fast.num.as_flattened()),
                    bits(num.as_flattened()),
                    "{what}"
                );
                assert_eq!(bits(&fast.den), bits(&den), "{what}");
                assert_eq!(bits(&fast.count), bits(&count), "{what}");
            }
        }
    }

    /// A query's result does not depend on the block it shares: shifting
    /// each query alone gives the bits of shifting them all together.
    #[test]
    fn blocking_does_not_change_results() {
        for kernel in Kernel::ALL {
            for dim in [2, 5] {
                let (data, _, queries, h) = data_for(40, dim, false);
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
            let (data, _, seeds, h) = data_for(70, 2, false);
            let win = window(&data, None, 2, kernel, 3.0 + h * 0.0);
            let all = seek(&win, &seeds, 1e-3 * 3.0, 40);
            for (i, s) in seeds.chunks_exact(2).enumerate() {
                let one = seek(&win, s, 1e-3 * 3.0, 40);
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
