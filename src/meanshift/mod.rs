//! Mean shift, scikit-learn's `MeanShift` (standard mode) and blurring mean
//! shift (GBMS, the reference workload), on a GPU or the CPU twin.
//!
//! [`MeanShift`] holds parameters; [`MeanShift::fit`] checks them against the
//! data, runs the kernel-sums op (`ops::kernel_sums`) on the context's
//! backend, merges modes into clusters and returns a [`MeanShiftFit`]. What each step computes,
//! down to ties, is scikit-learn's; the differences are listed on
//! [`MeanShift`].

mod bandwidth;
mod distances;
mod merge;
mod method;
mod params;
mod seeding;
mod zero;

pub use bandwidth::BandwidthEstimate;
pub use distances::Distances;
pub use method::Method;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::kernel::{Kernel, KernelCoeffs};
use crate::ops::kernel_sums::{self, SeekStatus, Window};
use crate::progress::{Observed, Observer, Stage, Watch};
use std::borrow::Cow;
use std::sync::Arc;

use crate::dataset::Input;
use crate::points::{Points, centre, uncentre};
use params::Checked;

/// Standard or blurring mean shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Mode {
    /// scikit-learn's `MeanShift`: seeds climb over the fixed data.
    #[default]
    Standard,
    /// Blurring mean shift (GBMS): every iteration moves all points to the
    /// kernel-weighted mean of the current positions.
    Blurring,
}

/// Why the iterations stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum StopReason {
    /// Standard mode: every seed's last shift was `<= tol * h` (or its
    /// window was empty).
    Converged,
    /// The iteration cap (`max_iter`) was reached (standard mode: by at least
    /// one seed).
    MaxIter,
    /// Blurring with an explicit iteration count: all of them ran.
    Iterations,
    /// Blurring until stable: the largest shift of an iteration was
    /// `<= tol * h`.
    ShiftBelowTol,
    /// Blurring until stable: the labels were identical after two
    /// consecutive iterations.
    LabelsStable,
}

/// Mean-shift parameters: a builder, checked when [`fit`](MeanShift::fit)
/// sees the data.
///
/// Defaults are scikit-learn's: bandwidth estimated with quantile 0.3, flat
/// kernel, standard mode, seeds = all points, no bin seeding,
/// `min_bin_freq` 1, `cluster_all` on, `max_iter` 300, `tol` 1e-3 (relative
/// to the bandwidth: scikit-learn's fixed rule). Blurring mode defaults to
/// the gaussian kernel.
///
/// An estimated bandwidth of 0 (constant data, many duplicates) behaves as
/// in scikit-learn with the flat kernel: a radius-0 window, so each
/// distinct point is a cluster and identical points merge; the kernels
/// that divide by the bandwidth refuse it ([`Error::ZeroBandwidth`]). A
/// given bandwidth must be > 0, as in scikit-learn.
///
/// Deliberate differences from scikit-learn: sample weights and kernels
/// other than flat exist only here;
/// data are centred (mean subtracted, in `f64`) before the `f32` work, so
/// results can differ from scikit-learn's `float64` in the last bits.
///
/// ```
/// use gpu_cluster::{Context, MeanShift, Points};
/// let x = Points::new(&[0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0], 2)?;
/// let fit = MeanShift::new(1.0).fit(&Context::auto()?, &x)?;
/// // Equal intensities rank by coordinates, largest first (scikit-learn's
/// // order): the cluster at (5, 5) is label 0.
/// assert_eq!(fit.labels(), &[1, 1, 0, 0]);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MeanShift {
    pub(crate) bandwidth: Option<f32>,
    pub(crate) estimate: BandwidthEstimate,
    pub(crate) kernel: Option<Kernel>,
    pub(crate) mode: Mode,
    pub(crate) iterations: Option<usize>,
    pub(crate) max_iter: usize,
    pub(crate) tol: f32,
    pub(crate) bin_seeding: bool,
    pub(crate) min_bin_freq: usize,
    pub(crate) cluster_all: bool,
    pub(crate) seeds: Option<Points>,
    pub(crate) weights: Option<Vec<f32>>,
    pub(crate) record_trajectory: bool,
    pub(crate) method: Method,
    pub(crate) distances: Distances,
    pub(crate) gaussian_cutoff: Option<f32>,
    pub(crate) observer: Observed,
}

impl Default for MeanShift {
    fn default() -> Self {
        Self {
            bandwidth: None,
            estimate: BandwidthEstimate::default(),
            kernel: None,
            mode: Mode::Standard,
            iterations: None,
            max_iter: 300,
            tol: 1e-3,
            bin_seeding: false,
            min_bin_freq: 1,
            cluster_all: true,
            seeds: None,
            weights: None,
            record_trajectory: false,
            method: Method::Auto,
            distances: Distances::Direct,
            gaussian_cutoff: Some(3.0),
            observer: Observed::default(),
        }
    }
}

impl MeanShift {
    /// Mean shift with bandwidth `h` (must be finite and > 0; checked at fit).
    pub fn new(bandwidth: f32) -> Self {
        Self {
            bandwidth: Some(bandwidth),
            ..Self::default()
        }
    }

