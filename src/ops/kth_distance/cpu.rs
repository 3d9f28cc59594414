//! CPU twin of `kth_distance.wgsl`: the distance from each query to its
//! k-th nearest data point, for scikit-learn's bandwidth estimate.

use crate::cpu::{map_indices, squared_distance};

/// For each query row, the Euclidean distance to its `k`-th nearest row of
/// `data` (`k` is 1-based; a query that is also a data row finds itself at
/// distance 0). Requires `1 <= k <= data rows`.
pub(crate) fn kth_distance(data: &[f32], queries: &[f32], dim: usize, k: usize) -> Vec<f32> {
    map_indices(queries.len() / dim, |i| {
        let q = &queries[i * dim..(i + 1) * dim];
        let mut d2: Vec<f32> = data
            .chunks_exact(dim)
            .map(|x| squared_distance(x, q))
            .collect();
        let (_, kth, _) = d2.select_nth_unstable_by(k - 1, f32::total_cmp);
        kth.sqrt()
    })
}
