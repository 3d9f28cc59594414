//! From modes to clusters: collapse identical modes, merge those within the
//! bandwidth (scikit-learn's rule) and label points by their nearest centre.

use std::cmp::Ordering;

use crate::context::Context;
use crate::error::Result;
use crate::ops::nearest::nearest;
use crate::ops::squared_distance;

/// Cluster centres chosen from modes, in label order, with the intensity of
/// each.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Merged {
    /// Row-major centres (`k x dim`).
    pub centers: Vec<f32>,
    pub intensity: Vec<f32>,
}

/// scikit-learn's merge. `modes` are row-major positions, `intensity` one per
/// mode, `keep[i]` false for modes to leave out (dropped seeds).
///
/// Identical positions collapse into one entry carrying the intensity of the
/// last of them in order. Entries are sorted by intensity descending, ties by
/// coordinates compared lexicographically, descending; walking in that
/// order, an entry survives unless an earlier survivor lies within distance
/// `h` (`d^2 <= h^2`). That is scikit-learn's "each survivor suppresses its
/// neighbours": a suppressed entry never suppresses.
pub(crate) fn merge_modes(
    modes: &[f32],
    intensity: &[f32],
    keep: &[bool],
    dim: usize,
    h: f32,
) -> Merged {
    let mut entries: Vec<(&[f32], f32)> = modes
        .chunks_exact(dim)
        .zip(intensity)
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|((m, i), _)| (m, *i))
        .collect();
    // Collapse identical positions: a stable sort by coordinates groups them
    // with their seed order kept, so the last of each group is the last seed.
    entries.sort_by(|a, b| lex_cmp(a.0, b.0));
    let mut unique: Vec<(&[f32], f32)> = Vec::with_capacity(entries.len());
    for e in entries {
        match unique.last_mut() {
            Some(last) if last.0 == e.0 => last.1 = e.1,
            _ => unique.push(e),
        }
    }
    unique.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| lex_cmp(b.0, a.0)));
    let h2 = h * h;
    let mut merged = Merged {
        centers: Vec::new(),
        intensity: Vec::new(),
    };
    for (pos, inten) in unique {
        let near = merged
            .centers
            .chunks_exact(dim)
            .any(|c| squared_distance(c, pos) <= h2);
        if !near {
            merged.centers.extend_from_slice(pos);
            merged.intensity.push(inten);
        }
    }
    merged
}

/// Lexicographic order of two coordinate rows (first coordinate first).
fn lex_cmp(a: &[f32], b: &[f32]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Label of each point: its nearest centre (ties: lowest label), or -1 when
/// `radius` is given and the nearest centre is farther than it. On the
/// context's backend (the nearest op).
pub(crate) async fn nearest_labels(
    ctx: &Context,
    points: &[f32],
    centers: &[f32],
    dim: usize,
    radius: Option<f32>,
) -> Result<Vec<i32>> {
    let found = nearest(ctx, centers, points, dim).await?;
    Ok(found
        .index
        .iter()
        .zip(&found.d2)
        .map(|(&k, &d2)| match radius {
            Some(r) if d2 > r * r => -1,
            _ => k as i32,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_modes_keep_the_last_intensity_and_merge_by_rank() {
        // Two identical modes (intensities 3 then 1), one within h of them
        // with intensity 2, and a far one with intensity 2.
        let modes = [0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 9.0, 9.0];
        let inten = [3.0, 2.0, 1.0, 2.0];
        let m = merge_modes(&modes, &inten, &[true; 4], 2, 1.0);
        // Collapsed (0,0) carries 1: order is (9,9):2, (0.5,0):2, (0,0):1.
        assert_eq!(m.centers, vec![9.0, 9.0, 0.5, 0.0]);
        assert_eq!(m.intensity, vec![2.0, 2.0]);
    }

    #[test]
    fn dropped_modes_are_left_out_and_labels_tie_to_lowest() {
        let m = merge_modes(&[1.0, 5.0], &[1.0, 4.0], &[true, false], 1, 1.0);
        assert_eq!(m.centers, vec![1.0]);
        let cpu = Context::cpu();
        let labels = nearest_labels(&cpu, &[0.0, 2.0, 9.0], &[1.0, 3.0], 1, Some(2.0));
        assert_eq!(pollster::block_on(labels).unwrap(), vec![0, 0, -1]);
    }
}
