//! The CPU twin of the sort: the standard library's stable sort, which
//! gives the one result a stable sort can give.

/// `keys` and `values` ordered by key, equal keys in input order.
#[cfg(test)]
pub(crate) fn sort_pairs(keys: &[u32], values: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut pairs: Vec<(u32, u32)> = keys.iter().copied().zip(values.iter().copied()).collect();
    pairs.sort_by_key(|&(k, _)| k);
    pairs.into_iter().unzip()
}
