//! Kernel sums: for each query, over the data in index order (span by
//! span, the spans' sums then added in span order: `spans.rs`), the
//! kernel-weighted displacements and weights (`num`, `den`) and the sample
//! weight within `h` (`count`). Mean shift's blurring iterations and
//! standard-mode seed steps are built on them; they live here, not in the
//! algorithm, because a fit's iterations go to the device in one
//! submission (GPU: `gpu.rs` with `shift*.wgsl` and `seek.wgsl`; CPU twin:
//! `cpu.rs`). Coordinates are centred by the caller (the data mean
//! subtracted), which keeps `f32` precise.

mod cpu;
mod cpu_gemm;
mod gpu;
pub(crate) mod grid;
mod grid_gpu;
mod grid_resident;
mod shape;
mod spans;

use std::borrow::Cow;
use std::sync::Arc;

use crate::context::{Context, Inner};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::gpu::buffers::Rows;
use crate::kernel::KernelCoeffs;
use crate::progress::{Stage, Watch};

#[cfg(test)]
pub(crate) use gpu::{SEEK, SHIFT, SHIFT_FINISH, SHIFT_WIDE};

/// Rows of more than this many coordinates take expanded distances where
/// a window asks for them ([`Window::expanded`]): the wide-row strategy's
/// threshold, the only rows with a stage of their own for them.
pub(crate) const EXPANDED_ABOVE_DIM: usize = gpu::WIDE_ABOVE_DIM;

/// The data a shift stage streams over, with its kernel folded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    /// Row-major `n x dim` positions.
    pub data: &'a [f32],
    /// One weight per row, or `None` for all ones.
    pub weights: Option<&'a [f32]>,
    pub dim: usize,
    pub coeffs: KernelCoeffs,
    /// Sum over only the rows within this squared radius of each query,
    /// found through a grid over the data (`grid.rs`, and on a GPU
    /// `grid_gpu.rs`: the dense bits where the radius holds the kernel's
    /// whole support). `None`: every row.
    pub grid: Option<f32>,
    /// Squared distances expanded, `(|q|^2 + |x|^2) - 2 q.x` clamped at
    /// 0, and positions summed (`shift_gemm.wgsl`, twin `cpu_gemm.rs`),
    /// on rows of more than 32 coordinates without a grid; otherwise, and
    /// by default, each distance summed coordinate by coordinate.
    pub expanded: bool,
}

/// One shift of a set of queries.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ShiftOutput {
    /// `q + num / den`, or `q` where `den` is 0.
    pub positions: Vec<f32>,
    /// `den`: total kernel weight of each query's window.
    pub weight_sums: Vec<f32>,
    /// Total sample weight within distance `h` of each query.
    pub counts: Vec<f32>,
}

impl ShiftOutput {
    pub fn with_capacity(m: usize, dim: usize) -> Self {
        Self {
            positions: Vec::with_capacity(m * dim),
            weight_sums: Vec::with_capacity(m),
            counts: Vec::with_capacity(m),
        }
    }
}

/// Result of blurring iterations.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct BlurOutput {
    /// Positions after the last iteration.
    pub positions: Vec<f32>,
    /// Largest shift (Euclidean) of each iteration.
    pub max_shift: Vec<f32>,
    /// Positions after each iteration, when asked for; otherwise empty.
    pub trajectory: Vec<Vec<f32>>,
    /// When asked for: the total sample weight of final positions within
    /// `h` of each final position (its intensity); otherwise empty.
    pub counts: Vec<f32>,
}

/// How a seed of standard mean shift stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum SeekStatus {
    /// Its last shift was `<= tol * h`.
    Converged = 1,
    /// It made `max_iter` counted steps.
    MaxIter = 2,
    /// Its window held no weight: scikit-learn drops such a seed.
    Dropped = 3,
}

impl SeekStatus {
    /// Decodes the status word the GPU stage writes (0 = still moving).
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(Self::Converged),
            2 => Some(Self::MaxIter),
            3 => Some(Self::Dropped),
            _ => None,
        }
    }
}

/// Result of standard mean shift from a set of seeds, per seed, with
/// scikit-learn's bookkeeping: `iterations` is the number of means computed
/// minus one (at most `max_iter`); `intensity` is the weight within `h` of
/// the position whose mean gave the final position (0 for a dropped seed).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SeekOutput {
    pub positions: Vec<f32>,
    pub intensity: Vec<f32>,
    pub iterations: Vec<u32>,
    pub status: Vec<SeekStatus>,
}

