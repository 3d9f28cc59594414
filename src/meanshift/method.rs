//! How the kernel sums find their data: every pair (dense), or a grid over
//! the points that visits only those within the kernel's support.

use crate::kernel::{Kernel, KernelCoeffs};
use crate::ops::grid::{MAX_DIM, cpu::Grid};
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
    if method == Method::Dense || dim > MAX_DIM {
        return None;
    }
    let support2 = match (coeffs.kernel, cutoff) {
        (Kernel::Gaussian, Some(c)) => (c * coeffs.h) * (c * coeffs.h),
        _ => exact_support2(coeffs),
    };
    if method == Method::Auto {
        // Auto never changes a result: the gaussian (cut, or uncut at the
        // cost of dense sums) takes the grid only when asked.
        let n = data.len() / dim;
        let pairs = (queries.len() / dim).saturating_mul(n);
        if n < Method::GRID_MIN_POINTS
            || pairs < Method::AUTO_MIN_PAIRS
            || coeffs.kernel == Kernel::Gaussian
        {
            return None;
        }
    }
    let grid = Grid::build(data, dim, support2)?;
    if !grid.covers(queries) {
        return None;
    }
    if method == Method::Auto && grid.cells() < Method::AUTO_MIN_CELLS {
        return None;
    }
    Some(support2)
}
