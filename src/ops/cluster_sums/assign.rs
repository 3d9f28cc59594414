//! The CPU twin's Lloyd assignment: every point's nearest centre, with
//! exactly the labels of the nearest op's CPU twin (`ops/topk/cpu.rs` at
//! k = 1: the difference form `sum_d (x_d - c_d)^2` in `f32`, coordinates
//! in order, no fused multiply-add; the smallest score by
//! `f32::total_cmp`, ties to the lower index), found an order of
//! magnitude faster in two ways that never change a label.
//!
//! # A GEMM screen with an exact referee
//!
//! The difference form costs a subtraction, a multiply and an add per
//! coordinate and pair. The expanded form `|x - c|^2 = |x|^2 + |c|^2 -
//! 2 x.c` puts the bulk of the work into `X C^T`, a matrix product that
//! `matrixmultiply`'s `sgemm` runs at several times the speed, over blocks
//! of [`BLOCK`] points spread over threads. Per point the constant `|x|^2`
//! is dropped, leaving the GEMM score `S_j = |c_j|^2 - 2 x.c_j`.
//!
//! The expanded form cancels: where `|x|` and `|c|` are large next to the
//! distance, `S_j` carries an error of about `u (|x| + |c|)^2` (`u` the
//! unit roundoff), however small the distance, and its argmin can differ
//! from the difference form's where two centres are that close to a tie.
//! So the GEMM score only screens: with `E` a rigorous bound on the error
//! of both forms for the point (see [`Margins`]), a centre `j` whose
//! `S_j` exceeds the smallest `S_m` by more than `4 E` has a true squared
//! distance more than `2 E` above centre `m`'s, hence a difference-form
//! score strictly above `m`'s, and cannot be the nearest. Every centre
//! within `4 E` of the smallest (almost always `m` alone) is then scored
//! in the difference form and the smallest `(score, index)` taken: the
//! nearest op's exact answer, whatever the GEMM kernel's summation order,
//! fused multiply-adds, block or thread. The data are centred by the
//! caller (k-means subtracts the mean), which keeps `|x| + |c|` near the
//! data's spread and `E` far below the gaps between centres; on data far
//! from the origin `E` grows with `|x|^2` and more points need the
//! referee, which costs time, never exactness.
//!
//! # Pruning across iterations (Hamerly)
//!
//! Between Lloyd iterations most points keep their centre. Each point
//! carries an upper bound `u` on its true (real-number) distance to its
//! centre `a` and a lower bound `l` on its true distance to every other;
//! when the centres move by `delta_j`, `u` grows by `delta_a` and `l`
//! shrinks by the largest other `delta_j`. With `s_a` half the distance
//! from `c_a` to its nearest other centre, every other centre is at least
//! `L = max(l, 2 s_a - u)` away. A difference-form score is within a
//! relative `g` (plus an absolute `eta` for underflow) of the true squared
//! distance, so when `L^2 (1 - g) - u^2 (1 + g) > 2 eta` every other
//! centre's score is strictly above `a`'s and the full search would give
//! `a` again: the point is skipped. Otherwise `u` is recomputed exactly
//! and the test repeated, and failing that the point goes through the
//! full search above, which also resets both bounds. Bounds are kept in
//! `f64` and every value that feeds them is rounded outwards (see
//! [`Margins::up`]), so they stay bounds of the true distances; the test
//! then decides with the margin `g`, twice the worst-case relative error
//! of the `f32` score, so float rounding can only make it prune less.
//! A skipped point's label is thus always the full search's: pruning
//! changes the time, never a label.

use crate::cpu::squared_distance;

/// Points per block: the unit of work of a thread and of one `sgemm`
/// call (its `BLOCK x k` products stay in cache). The labels do not
/// depend on it.
const BLOCK: usize = 256;

/// Half the largest `f32`: a squared distance bounded below it (with its
/// error) is a finite difference-form score.
const LARGEST: f64 = f32::MAX as f64 / 2.0;

