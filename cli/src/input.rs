//! Reading the points to cluster: the library's readers
//! ([`gpu_cluster::io`]: `.csv` with the delimiter, header and a pandas
//! index guessed safely, or `.npy`), with what a person should hear about
//! the read said on stderr.
//!
//! A wrong guess clusters the wrong numbers without a word, so no guess is
//! silent: the run's summary says what was read ([`ReadInfo`]'s one
//! line), each note (a dropped column, one that looks like a row index) is
//! a `note:` line as soon as the file is read, and a guess that cannot be
//! trusted is refused (exit 2) with the option that settles it.
//!
//! Also the `--sample-weights` files of `meanshift`, `kmeans` and
//! `dbscan` ([`read_weights`]).

use std::fs;
use std::path::Path;

use gpu_cluster::Points;
use gpu_cluster::io::{self, Format, ReadInfo, ReadOptions};

use crate::args::{count, with_flag};
use crate::fail::Failure;
use crate::output::note;

/// Reads the points in `path` with the default options: everything a CSV
/// file leaves open is guessed (see [`read_points_with`]).
pub fn read_points(path: &Path) -> Result<Points, Failure> {
    read_points_with(path, &ReadOptions::default()).map(|(points, _)| points)
}

/// Reads the points in `path` as `options` say, and what was read. Every
/// problem is a [`Failure::Input`] naming the file and, where it applies,
/// the line and column or the element; each of the read's notes is said on
/// stderr as `note: {path}: {note}`.
pub fn read_points_with(path: &Path, options: &ReadOptions) -> Result<(Points, ReadInfo), Failure> {
    let (points, info) = io::read_points_with(path, options)?;
    for line in info.notes() {
        note(format_args!("note: {}: {line}", path.display()));
    }
    Ok((points, info))
}

/// `--sample-weights`, one per point of INPUT (`points`, read from
/// `input`, so that a mismatch names both files): a 1-column `.npy`, or
/// else text with one number per line (blank lines skipped; a first line
/// that is not a number is a header). Each weight must be a finite `f32`
/// and >= 0, or with `negative` any finite value (DBSCAN sums them:
/// scikit-learn allows negative ones there); the library checks that too,
/// but here the message can say where the bad one is.
pub fn read_weights(
    path: &Path,
    negative: bool,
    points: &Points,
    input: &Path,
) -> Result<Vec<f32>, Failure> {
    let weights = read_weight_values(path, negative)?;
    if weights.len() != points.len() {
        return Err(Failure::Input(format!(
            "--sample-weights {}: {} for the {} in {}",
            path.display(),
            count(weights.len(), "weight"),
            count(points.len(), "point"),
            input.display()
        )));
    }
    Ok(weights)
}

/// The values of a `--sample-weights` file (see [`read_weights`]).
fn read_weight_values(path: &Path, negative: bool) -> Result<Vec<f32>, Failure> {
    let bad = |what: String| Failure::Input(format!("--sample-weights {}: {what}", path.display()));
    let usable = |w: f32| w.is_finite() && (negative || w >= 0.0);
    let rule = match negative {
        true => "weights must be finite",
        false => "weights must be finite and >= 0",
    };
    if Format::from_path(path) == Some(Format::Npy) {
        let w = read_points(path).map_err(|f| with_flag("--sample-weights", f))?;
        if w.dim() != 1 {
            return Err(bad(format!(
                "{} columns: give one weight per point",
                w.dim()
            )));
        }
        return match w.as_slice().iter().position(|&v| !usable(v)) {
            Some(i) => Err(bad(format!(
                "element [{i}, 0] is {}: {rule}",
                w.as_slice()[i]
            ))),
            None => Ok(w.as_slice().to_vec()),
        };
    }
    let text = fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let mut weights = Vec::new();
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let field = line.trim();
        if field.is_empty() {
            continue;
        }
        match field.parse::<f32>() {
            Ok(w) if usable(w) => weights.push(w),
            Ok(_) => {
                return Err(bad(format!(
                    "line {}: {field} is not a weight: {rule}",
                    i + 1
                )));
            }
            // A header: a first line that is neither a number nor a row.
            Err(_) if first && !field.contains(',') => {}
            Err(_) => {
                return Err(bad(format!(
                    "line {}: {field:?} is not a number (one weight per line)",
                    i + 1
                )));
            }
        }
        first = false;
    }
    Ok(weights)
}
