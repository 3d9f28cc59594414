//! Initial centres: greedy k-means++ and random points, drawn from a
//! seeded ChaCha8 stream with explicit draws, so a seed gives the same
//! centres on every platform (64-bit, 32-bit, WebAssembly).
//!
//! Every random number is one `u64` turned into an `f64` in `[0, 1)` by
//! [`unit()`]; every sum is `f64`, in index order or in fixed chunks added
//! in order, so neither the thread count nor the platform's `usize` or
//! maths library changes a choice.
//!
//! Distances are `f32` squared distances, coordinates summed in order.
//! k-means++ spends its time in them (every point against every
//! candidate, `k` rounds), so on a GPU the device computes them (the
//! top-k op's difference form, against the points the fit keeps there),
//! and the host keeps the draws and the `f64` sums. A GPU compiler may
//! fuse a multiply-add in a distance, as in the labels: a GPU's centres
//! are then the CPU twin's unless a draw or a comparison of potentials
//! falls within that rounding of a boundary. On one backend a seed gives
//! the same centres run after run.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::context::{Context, Inner};
use crate::error::{Error, Result};
use crate::ops::topk::{self, Score};
use crate::ops::{map_indices, squared_distance};
use crate::progress::{Stage, Watch};

/// Points per chunk of the parallel loops; partial sums are added in
/// chunk order, so the result does not depend on the threads.
const CHUNK: usize = 4096;

/// A uniform `f64` in `[0, 1)`: the top 53 bits of one `u64` draw.
pub(crate) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// scikit-learn's `n_local_trials`: `2 + floor(ln k)`, found by comparing
/// powers of e (products, which are correctly rounded everywhere) with
/// `k` instead of calling a platform `ln`.
pub(crate) fn local_trials(k: usize) -> usize {
    let mut m = 0;
    let mut power = std::f64::consts::E;
    while power <= k as f64 {
        m += 1;
        power *= std::f64::consts::E;
    }
    2 + m
}

fn weight(weights: Option<&[f32]>, i: usize) -> f64 {
    weights.map_or(1.0, |w| f64::from(w[i]))
}

/// The first index whose running total passes `r` (so a point of zero
/// mass is never drawn while some mass lies beyond `r`), the last index
/// when none does.
fn draw(cumulative: &[f64], r: f64) -> usize {
    cumulative
        .partition_point(|&c| c <= r)
        .min(cumulative.len() - 1)
}

fn running_total(n: usize, mass: impl Fn(usize) -> f64) -> Vec<f64> {
    let mut acc = 0.0;
    (0..n)
        .map(|i| {
            acc += mass(i);
            acc
        })
        .collect()
}

/// On a GPU, the squared distance of every point of `x` to each of the
/// rows `candidates`, candidate-major (`t * n + i`), computed on the
/// device; `None` on the CPU twin, whose loops compute them in place.
async fn device_distances(
    ctx: &Context,
    x: &[f32],
    dim: usize,
    candidates: &[usize],
) -> Result<Option<Vec<f32>>> {
    if !matches!(ctx.inner(), Inner::Gpu(_)) {
        return Ok(None);
    }
    let n = x.len() / dim;
    let t = candidates.len();
    let rows: Vec<f32> = candidates
        .iter()
        .flat_map(|&c| &x[c * dim..(c + 1) * dim])
        .copied()
        .collect();
    // Every candidate is among each point's t nearest: the lists hold
    // them all, in order of distance, by index.
    let found = topk::topk(ctx, &rows, x, dim, t, Score::SquaredL2, None).await?;
    let mut out = vec![0.0f32; t * n];
    for (i, (indices, scores)) in found
        .indices
        .chunks_exact(t)
        .zip(found.scores.chunks_exact(t))
        .enumerate()
    {
        for (&j, &d) in indices.iter().zip(scores) {
            out[j as usize * n + i] = d;
        }
    }
    Ok(Some(out))
}

/// Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): the first centre
/// drawn with probability proportional to the sample weight; then, for
/// each next centre, [`local_trials`] candidates drawn proportional to
/// `weight * D^2` (D: distance to the nearest centre so far), keeping the
/// one that lowers the potential `sum weight * D^2` most (ties: the first
/// drawn). Returns `k x dim` centres, rows of `x`. Reports each centre
/// chosen to `watch` ([`Stage::Initialising`], of `k`), which may cancel
/// between them. The distances come from the device on a GPU (see the
/// module's notes).
pub(crate) async fn kmeans_plusplus(
    ctx: &Context,
    x: &[f32],
    dim: usize,
    weights: Option<&[f32]>,
    k: usize,
    rng: &mut ChaCha8Rng,
    watch: Watch<'_>,
) -> Result<Vec<f32>> {
    let n = x.len() / dim;
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let chunks = n.div_ceil(CHUNK);
    let trials = local_trials(k);
    let by_weight = running_total(n, |i| weight(weights, i));
    let first = draw(&by_weight, unit(rng) * by_weight[n - 1]);
    let mut centres = Vec::with_capacity(k * dim);
    centres.extend_from_slice(row(first));
    let mut closest: Vec<f32> = match device_distances(ctx, x, dim, &[first]).await? {
        Some(d) => d,
        None => map_indices(chunks, |c| {
            (c * CHUNK..((c + 1) * CHUNK).min(n))
                .map(|i| squared_distance(row(i), row(first)))
                .collect::<Vec<_>>()
        })
        .concat(),
    };
    let mut potential = running_total(n, |i| weight(weights, i) * f64::from(closest[i]))[n - 1];
    let total = Some(k as u64);
    for chosen_so_far in 1..k {
        watch.report(Stage::Initialising, chosen_so_far as u64, total)?;
        let cumulative = running_total(n, |i| weight(weights, i) * f64::from(closest[i]));
        let candidates: Vec<usize> = (0..trials)
            .map(|_| draw(&cumulative, unit(rng) * potential))
            .collect();
        let device = device_distances(ctx, x, dim, &candidates).await?;
        let distance = |t: usize, i: usize| match &device {
            Some(d) => d[t * n + i],
            None => squared_distance(row(i), row(candidates[t])),
        };
        // Each candidate's potential, chunk by chunk, chunks in order.
        let parts: Vec<Vec<f64>> = map_indices(chunks, |c| {
            let mut acc = vec![0.0f64; trials];
            let first = c * CHUNK;
            for (i, &near) in closest
                .iter()
                .enumerate()
                .take((first + CHUNK).min(n))
                .skip(first)
            {
                let w = weight(weights, i);
                for (t, a) in acc.iter_mut().enumerate() {
                    *a += w * f64::from(distance(t, i).min(near));
                }
            }
            acc
        });
        let mut potentials = vec![0.0f64; trials];
        for part in &parts {
            for (p, v) in potentials.iter_mut().zip(part) {
                *p += v;
            }
        }
        let mut best = 0;
        for (t, &p) in potentials.iter().enumerate() {
            if p < potentials[best] {
                best = t;
            }
        }
        let chosen = candidates[best];
        potential = potentials[best];
        closest = map_indices(chunks, |c| {
            (c * CHUNK..((c + 1) * CHUNK).min(n))
                .map(|i| distance(best, i).min(closest[i]))
                .collect::<Vec<_>>()
        })
        .concat();
        centres.extend_from_slice(row(chosen));
    }
    Ok(centres)
}

/// A Fenwick tree of `f64` masses: draws without replacement in
/// `O(log n)` each.
struct Fenwick {
    tree: Vec<f64>,
    mass: Vec<f64>,
}

impl Fenwick {
    fn new(mass: Vec<f64>) -> Self {
        let n = mass.len();
        let mut tree = vec![0.0; n + 1];
        for (i, &m) in mass.iter().enumerate() {
            let mut j = i + 1;
            while j <= n {
                tree[j] += m;
                j += j & j.wrapping_neg();
            }
        }
        Self { tree, mass }
    }

    fn add(&mut self, i: usize, delta: f64) {
        let n = self.mass.len();
        let mut j = i + 1;
        while j <= n {
            self.tree[j] += delta;
            j += j & j.wrapping_neg();
        }
    }

    fn total(&self) -> f64 {
        let mut j = self.mass.len();
        let mut acc = 0.0;
        while j > 0 {
            acc += self.tree[j];
            j -= j & j.wrapping_neg();
        }
        acc
    }