/// The error margins of one dimension: a relative `g` and an absolute
/// `eta` (see the module docs), and the outward rounding of the `f64`
/// bounds.
#[derive(Debug, Clone, Copy)]
struct Margins {
    /// Twice `gamma_{dim + 2} = (dim + 2) u / (1 - (dim + 2) u)`, `u =
    /// 2^-24`: a bound on the relative error of an `f32` sum of `dim`
    /// squared differences (one rounding per subtraction, square and add),
    /// and of the GEMM score relative to `(|x| + |c|)^2` (one per product
    /// and add, whatever the order, the norm's and the final
    /// subtraction's); doubled to absorb the `f64` rounding of the norms
    /// and bounds it is compared with. Infinite where `dim` is too large
    /// for the bound (then nothing is pruned or screened out).
    g: f64,
    /// Twice `(dim + 4)` times the smallest subnormal: what underflowing
    /// products and sums can lose in absolute terms.
    eta: f64,
    /// The relative error of an `f64` sum of `dim` squares of `f32`
    /// differences, and of its square root, with room to spare.
    pad: f64,
}

impl Margins {
    fn new(dim: usize) -> Self {
        let nu = (dim + 2) as f64 * f64::from(f32::EPSILON) / 2.0;
        let g = if nu < 0.25 {
            2.0 * nu / (1.0 - nu)
        } else {
            f64::INFINITY
        };
        Self {
            g,
            eta: 2.0 * (dim + 4) as f64 * f64::from(f32::from_bits(1)),
            pad: (dim + 8) as f64 * f64::EPSILON,
        }
    }

    /// `v` rounded outwards upwards: an upper bound of the value `v`
    /// approximates.
    fn up(&self, v: f64) -> f64 {
        v * (1.0 + self.pad)
    }

    /// `v` rounded outwards downwards, and at least 0.
    fn down(&self, v: f64) -> f64 {
        (v * (1.0 - self.pad)).max(0.0)
    }

    /// A bound on the error of both a GEMM score and a difference-form
    /// score of a point at norm `norm`, against centres within `radius`
    /// of the origin: `g (|x| + R)^2 + eta`, as `(|x| + |c|)^2` bounds
    /// both `|c|^2 + 2 |x| |c|` and the squared distance itself.
    ///
    /// Infinite where a difference-form score could overflow: an infinite
    /// score has no error bound (two of them tie), so then every centre
    /// goes to the referee.
    fn error(&self, norm: f64, radius: f64) -> f64 {
        let r = norm + radius;
        if r * r * (1.0 + self.g) < LARGEST {
            self.g * r * r + self.eta
        } else {
            f64::INFINITY
        }
    }

    /// Whether a point whose centre is at most `upper` away and every
    /// other centre at least `lower` away certainly keeps its centre
    /// under the difference form: every other score then exceeds its
    /// centre's, whatever the rounding.
    /// The centre's own score must not overflow, or the relative bound
    /// fails for it (two infinite scores tie, and the lower index wins).
    fn keeps(&self, upper: f64, lower: f64) -> bool {
        let own = upper * upper * (1.0 + self.g);
        own < LARGEST && lower * lower * (1.0 - self.g) - own > 2.0 * self.eta
    }
}

/// The `f64` distance between two `f32` rows (true to [`Margins::pad`]).
fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// What one call's centres give every point: the GEMM norms, the largest
/// norm, each centre's bound to its nearest neighbour, and how far each
/// moved since the bounds were set.
struct Centres<'c> {
    rows: &'c [f32],
    /// `|c_j|^2` in `f32`, summed in order: the GEMM score's norm term.
    sq: Vec<f32>,
    /// An upper bound on every `|c_j|`.
    radius: f64,
    /// A lower bound on each centre's distance to its nearest other.
    gap: Vec<f64>,
    /// An upper bound on each centre's move since the last call, the
    /// largest of them, and the largest but centre `top`'s.
    drift: Vec<f64>,
    top: usize,
    most: f64,
    second: f64,
}

