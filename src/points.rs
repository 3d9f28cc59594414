//! [`Points`]: the validated, row-major `f32` matrix every algorithm takes,
//! with the `f64` values it was made from when those say more.
//!
//! Validation happens once, here, so the algorithms and the GPU stages can
//! assume a non-empty, rectangular, finite matrix.
//!
//! Precision: the work is `f32`, the edges are `f64`. Coordinates far from
//! the origin (UTM northings around 5e6 m) have steps of 0.5 m in `f32`,
//! so points given as `f64` keep their `f64` values here; fits subtract
//! the mean from those in `f64` before rounding to `f32`, where the
//! differences that matter are small, and add it back in `f64` to what
//! they return.

use std::sync::Arc;

use crate::error::{Error, Result};

/// A non-empty `n x d` matrix of finite `f32`, stored row-major, and the
/// exact `f64` values behind it when it was made from `f64` that `f32`
/// cannot hold ([`Points::from_f64`], and what fits return: centres and
/// positions are computed around the data's mean and moved back in `f64`).
///
/// The `f32` values ([`as_slice`](Points::as_slice), [`row`](Points::row))
/// are what the GPU stages see; [`to_f64`](Points::to_f64) gives the `f64`
/// values, exact when the points hold them. Fits centre the data with the
/// `f64` values, so data far from the origin loses nothing to `f32` before
/// the work starts:
///
/// ```
/// use gpu_cluster::Points;
/// let utm = Points::from_f64(&[512329.9985, 5123489.8781], 2)?;
/// assert_eq!(utm.row(0), &[512330.0, 5123490.0]); // f32: steps of 0.5 m up there
/// assert_eq!(utm.to_f64(), [512329.9985, 5123489.8781]); // as given
/// # Ok::<(), gpu_cluster::Error>(())
/// ```
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
/// `f32` (`1e39`) are errors, with the messages of [`Error`]. Points that
/// hold `f64` values write those, and read back holding them.
#[derive(Clone)]
pub struct Points {
    data: Values,
    dim: usize,
    /// The `f64` values `data` was rounded from, when at least one of them
    /// is not an `f32`; `None` when `data` says it all.
    exact: Option<Vec<f64>>,
}

/// Where a `Points`' `f32` values live: its own buffer, or one it was lent
/// ([`Points::from_owner`]).
#[derive(Clone)]
enum Values {
    Owned(Vec<f32>),
    Shared(Arc<dyn AsRef<[f32]> + Send + Sync>),
}

impl std::ops::Deref for Values {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            Values::Owned(v) => v,
            Values::Shared(owner) => (**owner).as_ref(),
        }
    }
}

impl PartialEq for Points {
    fn eq(&self, other: &Self) -> bool {
        self.dim == other.dim && self.as_slice() == other.as_slice() && self.exact == other.exact
    }
}

impl std::fmt::Debug for Points {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Points")
            .field("data", &self.as_slice())
            .field("dim", &self.dim)
            .field("exact", &self.exact)
            .finish()
    }
}

/// The checks every constructor makes on a flat buffer: a dimension, some
/// values, whole rows, all finite.
fn check_flat(data: &[f32], dim: usize) -> Result<()> {
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
    Ok(())
}

impl Points {
    /// Copies a flat row-major buffer of `len() * dim` values.
    pub fn new(flat: &[f32], dim: usize) -> Result<Self> {
        Self::from_vec(flat.to_vec(), dim)
    }

    /// Takes ownership of a flat row-major buffer.
    pub fn from_vec(data: Vec<f32>, dim: usize) -> Result<Self> {
        check_flat(&data, dim)?;
        Ok(Self {
            data: Values::Owned(data),
            dim,
            exact: None,
        })
    }