    /// Mean shift whose bandwidth is estimated from the data
    /// (scikit-learn's `estimate_bandwidth`, see [`BandwidthEstimate`]).
    ///
    /// ```no_run
    /// use gpu_cluster::{BandwidthEstimate, Context, MeanShift, Points};
    /// # let x = Points::new(&[0.0, 1.0, 2.0], 1)?;
    /// let fit = MeanShift::estimated(BandwidthEstimate::new(0.2)).fit(&Context::cpu(), &x)?;
    /// println!("bandwidth {}", fit.bandwidth());
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn estimated(estimate: BandwidthEstimate) -> Self {
        Self {
            estimate,
            ..Self::default()
        }
    }

    /// The kernel. Default: flat in standard mode, gaussian in blurring mode.
    pub fn kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = Some(kernel);
        self
    }

    /// Standard or blurring mode. Blurring set this way stops by itself
    /// (see [`MeanShift::blurring_until_stable`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Blurring mode with exactly `iterations` iterations (the reference
    /// workload is 5). Gaussian blurring never stops by itself and, given
    /// time, merges everything, so a fixed count is the usual choice.
    pub fn blurring(mut self, iterations: usize) -> Self {
        self.mode = Mode::Blurring;
        self.iterations = Some(iterations);
        self
    }

    /// Blurring mode that stops by the GBMS rule: when the largest shift of
    /// an iteration is `<= tol * h`, or when the labels are identical after
    /// two consecutive iterations, or after `max_iter` iterations. Each
    /// iteration then reads positions back to label them.
    pub fn blurring_until_stable(mut self) -> Self {
        self.mode = Mode::Blurring;
        self.iterations = None;
        self
    }

    /// Cap on iterations: per seed in standard mode (scikit-learn's
    /// `max_iter`, default 300), in total for blurring until stable.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Convergence threshold relative to the bandwidth: a seed stops when
    /// its shift is `<= tol * h`. Default 1e-3, scikit-learn's fixed rule.
    pub fn tol(mut self, tol: f32) -> Self {
        self.tol = tol;
        self
    }

    /// Seed from the occupied cells of a grid of side `h` rather than from
    /// every point (scikit-learn's `bin_seeding`): far fewer seeds, faster.
    pub fn bin_seeding(mut self, on: bool) -> Self {
        self.bin_seeding = on;
        self
    }

    /// With bin seeding, keep only bins holding at least this many points.
    pub fn min_bin_freq(mut self, n: usize) -> Self {
        self.min_bin_freq = n;
        self
    }

    /// Whether every point gets a cluster (default) or points farther than
    /// `h` from every centre get label -1.
    pub fn cluster_all(mut self, on: bool) -> Self {
        self.cluster_all = on;
        self
    }

    /// Start from these seeds instead of the points or bins (standard mode).
    pub fn seeds(mut self, seeds: Points) -> Self {
        self.seeds = Some(seeds);
        self
    }

    /// One weight per point (finite, >= 0): weights both the means and the
    /// intensities. Not in scikit-learn.
    pub fn sample_weights(mut self, weights: Vec<f32>) -> Self {
        self.weights = Some(weights);
        self
    }

    /// Keep every blurring iteration's positions (for animations); costs a
    /// copy of the data per iteration.
    pub fn record_trajectory(mut self, on: bool) -> Self {
        self.record_trajectory = on;
        self
    }

    /// Reports the fit's progress to `observer`, which may also cancel it
    /// (see [`Observer`]): a progress bar, a GUI, a web page's stop button.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Observed::new(observer);
        self
    }

    /// How the kernel sums find their data (default [`Method::Auto`]): see
    /// [`Method`].
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// How the dense sums compute squared distances on rows of more than
    /// 32 coordinates (default [`Distances::Direct`]): see [`Distances`].
    /// [`Distances::Expanded`] rounds differently and is rejected with
    /// [`Method::Grid`]; [`Method::Auto`] accepts it, since Auto takes the
    /// grid only on 1 to 4 coordinates, where expanded distances change
    /// nothing (the fit reports [`Distances::Direct`]).
    pub fn distances(mut self, distances: Distances) -> Self {
        self.distances = distances;
        self
    }

    /// Where the grid cuts the gaussian kernel: `Some(c)` at `c * h`
    /// (default 3: in two dimensions at most `exp(-c^2 / 2)` = 1.1% of a
    /// window's weight is left out; see [`MeanShiftFit::gaussian_tail`]),
    /// `None` where its `f32` weights flush to 0 (about `13.2 h`), which
    /// gives the dense sums' bits at a larger cost. Dense sums and the
    /// other kernels ignore it. `c` must be finite and > 0.
    ///
    /// ```
    /// use gpu_cluster::meanshift::Method;
    /// use gpu_cluster::{Blobs, Context, MeanShift};
    /// let x = Blobs::default().generate()?.points;
    /// let ms = MeanShift::new(2.5).blurring(5);
    /// let ctx = Context::cpu();
    /// let dense = ms.clone().method(Method::Dense).fit(&ctx, &x)?;
    /// let cut = ms.clone().method(Method::Grid).fit(&ctx, &x)?;
    /// assert_eq!(cut.labels(), dense.labels()); // 1.1% left out changes no label here
    /// assert!(cut.gaussian_tail().unwrap() < 0.012);
    /// let exact = ms.method(Method::Grid).gaussian_cutoff(None).fit(&ctx, &x)?;
    /// assert_eq!(exact.final_positions(), dense.final_positions()); // the same bits
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn gaussian_cutoff(mut self, c: Option<f32>) -> Self {
        self.gaussian_cutoff = c;
        self
    }

    /// Fits on `ctx`, blocking until the GPU is done.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<MeanShiftFit> {
        pollster::block_on(self.fit_async(ctx, x))
    }

    /// Fits on `ctx` and returns the labels alone (scikit-learn's
    /// `fit_predict`): the [`labels`](MeanShiftFit::labels) of
    /// [`fit`](MeanShift::fit), not a second pass of
    /// [`predict`](MeanShiftFit::predict).
    ///
    /// ```
    /// use gpu_cluster::{Context, MeanShift, Points};
    /// let x = Points::new(&[0.0, 0.1, 0.2, 5.0, 5.1], 1)?;
    /// let labels = MeanShift::new(1.0).fit_predict(&Context::cpu(), &x)?;
    /// assert_eq!(labels, [0, 0, 0, 1, 1]); // the larger cluster first
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit_predict<'a>(&self, ctx: &Context, x: impl Into<Input<'a>>) -> Result<Vec<i32>> {
        Ok(self.fit(ctx, x)?.labels)
    }

    /// The async form of [`MeanShift::fit`], for the browser, where it
    /// yields while the GPU works. On native targets it still blocks the
    /// calling thread while waiting for the GPU (wgpu's device poll), so
    /// run it on a worker thread rather than inside an async executor.
    pub async fn fit_async<'a>(
        &self,
        ctx: &Context,
        x: impl Into<Input<'a>>,
    ) -> Result<MeanShiftFit> {
        let input = x.into();
        let x = input.points();
        let checked = params::check(self, x)?;
        let watch = self.observer.watch();
        watch.check()?;
        let dim = x.dim();
        let (mean, data) = input.centred();
        let bandwidth = match checked.bandwidth {
            Some(h) => h,
            None => {
                watch.report(Stage::Bandwidth, 0, None)?;
                checked.estimate.estimate_centred(ctx, &data, dim).await?
            }
        };
        if bandwidth == 0.0 {
            // Only an estimate can be 0 (a given bandwidth must be > 0).
            if checked.kernel != Kernel::Flat {
                return Err(Error::ZeroBandwidth {
                    quantile: checked.estimate.quantile,
                    kernel: checked.kernel,
                });
            }
            watch.report(Stage::Merging, 0, None)?;
            let run = zero::fit(x, &checked)?;
            let mut counts = vec![0usize; run.intensity.len()];
            for &l in &run.labels {
                if let Ok(l) = usize::try_from(l) {
                    counts[l] += 1;
                }
            }
            return Ok(MeanShiftFit {
                centers: run.centers,
                offset: mean.to_vec(),
                intensity: run.intensity,
                labels: run.labels,
                counts,
                n_iter: run.n_iter,
                stop: run.stop,
                bandwidth,
                kernel: checked.kernel,
                mode: checked.mode,
                cluster_all: checked.cluster_all,
                positions: run.positions,
                trajectory: run.trajectory,
                method: Method::Dense,
                distances: Distances::Direct,
                cutoff: None,
            });
        }
        params::check_resolution(&data, dim, bandwidth)?;
        let coeffs = KernelCoeffs::new(checked.kernel, bandwidth);
        // Standard mode's seeds (blurring moves the data themselves): the
        // method depends on how many there are.
        let seeds = match checked.mode {
            Mode::Standard => Some(standard_seeds(&data, x, &mean, &checked, bandwidth, watch)?),
            Mode::Blurring => None,
        };
        let support2 = method::grid_support(
            checked.method,
            &coeffs,
            checked.gaussian_cutoff,
            &data,
            dim,
            seeds.as_deref().unwrap_or(&data),
        );
        let win = Window {
            data: &data,
            weights: checked.weights,
            dim,
            coeffs,
            grid: support2,
            expanded: support2.is_none() && checked.distances == Distances::Expanded,
        };
        let run = match &seeds {
            Some(seeds) => run_standard(ctx, &win, seeds, &checked, watch).await?,
            None => run_blurring(ctx, &win, &checked, watch).await?,
        };
        watch.report(Stage::Labelling, 0, None)?;
        let labels = merge::nearest_labels(
            ctx,
            run.label_points.as_deref().unwrap_or(&data),
            &run.merged.centers,
            dim,
            (!checked.cluster_all).then_some(bandwidth),
        )
        .await?;
        let mut counts = vec![0usize; run.merged.intensity.len()];
        for &l in &labels {
            if let Ok(l) = usize::try_from(l) {
                counts[l] += 1;
            }
        }
        Ok(MeanShiftFit {
            centers: uncentre(&run.merged.centers, &mean)?,
            offset: mean.to_vec(),
            intensity: run.merged.intensity,
            labels,
            counts,
            n_iter: run.n_iter,
            stop: run.stop,
            bandwidth,
            kernel: checked.kernel,
            mode: checked.mode,
            cluster_all: checked.cluster_all,
            positions: run
                .label_points
                .as_deref()
                .map(|p| uncentre(p, &mean))
                .transpose()?,
            trajectory: run
                .trajectory
                .iter()
                .map(|t| uncentre(t, &mean))
                .collect::<Result<_>>()?,
            method: match support2 {
                Some(_) => Method::Grid,
                None => Method::Dense,
            },
            distances: match support2 {
                Some(_) => Distances::Direct,
                None => checked.distances.used(dim),
            },
            cutoff: match (support2, checked.kernel) {
                (Some(_), Kernel::Gaussian) => checked.gaussian_cutoff,
                _ => None,
            },
        })
    }
}