impl<'c> Centres<'c> {
    fn new(rows: &'c [f32], old: Option<&[f32]>, dim: usize, m: &Margins) -> Self {
        let k = rows.len() / dim;
        let row = |j: usize| &rows[j * dim..(j + 1) * dim];
        let sq: Vec<f32> = (0..k)
            .map(|j| row(j).iter().fold(0.0f32, |acc, &v| acc + v * v))
            .collect();
        let zero = vec![0.0f32; dim];
        let radius = (0..k)
            .map(|j| m.up(distance(row(j), &zero)))
            .fold(0.0, f64::max);
        let gap = crate::cpu::map_indices(k, |j| {
            let nearest = (0..k)
                .filter(|&i| i != j)
                .map(|i| distance(row(j), row(i)))
                .fold(f64::INFINITY, f64::min);
            m.down(nearest)
        });
        let drift: Vec<f64> = match old {
            Some(old) => (0..k)
                .map(|j| m.up(distance(row(j), &old[j * dim..(j + 1) * dim])))
                .collect(),
            None => vec![f64::INFINITY; k],
        };
        let top = (0..k).fold(0, |t, j| if drift[j] > drift[t] { j } else { t });
        let second = (0..k)
            .filter(|&j| j != top)
            .map(|j| drift[j])
            .fold(0.0, f64::max);
        Self {
            rows,
            sq,
            radius,
            gap,
            most: drift[top],
            drift,
            top,
            second,
        }
    }

    /// The largest move of a centre other than `a`.
    fn other_drift(&self, a: usize) -> f64 {
        if a == self.top {
            self.second
        } else {
            self.most
        }
    }
}

/// A point's bounds: on the true distance to its centre (`upper`) and to
/// every other centre (`lower`).
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    upper: f64,
    lower: f64,
}

/// Assignment state across Lloyd iterations: the labels, each point's
/// bounds and the centres they refer to.
pub(crate) struct Assign<'a> {
    points: &'a [f32],
    dim: usize,
    margins: Margins,
    /// `|x_i|` in `f64`.
    norms: Vec<f64>,
    labels: Vec<u32>,
    bounds: Vec<Bounds>,
    /// The centres of the last call (empty before the first).
    centres: Vec<f32>,
}

impl<'a> Assign<'a> {
    pub fn new(points: &'a [f32], dim: usize) -> Self {
        let n = points.len() / dim;
        let zero = vec![0.0f32; dim];
        let norms = crate::cpu::map_indices(n.div_ceil(BLOCK), |b| {
            points[b * BLOCK * dim..((b + 1) * BLOCK).min(n) * dim]
                .chunks_exact(dim)
                .map(|x| distance(x, &zero))
                .collect::<Vec<_>>()
        })
        .concat();
        Self {
            points,
            dim,
            margins: Margins::new(dim),
            norms,
            labels: Vec::new(),
            bounds: Vec::new(),
            centres: Vec::new(),
        }
    }

    /// The labels of the last call (empty before the first).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Assigns every point to its nearest of `centres` (`k x dim`, at
    /// least one row) and returns how many labels changed (every point
    /// at the first call).
    pub fn assign(&mut self, centres: &[f32]) -> u64 {
        let (dim, m) = (self.dim, self.margins);
        let n = self.norms.len();
        let old = (self.centres.len() == centres.len()).then_some(&self.centres[..]);
        let c = Centres::new(centres, old, dim, &m);
        let fresh = self.labels.len() != n;
        if fresh {
            self.labels = vec![0; n];
            self.bounds = vec![Bounds::default(); n];
        }
        let (points, norms) = (self.points, &self.norms[..]);
        let changed = for_each_block(
            &mut self.labels,
            &mut self.bounds,
            |first, labels, bounds| {
                let block = Block {
                    points: &points[first * dim..(first + labels.len()) * dim],
                    norms: &norms[first..first + labels.len()],
                    dim,
                    m: &m,
                    c: &c,
                };
                block.assign(labels, bounds, fresh)
            },
        );
        self.centres.clear();
        self.centres.extend_from_slice(centres);
        if fresh { n as u64 } else { changed }
    }
}

