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

use std::path::Path;

use gpu_cluster::Points;
use gpu_cluster::io::{self, ReadInfo, ReadOptions};

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
