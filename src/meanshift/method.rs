//! How the kernel sums find their data: every pair (dense), or a grid over
//! the points that visits only those within the kernel's support.

use crate::kernel::{Kernel, KernelCoeffs};
use crate::ops::grid::{MAX_DIM, cpu::Cells};
use crate::ops::kernel_sums::grid::exact_support2;

/// How the kernel sums of a mean-shift fit find their data
/// ([`MeanShift::method`](super::MeanShift::method)); a fit reports the one
/// it used ([`MeanShiftFit::method`](super::MeanShiftFit::method)).
///
/// Dense sums cost N² work per iteration (N seeds x N points in standard
/// mode); the grid's cost N x (points within the kernel's support), which
/// in low dimensions is what makes 10^6 points feasible. For the flat,
/// triangular and epanechnikov kernels the grid gives the dense result bit
/// for bit (the terms it leaves out are exactly 0). The gaussian has no
/// edge: the grid cuts it at `c * h`
/// ([`MeanShift::gaussian_cutoff`](super::MeanShift::gaussian_cutoff), 3 by
/// default), leaving out at most the fraction
/// [`MeanShiftFit::gaussian_tail`](super::MeanShiftFit::gaussian_tail) of a
/// window's weight, or at the radius where `f32` weights flush to 0, which
/// gives the dense bits again.
///
/// On a GPU context the grid's sums run on the device over the CPU twin's
/// rows in the twin's order, so the compact kernels give the twin's bits
/// where the device computes as the host does (no fused multiply-adds,
/// divisions rounded as the host rounds them, as on Mesa's lavapipe), and
/// every kernel the device's dense bits where the grid leaves out only
/// zeros (blurring points past one binding, whose moves the host finishes,
/// only where the device divides as the host does).
/// In standard mode the host groups the moving seeds by cell every step
/// and lists the rows around each group; blurring rebuilds the grid on the
/// device every iteration, positions kept there (only the points' bounds
/// come back, and, where N x N x D could pass the device's work limit per
/// dispatch, the most rows a point visits, which sizes the dispatches), or
/// on the host where the points pass one binding.
///
/// ```
/// use gpu_cluster::meanshift::Method;
/// use gpu_cluster::{Blobs, Context, Kernel, MeanShift};
/// let x = Blobs::default().generate()?.points;
/// let ms = MeanShift::new(1.0).kernel(Kernel::Epanechnikov);
/// let ctx = Context::cpu();
/// let dense = ms.clone().method(Method::Dense).fit(&ctx, &x)?;
/// let grid = ms.method(Method::Grid).fit(&ctx, &x)?;
/// assert_eq!(grid.method(), Method::Grid);
/// assert_eq!(grid.centers(), dense.centers()); // the same bits
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Method {
    /// The grid where it gives the dense result and pays: D <= 4, a
    /// compact kernel (flat, triangular, epanechnikov), at least
    /// [`Method::GRID_MIN_POINTS`] points and enough query x point pairs
    /// (bin seeding's few seeds make dense cheap), and a support small
    /// against the data (many cells); dense otherwise. The gaussian takes
    /// the grid only when [`Method::Grid`] asks for it, since the cut
    /// changes the result (and uncut, the grid saves nothing).
    #[default]
    Auto,
    /// Every pair.
    Dense,
    /// The grid where it applies (D <= 4, cells not too fine for the
    /// coordinates, seeds within reach of the data); dense otherwise,
    /// reported as such.
    Grid,
}

impl Method {
    /// Points from which [`Method::Auto`] takes the grid: below it, the
    /// dense CPU sums, in blocks of lanes, are as fast.
    pub const GRID_MIN_POINTS: usize = 8192;

    /// Non-empty cells [`Method::Auto`] asks of the grid: with fewer, most
    /// points see most of the data and the grid saves little.
    const AUTO_MIN_CELLS: usize = 64;

    /// Query x point pairs below which [`Method::Auto`] stays dense: few
    /// seeds (bin seeding) make dense sums cheap, and building the grid
    /// then costs about what it saves (measured crossing over near 2^23).
    const AUTO_MIN_PAIRS: usize = 1 << 23;
}

