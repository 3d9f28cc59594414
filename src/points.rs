//! [`Points`]: the validated, row-major `f32` matrix every algorithm takes.
//!
//! Validation happens once, here, so the algorithms and the GPU stages can
//! assume a non-empty, rectangular, finite matrix.

use crate::error::{Error, Result};

/// A non-empty `n x d` matrix of finite `f32`, stored row-major.
///
/// ```
/// use gpu_cluster::Points;
/// let x = Points::new(&[0.0, 0.0, 1.0, 1.0, 9.0, 9.0], 2)?;
/// assert_eq!((x.len(), x.dim()), (3, 2));
/// assert_eq!(x.row(2), &[9.0, 9.0]);
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
///
/// With the `serde` feature, a `Points` is a sequence of rows, each a
/// sequence of numbers: `[[1.0, 2.0], [3.0, 4.0]]` in JSON, which
/// `numpy.asarray` reads as it is. The values are written widened to `f64`,
/// which is exact, so formats that read numbers as `f64` (serde_json,
/// Python's `json`) give the same `f32` bits back: `0.1f32` is written
/// `0.10000000149011612`, the `float(numpy.float32(0.1))` of Python.
/// Reading goes through the constructors, so a file gets no more trust than
/// other input: no rows, empty rows, ragged rows and values not finite as
/// `f32` (`1e39`) are errors, with the messages of [`Error`].
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    data: Vec<f32>,
    dim: usize,
}

impl Points {
    /// Copies a flat row-major buffer of `len() * dim` values.
    pub fn new(flat: &[f32], dim: usize) -> Result<Self> {
        Self::from_vec(flat.to_vec(), dim)
    }

    /// Takes ownership of a flat row-major buffer.
    pub fn from_vec(data: Vec<f32>, dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension);
        }
        if data.is_empty() {
            return Err(Error::EmptyData);
        }
        if !data.len().is_multiple_of(dim) {
            return Err(Error::LengthNotMultiple {
                len: data.len(),
                dim,
            });
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                row: i / dim,
                col: i % dim,
                value: f64::from(data[i]),
            });
        }
        Ok(Self { data, dim })
    }

    /// Builds from rows, which must all have the length of the first.
    ///
    /// ```
    /// use gpu_cluster::{Error, Points};
    /// let err = Points::from_rows(&[vec![1.0, 2.0], vec![3.0]]).unwrap_err();
    /// assert!(matches!(err, Error::RaggedRows { row: 1, .. }));
    /// ```
    pub fn from_rows<R: AsRef<[f32]>>(rows: &[R]) -> Result<Self> {
        let first = rows.first().ok_or(Error::EmptyData)?.as_ref().len();
        let mut data = Vec::with_capacity(first * rows.len());
        for (row, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != first {
                return Err(Error::RaggedRows {
                    row,
                    expected: first,
                    found: r.len(),
                });
            }
            data.extend_from_slice(r);
        }
        Self::from_vec(data, first)
    }

    /// Converts `f64` data; a value outside `f32`'s range is reported as
    /// [`Error::NonFinite`] rather than silently becoming infinite.
    pub fn from_f64(flat: &[f64], dim: usize) -> Result<Self> {
        if let Some(i) = flat.iter().position(|v| !(*v as f32).is_finite()) {
            let dim = dim.max(1);
            return Err(Error::NonFinite {
                row: i / dim,
                col: i % dim,
                value: flat[i],
            });
        }
        Self::from_vec(flat.iter().map(|&v| v as f32).collect(), dim)
    }

    /// Number of points (rows); never 0.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Always `false`: a `Points` holds at least one row. Present because
    /// `len` is.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Number of coordinates per point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The flat row-major values.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Row `i`. Panics if `i >= len()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Iterates over the rows.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(self.dim)
    }

    /// Gives the flat buffer back.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
}

/// Per-coordinate mean in `f64`.
pub(crate) fn mean_f64(x: &Points) -> Vec<f64> {
    let mut mean = vec![0.0f64; x.dim()];
    for r in x.rows() {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += f64::from(*v);
        }
    }
    let n = x.len() as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    mean
}

/// Subtracts `mean` from every row, in `f64`, rounding once to `f32`.
pub(crate) fn centre_with(flat: &[f32], mean: &[f64]) -> Vec<f32> {
    flat.chunks_exact(mean.len())
        .flat_map(|r| r.iter().zip(mean).map(|(v, m)| (f64::from(*v) - m) as f32))
        .collect()
}

// Serde: see the `Points` docs for the format and why values are widened.
#[cfg(feature = "serde")]
mod serde_impl {
    use super::Points;
    use crate::error::Error;
    use serde::de::{self, Deserialize, Deserializer};
    use serde::ser::{Serialize, SerializeSeq, Serializer};

    /// One row, its values widened to `f64` as they are written.
    struct Row<'a>(&'a [f32]);

    impl Serialize for Row<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
            for &v in self.0 {
                seq.serialize_element(&f64::from(v))?;
            }
            seq.end()
        }
    }

    impl Serialize for Points {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(Some(self.len()))?;
            for row in self.rows() {
                seq.serialize_element(&Row(row))?;
            }
            seq.end()
        }
    }

    impl<'de> Deserialize<'de> for Points {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let rows = Vec::<Vec<f64>>::deserialize(deserializer)?;
            from_rows_f64(&rows).map_err(de::Error::custom)
        }
    }

    /// [`Points::from_rows`] for `f64` rows: ragged rows are refused, and
    /// the values go through [`Points::from_f64`] (finite as `f32`), which
    /// checks the rest.
    fn from_rows_f64(rows: &[Vec<f64>]) -> Result<Points, Error> {
        let dim = rows.first().ok_or(Error::EmptyData)?.len();
        if let Some(row) = rows.iter().position(|r| r.len() != dim) {
            return Err(Error::RaggedRows {
                row,
                expected: dim,
                found: rows[row].len(),
            });
        }
        Points::from_f64(&rows.concat(), dim)
    }
}