    /// Reads the values of `owner` in place, without copying them: for a
    /// buffer that already exists and may be large (a memory map, an
    /// `Arc<[f32]>` shared with other code, another language's array).
    /// The points keep `owner` (and clones of the points share it) until
    /// the last of them is dropped. The values are checked as
    /// [`Points::from_vec`] checks them; `owner.as_ref()` must give the same
    /// values every time (the crate reads them more than once, and an index
    /// built on them keeps a copy of its own).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gpu_cluster::Points;
    /// let values: Arc<[f32]> = Arc::from([0.0, 1.0, 2.0, 3.0]);
    /// let x = Points::from_owner(Arc::clone(&values), 2)?;
    /// assert_eq!(x.as_slice().as_ptr(), values.as_ptr()); // not copied
    /// assert_eq!(x.row(1), &[2.0, 3.0]);
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn from_owner(
        owner: impl AsRef<[f32]> + Send + Sync + 'static,
        dim: usize,
    ) -> Result<Self> {
        check_flat(owner.as_ref(), dim)?;
        Ok(Self {
            data: Values::Shared(Arc::new(owner)),
            dim,
            exact: None,
        })
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

    /// Converts `f64` data, keeping the `f64` values when `f32` cannot hold
    /// them all (see [`to_f64`](Points::to_f64)); a value outside `f32`'s
    /// range is reported as [`Error::NonFinite`] rather than silently
    /// becoming infinite.
    pub fn from_f64(flat: &[f64], dim: usize) -> Result<Self> {
        let mut rounded = Vec::with_capacity(flat.len());
        let mut exact = true;
        for (i, &v) in flat.iter().enumerate() {
            let r = v as f32;
            if !r.is_finite() {
                let dim = dim.max(1);
                return Err(Error::NonFinite {
                    row: i / dim,
                    col: i % dim,
                    value: v,
                });
            }
            exact &= f64::from(r) == v;
            rounded.push(r);
        }
        let mut points = Self::from_vec(rounded, dim)?;
        if !exact {
            points.exact = Some(flat.to_vec());
        }
        Ok(points)
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

    /// The same points holding their own values: a copy where they were
    /// lent ([`Points::from_owner`]), themselves otherwise. For whoever
    /// keeps points beyond the call that received them (an index), so
    /// that the values cannot change under it.
    pub(crate) fn into_owned(self) -> Self {
        match self.data {
            Values::Owned(_) => self,
            Values::Shared(owner) => Self {
                data: Values::Owned((*owner).as_ref().to_vec()),
                ..self
            },
        }
    }

    /// Gives the flat `f32` buffer back (a copy of a lent one).
    pub fn into_vec(self) -> Vec<f32> {
        match self.data {
            Values::Owned(v) => v,
            Values::Shared(owner) => (*owner).as_ref().to_vec(),
        }
    }

    /// The values in `f64`, flat and row-major: the `f64` values the points
    /// were made from where `f32` could not hold them, the `f32` values
    /// widened (exactly) otherwise.
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.exact {
            Some(exact) => exact.clone(),
            None => self.data.iter().map(|&v| f64::from(v)).collect(),
        }
    }

    /// Whether the points hold `f64` values that their `f32` values round
    /// (then [`to_f64`](Points::to_f64) says more than
    /// [`as_slice`](Points::as_slice)).
    pub fn has_f64(&self) -> bool {
        self.exact.is_some()
    }
}

/// Largest distance of a coordinate from its mean that the `f32` stages can
/// square and sum over 1024+ dimensions without overflowing.
pub(crate) const MAX_SPREAD: f64 = 1e15;

/// Rejects data whose coordinates lie so far apart that squared distances
/// would overflow `f32`.
pub(crate) fn check_spread(x: &Points) -> Result<()> {
    let d = x.dim();
    // In `f32`, widened at the end: the values are finite, and widening
    // keeps order, so these are the `f64` extremes.
    let mut lo = vec![f32::INFINITY; d];
    let mut hi = vec![f32::NEG_INFINITY; d];
    for r in x.rows() {
        for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(r) {
            *l = if v < *l { v } else { *l };
            *h = if v > *h { v } else { *h };
        }
    }
    let spread = |k: usize| f64::from(hi[k]) - f64::from(lo[k]);
    match (0..d).find(|&k| spread(k) > MAX_SPREAD) {
        Some(col) => Err(Error::SpreadTooLarge {
            col,
            spread: spread(col),
        }),
        None => Ok(()),
    }
}

/// Checks sample weights for `n` points: one each, finite and `>= 0`.
pub(crate) fn check_weights(w: &[f32], n: usize) -> Result<()> {
    if w.len() != n {
        return Err(Error::WeightsLength {
            expected: n,
            found: w.len(),
        });
    }
    match w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(index) => Err(Error::InvalidWeight {
            index,
            value: w[index],
        }),
        None => Ok(()),
    }
}

/// Per-coordinate mean in `f64`, of the `f64` values where the points
/// hold them.
pub(crate) fn mean_f64(x: &Points) -> Vec<f64> {
    let mut mean = match &x.exact {
        Some(exact) => column_sums(exact, x.dim()),
        None => column_sums(x.as_slice(), x.dim()),
    };
    let n = x.len() as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    mean
}

/// Each column's sum in `f64`, rows added in order.
fn column_sums<T: Copy + Into<f64>>(flat: &[T], dim: usize) -> Vec<f64> {
    let mut sums = vec![0.0f64; dim];
    for r in flat.chunks_exact(dim) {
        for (s, &v) in sums.iter_mut().zip(r) {
            *s += v.into();
        }
    }
    sums
}

/// The points minus `mean`, subtracted in `f64` (from the `f64` values
/// where the points hold them) and rounded once to `f32`.
pub(crate) fn centre(x: &Points, mean: &[f64]) -> Vec<f32> {
    match &x.exact {
        Some(exact) => centre_rows(exact, mean),
        None => centre_rows(x.as_slice(), mean),
    }
}

fn centre_rows<T: Copy + Into<f64>>(flat: &[T], mean: &[f64]) -> Vec<f32> {
    let mut out = Vec::with_capacity(flat.len());
    for r in flat.chunks_exact(mean.len()) {
        out.extend(r.iter().zip(mean).map(|(&v, m)| (v.into() - m) as f32));
    }
    out
}

/// Adds `mean` back to centred rows in `f64`: points whose `f64` values
/// are the `f32` results moved back exactly, as far as `f64` goes.
pub(crate) fn uncentre(flat: &[f32], mean: &[f64]) -> Result<Points> {
    let mut values = Vec::with_capacity(flat.len());
    for r in flat.chunks_exact(mean.len()) {
        values.extend(r.iter().zip(mean).map(|(&a, m)| f64::from(a) + m));
    }
    Points::from_f64(&values, mean.len())
}

// Serde: see the `Points` docs for the format and why values are widened.
#[cfg(feature = "serde")]
mod serde_impl {
    use super::Points;
    use crate::error::Error;
    use serde::de::{self, Deserialize, Deserializer};
    use serde::ser::{Serialize, Serializer};

    /// One row of `f64` values.
    struct Row<'a>(&'a [f64]);

    impl Serialize for Row<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0)
        }
    }

    impl Serialize for Points {
        /// The `f64` values: those held, or the `f32` ones widened.
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let values = self.to_f64();
            serializer.collect_seq(values.chunks_exact(self.dim()).map(Row))
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
