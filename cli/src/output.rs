//! Writing results: labels one integer per line, matrices as CSV rows
//! without a header (floats in Rust's shortest round-trip form, so reading
//! them back gives the same `f32` bits) or as `.npy`, through the library's
//! writers ([`gpu_cluster::io`]); and the lines on stderr. What is the
//! command line's own is here: `-` for stdout, checking the outputs before
//! any work, and a closed pipe.
//!
//! A reader that stops early (`| head`) closes the pipe: the rest of the
//! output is not wanted, which is no failure, so writes to stdout end
//! quietly there (Rust ignores SIGPIPE, so the write reports it instead).

use std::fmt::{self, Display};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use gpu_cluster::Points;
use gpu_cluster::io::Format;

use crate::fail::Failure;

/// One line on stderr. A closed stderr is ignored rather than a panic (as
/// `eprintln!` would): the exit status still tells the caller how it went.
pub fn note(line: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Where a result goes: the file `path` names, or stdout (`None`) when no
/// path or `-` is given.
pub fn destination(path: Option<&Path>) -> Option<&Path> {
    path.filter(|p| *p != Path::new("-"))
}

/// Checks that `path` names a file type the CLI writes: `.csv`, `.npy` (in
/// any case), or `-`, CSV on stdout (text is what a pipe expects).
pub fn check_format(path: &Path) -> Result<(), Failure> {
    match destination(Some(path)).map(Format::from_path) {
        Some(None) => Err(Failure::input(
            path,
            "unknown file type: use a .csv or .npy file",
        )),
        _ => Ok(()),
    }
}

/// Checks, before any work starts, that each output file can be written, so
/// a long run does not end in "cannot write". A file that exists is opened
/// for appending (its contents untouched); one that does not is created and
/// removed again. Special files (a terminal, a pipe) are left to the real
/// write: opening a named pipe an extra time could end its reader's input.
/// `-` (stdout) is left out. Two outputs naming the same file are a usage
/// error: the second would overwrite the first.
pub fn check_writable<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<(), Failure> {
    let mut seen: Vec<&Path> = Vec::new();
    for path in paths {
        if seen.contains(&path) {
            return Err(Failure::Input(format!(
                "{} is named by two outputs: give each its own file",
                path.display()
            )));
        }
        seen.push(path);
        if destination(Some(path)).is_none() {
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(Failure::write(path, "it is a directory")),
            Ok(meta) if meta.is_file() => {
                OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| Failure::write(path, e))?;
            }
            Ok(_) => {}
            Err(_) => match File::create_new(path) {
                Ok(file) => {
                    drop(file);
                    let _ = fs::remove_file(path);
                }
                // A dangling symbolic link: the real write creates its
                // target, or reports why not.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Failure::write(path, e)),
            },
        }
    }
    Ok(())
}

/// Writes one value per line to `path`, or to stdout when `None`.
pub fn write_lines<T: Display>(path: Option<&Path>, values: &[T]) -> Result<(), Failure> {
    to_output(path, |w| {
        for v in values {
            writeln!(w, "{v}")?;
        }
        Ok(())
    })
}

/// Writes each row as a CSV line, no header, to `path` or to stdout when
/// `None`. Rows may differ in length; an empty row is an empty line.
pub fn write_rows<'a, T: Display + 'a>(
    path: Option<&Path>,
    rows: impl IntoIterator<Item = &'a [T]>,
) -> Result<(), Failure> {
    to_output(path, |w| gpu_cluster::io::write_csv(w, rows))
}

/// Writes `points` to `path` as CSV rows, no header, in `f32`'s shortest
/// round-trip form.
pub fn write_csv(path: &Path, points: &Points) -> Result<(), Failure> {
    write_rows(Some(path), points.rows())
}