/// Standard mode's seeds, centred: the given ones, the bins' (bin
/// seeding, with bandwidth `h`), or the data itself (`data`, centred),
/// borrowed so that its device copy is the data's.
fn standard_seeds<'d>(
    data: &'d [f32],
    x: &Points,
    mean: &[f64],
    checked: &Checked<'_>,
    h: f32,
    watch: Watch<'_>,
) -> Result<Cow<'d, [f32]>> {
    Ok(match (checked.seeds, checked.bin_seeding) {
        (Some(s), _) => Cow::Owned(centre(s, mean)),
        (None, true) => {
            watch.report(Stage::Seeding, 0, None)?;
            let raw = seeding::bin_seeds(&x.to_f64(), x.dim(), h, checked.min_bin_freq);
            if raw.is_empty() {
                return Err(Error::NoSeeds {
                    min_bin_freq: checked.min_bin_freq,
                });
            }
            Cow::Owned(centre(&Points::from_f64(&raw, x.dim())?, mean))
        }
        (None, false) => Cow::Borrowed(data),
    })
}

/// Standard mode: every seed (centred) climbs on its own; modes merge
/// into clusters.
async fn run_standard(
    ctx: &Context,
    win: &Window<'_>,
    seeds: &[f32],
    checked: &Checked<'_>,
    watch: Watch<'_>,
) -> Result<Run> {
    let h = win.coeffs.h;
    let max_iter = checked.max_iter;
    let out = kernel_sums::seek(ctx, win, seeds, checked.tol * h, max_iter, watch).await?;
    let keep: Vec<bool> = out
        .status
        .iter()
        .map(|s| *s != SeekStatus::Dropped)
        .collect();
    if !keep.contains(&true) {
        return Err(Error::NoPointInRange { bandwidth: h });
    }
    watch.report(Stage::Merging, 0, None)?;
    let stop = if out.status.contains(&SeekStatus::MaxIter) {
        StopReason::MaxIter
    } else {
        StopReason::Converged
    };
    Ok(Run {
        merged: merge::merge_modes(&out.positions, &out.intensity, &keep, win.dim, h),
        n_iter: out.iterations.iter().copied().max().unwrap_or(0) as usize,
        stop,
        label_points: None,
        trajectory: Vec::new(),
    })
}

