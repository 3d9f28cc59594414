//! Mean shift with an estimated bandwidth of 0 and the flat kernel
//! (scikit-learn's behaviour): the window is a radius-0 search, so a seed's
//! window holds the points identical to it, every seed stays where it is
//! and identical modes merge. Each distinct point becomes a cluster.
//!
//! Done on the host in `f64` on the values as given (exact comparisons, no
//! kernel to evaluate): no GPU stage has anything to do.

use std::collections::HashMap;

use super::params::Checked;
use super::{Mode, StopReason};
use crate::error::{Error, Result};
use crate::points::Points;

/// What the zero-bandwidth fit hands back to `fit`.
pub(super) struct ZeroRun {
    /// The centres, in label order, with the values as given.
    pub centers: Points,
    pub intensity: Vec<f32>,
    pub labels: Vec<i32>,
    pub n_iter: usize,
    pub stop: StopReason,
    /// Blurring: the final positions (the data itself).
    pub positions: Option<Points>,
    pub trajectory: Vec<Points>,
}

/// A row's key: its bits, with -0.0 read as 0.0 (they are at distance 0).
fn key(row: &[f64]) -> Vec<u64> {
    row.iter().map(|&v| (v + 0.0).to_bits()).collect()
}

/// Lexicographic order of `f64` rows (first coordinate first).
fn lex(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// The fit with bandwidth 0 (flat kernel only; checked by the caller).
pub(super) fn fit(x: &Points, checked: &Checked<'_>) -> Result<ZeroRun> {
    let dim = x.dim();
    let data = x.to_f64();
    // Weight of each distinct point: the window of a seed identical to it.
    let mut window: HashMap<Vec<u64>, f64> = HashMap::new();
    for (i, row) in data.chunks_exact(dim).enumerate() {
        let w = checked.weights.map_or(1.0, |w| f64::from(w[i]));
        *window.entry(key(row)).or_insert(0.0) += w;
    }
    // Modes: one per seed whose window is not empty, identical ones
    // collapsed (the last seed's intensity, as scikit-learn's dict keeps).
    let seeds = match (checked.mode, checked.seeds) {
        (Mode::Standard, Some(s)) => s.to_f64(),
        // Bin seeding with bins of side 0 seeds from the points, as
        // scikit-learn's `get_bin_seeds` does.
        _ => data.clone(),
    };
    let mut modes: Vec<(&[f64], f64)> = Vec::new();
    let mut found: HashMap<Vec<u64>, usize> = HashMap::new();
    for seed in seeds.chunks_exact(dim) {
        let w = window.get(&key(seed)).copied().unwrap_or(0.0);
        if w > 0.0 {
            match found.get(&key(seed)) {
                Some(&m) => modes[m].1 = w,
                None => {
                    found.insert(key(seed), modes.len());
                    modes.push((seed, w));
                }
            }
        }
    }
    if modes.is_empty() {
        return Err(Error::NoPointInRange { bandwidth: 0.0 });
    }
    // scikit-learn's order: intensity descending, ties by coordinates
    // descending. No two distinct modes are within distance 0: all stay.
    modes.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| lex(b.0, a.0)));
    let label_of: HashMap<Vec<u64>, i32> = modes
        .iter()
        .enumerate()
        .map(|(k, (m, _))| (key(m), k as i32))
        .collect();
    let centers: Vec<f64> = modes.iter().flat_map(|(m, _)| m.iter().copied()).collect();
    let labels = data
        .chunks_exact(dim)
        .map(|row| match label_of.get(&key(row)) {
            Some(&k) => k,
            // Only with given seeds: a point no seed reached. Nearest
            // centre (ties: lowest label), or -1 without cluster_all.
            None if checked.cluster_all => nearest(&centers, row) as i32,
            None => -1,
        })
        .collect();
    let (n_iter, stop, positions, trajectory) = match checked.mode {
        // Each seed's first mean is itself: a shift of 0 <= tol * 0.
        Mode::Standard => (0, StopReason::Converged, None, Vec::new()),
        Mode::Blurring => {
            let (n, stop) = match checked.iterations {
                Some(n) => (n, StopReason::Iterations),
                None => (1, StopReason::ShiftBelowTol),
            };
            let trajectory = if checked.record_trajectory {
                vec![x.clone(); n]
            } else {
                Vec::new()
            };
            (n, stop, Some(x.clone()), trajectory)
        }
    };
    Ok(ZeroRun {
        centers: Points::from_f64(&centers, dim)?,
        intensity: modes.iter().map(|m| m.1 as f32).collect(),
        labels,
        n_iter,
        stop,
        positions,
        trajectory,
    })
}

/// Index of the centre nearest `row` (ties: lowest index).
fn nearest(centers: &[f64], row: &[f64]) -> usize {
    let d2 = |c: &[f64]| -> f64 { c.iter().zip(row).map(|(a, b)| (a - b) * (a - b)).sum() };
    centers
        .chunks_exact(row.len())
        .enumerate()
        .fold((0, f64::INFINITY), |best, (k, c)| {
            let d = d2(c);
            if d < best.1 { (k, d) } else { best }
        })
        .0
}