/// Where a blurring call ends, for the next to start from without an
/// upload: on a GPU, the device rows holding the last positions, which go
/// back to the device's pool when the carry is dropped.
#[derive(Default)]
pub(crate) struct Carry {
    rows: Option<Rows>,
    gpu: Option<Arc<Gpu>>,
}

impl Drop for Carry {
    fn drop(&mut self) {
        if let (Some(g), Some(rows)) = (&self.gpu, self.rows.take()) {
            g.pool.give_back(rows.chunks.into_iter().map(|c| c.buffer));
        }
    }
}

/// `steps` blurring iterations starting from `win.data`; with `intensity`,
/// also each final position's count within `h` among the final positions.
pub(crate) async fn blur(
    ctx: &Context,
    win: &Window<'_>,
    steps: usize,
    record: bool,
    intensity: bool,
    watch: Watch<'_>,
) -> Result<BlurOutput> {
    blur_on(
        ctx,
        win,
        steps,
        record,
        intensity,
        &mut Carry::default(),
        watch,
    )
    .await
}

/// How many submissions an observed GPU blur is split into, at most: one
/// per iteration up to this many iterations, then groups of iterations.
const OBSERVED_SUBMISSIONS: usize = 100;

/// [`blur`] continuing from where the call that left `carry` ended (or
/// from the window's data for a fresh carry): `win.data` must hold the
/// positions that call returned. Leaves `carry` at this call's end, so a
/// loop of single steps (blurring until stable) keeps its positions on
/// the device.
///
/// On the GPU all steps go in one submission, unless `watch` is on: then
/// they are split into groups, each continuing from the last through the
/// carry (the same arithmetic, so the same bits), and each group's end is
/// reported and is a chance to cancel.
pub(crate) async fn blur_on(
    ctx: &Context,
    win: &Window<'_>,
    steps: usize,
    record: bool,
    intensity: bool,
    carry: &mut Carry,
    watch: Watch<'_>,
) -> Result<BlurOutput> {
    match ctx.inner() {
        // Through the grid, rebuilt every iteration (`grid_gpu.rs`): a
        // call ends with its positions on the host, nothing to carry.
        Inner::Gpu(g) if win.grid.is_some() => {
            grid_gpu::blur(g, win, steps, record, intensity, watch).await
        }
        Inner::Gpu(g) => {
            carry.gpu.get_or_insert_with(|| Arc::clone(g));
            if !watch.is_on() {
                return gpu::blur(g, win, steps, record, intensity, &mut carry.rows).await;
            }
            let total = Some(steps as u64);
            watch.report(Stage::Iterations, 0, total)?;
            let group = steps.div_ceil(OBSERVED_SUBMISSIONS).max(1);
            let mut out = BlurOutput::default();
            let mut positions = Cow::Borrowed(win.data);
            let mut done = 0;
            loop {
                let n = group.min(steps - done);
                let last = done + n == steps;
                let part_win = Window {
                    data: &positions,
                    ..*win
                };
                let part =
                    gpu::blur(g, &part_win, n, record, intensity && last, &mut carry.rows).await?;
                out.max_shift.extend(part.max_shift);
                out.trajectory.extend(part.trajectory);
                out.counts = part.counts;
                positions = Cow::Owned(part.positions);
                done += n;
                watch.report(Stage::Iterations, done as u64, total)?;
                if last {
                    out.positions = positions.into_owned();
                    return Ok(out);
                }
            }
        }
        Inner::Cpu => {
            let mut out = cpu::blur(win, steps, record, watch)?;
            if intensity {
                let at_end = Window {
                    data: &out.positions,
                    ..*win
                };
                out.counts = cpu::counts(&at_end, &out.positions);
            }
            Ok(out)
        }
    }
}

/// Standard mean shift of `seeds` over the window's data.
pub(crate) async fn seek(
    ctx: &Context,
    win: &Window<'_>,
    seeds: &[f32],
    tol_dist: f32,
    max_iter: u32,
    watch: Watch<'_>,
) -> Result<SeekOutput> {
    match ctx.inner() {
        Inner::Gpu(g) if win.grid.is_some() => {
            grid_gpu::seek(g, win, seeds, tol_dist, max_iter, watch).await
        }
        Inner::Gpu(g) => gpu::seek(g, win, seeds, tol_dist, max_iter, watch).await,
        Inner::Cpu => cpu::seek(win, seeds, tol_dist, max_iter, watch),
    }
}