/// Blurring mode: all points move together, a given number of iterations
/// or until stable; the final positions merge into clusters.
async fn run_blurring(
    ctx: &Context,
    win: &Window<'_>,
    checked: &Checked<'_>,
    watch: Watch<'_>,
) -> Result<Run> {
    let h = win.coeffs.h;
    let dim = win.dim;
    if let Some(n) = checked.iterations {
        let out = kernel_sums::blur(ctx, win, n, checked.record_trajectory, true, watch).await?;
        watch.report(Stage::Merging, 0, None)?;
        let merged = blurred_modes(win, &out.positions, &out.counts);
        return Ok(Run {
            merged,
            n_iter: n,
            stop: StopReason::Iterations,
            label_points: Some(out.positions),
            trajectory: out.trajectory,
        });
    }
    // Until stable: one iteration at a time, labelled after each
    // (`max_iter >= 1` is checked, so at least one runs). The positions
    // stay on the device from one iteration to the next (`carry`); the
    // host copy is for the merge. The first reads the data itself, so a
    // dataset's device copy is found.
    let mut positions = Cow::Borrowed(win.data);
    let mut carry = kernel_sums::Carry::default();
    let mut trajectory = Vec::new();
    let mut previous_labels: Option<Vec<i32>> = None;
    let mut n_iter = 0;
    // Reported here, one iteration at a time (the op's own reports would
    // count each single step as a whole stage); the cap is no total.
    watch.report(Stage::Iterations, 0, None)?;
    let (merged, stop) = loop {
        let step = Window {
            data: &positions,
            ..*win
        };
        let out =
            kernel_sums::blur_on(ctx, &step, 1, false, true, &mut carry, Watch::default()).await?;
        positions = Cow::Owned(out.positions);
        n_iter += 1;
        watch.report(Stage::Iterations, n_iter as u64, None)?;
        if checked.record_trajectory {
            trajectory.push(positions.to_vec());
        }
        let merged = blurred_modes(win, &positions, &out.counts);
        if out.max_shift[0] <= checked.tol * h {
            break (merged, StopReason::ShiftBelowTol);
        }
        let labels = merge::nearest_labels(ctx, &positions, &merged.centers, dim, None).await?;
        if previous_labels.as_ref() == Some(&labels) {
            break (merged, StopReason::LabelsStable);
        }
        if n_iter >= checked.max_iter as usize {
            break (merged, StopReason::MaxIter);
        }
        previous_labels = Some(labels);
    };
    Ok(Run {
        merged,
        n_iter,
        stop,
        label_points: Some(positions.into_owned()),
        trajectory,
    })
}