/// Runs `f(first_point, labels, bounds)` on blocks of [`BLOCK`] points,
/// in parallel where the `parallel` feature is on, and sums what it
/// returns. Blocks are independent, so the split changes no result.
fn for_each_block<F>(labels: &mut [u32], bounds: &mut [Bounds], f: F) -> u64
where
    F: Fn(usize, &mut [u32], &mut [Bounds]) -> u64 + Send + Sync,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        labels
            .par_chunks_mut(BLOCK)
            .zip(bounds.par_chunks_mut(BLOCK))
            .enumerate()
            .map(|(b, (l, bd))| f(b * BLOCK, l, bd))
            .sum()
    }
    #[cfg(not(feature = "parallel"))]
    {
        labels
            .chunks_mut(BLOCK)
            .zip(bounds.chunks_mut(BLOCK))
            .enumerate()
            .map(|(b, (l, bd))| f(b * BLOCK, l, bd))
            .sum()
    }
}

/// One block's points and what every block shares.
struct Block<'b> {
    points: &'b [f32],
    norms: &'b [f64],
    dim: usize,
    m: &'b Margins,
    c: &'b Centres<'b>,
}

impl Block<'_> {
    fn row(&self, i: usize) -> &[f32] {
        &self.points[i * self.dim..(i + 1) * self.dim]
    }

    /// Updates the block's labels and bounds; returns how many labels
    /// changed. `fresh`: there are no labels or bounds yet.
    fn assign(&self, labels: &mut [u32], bounds: &mut [Bounds], fresh: bool) -> u64 {
        let (m, c, dim) = (self.m, self.c, self.dim);
        let mut search = Vec::new();
        for (i, (&a, b)) in labels.iter().zip(bounds.iter_mut()).enumerate() {
            if fresh {
                search.push(i);
                continue;
            }
            let a = a as usize;
            b.upper = m.up(b.upper + c.drift[a]);
            b.lower = m.down(b.lower - c.other_drift(a));
            let lower = |upper: f64| b.lower.max(m.down(c.gap[a] - upper));
            if m.keeps(b.upper, lower(b.upper)) {
                continue;
            }
            b.upper = m.up(distance(self.row(i), &c.rows[a * dim..(a + 1) * dim]));
            if !m.keeps(b.upper, lower(b.upper)) {
                search.push(i);
            }
        }
        if search.is_empty() {
            return 0;
        }
        let k = c.sq.len();
        let mut rows = Vec::with_capacity(search.len() * dim);
        for &i in &search {
            rows.extend_from_slice(self.row(i));
        }
        let mut dots = vec![0.0f32; search.len() * k];
        // SAFETY: `rows` is `search.len() x dim` row-major, the centres
        // `k x dim` row-major read as their transpose (`dim x k`: row
        // stride 1, column stride `dim`), `dots` `search.len() x k`
        // row-major; all three hold exactly those elements.
        unsafe {
            matrixmultiply::sgemm(
                search.len(),
                dim,
                k,
                1.0,
                rows.as_ptr(),
                dim as isize,
                1,
                c.rows.as_ptr(),
                1,
                dim as isize,
                0.0,
                dots.as_mut_ptr(),
                k as isize,
                1,
            );
        }
        let mut changed = 0;
        let mut candidates = Vec::new();
        for (&i, row) in search.iter().zip(dots.chunks_exact_mut(k)) {
            let (label, lower) = self.search(i, row, &mut candidates);
            changed += u64::from(label != labels[i]);
            labels[i] = label;
            let upper = distance(self.row(i), &c.rows[label as usize * dim..][..dim]);
            bounds[i] = Bounds {
                upper: m.up(upper),
                lower: m.down(lower.max(0.0).sqrt()),
            };
        }
        changed
    }

    /// Point `i`'s nearest centre from its dot products with the centres
    /// (`scores`, overwritten with the GEMM scores), and a lower bound on
    /// the true squared distance to every other centre. See the module
    /// docs.
    fn search(&self, i: usize, scores: &mut [f32], candidates: &mut Vec<usize>) -> (u32, f64) {
        let c = self.c;
        let norm = self.norms[i];
        let err = self.m.error(norm, c.radius);
        let Screened {
            min,
            arg,
            next,
            overflow,
        } = screen(scores, &c.sq);
        // The cut in `f32`, rounded up so that nothing at or below the
        // `f64` cut is screened out.
        let wide = f64::from(min) + 4.0 * err;
        let mut cut = wide as f32;
        if f64::from(cut) < wide {
            cut = cut.next_up();
        }
        candidates.clear();
        if overflow || !cut.is_finite() {
            // An overflow, or a dimension too large for the error bound:
            // every centre goes to the referee.
            candidates.extend(0..scores.len());
        } else if next > cut {
            // The common case: one candidate, every other score above the
            // cut.
            return (arg as u32, f64::from(next) + norm * norm - err);
        } else {
            candidates.extend((0..scores.len()).filter(|&j| scores[j] <= cut));
        }
        let referee = |best: Option<(usize, f32)>, &j: &usize| {
            let s = squared_distance(self.row(i), &c.rows[j * self.dim..][..self.dim]);
            // Candidates come in index order: a tie keeps the first.
            match best {
                Some((_, b)) if s.total_cmp(&b).is_ge() => best,
                _ => Some((j, s)),
            }
        };
        let a = candidates
            .iter()
            .fold(None, referee)
            .expect("a candidate")
            .0;
        let others = scores.iter().enumerate().filter(|&(j, _)| j != a).fold(
            f32::INFINITY,
            |acc, (_, &s)| {
                if s.is_finite() {
                    acc.min(s)
                } else {
                    f32::NEG_INFINITY
                }
            },
        );
        (a as u32, f64::from(others) + norm * norm - err)
    }
}

