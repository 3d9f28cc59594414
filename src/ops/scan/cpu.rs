//! CPU twin of `scan.wgsl`.

use std::ops::Add;

/// Exclusive prefix sums of `counts`, with the total appended: `n + 1`
/// values, `out[j] = counts[0] + ... + counts[j - 1]`. Generic so the CPU
/// paths can pack lists longer than the GPU's `u32` counts allow.
pub(crate) fn exclusive_scan<T: Copy + Default + Add<Output = T>>(counts: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(counts.len() + 1);
    let mut total = T::default();
    out.push(total);
    for &c in counts {
        total = total + c;
        out.push(total);
    }
    out
}