/// Blurring iterations alone, without clustering: every point moves
/// `iterations` times to the kernel-weighted mean of all current positions,
/// and the final positions come back. All iterations run in one GPU
/// submission with one readback. Useful for denoising (a few iterations
/// pull points towards their local modes) and for timing the stage itself.
///
/// ```no_run
/// use gpu_cluster::{meanshift, Context, Kernel, Points};
/// let x = Points::new(&[0.0, 0.5, 10.0, 10.5], 1)?;
/// let moved = meanshift::blur(&Context::auto()?, &x, Kernel::Gaussian, 1.0, 3)?;
/// assert!((moved.row(0)[0] - moved.row(1)[0]).abs() < 0.5);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
#[cfg(not(target_arch = "wasm32"))]
pub fn blur<'a>(
    ctx: &Context,
    x: impl Into<Input<'a>>,
    kernel: Kernel,
    bandwidth: f32,
    iterations: usize,
) -> Result<Points> {
    pollster::block_on(blur_async(ctx, x, kernel, bandwidth, iterations))
}

/// The async form of [`blur`].
pub async fn blur_async<'a>(
    ctx: &Context,
    x: impl Into<Input<'a>>,
    kernel: Kernel,
    bandwidth: f32,
    iterations: usize,
) -> Result<Points> {
    let ms = MeanShift::new(bandwidth)
        .kernel(kernel)
        .blurring(iterations);
    let input = x.into();
    let x = input.points();
    params::check(&ms, x)?;
    let (mean, data) = input.centred();
    params::check_resolution(&data, x.dim(), bandwidth)?;
    let win = Window {
        data: &data,
        weights: None,
        dim: x.dim(),
        coeffs: KernelCoeffs::new(kernel, bandwidth),
        grid: None,
        expanded: false,
    };
    let out = kernel_sums::blur(ctx, &win, iterations, false, false, Watch::default()).await?;
    uncentre(&out.positions, &mean)
}

/// Blurring-mode clusters: the final positions are the modes, each with the
/// weight of final positions within `h` (`counts`) as its intensity.
fn blurred_modes(win: &Window<'_>, positions: &[f32], counts: &[f32]) -> merge::Merged {
    let keep = vec![true; counts.len()];
    merge::merge_modes(positions, counts, &keep, win.dim, win.coeffs.h)
}

/// What a mode's run hands to labelling.
struct Run {
    merged: merge::Merged,
    n_iter: usize,
    stop: StopReason,
    /// Points to label by nearest centre when not the data (blurring: the
    /// final positions).
    label_points: Option<Vec<f32>>,
    trajectory: Vec<Vec<f32>>,
}

/// A fitted mean-shift model: centres, labels and how the run went.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanShiftFit {
    centers: Points,
    /// The `f64` point the `f32` work was centred on: the data's mean.
    offset: Vec<f64>,
    intensity: Vec<f32>,
    labels: Vec<i32>,
    counts: Vec<usize>,
    n_iter: usize,
    stop: StopReason,
    bandwidth: f32,
    kernel: Kernel,
    mode: Mode,
    cluster_all: bool,
    positions: Option<Points>,
    trajectory: Vec<Points>,
    method: Method,
    distances: Distances,
    /// The gaussian's cut `c`, when the grid cut it.
    cutoff: Option<f32>,
}

impl MeanShiftFit {
    /// Cluster centres; label `k` is row `k`. Ordered by intensity, highest
    /// first (scikit-learn's order). Computed around the data's mean in
    /// `f32` and moved back in `f64`: [`Points::to_f64`] has the `f64`
    /// values, which keep the precision of the input far from the origin
    /// (the `f32` values round them).
    pub fn centers(&self) -> &Points {
        &self.centers
    }

