//! How the dense kernel sums compute squared distances on wide rows.

use crate::ops::kernel_sums;

/// How the kernel sums of a mean-shift fit compute each squared distance
/// `|x - q|^2` ([`MeanShift::distances`](super::MeanShift::distances)); a
/// fit reports the one it used
/// ([`MeanShiftFit::distances`](super::MeanShiftFit::distances)).
///
/// [`Distances::Expanded`] computes `(|q|^2 + |x|^2) - 2 q.x`, clamped at
/// 0, with `q.x` from a tiled matrix product, and sums positions
/// (`num = sum w x`, then the shift `num - q den` over `den`): the shape of
/// a GEMM, the work GPUs are built for. It rounds differently from
/// [`Distances::Direct`]: where `|x - q|` is small beside `|x|`, the
/// expansion cancels, and a distance is only known to a few ulp of `|x|^2`
/// rather than of `|x - q|^2`. The fit centres the data on their mean,
/// which keeps `|x|` small; data far from their mean in some direction
/// (long, thin clusters far apart) lose the most.
///
/// Every distance of the kernel sums takes the form (the weights and
/// blurring's intensity counts within `h`); merging modes and labelling
/// points measure theirs directly either way.
///
/// It applies to the dense sums on rows of more than 32 coordinates (the
/// GPU's wide-row stage and its CPU twin); on 32 coordinates or fewer it
/// changes nothing, and a fit reports [`Distances::Direct`]. It does not
/// combine with [`Method::Grid`](super::Method::Grid) (1 to 4
/// coordinates). The GPU gives the CPU twin's bits where the device
/// computes as the host does (no fused multiply-adds, as on Mesa's
/// lavapipe; the gaussian's `exp2` is the device's).
///
/// ```
/// use gpu_cluster::meanshift::Distances;
/// use gpu_cluster::{Blobs, Context, MeanShift};
/// let x = Blobs { dim: 40, ..Blobs::default() }.generate()?.points;
/// let ms = MeanShift::new(10.0).blurring(5);
/// let ctx = Context::cpu();
/// let direct = ms.clone().fit(&ctx, &x)?;
/// let expanded = ms.distances(Distances::Expanded).fit(&ctx, &x)?;
/// assert_eq!(expanded.distances(), Distances::Expanded);
/// assert_eq!(expanded.labels(), direct.labels());
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Distances {
    /// `sum_k (x_k - q_k)^2`, coordinate by coordinate, and displacements
    /// summed: the most precise, and the default.
    #[default]
    Direct,
    /// `max((|q|^2 + |x|^2) - 2 q.x, 0)` and positions summed, above 32
    /// coordinates (see [`Distances`]).
    Expanded,
}

impl Distances {
    /// Rows of more than this many coordinates take the expanded form.
    pub const EXPANDED_ABOVE_DIM: usize = kernel_sums::EXPANDED_ABOVE_DIM;

    /// The formulation the sums take on rows of `dim` coordinates.
    pub(crate) fn used(self, dim: usize) -> Self {
        match self {
            Self::Expanded if dim > Self::EXPANDED_ABOVE_DIM => Self::Expanded,
            _ => Self::Direct,
        }
    }
}
