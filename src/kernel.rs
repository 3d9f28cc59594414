//! Mean-shift kernels: the weight a point gets from its distance.
//!
//! All are inclusive at `d = h`. Normalising constants cancel in every ratio
//! the algorithms take, so they are left out. Only the gaussian needs `exp`;
//! the others need only `d^2` (and one `sqrt` for the triangular).

use std::fmt;
use std::str::FromStr;

/// The kernel profile of mean shift.
///
/// | kernel | weight `w(d)` | support |
/// |---|---|---|
/// | `Flat` (scikit-learn's) | 1 if `d <= h` | `d <= h` |
/// | `Triangular` | `max(0, 1 - d/h)` | `d <= h` |
/// | `Epanechnikov` | `max(0, 1 - (d/h)^2)` | `d <= h` |
/// | `Gaussian` | `exp(-0.5 (d/h)^2)` | unbounded |
///
/// ```
/// use gpu_cluster::Kernel;
/// let k: Kernel = "epanechnikov".parse()?;
/// assert_eq!(k.weight(0.25, 1.0), 0.75); // d^2 = 0.25, h = 1
/// assert_eq!(Kernel::Flat.weight(1.0, 1.0), 1.0); // inclusive at d = h
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Kernel {
    /// 1 inside the window, 0 outside: scikit-learn's `MeanShift`.
    #[default]
    Flat,
    /// Linearly decreasing to 0 at `d = h`.
    Triangular,
    /// Quadratically decreasing to 0 at `d = h`.
    Epanechnikov,
    /// `exp(-0.5 (d/h)^2)`, never 0: the blurring reference workload's kernel.
    Gaussian,
}

impl Kernel {
    /// All kernels, in a fixed order (for tests and help texts).
    pub const ALL: [Kernel; 4] = [
        Kernel::Flat,
        Kernel::Triangular,
        Kernel::Epanechnikov,
        Kernel::Gaussian,
    ];

    /// The name used on the command line and in `FromStr`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Flat => "flat",
            Kernel::Triangular => "triangular",
            Kernel::Epanechnikov => "epanechnikov",
            Kernel::Gaussian => "gaussian",
        }
    }

    /// A small integer identifying the kernel inside the shaders.
    pub(crate) fn shader_id(self) -> u32 {
        match self {
            Kernel::Flat => 0,
            Kernel::Triangular => 1,
            Kernel::Epanechnikov => 2,
            Kernel::Gaussian => 3,
        }
    }

    /// Weight of a point at squared distance `d2` for bandwidth `h`, computed
    /// the way the CPU twin computes it: the bandwidth is folded into
    /// constants first (the gaussian is `exp2(c * d2)` with
    /// `c = -0.5 log2(e) / h^2`; the compact kernels compare `d2 <= h^2` and
    /// use `d2 / h^2`).
    pub fn weight(self, d2: f32, h: f32) -> f32 {
        KernelCoeffs::new(self, h).weight(d2)
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown kernel {s:?}: use flat, triangular, epanechnikov or gaussian")
            })
    }
}

/// A kernel with its bandwidth folded into constants, shared by the CPU twin
/// and (as uniforms) the GPU stage so both evaluate the same expressions:
/// the gaussian is `exp2(c * d2)` with `c = -0.5 log2(e) / h^2`, the compact
/// kernels compare `d2 <= h^2` and use `d2 / h^2`, never a division per pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KernelCoeffs {
    pub kernel: Kernel,
    /// The bandwidth `h` itself.
    pub h: f32,
    /// `h^2`: the support test and the count window.
    pub h2: f32,
    /// `1 / h^2` for the epanechnikov and triangular kernels.
    pub inv_h2: f32,
    /// `-0.5 log2(e) / h^2` for the gaussian.
    pub exp2_coeff: f32,
}

impl KernelCoeffs {
    pub fn new(kernel: Kernel, h: f32) -> Self {
        let h2 = h * h;
        Self {
            kernel,
            h,
            h2,
            inv_h2: 1.0 / h2,
            exp2_coeff: -0.5 * std::f32::consts::LOG2_E / h2,
        }
    }

    /// Weight at squared distance `d2`.
    #[inline]
    pub fn weight(&self, d2: f32) -> f32 {
        match self.kernel {
            Kernel::Flat => f32::from(u8::from(d2 <= self.h2)),
            Kernel::Triangular => {
                if d2 <= self.h2 {
                    1.0 - (d2 * self.inv_h2).sqrt()
                } else {
                    0.0
                }
            }
            Kernel::Epanechnikov => {
                if d2 <= self.h2 {
                    1.0 - d2 * self.inv_h2
                } else {
                    0.0
                }
            }
            Kernel::Gaussian => crate::cpu::lanes::exp2_lane(self.exp2_coeff * d2),
        }
    }
}