    /// The point the fit's `f32` work was centred on (the data's mean, in
    /// `f64`); [`predict`](MeanShiftFit::predict) centres new points on it
    /// too.
    pub fn offset(&self) -> &[f64] {
        &self.offset
    }

    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.centers.len()
    }

    /// Label of each point: its cluster, or -1 (only with `cluster_all`
    /// off) for points farther than the bandwidth from every centre.
    pub fn labels(&self) -> &[i32] {
        &self.labels
    }

    /// Points labelled with each cluster.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// Intensity of each centre's mode, as used to rank modes in the merge:
    /// in standard mode the (weighted) number of points within the
    /// bandwidth of the position whose mean gave the mode (scikit-learn's
    /// rule: the last window); in blurring mode the (weighted) number of
    /// final positions within the bandwidth of the mode.
    pub fn intensities(&self) -> &[f32] {
        &self.intensity
    }

    /// Iterations run: scikit-learn's `n_iter_` (the most any seed made) in
    /// standard mode, the number of blurring iterations in blurring mode.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Why the iterations stopped.
    pub fn stop_reason(&self) -> StopReason {
        self.stop
    }

    /// The bandwidth used (given or estimated).
    pub fn bandwidth(&self) -> f32 {
        self.bandwidth
    }

    /// The kernel used.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The mode used.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// How the kernel sums found their data: [`Method::Dense`] or
    /// [`Method::Grid`].
    pub fn method(&self) -> Method {
        self.method
    }

    /// How the kernel sums computed squared distances:
    /// [`Distances::Expanded`] only where asked for and the rows have more
    /// than [`Distances::EXPANDED_ABOVE_DIM`] coordinates (dense sums).
    /// Merging modes, the labels and [`predict`](MeanShiftFit::predict)
    /// measure distances directly either way.
    pub fn distances(&self) -> Distances {
        self.distances
    }

    /// When the grid cut the gaussian kernel at `c * h`
    /// ([`MeanShift::gaussian_cutoff`]): the bound on the weight left out of
    /// a window, relative to the window's whole weight, `P(chi^2_D > c^2)`
    /// (the kernel's mass beyond the cut; D = 2: `exp(-c^2 / 2)`, 1.1% at
    /// c = 3). `None` when nothing was left out.
    pub fn gaussian_tail(&self) -> Option<f64> {
        let c = self.cutoff?;
        Some(kernel_sums::grid::gaussian_tail(
            self.centers.dim(),
            f64::from(c),
        ))
    }

    /// Blurring mode: every point's final position (with `f64` values,
    /// like the [centres](MeanShiftFit::centers)).
    pub fn final_positions(&self) -> Option<&Points> {
        self.positions.as_ref()
    }

    /// Blurring mode with [`MeanShift::record_trajectory`]: the positions
    /// after each iteration; empty otherwise.
    pub fn trajectory(&self) -> &[Points] {
        &self.trajectory
    }

    /// Labels new points by their nearest centre (ties: lowest label), with
    /// the fit's `cluster_all` rule, on the CPU twin ([`predict_on`]
    /// chooses the backend). In standard mode, predicting the training data
    /// gives back [`labels`](MeanShiftFit::labels) up to `f32` rounding at
    /// near-ties; in blurring mode labels come from the final positions, so
    /// a point that drifted towards another cluster can differ.
    /// (scikit-learn's `predict` ignores `cluster_all` and never gives -1;
    /// this is a deliberate difference.)
    ///
    /// [`predict_on`]: MeanShiftFit::predict_on
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict(&self, x: &Points) -> Result<Vec<i32>> {
        self.predict_on(&Context::cpu(), x)
    }

    /// [`predict`](MeanShiftFit::predict) on `ctx`: on a GPU, the nearest
    /// centres are found there (worth it for many points). A small call
    /// (up to 2^16 multiply-adds, points x centres x coordinates) is
    /// answered on the host on any context, with the CPU twin's answer: a
    /// GPU round trip would cost more.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_on(&self, ctx: &Context, x: &Points) -> Result<Vec<i32>> {
        pollster::block_on(self.predict_async(ctx, x))
    }

    /// The async form of [`predict_on`](MeanShiftFit::predict_on).
    pub async fn predict_async(&self, ctx: &Context, x: &Points) -> Result<Vec<i32>> {
        if x.dim() != self.centers.dim() {
            return Err(Error::DimensionMismatch {
                expected: self.centers.dim(),
                found: x.dim(),
            });
        }
        // Both sides centred on the fit's offset in `f64`, then rounded:
        // the distances the fit itself measured.
        merge::nearest_labels(
            ctx,
            &centre(x, &self.offset),
            &centre(&self.centers, &self.offset),
            x.dim(),
            (!self.cluster_all).then_some(self.bandwidth),
        )
        .await
    }
}

/// Saving and loading, with the `serde` feature.
///
/// A fit is a versioned JSON document, shared with the Python package
/// (scikit-learn's toy example, bandwidth 2; written on one line):
///
/// ```json
/// {"format":"gpu-cluster/meanshift","version":1,"bandwidth":2.0,
///  "kernel":"flat","mode":"standard","cluster_all":true,"n_iter":2,
///  "stop_reason":"converged",
///  "centers":[[3.3333333333333335,6.00000007947286],[1.3333333333333335,0.6666668256123862]],
///  "offset":[2.3333333333333335,3.3333333333333335],
///  "intensities":[3.0,3.0],"counts":[3,3],"labels":[1,1,1,0,0,0]}
/// ```
///
/// Centres and final positions are written with their `f64` values (the
/// `f32` results around the data's mean, `offset`, moved back in `f64`),
/// and every other `f32` widened to `f64` (exact), so readers that parse
/// numbers as `f64` give the same values back. A document without
/// `offset` (written before the fit kept it) reads as offset zero.
/// `final_positions` (blurring
/// mode: every point's final position, `n x d`) is written when the fit has
/// them; the [trajectory](MeanShiftFit::trajectory) is not (it holds the
/// data once per iteration and serves animations, not predictions), so a
/// loaded fit equals the saved one except for an empty trajectory. Reading
/// trusts nothing: the envelope, every value and the consistency of the
/// parts (labels within the clusters, counts that are the labels' counts,
/// -1 only with `cluster_all` off, a stop reason of the mode) are checked.
#[cfg(feature = "serde")]
impl MeanShiftFit {
    /// The `"format"` of a saved mean-shift model.
    pub const MODEL_FORMAT: &'static str = "gpu-cluster/meanshift";
    /// The `"version"` of the document this build writes and reads.
    pub const MODEL_VERSION: u32 = 1;

