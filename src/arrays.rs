//! [`Points`] from and to `ndarray` arrays (the `ndarray` feature), for
//! code that already holds its data as an `Array2`.

use ndarray::{Array2, ArrayView2};

use crate::error::Result;
use crate::points::Points;

impl Points {
    /// Copies an `n x dim` array, in any memory layout (C, Fortran or a
    /// strided view), into validated points. An array with no rows or no
    /// columns is an error, as are NaN and infinities.
    ///
    /// ```
    /// use gpu_cluster::Points;
    /// let a = ndarray::array![[0.0f32, 1.0], [2.0, 3.0], [4.0, 5.0]];
    /// let x = Points::from_array(a.view())?;
    /// assert_eq!((x.len(), x.dim()), (3, 2));
    /// assert_eq!(x.view(), a); // and back, without a copy
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn from_array(a: ArrayView2<'_, f32>) -> Result<Self> {
        let dim = a.ncols();
        Self::from_vec(a.iter().copied().collect(), dim)
    }

    /// [`Points::from_array`] for `f64` arrays, like [`Points::from_f64`]:
    /// rounded to `f32` for the work, the `f64` values kept where `f32`
    /// cannot hold them (a value outside `f32`'s range is an error).
    pub fn from_array_f64(a: ArrayView2<'_, f64>) -> Result<Self> {
        let flat: Vec<f64> = a.iter().copied().collect();
        Self::from_f64(&flat, a.ncols())
    }

    /// The points as an `n x dim` array view, without copying.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.len(), self.dim()), self.as_slice())
            .expect("a Points holds len() x dim() values")
    }

    /// The points as an owned `n x dim` array.
    pub fn to_array(&self) -> Array2<f32> {
        self.view().to_owned()
    }

    /// The points' `f64` values ([`Points::to_f64`]) as an owned
    /// `n x dim` array: centres far from the origin with the precision
    /// of the input.
    ///
    /// ```
    /// use gpu_cluster::Points;
    /// let a = ndarray::array![[512329.9985, 5123489.8781]];
    /// let x = Points::from_array_f64(a.view())?;
    /// assert_eq!(x.to_array_f64(), a);
    /// # Ok::<(), gpu_cluster::Error>(())
    /// ```
    pub fn to_array_f64(&self) -> Array2<f64> {
        Array2::from_shape_vec((self.len(), self.dim()), self.to_f64())
            .expect("a Points holds len() x dim() values")
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ShapeBuilder, array};

    use crate::{Error, Points};

    #[test]
    fn any_layout_reads_row_by_row() {
        let c = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut f = Array2::<f32>::zeros((2, 3).f());
        f.assign(&c);
        let from_c = Points::from_array(c.view()).unwrap();
        assert_eq!(Points::from_array(f.view()).unwrap(), from_c);
        assert_eq!(from_c.row(1), &[4.0, 5.0, 6.0]);
        // A strided view: every other column.
        let strided = c.slice(ndarray::s![.., ..;2]);
        assert_eq!(Points::from_array(strided).unwrap().row(1), &[4.0, 6.0]);
        assert_eq!(from_c.to_array(), c);
    }

    #[test]
    fn bad_arrays_are_errors() {
        let empty = Array2::<f32>::zeros((0, 3));
        assert!(matches!(
            Points::from_array(empty.view()),
            Err(Error::EmptyData)
        ));
        let no_columns = Array2::<f32>::zeros((3, 0));
        assert!(matches!(
            Points::from_array(no_columns.view()),
            Err(Error::ZeroDimension)
        ));
        let nan = array![[1.0f32, f32::NAN]];
        assert!(matches!(
            Points::from_array(nan.view()),
            Err(Error::NonFinite { row: 0, col: 1, .. })
        ));
        let huge = array![[1.0f64], [1e300]];
        assert!(matches!(
            Points::from_array_f64(huge.view()),
            Err(Error::NonFinite { row: 1, col: 0, .. })
        ));
        let fine = array![[0.5f64, 2.0]];
        assert_eq!(
            Points::from_array_f64(fine.view()).unwrap().row(0),
            &[0.5, 2.0]
        );
    }
}
