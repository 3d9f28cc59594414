//! NPY: numpy's binary array format, read as 2-D float32 or float64 in
//! either order and written as a 2-D little-endian array in C order:
//! float64 when the points hold `f64` values (`Points::has_f64`), float32
//! otherwise.

use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use npyz::{AutoSerialize, DType, Endianness, NpyFile, Order, TypeChar, WriterBuilder};

use super::{ReadInfo, ReadOptions};
use crate::{Error, Points};

/// NPY: a 2-D array of little-endian `float32` or `float64`, C or Fortran
/// order. Elements in errors are numbered from 0, like numpy's indices,
/// and also by row and column from 1. `len` is the file's size in bytes,
/// if known, so a corrupt header cannot ask for a huge allocation.
pub(super) fn read_npy(
    path: &Path,
    input: impl Read,
    len: Option<u64>,
    options: &ReadOptions,
) -> Result<(Points, ReadInfo), String> {
    let file_len = len.unwrap_or(u64::MAX);
    let npy =
        NpyFile::new(BufReader::new(input)).map_err(|e| format!("not a valid .npy file: {e}"))?;
    let &[n, d] = npy.shape() else {
        return Err(format!(
            "expected a 2-D array, found shape {:?}",
            npy.shape()
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
        return Err(format!(
            "unsupported dtype {}: expected little-endian float32 (<f4) or float64 (<f8)",
            npy.dtype().descr()
        ));
    }
    // Checked before reading so a corrupt header cannot ask for a huge
    // allocation.
    let needed = n.checked_mul(d).and_then(|v| v.checked_mul(width));
    if needed.is_none_or(|b| b > file_len) {
        return Err(format!(
            "truncated: shape [{n}, {d}] needs more data than the file's {file_len} bytes"
        ));
    }
    let (n, d) = (n as usize, d as usize);
    let cols = match &options.columns {
        Some(c) => c.resolve(d, None)?,
        None => (0..d).collect(),
    };
    let order = npy.order();
    let read_err = |e: io::Error| format!("cannot read the data: {e}");
    let points = if width == 4 {
        let v = npy.into_vec::<f32>().map_err(read_err)?;
        Points::from_vec(select(v, n, d, order, &cols), cols.len())
    } else {
        let v = npy.into_vec::<f64>().map_err(read_err)?;
        Points::from_f64(&select(v, n, d, order, &cols), cols.len())
    };
    let points = points.map_err(|e| match e {
        Error::NonFinite { row, col, value } => {
            let c = cols[col];
            format!(
                "element [{row}, {c}] is {value:?}, not a finite f32 (row {}, column {})",
                row + 1,
                c + 1
            )
        }
        e => e.to_string(),
    })?;
    let info = ReadInfo {
        path: path.to_path_buf(),
        header: None,
        delimiter: None,
        columns: cols,
        width: d,
        pandas_index: false,
        notes: Vec::new(),
    };
    Ok((points, info))
}

/// The `cols` of an `n x d` array stored in `order`, as rows.
fn select<T: Copy>(v: Vec<T>, n: usize, d: usize, order: Order, cols: &[usize]) -> Vec<T> {
    let all = cols.iter().copied().eq(0..d);
    match order {
        Order::C if all => v,
        Order::C => (0..n)
            .flat_map(|i| cols.iter().map(move |&c| i * d + c))
            .map(|at| v[at])
            .collect(),
        Order::Fortran => (0..n)
            .flat_map(|i| cols.iter().map(move |&c| c * n + i))
            .map(|at| v[at])
            .collect(),
    }
}

/// Writes `points` to `w` as a `.npy` file: a 2-D array of shape
/// `[len, dim]` in C order, which `numpy.load` reads as it is and
/// [`read_points`](super::read_points) reads back bit for bit. The dtype
/// is the values' precision: little-endian `float64` (`<f8`) for points
/// that hold `f64` values ([`Points::has_f64`]: `f64` input, and centres
/// and positions moved back from the centred `f32` work), `float32`
/// (`<f4`) otherwise.
///
/// The array is streamed, so `w` need not seek (a pipe will do); give a
/// file through a [`BufWriter`](std::io::BufWriter).
///
/// ```
/// use gpu_cluster::Points;
/// let x = Points::new(&[1.0, 2.0, 3.0, 4.0], 2)?;
/// let mut out = Vec::new();
/// gpu_cluster::io::write_npy(&mut out, &x).unwrap();
/// assert!(out.starts_with(b"\x93NUMPY"));
/// assert!(out.ends_with(&4.0f32.to_le_bytes()));
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
pub fn write_npy(w: impl Write, points: &Points) -> io::Result<()> {
    match points.has_f64() {
        true => write_matrix(w, &points.to_f64(), points.len(), points.dim()),
        false => write_matrix(w, points.as_slice(), points.len(), points.dim()),
    }
}

/// Writes the row-major `n x d` matrix `values` as a 2-D `.npy` in C
/// order, with numpy's default dtype for `T` (`<f4` for `f32`, `<f8` for
/// `f64`).
fn write_matrix<T: AutoSerialize + Copy>(
    w: impl Write,
    values: &[T],
    n: usize,
    d: usize,
) -> io::Result<()> {
    debug_assert_eq!(values.len(), n * d);
    let shape = [n as u64, d as u64];
    let mut npy = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(&shape)
        .writer(w)
        .begin_nd()?;
    npy.extend(values.iter().copied())?;
    npy.finish()
}
