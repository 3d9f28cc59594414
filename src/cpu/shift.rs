//! CPU twin of `shaders/shift.wgsl`: kernel-weighted mean-shift sums.
//!
//! For a query `q` the stage accumulates, over the data `x_j` in index order,
//! `num += w_j K(|x_j - q|) (x_j - q)`, `den += w_j K(|x_j - q|)` and
//! `count += w_j [|x_j - q| <= h]`; the shifted position is `q + num / den`.
//! Accumulating displacements rather than positions keeps `f32` precise.

use crate::meanshift::stages::{BlurOutput, SeekOutput, SeekStatus, ShiftOutput, Window};

use super::map_indices;

/// Sums of one query's window: `num` receives the displacement sum; returns
/// `(den, count)`.
#[inline]
fn window_sums(win: &Window<'_>, q: &[f32], num: &mut [f32]) -> (f32, f32) {
    num.fill(0.0);
    let (mut den, mut count) = (0.0f32, 0.0f32);
    for (j, x) in win.data.chunks_exact(win.dim).enumerate() {
        let d2 = x
            .iter()
            .zip(q)
            .fold(0.0f32, |acc, (a, b)| acc + (a - b) * (a - b));
        let sw = win.weights.map_or(1.0, |w| w[j]);
        let w = win.coeffs.weight(d2) * sw;
        if w != 0.0 {
            for ((n, a), b) in num.iter_mut().zip(x).zip(q) {
                *n += w * (a - b);
            }
            den += w;
        }
        if d2 <= win.coeffs.h2 {
            count += sw;
        }
    }
    (den, count)
}

/// One shift of every query over the window's data. A query with zero total
/// weight stays where it is.
pub(crate) fn shift(win: &Window<'_>, queries: &[f32]) -> ShiftOutput {
    let d = win.dim;
    let rows = map_indices(queries.len() / d, |i| {
        let q = &queries[i * d..(i + 1) * d];
        let mut num = vec![0.0f32; d];
        let (den, count) = window_sums(win, q, &mut num);
        let pos: Vec<f32> = if den > 0.0 {
            q.iter().zip(&num).map(|(qk, n)| qk + n / den).collect()
        } else {
            q.to_vec()
        };
        (pos, den, count)
    });
    let mut out = ShiftOutput::with_capacity(rows.len(), d);
    for (pos, den, count) in rows {
        out.positions.extend_from_slice(&pos);
        out.weight_sums.push(den);
        out.counts.push(count);
    }
    out
}

/// Blurring mean shift: `steps` iterations in which every point moves to the
/// kernel-weighted mean of all current positions (ping-pong: an iteration
/// reads only the previous one's positions). `win.data` holds the start.
pub(crate) fn blur(win: &Window<'_>, steps: usize, record: bool) -> BlurOutput {
    let d = win.dim;
    let mut current = win.data.to_vec();
    let mut max_shift = Vec::with_capacity(steps);
    let mut trajectory = Vec::new();
    for _ in 0..steps {
        let next = shift(
            &Window {
                data: &current,
                ..*win
            },
            &current,
        )
        .positions;
        let largest2 = next
            .chunks_exact(d)
            .zip(current.chunks_exact(d))
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>())
            .fold(0.0f32, f32::max);
        max_shift.push(largest2.sqrt());
        current = next;
        if record {
            trajectory.push(current.clone());
        }
    }
    BlurOutput {
        positions: current,
        max_shift,
        trajectory,
    }
}

/// Standard mean shift: each seed climbs on its own over the fixed data,
/// with scikit-learn's stopping rule and bookkeeping (see [`SeekOutput`]).
pub(crate) fn seek(win: &Window<'_>, seeds: &[f32], tol_dist: f32, max_iter: u32) -> SeekOutput {
    let d = win.dim;
    let tol2 = tol_dist * tol_dist;
    let rows = map_indices(seeds.len() / d, |i| {
        let mut pos = seeds[i * d..(i + 1) * d].to_vec();
        let mut num = vec![0.0f32; d];
        let mut iterations = 0u32;
        let mut intensity = 0.0f32;
        let status = loop {
            let (den, count) = window_sums(win, &pos, &mut num);
            if den <= 0.0 {
                break SeekStatus::Dropped;
            }
            let mut shift2 = 0.0f32;
            for (p, n) in pos.iter_mut().zip(&num) {
                let s = n / den;
                *p += s;
                shift2 += s * s;
            }
            intensity = count;
            if shift2 <= tol2 {
                break SeekStatus::Converged;
            }
            if iterations == max_iter {
                break SeekStatus::MaxIter;
            }
            iterations += 1;
        };
        (pos, intensity, iterations, status)
    });
    let mut out = SeekOutput::with_capacity(rows.len(), d);
    for (pos, intensity, iterations, status) in rows {
        out.positions.extend_from_slice(&pos);
        out.intensity.push(intensity);
        out.iterations.push(iterations);
        out.status.push(status);
    }
    out
}
