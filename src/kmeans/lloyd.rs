//! One Lloyd run from given centres, scikit-learn's `_kmeans_single_lloyd`
//! over the Lloyd-step op (`ops::cluster_sums`): the backend assigns and
//! sums; the centres, empty clusters, shifts and stopping are decided
//! here, on the host, in the same arithmetic for every backend, so a GPU
//! run and a CPU run that see the same sums make the same centres.

use crate::error::Result;
use crate::ops::cluster_sums::{ClusterSums, Lloyd, LloydData};
use crate::ops::{map_indices, squared_distance};
use crate::progress::{Stage, Watch};

/// Points per chunk of the inertia's partial sums, added in chunk order.
const CHUNK: usize = 4096;

/// What one run from one set of initial centres gives.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// `k x dim`, centred.
    pub centres: Vec<f32>,
    pub labels: Vec<u32>,
    pub inertia: f64,
    pub n_iter: usize,
}

/// Steps a GPU records into one submission, the centres updated on the
/// device between them: at most this many - 1 steps run past a stop.
const BATCH: usize = 8;

/// Lloyd iterations from `init` (`k x dim`, centred): assign, update,
/// and stop when the labels did not change (strict convergence) or when
/// the total squared centre shift is `<= tol` (absolute), or after
/// `max_iter` iterations; then, unless strictly converged, assign once
/// more so the labels match the final centres. Each iteration is reported
/// to `watch` ([`Stage::Iterations`], of `max_iter`), which may cancel
/// between them.
///
/// On a GPU, iterations go [`BATCH`] to a submission with the centres
/// updated on the device (the bits of [`update`]); the host replays each
/// one's stopping rule on the centres read back, and takes the update over
/// where the device leaves it (empty clusters). Steps past a stop changed
/// nothing that is read: after a strict stop they repeat it (the same
/// labels give the same sums), and a stop on `tol` assigns afresh.
pub(crate) async fn run(
    lloyd: &mut Lloyd<'_>,
    data: &LloydData<'_>,
    init: Vec<f32>,
    max_iter: usize,
    tol: f64,
    watch: Watch<'_>,
) -> Result<Run> {
    let mut centres = init;
    let mut strict = false;
    let mut n_iter = 0;
    let total = Some(max_iter as u64);
    watch.report(Stage::Iterations, 0, total)?;
    'steps: while n_iter < max_iter {
        let left = max_iter - n_iter;
        // Per step: the labels that changed and the device's centres, or
        // `None` for the host to update from `sums` (the first such step's).
        let (steps, mut sums) = match lloyd.batched() {
            Some(gpu) if left > 1 => {
                let batched = gpu.steps(&centres, left.min(BATCH)).await?;
                (batched.steps, Some(batched.sums))
            }
            _ => {
                let step = lloyd.step(&centres).await?;
                (vec![(step.changed, None)], Some(step.sums))
            }
        };
        for (changed, made) in steps {
            let first = n_iter == 0;
            n_iter += 1;
            watch.report(Stage::Iterations, n_iter as u64, total)?;
            let by_host = made.is_none();
            let new = match made {
                Some(new) => new,
                None => {
                    let sums = sums.take().expect("one host update per batch");
                    update(lloyd, data, &centres, sums).await?
                }
            };
            let shift: f64 = new
                .iter()
                .zip(&centres)
                .map(|(a, b)| {
                    let d = f64::from(*a) - f64::from(*b);
                    d * d
                })
                .sum();
            centres = new;
            // The first step has no previous labels (scikit-learn's -1s).
            if !first && changed == 0 {
                strict = true;
                break 'steps;
            }
            if shift <= tol {
                break 'steps;
            }
            // The host's update starts a new batch: the device's later
            // steps repeated this one.
            if by_host {
                continue 'steps;
            }
        }
    }
    let labels = if strict {
        lloyd.labels().await?
    } else {
        lloyd.assign(&centres).await?
    };
    let inertia = inertia(data, &centres, &labels);
    Ok(Run {
        centres,
        labels,
        inertia,
        n_iter,
    })
}