    /// The model as a JSON document (one line), the contents of
    /// [`save`](MeanShiftFit::save)'s file.
    ///
    /// ```
    /// use gpu_cluster::{Context, MeanShift, MeanShiftFit, Points};
    /// let x = Points::new(&[0.0, 0.1, 0.2, 5.0, 5.1], 1)?;
    /// let fit = MeanShift::new(1.0).fit(&Context::cpu(), &x)?;
    /// let json = fit.to_json();
    /// assert!(json.starts_with(r#"{"format":"gpu-cluster/meanshift","version":1,"#));
    /// let back = MeanShiftFit::from_json(&json)?;
    /// assert_eq!(back, fit);
    /// assert_eq!(back.predict(&x)?, fit.labels());
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        model::KIND.to_json(self)
    }

    /// Reads a model from [`to_json`](MeanShiftFit::to_json)'s document.
    /// Anything that is not a valid version-1 mean-shift model is
    /// [`Error::Model`] saying what is wrong.
    pub fn from_json(json: &str) -> Result<Self> {
        model::KIND.read_json(json)
    }

    /// Writes the model to `path` as JSON (see [`to_json`](MeanShiftFit::to_json)),
    /// replacing the file. A file that cannot be written is [`Error::Model`].
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        model::KIND.save(path.as_ref(), self)
    }

    /// Reads a model [`save`](MeanShiftFit::save) wrote. A missing or
    /// unreadable file, one that is not JSON, not a mean-shift model of a
    /// version this build reads, or whose values are invalid, is
    /// [`Error::Model`] naming the file and the problem.
    ///
    /// ```no_run
    /// use gpu_cluster::{MeanShiftFit, Points};
    /// let fit = MeanShiftFit::load("model.json")?;
    /// let labels = fit.predict(&Points::new(&[0.5, 1.5], 2)?)?;
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        model::KIND.load(path.as_ref())
    }
}

/// The saved model's document (see the `serde` impl block of
/// [`MeanShiftFit`]).
#[cfg(feature = "serde")]
mod model {
    use super::{Distances, MeanShiftFit, Method, Mode, StopReason};
    use crate::kernel::Kernel;
    use crate::model::Kind;
    use crate::points::Points;
    use serde::de::{self, Deserialize, Deserializer};
    use serde::ser::{Serialize, Serializer};

    /// The mean-shift document.
    pub(super) const KIND: Kind = Kind {
        format: MeanShiftFit::MODEL_FORMAT,
        version: MeanShiftFit::MODEL_VERSION,
        noun: "mean-shift",
    };

