//! Writing results: labels one integer per line, matrices as CSV rows
//! without a header (floats in Rust's shortest round-trip form, so reading
//! them back gives the same `f32` bits) or as `.npy`.

use std::fmt::Display;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use gpu_cluster::Points;
use npyz::WriterBuilder;

use crate::fail::Failure;
use crate::input::Format;

/// Writes one value per line to `path`, or to stdout when `None`.
pub fn write_lines<T: Display>(path: Option<&Path>, values: &[T]) -> Result<(), Failure> {
    let body = |w: &mut dyn Write| -> io::Result<()> {
        for v in values {
            writeln!(w, "{v}")?;
        }
        Ok(())
    };
    match path {
        Some(path) => to_file(path, body),
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            body(&mut out)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::Runtime(format!("cannot write to stdout: {e}")))
        }
    }
}

/// Writes `points` to `path` as CSV rows, no header.
pub fn write_csv(path: &Path, points: &Points) -> Result<(), Failure> {
    to_file(path, |w| {
        for row in points.rows() {
            let mut sep = "";
            for v in row {
                write!(w, "{sep}{v}")?;
                sep = ",";
            }
            writeln!(w)?;
        }
        Ok(())
    })
}

/// Writes `points` to `path` in the format its extension names: CSV rows or
/// a 2-D little-endian `float32` `.npy` in C order.
pub fn write_points(path: &Path, points: &Points) -> Result<(), Failure> {
    match Format::of(path)? {
        Format::Csv => write_csv(path, points),
        Format::Npy => to_file(path, |w| {
            let shape = [points.len() as u64, points.dim() as u64];
            let mut npy = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&shape)
                .writer(w)
                .begin_nd()?;
            npy.extend(points.as_slice().iter().copied())?;
            npy.finish()
        }),
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
