//! Kernel sums through a grid: each query's sums over only the data rows
//! in the 3^D grid cells around its own, for about N x (neighbours per
//! point) work instead of N^2. This is the CPU twin; on a GPU,
//! `grid_gpu.rs` sums the same groups' lists on the device.
//!
//! The queries are grouped by the cell they lie in; the rows around a
//! cell (every row within the grid's radius of any point of the cell, and
//! some beyond) are gathered in index order, and the group's queries go
//! through the dense stage's lane loops (`cpu.rs`) over them, blocks of
//! queries at once.
//!
//! # Why the sums are the dense stage's bits
//!
//! The dense stage (`cpu.rs`, and the GPU's `shift.wgsl`) adds every data
//! row of each span (`spans.rs`) in index order, a row of kernel weight 0
//! adding nothing, which changes no bit (see the note above `sweep_fixed`
//! in `cpu.rs`), and then the spans' sums in span order. Here the same
//! loops add the gathered rows of each span, a subsequence in index
//! order, and then those sums in span order (a span without gathered rows
//! adds +0 in the dense stage, which changes no bit either), so the sums
//! are the dense stage's, bit for bit, whenever the rows left out
//! all weigh 0: always when the grid's radius holds the kernel's support,
//! `h` for the compact kernels and, for the gaussian, the radius where its
//! `f32` weight flushes to 0 ([`exact_support2`]). A gaussian cut nearer
//! (`c * h`) leaves out rows beyond the cut (not all of them: those in the
//! cells around stay in): an approximation, whose bound is
//! [`gaussian_tail`].

use super::cpu::{self, Sums};
use super::{Window, spans};
use crate::cpu::map_indices;
use crate::kernel::{Kernel, KernelCoeffs};
use crate::ops::grid::cpu::Grid;

/// The grid over `win.data` for the window's support radius, where the
/// window asks for one and one applies (at most 4 dimensions, cells not too
/// fine for the coordinates).
pub(super) fn build(win: &Window<'_>) -> Option<Grid> {
    Grid::build(win.data, win.dim, win.grid?)
}

