//! CPU twin of `shift_gemm.wgsl`: the kernel sums with each squared
//! distance expanded, `d2 = max((|q|^2 + |x|^2) - 2 q.x, 0)`, every sum
//! over coordinates in increasing order from zero, and positions, not
//! displacements, accumulated: over each span's rows in index order,
//! `num += w x`, `den += w`, `count += sample_weight [d2 <= h^2]`; the
//! spans' sums added in span order; then `num - q den`, the displacement
//! sum the finishing step divides by `den` (`q + (num - q den) / den`).
//!
//! The GPU stage computes the dot products as a tiled matrix product and
//! `num` as a second one (the weights times the rows), but each value by
//! the same operations in the same order as here, so the two agree bit
//! for bit where the device neither fuses multiply-adds nor rounds
//! otherwise (the gaussian's `exp2` is the device's own).
//!
//! Only for rows of more than [`EXPANDED_ABOVE_DIM`] coordinates
//! ([`applies`]): below, `Distances::Expanded` changes nothing.

use super::cpu::Sums;
use super::{EXPANDED_ABOVE_DIM, Window, spans};
use crate::cpu::map_indices;

/// Whether the window's sums take the expanded distances: asked for, on
/// rows of more than [`EXPANDED_ABOVE_DIM`] coordinates, without a grid.
pub(super) fn applies(win: &Window<'_>) -> bool {
    win.expanded && win.dim > EXPANDED_ABOVE_DIM && win.grid.is_none()
}

/// `sum v_k^2` in increasing `k`, from zero (Rust never fuses the
/// multiply-add, as the device must not either for the twin's bits).
fn squares(row: &[f32]) -> f32 {
    row.iter().fold(0.0f32, |acc, &v| acc + v * v)
}

/// `sum q_k x_k` in increasing `k`, from zero.
fn dot(q: &[f32], x: &[f32]) -> f32 {
    q.iter().zip(x).fold(0.0f32, |acc, (&a, &b)| acc + a * b)
}

/// The squared distance from its expansion, clamped: cancellation can
/// make `(qq + xx) - 2 dot` slightly negative.
pub(super) fn expanded_d2(qq: f32, xx: f32, dot: f32) -> f32 {
    ((qq + xx) - 2.0 * dot).max(0.0)
}

/// One query's sums over every span: `(num - q den, den, count)`.
fn query_sums(win: &Window<'_>, xx: &[f32], q: &[f32]) -> (Vec<f32>, f32, f32) {
    let d = win.dim;
    let qq = squares(q);
    let mut num = vec![0.0f32; d];
    let (mut den, mut count) = (0.0f32, 0.0f32);
    let mut part = vec![0.0f32; d];
    for (s, span) in spans::ranges(xx.len()).enumerate() {
        part.fill(0.0);
        let (mut part_den, mut part_count) = (0.0f32, 0.0f32);
        for j in span {
            let x = &win.data[j * d..(j + 1) * d];
            let d2 = expanded_d2(qq, xx[j], dot(q, x));
            let sw = win.weights.map_or(1.0, |w| w[j]);
            let w = win.coeffs.weight(d2) * sw;
            for (p, &v) in part.iter_mut().zip(x) {
                *p += w * v;
            }
            part_den += w;
            part_count += if d2 <= win.coeffs.h2 { sw } else { 0.0 };
        }
        if s == 0 {
            num.copy_from_slice(&part);
            (den, count) = (part_den, part_count);
        } else {
            for (t, p) in num.iter_mut().zip(&part) {
                *t += p;
            }
            den += part_den;
            count += part_count;
        }
    }
    for (t, &qk) in num.iter_mut().zip(q) {
        *t -= qk * den;
    }
    (num, den, count)
}

/// The window sums of every query (each query's on its own, queries in
/// parallel).
pub(super) fn sums(win: &Window<'_>, queries: &[f32]) -> Sums {
    let d = win.dim;
    let xx: Vec<f32> = win.data.chunks_exact(d).map(squares).collect();
    let per_query = map_indices(queries.len() / d, |i| {
        query_sums(win, &xx, &queries[i * d..(i + 1) * d])
    });
    let mut out = Sums::with_capacity(per_query.len(), d);
    for (num, den, count) in per_query {
        out.num.extend_from_slice(&num);
        out.den.push(den);
        out.count.push(count);
    }
    out
}
