//! Reading the points to cluster from `.csv` or `.npy`.
//!
//! The library's `Points` constructors do the validation (empty data,
//! non-finite values, `f64` values too large for `f32`), so the CLI and the
//! library reject the same data; this module only adds where in the file the
//! problem is.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use gpu_cluster::{Error, Points};
use npyz::{DType, Endianness, NpyFile, Order, TypeChar};

use crate::fail::Failure;

/// The file formats the CLI reads and writes, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Npy,
}

impl Format {
    /// The format a path's extension names (case-insensitive).
    pub fn of(path: &Path) -> Result<Self, Failure> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("npy") => Ok(Format::Npy),
            _ => Err(Failure::input(
                path,
                "unknown file type: use a .csv or .npy file",
            )),
        }
    }
}

/// Reads the points in `path`; every problem is a [`Failure::Input`] naming
/// the file and, where it applies, the line or element.
pub fn read_points(path: &Path) -> Result<Points, Failure> {
    let format = Format::of(path)?;
    let file = File::open(path).map_err(|e| Failure::input(path, format!("cannot open: {e}")))?;
    match format {
        Format::Csv => read_csv(path, file),
        Format::Npy => read_npy(path, file),
    }
}

/// CSV: comma-separated numbers, blank lines skipped, fields trimmed. A first
/// row holding anything that is not a number is a header and is skipped.
fn read_csv(path: &Path, file: File) -> Result<Points, Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(BufReader::new(file));
    let mut flat = Vec::new();
    // File line of each data row, so errors point at what an editor shows.
    let mut lines = Vec::new();
    let mut dim = None;
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Failure::input(path, e))?;
        let line = record
            .position()
            .map_or(index as u64 + 1, csv::Position::line);
        let parsed: Result<Vec<f64>, (usize, &str)> = record
            .iter()
            .enumerate()
            .map(|(col, field)| field.parse::<f64>().map_err(|_| (col, field)))
            .collect();
        let row = match parsed {
            Ok(row) => row,
            Err(_) if index == 0 => continue,
            Err((col, field)) => {
                return Err(Failure::input(
                    path,
                    format!("line {line}, column {}: {field:?} is not a number", col + 1),
                ));
            }
        };
        match dim {
            None => dim = Some(row.len()),
            Some(d) if d != row.len() => {
                return Err(Failure::input(
                    path,
                    format!(
                        "line {line} has {} values, expected {d} like the first data row",
                        row.len()
                    ),
                ));
            }
            Some(_) => {}
        }
        flat.extend(row);
        lines.push(line);
    }
    Points::from_f64(&flat, dim.unwrap_or(1)).map_err(|e| match e {
        Error::NonFinite { row, col, value } => Failure::input(
            path,
            format!(
                "line {}, column {}: {value:?} is not a finite f32",
                lines[row],
                col + 1
            ),
        ),
        e => Failure::input(path, e),
    })
}

/// NPY: a 2-D array of little-endian `float32` or `float64`, C or Fortran
/// order. Elements in errors are numbered from 0, like numpy's indices.
fn read_npy(path: &Path, file: File) -> Result<Points, Failure> {
    let file_len = file.metadata().map_or(u64::MAX, |m| m.len());
    let npy = NpyFile::new(BufReader::new(file))
        .map_err(|e| Failure::input(path, format!("not a valid .npy file: {e}")))?;
    let &[n, d] = npy.shape() else {
        return Err(Failure::input(
            path,
            format!("expected a 2-D array, found shape {:?}", npy.shape()),
        ));
    };
    let width = match npy.dtype() {
        DType::Plain(t)
            if t.endianness() == Endianness::Little && t.type_char() == TypeChar::Float =>
        {
            t.size_field()
        }
        _ => 0,
    };
    if width != 4 && width != 8 {
        return Err(Failure::input(
            path,
            format!(
                "unsupported dtype {}: expected little-endian float32 (<f4) or float64 (<f8)",
                npy.dtype().descr()
            ),
        ));
    }
    // Checked before reading so a corrupt header cannot ask for a huge
    // allocation.
    let needed = n.checked_mul(d).and_then(|v| v.checked_mul(width));
    if needed.is_none_or(|b| b > file_len) {
        return Err(Failure::input(
            path,
            format!("truncated: shape [{n}, {d}] needs more data than the file's {file_len} bytes"),
        ));
    }
    let (n, d) = (n as usize, d as usize);
    let order = npy.order();
    let read_err = |e: std::io::Error| Failure::input(path, format!("cannot read the data: {e}"));
    let points = if width == 4 {
        let v = npy.into_vec::<f32>().map_err(read_err)?;
        Points::from_vec(to_row_major(v, n, d, order), d)
    } else {
        let v = npy.into_vec::<f64>().map_err(read_err)?;
        Points::from_f64(&to_row_major(v, n, d, order), d)
    };
    points.map_err(|e| match e {
        Error::NonFinite { row, col, value } => Failure::input(
            path,
            format!("element [{row}, {col}] is {value:?}, not a finite f32"),
        ),
        e => Failure::input(path, e),
    })
}

/// Fortran-order data stored column after column, rearranged into rows.
fn to_row_major<T: Copy>(v: Vec<T>, n: usize, d: usize, order: Order) -> Vec<T> {
    match order {
        Order::C => v,
        Order::Fortran => (0..n * d).map(|i| v[(i % d) * n + i / d]).collect(),
    }
}
