//! Bin seeding (scikit-learn's `get_bin_seeds`): start mean shift from the
//! occupied cells of a grid of side `h` instead of from every point.

use std::collections::HashMap;

/// Seeds from bins of side `bin_size` holding at least `min_bin_freq`
/// points, in order of each bin's first point, computed in `f64` on the
/// original (uncentred) coordinates: bin = round-half-to-even(x / h), seed =
/// bin * h. When every point has a bin of its own, the points themselves are
/// the seeds (as scikit-learn does). Takes and returns row-major `f64`
/// values (the data's own where it holds them), so seeds far from the
/// origin are not rounded to `f32` before they are centred.
pub(crate) fn bin_seeds(data: &[f64], dim: usize, bin_size: f32, min_bin_freq: usize) -> Vec<f64> {
    let h = f64::from(bin_size);
    let mut order: Vec<Vec<i64>> = Vec::new();
    let mut freq: HashMap<Vec<i64>, usize> = HashMap::new();
    for x in data.chunks_exact(dim) {
        let key: Vec<i64> = x
            .iter()
            .map(|&v| (v / h).round_ties_even() as i64)
            .collect();
        let count = freq.entry(key.clone()).or_insert(0);
        if *count == 0 {
            order.push(key);
        }
        *count += 1;
    }
    let n = data.len() / dim;
    let kept: Vec<&Vec<i64>> = order.iter().filter(|k| freq[*k] >= min_bin_freq).collect();
    if kept.len() == n {
        log::info!("bin seeding kept one bin per point: seeding from the points");
        return data.to_vec();
    }
    kept.iter()
        .flat_map(|k| k.iter().map(|&b| b as f64 * h))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_round_half_to_even_and_respect_min_freq() {
        // x / h = 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 0.4 -> 0.
        let data = [0.5, 1.5, 2.5, 0.4];
        assert_eq!(bin_seeds(&data, 1, 1.0, 1), vec![0.0, 2.0]);
        assert_eq!(bin_seeds(&data, 1, 1.0, 3), Vec::<f64>::new());
    }

    #[test]
    fn one_bin_per_point_falls_back_to_the_points() {
        let data = [0.0, 10.0, 20.0];
        assert_eq!(bin_seeds(&data, 1, 1.0, 1), data.to_vec());
    }
}