/// New centres from a step's sums: weighted means, after empty clusters
/// (zero total weight), in ascending order, each took the next-farthest
/// point (squared distance to its old centre, unweighted, ties by lower
/// index; points at distance 0 are never taken). A taken point's weighted
/// row moves from its cluster's sum to the empty one's; labels are not
/// changed. A cluster still empty takes the centre of the heaviest one.
async fn update(
    lloyd: &Lloyd<'_>,
    data: &LloydData<'_>,
    old: &[f32],
    sums: ClusterSums,
) -> Result<Vec<f32>> {
    let (k, dim) = (data.k, data.dim);
    let mut s = sums.sums;
    let mut mass: Vec<f64> = match &sums.weights {
        Some(w) => w.iter().map(|&v| f64::from(v)).collect(),
        None => sums.counts.iter().map(|&c| f64::from(c)).collect(),
    };
    let empty: Vec<usize> = (0..k).filter(|&c| mass[c] <= 0.0).collect();
    let mut taken: Vec<Option<usize>> = vec![None; k];
    if !empty.is_empty() {
        let labels = lloyd.labels().await?;
        let n = labels.len();
        let row = |i: usize| &data.points[i * dim..(i + 1) * dim];
        let d2: Vec<f32> = map_indices(n.div_ceil(CHUNK), |c| {
            (c * CHUNK..((c + 1) * CHUNK).min(n))
                .map(|i| {
                    let l = labels[i] as usize;
                    squared_distance(row(i), &old[l * dim..(l + 1) * dim])
                })
                .collect::<Vec<_>>()
        })
        .concat();
        let order = |a: &usize, b: &usize| d2[*b].total_cmp(&d2[*a]).then(a.cmp(b));
        let mut far: Vec<usize> = (0..n).filter(|&i| d2[i] > 0.0).collect();
        if far.len() > empty.len() {
            far.select_nth_unstable_by(empty.len() - 1, order);
            far.truncate(empty.len());
        }
        far.sort_by(order);
        for (&c, &i) in empty.iter().zip(&far) {
            let w = data.weights.map_or(1.0, |w| f64::from(w[i]));
            let from = labels[i] as usize;
            let v = &data.values[i * dim..(i + 1) * dim];
            for (f, &x) in v.iter().enumerate() {
                s[from * dim + f] -= x;
                s[c * dim + f] = x;
            }
            mass[c] = w;
            mass[from] -= w;
            taken[c] = Some(i);
        }
        log::info!(
            "k-means: {} empty cluster(s) took the farthest point(s) ({} available)",
            empty.len(),
            far.len()
        );
    }
    let mut new = vec![0.0f32; k * dim];
    let mut still_empty = Vec::new();
    for c in 0..k {
        let out = &mut new[c * dim..(c + 1) * dim];
        if mass[c] > 0.0 {
            for (o, &v) in out.iter_mut().zip(&s[c * dim..(c + 1) * dim]) {
                *o = (f64::from(v) / mass[c]) as f32;
            }
        } else if let Some(i) = taken[c] {
            out.copy_from_slice(&data.points[i * dim..(i + 1) * dim]);
        } else {
            still_empty.push(c);
        }
    }
    if !still_empty.is_empty() {
        let heaviest = (0..k)
            .filter(|&c| mass[c] > 0.0)
            .fold(None, |best: Option<usize>, c| match best {
                Some(b) if mass[b] >= mass[c] => Some(b),
                _ => Some(c),
            });
        log::info!(
            "k-means: {} cluster(s) stay empty (every point sits on its centre); they take the heaviest cluster's centre",
            still_empty.len()
        );
        for c in still_empty {
            let from = heaviest.unwrap_or(c);
            let src: Vec<f32> = if heaviest.is_some() {
                new[from * dim..(from + 1) * dim].to_vec()
            } else {
                old[c * dim..(c + 1) * dim].to_vec()
            };
            new[c * dim..(c + 1) * dim].copy_from_slice(&src);
        }
    }
    Ok(new)
}

/// `sum_i w_i |x_i - c_{l_i}|^2` in `f64`, in fixed chunks added in order.
pub(crate) fn inertia(data: &LloydData<'_>, centres: &[f32], labels: &[u32]) -> f64 {
    let dim = data.dim;
    let n = labels.len();
    let parts = map_indices(n.div_ceil(CHUNK), |c| {
        let mut acc = 0.0f64;
        for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
            let l = labels[i] as usize;
            let x = &data.points[i * dim..(i + 1) * dim];
            let centre = &centres[l * dim..(l + 1) * dim];
            let d: f64 = x
                .iter()
                .zip(centre)
                .map(|(a, b)| {
                    let d = f64::from(*a) - f64::from(*b);
                    d * d
                })
                .sum();
            acc += data.weights.map_or(1.0, |w| f64::from(w[i])) * d;
        }
        acc
    });
    parts.into_iter().sum()
}