    /// The document as written, borrowed from the fit. Field order is the
    /// order in the file: the envelope and the scalars first, so the head of
    /// a large file says what it is.
    #[derive(serde::Serialize)]
    struct Written<'a> {
        format: &'static str,
        version: u32,
        bandwidth: f64,
        kernel: Kernel,
        mode: Mode,
        cluster_all: bool,
        n_iter: usize,
        stop_reason: StopReason,
        centers: &'a Points,
        offset: &'a [f64],
        #[serde(serialize_with = "widened")]
        intensities: &'a [f32],
        counts: &'a [usize],
        labels: &'a [i32],
        #[serde(skip_serializing_if = "Option::is_none")]
        final_positions: Option<&'a Points>,
        method: Method,
        /// Written only when expanded, so documents of direct fits read
        /// as before.
        #[serde(skip_serializing_if = "is_direct")]
        distances: Distances,
        /// The gaussian's cut `c`, when the grid cut it.
        #[serde(skip_serializing_if = "Option::is_none")]
        gaussian_cutoff: Option<f64>,
    }

    fn is_direct(d: &Distances) -> bool {
        *d == Distances::Direct
    }

    /// `f32` values written as the `f64` they widen to (exactly).
    fn widened<S: Serializer>(values: &&[f32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|&v| f64::from(v)))
    }

    /// The document as read: every field still to be checked. Fields it
    /// does not know are ignored, so a writer may add its own.
    #[derive(serde::Deserialize)]
    struct Read {
        format: String,
        version: u64,
        bandwidth: f64,
        kernel: Kernel,
        mode: Mode,
        cluster_all: bool,
        n_iter: usize,
        stop_reason: StopReason,
        #[serde(deserialize_with = "centers")]
        centers: Points,
        /// Absent in documents written before the fit kept its offset:
        /// zeros, the absolute coordinates.
        #[serde(default)]
        offset: Option<Vec<f64>>,
        intensities: Vec<f64>,
        counts: Vec<usize>,
        labels: Vec<i32>,
        #[serde(default, deserialize_with = "final_positions")]
        final_positions: Option<Points>,
        /// Absent from documents written before the grid: dense.
        #[serde(default = "dense")]
        method: Method,
        /// Absent from documents written before expanded distances: direct.
        #[serde(default)]
        distances: Distances,
        #[serde(default)]
        gaussian_cutoff: Option<f64>,
    }

    fn dense() -> Method {
        Method::Dense
    }

    /// `centers`, named in its errors (the points' own say only "row 2").
    fn centers<'de, D: Deserializer<'de>>(d: D) -> Result<Points, D::Error> {
        Points::deserialize(d).map_err(|e| de::Error::custom(format_args!("centers: {e}")))
    }

    /// `final_positions`, named in its errors; `null` is none.
    fn final_positions<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Points>, D::Error> {
        Option::<Points>::deserialize(d)
            .map_err(|e| de::Error::custom(format_args!("final_positions: {e}")))
    }

    impl Serialize for MeanShiftFit {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            Written {
                format: MeanShiftFit::MODEL_FORMAT,
                version: MeanShiftFit::MODEL_VERSION,
                bandwidth: f64::from(self.bandwidth),
                kernel: self.kernel,
                mode: self.mode,
                cluster_all: self.cluster_all,
                n_iter: self.n_iter,
                stop_reason: self.stop,
                centers: &self.centers,
                offset: &self.offset,
                intensities: &self.intensity,
                counts: &self.counts,
                labels: &self.labels,
                final_positions: self.positions.as_ref(),
                method: self.method,
                distances: self.distances,
                gaussian_cutoff: self.cutoff.map(f64::from),
            }
            .serialize(serializer)
        }
    }

    /// Deserialising checks everything [`MeanShiftFit::load`] does except
    /// the friendlier envelope messages: the result is a fit the accessors
    /// and `predict` can trust.
    impl<'de> Deserialize<'de> for MeanShiftFit {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let read = Read::deserialize(deserializer)?;
            KIND.check_envelope(
                Some(&read.format.as_str().into()),
                Some(&read.version.into()),
            )
            .map_err(|problem| de::Error::custom(format_args!("model {problem}")))?;
            fit_from(read).map_err(de::Error::custom)
        }
    }

    /// The fit a document describes, if its parts are valid and agree.
    fn fit_from(read: Read) -> Result<MeanShiftFit, String> {
        let bandwidth = read.bandwidth as f32;
        // 0 only as an estimate used with the flat kernel.
        let zero_ok = bandwidth == 0.0 && read.kernel == Kernel::Flat;
        if !(bandwidth.is_finite() && (bandwidth > 0.0 || zero_ok)) {
            return Err(format!(
                "bandwidth {:?}: it must be finite and > 0 (0 only with the flat kernel)",
                read.bandwidth
            ));
        }
        let k = read.centers.len();
        for (name, n) in [
            ("intensities", read.intensities.len()),
            ("counts", read.counts.len()),
        ] {
            if n != k {
                return Err(format!("{n} {name} for {k} centers: give one per centre"));
            }
        }
        let intensity = read
            .intensities
            .iter()
            .enumerate()
            .map(|(i, &v)| match v as f32 {
                w if w.is_finite() && w >= 0.0 => Ok(w),
                _ => Err(format!(
                    "intensities[{i}] is {v:?}: it must be finite and >= 0"
                )),
            })
            .collect::<Result<Vec<f32>, String>>()?;
        let mut counted = vec![0usize; k];
        for (i, &l) in read.labels.iter().enumerate() {
            match usize::try_from(l) {
                Ok(c) if c < k => counted[c] += 1,
                _ if l == -1 && !read.cluster_all => {}
                _ if l == -1 => {
                    return Err(format!(
                        "labels[{i}] is -1, but with cluster_all every point has a cluster"
                    ));
                }
                _ => {
                    return Err(format!(
                        "labels[{i}] is {l}: the model has {k} clusters (labels 0 to {}, or -1)",
                        k - 1
                    ));
                }
            }
        }
        if let Some(c) = (0..k).find(|&c| counted[c] != read.counts[c]) {
            return Err(format!(
                "counts[{c}] is {}, but {} labels are {c}",
                read.counts[c], counted[c]
            ));
        }
        let dim = read.centers.dim();
        if let Some(p) = &read.final_positions {
            if p.dim() != dim || p.len() != read.labels.len() {
                return Err(format!(
                    "final_positions is {} x {}: expected one row per label ({}) of the centres' {dim} columns",
                    p.len(),
                    p.dim(),
                    read.labels.len()
                ));
            }
        }
        let fits_mode = match read.stop_reason {
            StopReason::MaxIter => true,
            StopReason::Converged => read.mode == Mode::Standard,
            StopReason::Iterations | StopReason::ShiftBelowTol | StopReason::LabelsStable => {
                read.mode == Mode::Blurring
            }
        };
        if !fits_mode {
            return Err(format!(
                "stop_reason {} does not occur in {} mode",
                name_of(&read.stop_reason),
                name_of(&read.mode)
            ));
        }
        if read.final_positions.is_some() && read.mode == Mode::Standard {
            return Err("final_positions are given, but standard mode has none".into());
        }
        let cutoff = match (read.gaussian_cutoff, read.method, read.kernel) {
            (None, _, _) => None,
            (Some(c), Method::Grid, Kernel::Gaussian) if (c as f32).is_finite() && c > 0.0 => {
                Some(c as f32)
            }
            (Some(c), _, _) => {
                return Err(format!(
                    "gaussian_cutoff {c:?}: only a gaussian fit by the grid has one, finite and > 0"
                ));
            }
        };
        if read.method == Method::Auto {
            return Err("method auto: a fit records the method it used, dense or grid".into());
        }
        if read.distances == Distances::Expanded
            && (read.method == Method::Grid || dim <= Distances::EXPANDED_ABOVE_DIM)
        {
            return Err(format!(
                "distances expanded with method {} on {dim} columns: a fit records expanded distances only for dense sums on more than {} columns",
                name_of(&read.method),
                Distances::EXPANDED_ABOVE_DIM
            ));
        }
        let offset = read.offset.unwrap_or_else(|| vec![0.0; dim]);
        if offset.len() != dim || offset.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "offset {offset:?}: expected {dim} finite values, one per column of the centres"
            ));
        }
        Ok(MeanShiftFit {
            centers: read.centers,
            offset,
            intensity,
            labels: read.labels,
            counts: read.counts,
            n_iter: read.n_iter,
            stop: read.stop_reason,
            bandwidth,
            kernel: read.kernel,
            mode: read.mode,
            cluster_all: read.cluster_all,
            positions: read.final_positions,
            trajectory: Vec::new(),
            method: read.method,
            distances: read.distances,
            cutoff,
        })
    }

    /// A unit variant's name as the document spells it.
    fn name_of<T: Serialize>(value: &T) -> String {
        serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}