/// The rows of `win` in the cells around each group of queries, cut at
/// the dense sums' span boundaries (`spans.rs`) into windows of their own
/// (dense: no grid), one per span with listed rows, in order, with the
/// group's queries; `f` maps each such pair to per-query results, which
/// come back in query order. `None` where a query lies beyond the grid's
/// reach.
fn by_home_cell<T: Clone + Send>(
    win: &Window<'_>,
    grid: &Grid,
    queries: &[f32],
    f: impl Fn(&[Window<'_>], &[f32]) -> Vec<T> + Sync,
) -> Option<Vec<T>> {
    let d = win.dim;
    if !grid.covers(queries) {
        return None;
    }
    let span_rows = spans::span_rows(win.data.len() / d);
    let groups = grid.home_cells(queries);
    let results = map_indices(groups.len(), |g| {
        let (cell, members) = &groups[g];
        let rows = grid.around(cell);
        // The listed rows of each span: ascending, so consecutive.
        let per_span: Vec<&[u32]> = rows
            .chunk_by(|&a, &b| a as usize / span_rows == b as usize / span_rows)
            .collect();
        let data: Vec<Vec<f32>> = per_span
            .iter()
            .map(|part| {
                part.iter()
                    .flat_map(|&j| &win.data[j as usize * d..(j as usize + 1) * d])
                    .copied()
                    .collect()
            })
            .collect();
        let weights: Option<Vec<Vec<f32>>> = win.weights.map(|w| {
            per_span
                .iter()
                .map(|part| part.iter().map(|&j| w[j as usize]).collect())
                .collect()
        });
        let near: Vec<Window<'_>> = data
            .iter()
            .enumerate()
            .map(|(s, data)| Window {
                data,
                weights: weights.as_ref().map(|w| &w[s][..]),
                grid: None,
                ..*win
            })
            .collect();
        let q: Vec<f32> = members
            .iter()
            .flat_map(|&i| &queries[i as usize * d..(i as usize + 1) * d])
            .copied()
            .collect();
        f(&near, &q)
    });
    let m = queries.len() / d;
    let mut out: Vec<Option<T>> = vec![None; m];
    for ((_, members), values) in groups.iter().zip(results) {
        for (&i, v) in members.iter().zip(values) {
            out[i as usize] = Some(v);
        }
    }
    out.into_iter().collect()
}

/// The window sums of `queries` over the rows of `win.data` around each,
/// through `grid` (built over `win.data` by [`build`]); `None` where a
/// query lies beyond the grid's reach.
pub(super) fn sums(win: &Window<'_>, grid: &Grid, queries: &[f32]) -> Option<Sums> {
    let d = win.dim;
    let per_query = by_home_cell(win, grid, queries, |near, q| {
        let s = cpu::piece_sums(d, near, q);
        (0..s.den.len())
            .map(|i| (s.num[i * d..(i + 1) * d].to_vec(), s.den[i], s.count[i]))
            .collect()
    })?;
    let mut out = Sums::with_capacity(per_query.len(), d);
    for (num, den, count) in per_query {
        out.num.extend_from_slice(&num);
        out.den.push(den);
        out.count.push(count);
    }
    Some(out)
}

/// The sample weight of the rows within `h` of each query, through a grid
/// of cell side `h`; `None` where no grid applies.
pub(super) fn counts(win: &Window<'_>, queries: &[f32]) -> Option<Vec<f32>> {
    let grid = Grid::build(win.data, win.dim, win.coeffs.h2)?;
    by_home_cell(win, &grid, queries, |near, q| {
        cpu::piece_counts(win.dim, near, q)
    })
}

/// The squared radius beyond which the kernel's `f32` weight is exactly 0:
/// `h^2` for the compact kernels; for the gaussian, where `exp2(c d^2)`
/// flushes to 0 (about `(13.2 h)^2`), with a margin far above `f32`
/// rounding so that no row of nonzero weight is left out.
pub(crate) fn exact_support2(coeffs: &KernelCoeffs) -> f32 {
    match coeffs.kernel {
        Kernel::Gaussian => crate::cpu::lanes::EXP2_FLUSH / coeffs.exp2_coeff * (1.0 + 1e-5),
        _ => coeffs.h2,
    }
}

/// The fraction of a `dim`-dimensional gaussian kernel's mass beyond `c`
/// bandwidths, `P(chi^2_dim > c^2)`: the bound on the weight a cut at
/// `c * h` leaves out of a window, relative to a full window's. Closed
/// forms: for even `dim`, `exp(-x) sum_{k < dim/2} x^k / k!` with
/// `x = c^2 / 2`; for odd `dim`, `erfc(c / sqrt 2)` plus
/// `exp(-x) sum_{k < (dim-1)/2} x^(k+1/2) / Gamma(k + 3/2)`.
pub fn gaussian_tail(dim: usize, c: f64) -> f64 {
    let x = c * c / 2.0;
    let mut term;
    let mut sum;
    if dim.is_multiple_of(2) {
        term = (-x).exp();
        sum = 0.0;
        for k in 0..dim / 2 {
            sum += term;
            term *= x / (k + 1) as f64;
        }
    } else {
        sum = erfc(c / std::f64::consts::SQRT_2);
        // x^(1/2) e^-x / Gamma(3/2), then each next term times x / (k + 3/2).
        term = x.sqrt() * (-x).exp() / (std::f64::consts::PI.sqrt() / 2.0);
        for k in 0..(dim - 1) / 2 {
            sum += term;
            term *= x / (k as f64 + 1.5);
        }
    }
    sum.min(1.0)
}

/// The complementary error function, to about 1.2e-7 relative (the
/// Chebyshev fit of Numerical Recipes' `erfcc`): enough for a reported
/// bound.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let p = poly.iter().rev().fold(0.0, |acc, &c| acc * t + c);
    let r = t * (-z * z + p).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gaussian_tail_is_the_chi_square_survival() {
        // Known values of P(chi^2_D > c^2).
        let cases = [
            (1, 1.0, 0.317_310_507_9),
            (1, 3.0, 0.002_699_796_1),
            (2, 3.0, (-4.5f64).exp()),
            (3, 2.0, 0.261_464_129_7),
            (3, 3.0, 0.029_290_886_5),
            (4, 3.0, (-4.5f64).exp() * 5.5),
        ];
        for (dim, c, want) in cases {
            let got = gaussian_tail(dim, c);
            assert!(
                (got - want).abs() <= 1e-6 * want,
                "D {dim}, c {c}: {got} vs {want}"
            );
        }
        assert_eq!(gaussian_tail(2, 0.0), 1.0);
    }

    #[test]
    fn the_exact_support_keeps_every_weight_that_is_not_zero() {
        for h in [0.01f32, 1.0, 3.7, 1e4] {
            let c = KernelCoeffs::new(Kernel::Gaussian, h);
            let r2 = exact_support2(&c);
            // Just beyond: 0; well inside: not.
            assert_eq!(c.weight(r2.next_up()), 0.0, "h {h}");
            assert_eq!(c.weight(r2 * 1.000_1), 0.0, "h {h}");
            assert!(c.weight(r2 * 0.999) > 0.0, "h {h}");
            let flat = KernelCoeffs::new(Kernel::Flat, h);
            assert_eq!(exact_support2(&flat), flat.h2);
        }
    }
}