/// SIMD lanes of [`screen`]'s pass.
const W: usize = 16;

/// What [`screen`] finds in a row of GEMM scores.
#[derive(Debug, Clone, Copy)]
struct Screened {
    /// The smallest score (NaN never is) and its first index.
    min: f32,
    arg: usize,
    /// The smallest score but `arg`'s.
    next: f32,
    /// Whether any score is not finite (an overflow: no error bound).
    overflow: bool,
}

/// Turns the dot products `scores` into GEMM scores (`sq[j] - 2 p_j`) and
/// finds the smallest two: the portable loop compiled for the best
/// instruction set this CPU has. One rounding per score (Rust never
/// contracts `a - 2 b` into a fused multiply-add) and compares, so every
/// version gives the same bits.
fn screen(scores: &mut [f32], sq: &[f32]) -> Screened {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        use crate::cpu::x86::{has_avx2, has_avx512};
        if has_avx512() {
            // SAFETY: the CPU has the features the function is built for.
            return unsafe { screen_avx512(scores, sq) };
        }
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { screen_avx2(scores, sq) };
        }
    }
    screen_portable(scores, sq)
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2")]
fn screen_avx512(scores: &mut [f32], sq: &[f32]) -> Screened {
    screen_portable(scores, sq)
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
fn screen_avx2(scores: &mut [f32], sq: &[f32]) -> Screened {
    screen_portable(scores, sq)
}

/// [`screen`] in one pass over [`W`] lanes, each lane keeping its two
/// smallest scores (the first index of the smallest) and whether it saw
/// a non-finite one, merged at the end: lane-wise selects LLVM
/// vectorises.
#[inline(always)]
fn screen_portable(scores: &mut [f32], sq: &[f32]) -> Screened {
    let k = scores.len();
    let mut first = [f32::INFINITY; W];
    let mut args = [0u32; W];
    let mut second = [f32::INFINITY; W];
    let mut bad = [false; W];
    let mut s_chunks = scores.chunks_exact_mut(W);
    for (c, (s, q)) in s_chunks.by_ref().zip(sq.chunks_exact(W)).enumerate() {
        let s: &mut [f32; W] = s.try_into().expect("W scores");
        let q: &[f32; W] = q.try_into().expect("W norms");
        let base = (c * W) as u32;
        // New arrays each round, replacing the old whole, so LLVM keeps
        // them in registers (masked stores to a live array would go
        // through memory).
        let mut v = [0.0f32; W];
        let (mut f, mut a, mut sec) = (first, args, second);
        for l in 0..W {
            v[l] = q[l] - 2.0 * s[l];
            bad[l] |= !v[l].is_finite();
            // The larger of `v` and the smallest so far competes for
            // second place (a NaN `v` may spoil it: it flags `bad`).
            let larger = if v[l] > first[l] { v[l] } else { first[l] };
            sec[l] = if larger < second[l] {
                larger
            } else {
                second[l]
            };
            let lower = v[l] < first[l];
            f[l] = if lower { v[l] } else { first[l] };
            a[l] = if lower { base + l as u32 } else { args[l] };
        }
        *s = v;
        (first, args, second) = (f, a, sec);
    }
    let mut min = f32::INFINITY;
    let mut arg = k;
    let mut next = f32::INFINITY;
    let mut overflow = false;
    let mut offer = |v: f32, j: usize| {
        overflow |= !v.is_finite();
        if v < min || (v == min && j < arg) {
            next = next.min(min);
            (min, arg) = (v, j);
        } else {
            next = next.min(v);
        }
    };
    for l in 0..W {
        offer(first[l], args[l] as usize);
        offer(second[l], k);
    }
    let tail = k - k % W;
    for (j, (s, &q)) in scores[tail..].iter_mut().zip(&sq[tail..]).enumerate() {
        *s = q - 2.0 * *s;
        offer(*s, tail + j);
    }
    Screened {
        min,
        arg,
        next,
        overflow: overflow || bad.iter().any(|&b| b),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::context::Context;
    use crate::ops::nearest;

    /// The full search: the nearest op on the CPU (its host loop for small
    /// calls, the top-k twin for large ones; the same answer).
    fn nearest_labels(points: &[f32], centres: &[f32], dim: usize) -> Vec<u32> {
        let ctx = Context::cpu();
        pollster::block_on(nearest::nearest(&ctx, centres, points, dim))
            .unwrap()
            .index
    }

    /// Every call of one [`Assign`] over a sequence of centres gives the
    /// full search's labels, pruned or not, and counts its changes.
    fn check_sequence(points: &[f32], dim: usize, steps: &[Vec<f32>]) -> Result<(), String> {
        let mut assign = Assign::new(points, dim);
        let mut before: Option<Vec<u32>> = None;
        for (t, centres) in steps.iter().enumerate() {
            let changed = assign.assign(centres);
            let want = nearest_labels(points, centres, dim);
            if assign.labels() != want {
                let i = (0..want.len()).find(|&i| assign.labels()[i] != want[i]);
                return Err(format!(
                    "step {t}: first difference at point {i:?}: {:?} {:?} {:?} {:?}",
                    &points[..dim],
                    steps,
                    assign.labels(),
                    want
                ));
            }
            let want_changed = before.as_ref().map_or(want.len(), |b| {
                b.iter().zip(&want).filter(|(a, b)| a != b).count()
            });
            if changed != want_changed as u64 {
                return Err(format!("step {t}: {changed} changed, want {want_changed}"));
            }
            before = Some(want);
        }
        Ok(())
    }

    /// Centres that move a little (`step`) each call, as in Lloyd's
    /// iterations, from random rows of the points.
    fn drifting(points: &[f32], dim: usize, k: usize, calls: usize, step: f32) -> Vec<Vec<f32>> {
        let n = points.len() / dim;
        let mut c: Vec<f32> = (0..k)
            .flat_map(|j| points[(j * 7919 % n) * dim..][..dim].to_vec())
            .collect();
        let mut out = vec![c.clone()];
        for t in 1..calls {
            for (f, v) in c.iter_mut().enumerate() {
                let wiggle = ((f * 31 + t * 17) % 13) as f32 / 6.0 - 1.0;
                *v += step * wiggle / t as f32;
            }
            out.push(c.clone());
        }
        out
    }

    #[test]
    fn blobs_match_the_full_search_across_iterations() {
        let (n, dim, k) = (3000, 16, 64);
        let points: Vec<f32> = (0..n * dim)
            .map(|i| {
                let blob = (i / dim) % 10;
                let centre = ((blob * 37 + i % dim) % 11) as f32 - 5.0;
                centre + ((i * 2654435761) % 1000) as f32 * 0.001 - 0.5
            })
            .collect();
        let steps = drifting(&points, dim, k, 8, 0.3);
        check_sequence(&points, dim, &steps).unwrap();
    }

    #[test]
    fn exact_ties_go_to_the_lower_index() {
        // Points on a grid, centres duplicated and mirrored: many exact
        // ties, which the GEMM score cannot break and the referee must.
        let dim = 2;
        let points: Vec<f32> = (0..400)
            .flat_map(|i| [(i % 20) as f32 - 10.0, (i / 20) as f32 - 10.0])
            .collect();
        let centres = vec![1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0, 3.0, 3.0];
        let moved: Vec<f32> = centres.iter().map(|v| v * 1.5).collect();
        check_sequence(&points, dim, &[centres.clone(), moved, centres]).unwrap();
    }

    #[test]
    fn overflowing_scores_go_to_the_referee() {
        let dim = 4;
        let points: Vec<f32> = (0..48).map(|i| (i % 7) as f32 * 1e19 - 3e19).collect();
        let centres: Vec<f32> = (0..12).map(|i| (i % 5) as f32 * 2e19 - 4e19).collect();
        let shifted: Vec<f32> = centres.iter().map(|v| v * 0.5).collect();
        check_sequence(&points, dim, &[centres, shifted]).unwrap();
    }

    #[test]
    fn one_centre_takes_everything() {
        let points: Vec<f32> = (0..300).map(|i| i as f32 * 0.1).collect();
        check_sequence(&points, 3, &[vec![1.0, 2.0, 3.0], vec![1.5, 2.0, 3.0]]).unwrap();
    }

    /// Rows of `dim` values from `cells`: small integers scaled by `unit`,
    /// nudged by a few ulps (`nudge`), offset by `offset` (data far from
    /// the origin, where the GEMM score's cancellation is worst).
    fn rows(cells: &[(i8, i8)], unit: f32, offset: f32) -> Vec<f32> {
        cells
            .iter()
            .map(|&(c, nudge)| {
                let v = f32::from(c) * unit + offset;
                (0..nudge.unsigned_abs()).fold(v, |v, _| {
                    if nudge > 0 {
                        v.next_up()
                    } else {
                        v.next_down()
                    }
                })
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Pruned or screened, the labels are the full search's on every
        /// call, on data full of exact ties and near-ties (a few ulps
        /// apart), centred or far from the origin, whatever the centres'
        /// moves.
        #[test]
        fn labels_are_the_full_searchs(
            dim in 1usize..6,
            n in 1usize..120,
            k in 1usize..40,
            cells in prop::collection::vec((-4i8..5, -2i8..3), 6 * 160),
            moves in prop::collection::vec((-4i8..5, -2i8..3), 6 * 40 * 4),
            unit in prop::sample::select(vec![1.0f32, 0.1, 1e-3, 3e5]),
            offset in prop::sample::select(vec![0.0f32, 1.0, 1e3, -2e4]),
            scale in prop::sample::select(vec![0.0f32, 1e-6, 0.05, 1.0]),
        ) {
            let points = rows(&cells[..n * dim], unit, offset);
            let mut centres = rows(&cells[n * dim..][..k * dim], unit, offset);
            let mut steps = vec![centres.clone()];
            for step in moves.chunks_exact(k * dim).take(3) {
                for (c, m) in centres.iter_mut().zip(rows(step, unit * scale, 0.0)) {
                    *c += m;
                }
                steps.push(centres.clone());
            }
            check_sequence(&points, dim, &steps).map_err(TestCaseError::fail)?;
        }
    }
}