/// Refuses `--centers -` while the labels go to standard output: one
/// stream cannot carry both. With `--labels FILE`, `-` is standard output.
pub fn check_centres_destination(
    labels: Option<&Path>,
    centres: Option<&Path>,
) -> Result<(), Failure> {
    match (labels, centres.map(|c| destination(Some(c)))) {
        (None, Some(None)) => Err(Failure::Input(
            "--centers -: standard output carries the labels; give --labels a file".into(),
        )),
        _ => Ok(()),
    }
}

/// Writes a fit's centres to `path` (`-`: stdout): a `.npy` array (of
/// `float64` where they hold `f64` values), or CSV rows without a header
/// in the precision the work has. The centres are computed around the
/// data's mean (`offset`) in `f32` and moved back in `f64`, so their `f64`
/// digits past the `f32` resolution of the centred values are rounding,
/// not information: each value is written as the shortest decimal within
/// half that resolution. Far from the origin that keeps millimetres at
/// 5e6 m (`512329.9985`, where `f32` would write `512330`); near it,
/// the familiar short form (`6`, not `6.00000007947286`).
pub fn write_centres(path: &Path, centres: &Points, offset: &[f64]) -> Result<(), Failure> {
    check_format(path)?;
    let to = destination(Some(path));
    if to.is_some() && Format::from_path(path) == Some(Format::Npy) {
        return to_output(to, |w| gpu_cluster::io::write_npy(w, centres));
    }
    if !centres.has_f64() {
        return write_rows(to, centres.rows());
    }
    let dim = centres.dim();
    let values = centres.to_f64();
    // Per column, half the f32 step at the centred centres' extent.
    let tolerance: Vec<f64> = (0..dim)
        .map(|a| {
            let extent = values
                .iter()
                .skip(a)
                .step_by(dim)
                .fold(0.0f64, |m, v| m.max((v - offset[a]).abs()));
            let e = (extent as f32).max(f32::MIN_POSITIVE);
            (f64::from(e.next_up()) - f64::from(e)) / 2.0
        })
        .collect();
    let rows: Vec<Vec<f64>> = values
        .chunks_exact(dim)
        .map(|r| {
            r.iter()
                .zip(&tolerance)
                .map(|(&v, &t)| shortest_within(v, t))
                .collect()
        })
        .collect();
    write_rows(to, rows.iter().map(Vec::as_slice))
}

/// The value with the fewest significant digits within `tolerance` of
/// `v` (`v` itself when none is).
fn shortest_within(v: f64, tolerance: f64) -> f64 {
    (1..=17)
        .filter_map(|digits| format!("{:.*e}", digits - 1, v).parse::<f64>().ok())
        .find(|p| (p - v).abs() <= tolerance)
        .unwrap_or(v)
}

/// Writes `points` to `path` in the format its extension names: CSV rows or
/// a 2-D little-endian `.npy` in C order (`float64` when the points hold
/// `f64` values, `Points::has_f64`, `float32` otherwise); `-` is CSV on
/// stdout.
pub fn write_points(path: &Path, points: &Points) -> Result<(), Failure> {
    check_format(path)?;
    match destination(Some(path)) {
        Some(path) => Ok(gpu_cluster::io::write_points(path, points)?),
        None => to_output(None, |w| gpu_cluster::io::write_points_csv(w, points)),
    }
}

/// Writes through a buffer to `path`, or to stdout when `None`; any
/// failure, flushing included, is a [`Failure::Runtime`], except a closed
/// stdout pipe: the reader has what it wanted.
fn to_output(
    path: Option<&Path>,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    match path {
        Some(path) => to_file(path, body),
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            match body(&mut out).and_then(|()| out.flush()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                done => done.map_err(|e| Failure::Runtime(format!("cannot write to stdout: {e}"))),
            }
        }
    }
}

/// Creates `path` and writes it through a buffer; any failure, flushing
/// included, is a [`Failure::Runtime`] naming the file.
fn to_file(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    let file = File::create(path).map_err(|e| Failure::write(path, e))?;
    let mut w = BufWriter::new(file);
    body(&mut w)
        .and_then(|()| w.flush())
        .map_err(|e| Failure::write(path, e))
}
