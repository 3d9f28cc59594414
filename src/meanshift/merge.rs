//! From modes to clusters: collapse identical modes, merge those within the
//! bandwidth (scikit-learn's rule) and label points by their nearest centre.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::context::Context;
use crate::error::Result;
use crate::ops::grid::cpu::{Cell, Cells};
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
    merge_with(modes, intensity, keep, dim, h, true)
}

/// [`merge_modes`], looking for nearby survivors through grid cells where
/// `by_cells` and they apply, among all survivors otherwise.
fn merge_with(
    modes: &[f32],
    intensity: &[f32],
    keep: &[bool],
    dim: usize,
    h: f32,
    by_cells: bool,
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
    // In low dimensions the survivors are kept by grid cell (cells a
    // little wider than h, over the entries' extent), and an entry looks
    // only at those in the 3^D cells around its own, which hold every
    // survivor within h of it: the same answer as looking at all of them,
    // for N x (survivors nearby) work rather than N x survivors.
    let flat: Vec<f32> = unique.iter().flat_map(|e| e.0).copied().collect();
    let cells = Cells::new(&flat, dim, h2).filter(|_| by_cells);
    let mut by_cell: HashMap<Cell, Vec<usize>> = HashMap::new();
    for (pos, inten) in unique {
        let survivor = |s: &usize| &merged.centers[s * dim..(s + 1) * dim];
        let near = match &cells {
            Some(cells) => cells.around(&cells.cell(pos)).any(|c| {
                by_cell.get(&c).is_some_and(|list| {
                    list.iter()
                        .any(|s| squared_distance(survivor(s), pos) <= h2)
                })
            }),
            None => merged
                .centers
                .chunks_exact(dim)
                .any(|c| squared_distance(c, pos) <= h2),
        };
        if !near {
            if let Some(cells) = &cells {
                by_cell
                    .entry(cells.cell(pos))
                    .or_default()
                    .push(merged.intensity.len());
            }
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
/// context's backend (the nearest op, which answers small calls on the
/// host).
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

    /// Through grid cells the merge keeps the survivors of the plain walk:
    /// one to five dimensions (five: no cells), modes spread or packed,
    /// integer modes exactly h apart, ties of intensity.
    #[test]
    fn cells_find_the_survivors_all_of_them_find() {
        let mut rng = crate::test_data::rng(5);
        let mut next = move || rand::RngExt::random::<f32>(&mut rng);
        for dim in 1..=5 {
            for (n, scale, h) in [(400, 20.0, 1.0), (400, 3.0, 0.7), (300, 100.0, 0.05)] {
                let modes: Vec<f32> = (0..n * dim).map(|_| scale * next()).collect();
                let inten: Vec<f32> = (0..n).map(|_| (8.0 * next()).floor()).collect();
                let keep: Vec<bool> = (0..n).map(|i| i % 7 != 3).collect();
                let plain = merge_with(&modes, &inten, &keep, dim, h, false);
                let cells = merge_with(&modes, &inten, &keep, dim, h, true);
                assert_eq!(cells, plain, "D {dim}, scale {scale}, h {h}");
            }
            let ints: Vec<f32> = (0..200 * dim).map(|i| ((i * 7) % 5) as f32).collect();
            let inten = vec![1.0; 200];
            let keep = vec![true; 200];
            assert_eq!(
                merge_with(&ints, &inten, &keep, dim, 1.0, true),
                merge_with(&ints, &inten, &keep, dim, 1.0, false),
                "D {dim}, integers"
            );
        }
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