    /// The first index whose prefix total passes `r`; an index with mass
    /// left if rounding lands on one without.
    fn find(&self, r: f64) -> usize {
        let n = self.mass.len();
        let mut pos = 0;
        let mut rest = r;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= rest {
                pos = next;
                rest -= self.tree[next];
            }
            step /= 2;
        }
        let i = pos.min(n - 1);
        if self.mass[i] > 0.0 {
            return i;
        }
        (i..n)
            .chain((0..i).rev())
            .find(|&j| self.mass[j] > 0.0)
            .unwrap_or(i)
    }

    fn take(&mut self, i: usize) {
        let m = std::mem::take(&mut self.mass[i]);
        self.add(i, -m);
    }
}

/// `k` distinct points drawn without replacement with probability
/// proportional to their weight (scikit-learn's `init="random"`), in
/// draw order. Needs at least `k` points of positive weight.
pub(crate) fn random_points(
    x: &[f32],
    dim: usize,
    weights: Option<&[f32]>,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f32>> {
    let n = x.len() / dim;
    let mass: Vec<f64> = (0..n).map(|i| weight(weights, i)).collect();
    if mass.iter().filter(|&&m| m > 0.0).count() < k {
        return Err(Error::InvalidParameter {
            name: "sample_weights",
            value: "fewer than k positive weights".into(),
            reason: "random init draws k distinct points of positive weight",
        });
    }
    let mut tree = Fenwick::new(mass);
    let mut centres = Vec::with_capacity(k * dim);
    for _ in 0..k {
        let i = tree.find(unit(rng) * tree.total());
        tree.take(i);
        centres.extend_from_slice(&x[i * dim..(i + 1) * dim]);
    }
    Ok(centres)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn local_trials_are_scikit_learns() {
        // 2 + int(np.log(k))
        let want = [
            (1, 2),
            (2, 2),
            (3, 3),
            (7, 3),
            (8, 4),
            (20, 4),
            (21, 5),
            (1000, 8),
        ];
        for (k, t) in want {
            assert_eq!(local_trials(k), t, "k = {k}");
        }
    }

    #[test]
    fn units_are_in_range_and_repeatable() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let u: Vec<f64> = (0..1000).map(|_| unit(&mut rng)).collect();
        assert!(u.iter().all(|&v| (0.0..1.0).contains(&v)));
        // The stream is part of the contract: a seed names its centres.
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let first = rng.next_u64();
        let mut again = ChaCha8Rng::seed_from_u64(42);
        assert_eq!(again.next_u64(), first);
    }

    #[test]
    fn random_points_are_distinct_and_skip_zero_weights() {
        let x: Vec<f32> = (0..50).map(|i| i as f32).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let c = random_points(&x, 1, None, 50, &mut rng).unwrap();
        let mut sorted = c.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, x);
        let w: Vec<f32> = (0..50)
            .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
            .collect();
        let c = random_points(&x, 1, Some(&w), 25, &mut rng).unwrap();
        assert!(c.iter().all(|v| (*v as usize).is_multiple_of(2)));
        assert!(random_points(&x, 1, Some(&w), 26, &mut rng).is_err());
    }

    #[test]
    fn plus_plus_spreads_and_avoids_zero_mass() {
        // Three tight groups: three centres land in three groups.
        let mut x = Vec::new();
        for g in 0..3 {
            for i in 0..20 {
                x.push(g as f32 * 100.0 + i as f32 * 0.01);
            }
        }
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let c = pollster::block_on(kmeans_plusplus(
                &Context::cpu(),
                &x,
                1,
                None,
                3,
                &mut rng,
                Watch::default(),
            ))
            .unwrap();
            let mut groups: Vec<i32> = c.iter().map(|v| (v / 100.0).round() as i32).collect();
            groups.sort();
            assert_eq!(groups, [0, 1, 2], "seed {seed}");
        }
        // k = n on duplicates: every draw still returns a point.
        let dup = [1.0f32, 1.0, 1.0, 2.0];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = pollster::block_on(kmeans_plusplus(
            &Context::cpu(),
            &dup,
            1,
            None,
            4,
            &mut rng,
            Watch::default(),
        ))
        .unwrap();
        assert_eq!(c.len(), 4);
        assert!(c.contains(&2.0));
    }
}