/// The squared support radius the sums run with, when `method` takes the
/// grid for `data` (centred, `dim` columns) and `queries` (the
/// points whose sums are taken: standard mode's seeds, or the data);
/// `None` for dense sums. `cutoff` is the gaussian's `c` (`None`: the
/// flush radius).
pub(super) fn grid_support(
    method: Method,
    coeffs: &KernelCoeffs,
    cutoff: Option<f32>,
    data: &[f32],
    dim: usize,
    queries: &[f32],
) -> Option<f32> {
    let support2 = candidate_support(method, coeffs, cutoff, data.len(), dim, queries.len())?;
    // The decision only, without the grid: there is a grid exactly where
    // there are cells (`Grid::build`), and its cell count is the number of
    // distinct keys, which needs no sort to reach the few Auto asks for.
    // The sums build their own grid (on the device, in blurring mode).
    let cells = Cells::new(data, dim, support2)?;
    if !cells.covers(queries) {
        return None;
    }
    if method == Method::Auto && !cells.has_cells(data, Method::AUTO_MIN_CELLS) {
        return None;
    }
    Some(support2)
}

/// The squared support radius when the grid is worth asking the data
/// about: what `method`, the dimension, the kernel and the sizes (`data`
/// and `queries` values, `dim` a row) decide before any cell is looked at.
fn candidate_support(
    method: Method,
    coeffs: &KernelCoeffs,
    cutoff: Option<f32>,
    data: usize,
    dim: usize,
    queries: usize,
) -> Option<f32> {
    if method == Method::Dense || dim > MAX_DIM {
        return None;
    }
    if method == Method::Auto {
        // Auto never changes a result: the gaussian (cut, or uncut at the
        // cost of dense sums) takes the grid only when asked.
        let n = data / dim;
        let pairs = (queries / dim).saturating_mul(n);
        if n < Method::GRID_MIN_POINTS
            || pairs < Method::AUTO_MIN_PAIRS
            || coeffs.kernel == Kernel::Gaussian
        {
            return None;
        }
    }
    Some(match (coeffs.kernel, cutoff) {
        (Kernel::Gaussian, Some(c)) => (c * coeffs.h) * (c * coeffs.h),
        _ => exact_support2(coeffs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::grid::cpu::Grid;

    /// Seeded values in `[-scale, scale)`.
    fn values(n: usize, scale: f32, seed: u64) -> Vec<f32> {
        crate::test_data::uniform(n, -scale, scale, seed)
    }

    /// The decision by building the grid: whether `Grid::build` gives one,
    /// it reaches the queries, and (Auto) it has enough cells.
    fn built(
        method: Method,
        coeffs: &KernelCoeffs,
        cutoff: Option<f32>,
        data: &[f32],
        dim: usize,
        queries: &[f32],
    ) -> Option<f32> {
        let support2 = candidate_support(method, coeffs, cutoff, data.len(), dim, queries.len())?;
        let grid = Grid::build(data, dim, support2)?;
        if !grid.covers(queries) {
            return None;
        }
        if method == Method::Auto && grid.cells() < Method::AUTO_MIN_CELLS {
            return None;
        }
        Some(support2)
    }

    /// Whether the cells say the grid would have at least so many cells is
    /// what the built grid says.
    fn assert_counts_match(data: &[f32], dim: usize, bound: f32) {
        let grid = Grid::build(data, dim, bound);
        let cells = Cells::new(data, dim, bound);
        assert_eq!(grid.is_some(), cells.is_some(), "D {dim}, bound {bound}");
        if let (Some(grid), Some(cells)) = (grid, cells) {
            let count = grid.cells();
            let around = [count.saturating_sub(1), count, count + 1];
            for at_least in [0, 1, 2, 63, 64, 65, 1000, usize::MAX / 4]
                .into_iter()
                .chain(around)
            {
                assert_eq!(
                    cells.has_cells(data, at_least),
                    count >= at_least,
                    "D {dim}, bound {bound}, {count} cells, at least {at_least}"
                );
            }
        }
    }

    /// The decision without the grid is the one with it: dimensions 1 to
    /// 6, supports from too fine for the coordinates to wider than the
    /// data, data far from the origin, seeds inside, just outside and far
    /// outside the data's box, every method and kernel family, too few
    /// points and enough.
    #[test]
    fn the_decision_is_the_built_grids() {
        let mut taken = [0usize; 2];
        for dim in 1..=6 {
            for (n, scale, offset) in [
                (300, 10.0, 0.0),
                (9000, 10.0, 0.0),
                (9000, 2.0, 1e6),
                (8500, 50.0, -3e7),
            ] {
                let seed = (dim * 1000 + n) as u64;
                let data: Vec<f32> = values(n * dim, scale, seed)
                    .iter()
                    .map(|v| v + offset)
                    .collect();
                let near: Vec<f32> = data.iter().map(|v| v + 2.5 * scale).collect();
                let far: Vec<f32> = data.iter().map(|v| v - 1e4 * scale).collect();
                let few = &data[..(n / 8).max(1) * dim];
                for h in [1e-6, 1e-3, 0.05, 0.7, 4.0, 1e3] {
                    assert_counts_match(&data, dim, h * h);
                    for (kernel, cutoff) in [
                        (Kernel::Epanechnikov, None),
                        (Kernel::Flat, Some(3.0)),
                        (Kernel::Gaussian, Some(3.0)),
                        (Kernel::Gaussian, None),
                    ] {
                        let coeffs = KernelCoeffs::new(kernel, h);
                        for queries in [&data[..], &near, &far, few] {
                            for method in [Method::Auto, Method::Grid, Method::Dense] {
                                let want = built(method, &coeffs, cutoff, &data, dim, queries);
                                let got =
                                    grid_support(method, &coeffs, cutoff, &data, dim, queries);
                                assert_eq!(
                                    got.map(f32::to_bits),
                                    want.map(f32::to_bits),
                                    "{method:?} {kernel:?} D {dim}, n {n}, h {h}, \
                                     offset {offset}, {} queries",
                                    queries.len() / dim
                                );
                                taken[usize::from(got.is_some())] += 1;
                            }
                        }
                    }
                }
            }
        }
        // Both answers occur often enough for the comparison to mean
        // something.
        assert!(taken[0] > 500 && taken[1] > 200, "{taken:?}");
    }

    /// Auto takes the grid from 64 distinct cells on: 1, 63, 64 and 65
    /// sites far apart against the bandwidth, each repeated (one cell a
    /// site, wherever the cells' edges fall), laid out in runs of a site
    /// and interleaved.
    #[test]
    fn auto_asks_for_64_cells() {
        let n = Method::GRID_MIN_POINTS + 100;
        let coeffs = KernelCoeffs::new(Kernel::Epanechnikov, 1.0);
        for dim in 1..=MAX_DIM {
            for sites in [1, 63, 64, 65] {
                for interleaved in [false, true] {
                    let mut data = Vec::with_capacity(n * dim);
                    for i in 0..n {
                        let site = match interleaved {
                            true => i % sites,
                            false => i * sites / n,
                        };
                        for a in 0..dim {
                            let at = if a == 0 { site } else { (site * 7 + a) % 5 };
                            data.push(10.0 * at as f32);
                        }
                    }
                    assert_counts_match(&data, dim, 1.0);
                    let grid = Grid::build(&data, dim, 1.0).unwrap();
                    assert_eq!(grid.cells(), sites, "D {dim}");
                    for method in [Method::Auto, Method::Grid] {
                        let want = built(method, &coeffs, None, &data, dim, &data);
                        let got = grid_support(method, &coeffs, None, &data, dim, &data);
                        assert_eq!(got, want, "{method:?}, D {dim}, {sites} cells");
                        let takes = method == Method::Grid || sites >= Method::AUTO_MIN_CELLS;
                        assert_eq!(got.is_some(), takes, "{method:?}, D {dim}, {sites} cells");
                    }
                }
            }
        }
    }
}
