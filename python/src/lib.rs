//! `gpu_cluster._native`: the Rust side of the Python package.
//!
//! Thin functions over the `gpu-cluster` API; the scikit-learn estimators
//! (parameter handling, validation, fitted attributes) are the Python layer
//! in `gpu_cluster/`. Data arrive as 2-D `float32` or `float64` numpy
//! arrays: a C-contiguous `float32` one is lent to the points as it is (no
//! copy at all), a C-contiguous `float64` one is read in place and rounded
//! once, others are copied element by element. Every fit runs with the GIL released, on one
//! [`Context`] per backend opened once per process and shared.

use std::sync::{Arc, OnceLock};

use gpu_cluster::meanshift::{Distances, Method};
use gpu_cluster::{
    BandwidthEstimate, Context, Dbscan, Error, KMeans, KMeansFit, KMeansInit, Kernel, KnnIndex,
    MeanShift, MeanShiftFit, Metric, Mode, NearestNeighbors, Points,
};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// A Rust error as a Python exception: data and parameter errors are
/// `ValueError`, failures at run time (the device, a file) `RuntimeError`,
/// each with the Rust message.
fn to_py(e: Error) -> PyErr {
    match e {
        // scikit-learn's words first, so code matching them still works.
        Error::NoPointInRange { bandwidth } => PyValueError::new_err(format!(
            "No point was within bandwidth={bandwidth:.6} of any seed. Try a different \
             seeding strategy or increase the bandwidth. ({e})"
        )),
        // A saved model that cannot be used came from the caller too.
        Error::Model(_) => PyValueError::new_err(e.to_string()),
        e if e.is_input() => PyValueError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// One context per backend, opened on first use and shared by every
/// estimator of the process (a GPU device, its queue and its compiled
/// pipelines are worth keeping).
static CONTEXTS: [OnceLock<Result<Context, Error>>; 3] =
    [OnceLock::new(), OnceLock::new(), OnceLock::new()];

fn backend_slot(backend: &str) -> PyResult<usize> {
    match backend {
        "auto" => Ok(0),
        "cpu" => Ok(1),
        "gpu" => Ok(2),
        _ => Err(value_error(format!(
            "unknown backend {backend:?}: use 'auto', 'gpu' or 'cpu'"
        ))),
    }
}

/// The shared context of a backend slot (call without the GIL: opening a
/// GPU takes a while the first time).
fn context(slot: usize) -> Result<Context, Error> {
    CONTEXTS[slot]
        .get_or_init(|| match slot {
            0 => Context::auto(),
            1 => Ok(Context::cpu()),
            _ => Context::gpu(),
        })
        .clone()
}

/// Where a backend runs, e.g. "CPU (2 threads)" or the adapter's name.
#[pyfunction]
fn backend_info(py: Python<'_>, backend: &str) -> PyResult<String> {
    let slot = backend_slot(backend)?;
    py.detach(|| context(slot).map(|c| c.to_string()))
        .map_err(to_py)
}

/// The values of a 2-D array, borrowed when they can be.
enum Values<'a> {
    /// A C-contiguous float32 array, lent to the points as it is.
    F32(Lent),
    F64(&'a [f64]),
    F32Owned(Vec<f32>),
    F64Owned(Vec<f64>),
}

/// A C-contiguous float32 numpy array lent to [`Points::from_owner`]: the
/// points read its buffer in place, with no copy, for as long as they live.
/// The reference keeps the array, and so its buffer, alive (numpy refuses
/// to resize an array others refer to). What outlives a call keeps its own
/// copy (a fitted nearest-neighbour index), so changing the array between
/// calls changes nothing already fitted. As with any code that reads numpy
/// data without the GIL, writing to the array from Python while a fit
/// reads it is the caller's race.
#[derive(Clone)]
struct Lent {
    _array: Arc<Py<PyArray2<f32>>>,
    values: *const f32,
    len: usize,
}

// SAFETY: `values` points into the buffer `_array` keeps alive and is only
// read; a `Py` may be moved and dropped on any thread (pyo3 defers the
// decrement to a thread holding the GIL).
unsafe impl Send for Lent {}
// SAFETY: as above: shared access only reads.
unsafe impl Sync for Lent {}

impl AsRef<[f32]> for Lent {
    fn as_ref(&self) -> &[f32] {
        // SAFETY: `len` values, C-contiguous and aligned (checked when lent),
        // in a buffer that lives as long as `_array`.
        unsafe { std::slice::from_raw_parts(self.values, self.len) }
    }
}

/// A 2-D float32 or float64 array, held for reading.
enum Held<'py> {
    F32(numpy::PyReadonlyArray2<'py, f32>),
    F64(numpy::PyReadonlyArray2<'py, f64>),
}

impl<'py> Held<'py> {
    fn new(x: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = x.cast::<PyArray2<f32>>() {
            Ok(Held::F32(a.readonly()))
        } else if let Ok(a) = x.cast::<PyArray2<f64>>() {
            Ok(Held::F64(a.readonly()))
        } else {
            Err(value_error(
                "expected a 2-D numpy array of float32 or float64 (the Python layer converts others)",
            ))
        }
    }

    fn is_f64(&self) -> bool {
        matches!(self, Held::F64(_))
    }

    fn dim(&self) -> usize {
        match self {
            Held::F32(a) => a.shape()[1],
            Held::F64(a) => a.shape()[1],
        }
    }

    /// The values, row-major: in place when C-contiguous (`as_slice` also
    /// accepts Fortran order, whose slice is column-major: not that).
    fn values(&self) -> Values<'_> {
        match self {
            Held::F32(a) => match a.as_slice() {
                Ok(s) if a.is_c_contiguous() => Values::F32(Lent {
                    _array: Arc::new((**a).clone().unbind()),
                    values: s.as_ptr(),
                    len: s.len(),
                }),
                _ => Values::F32Owned(a.as_array().iter().copied().collect()),
            },
            Held::F64(a) => match a.as_slice() {
                Ok(s) if a.is_c_contiguous() => Values::F64(s),
                _ => Values::F64Owned(a.as_array().iter().copied().collect()),
            },
        }
    }
}

impl Values<'_> {
    /// The points (checked without the GIL): a float32 C-contiguous array
    /// read in place, others converted.
    fn points(&self, dim: usize) -> Result<Points, Error> {
        match self {
            Values::F32(lent) => Points::from_owner(lent.clone(), dim),
            Values::F64(s) => Points::from_f64(s, dim),
            Values::F32Owned(v) => Points::new(v, dim),
            Values::F64Owned(v) => Points::from_f64(v, dim),
        }
    }
}

/// The address of the `f32` values of the points a fit makes of `x`:
/// `x.ctypes.data` when they are read in place (the zero-copy test).
#[pyfunction]
fn points_address(x: &Bound<'_, PyAny>) -> PyResult<usize> {
    let held = Held::new(x)?;
    let points = held.values().points(held.dim()).map_err(to_py)?;
    Ok(points.as_slice().as_ptr() as usize)
}

/// Points as an array of the input's dtype (`float64`: the `f64` values).
fn points_array<'py>(py: Python<'py>, p: &Points, f64_out: bool) -> PyResult<Bound<'py, PyAny>> {
    let shape = [p.len(), p.dim()];
    Ok(if f64_out {
        p.to_f64().into_pyarray(py).reshape(shape)?.into_any()
    } else {
        p.as_slice()
            .to_vec()
            .into_pyarray(py)
            .reshape(shape)?
            .into_any()
    })
}

fn labels_array<'py>(py: Python<'py>, labels: &[i32]) -> Bound<'py, PyArray1<i64>> {
    labels
        .iter()
        .map(|&l| i64::from(l))
        .collect::<Vec<_>>()
        .into_pyarray(py)
}

fn parse_kernel(kernel: Option<&str>) -> PyResult<Option<Kernel>> {
    kernel
        .map(|k| k.parse::<Kernel>().map_err(value_error))
        .transpose()
}

fn parse_mode(mode: &str) -> PyResult<Mode> {
    match mode {
        "standard" => Ok(Mode::Standard),
        "blurring" => Ok(Mode::Blurring),
        _ => Err(value_error(format!(
            "unknown mode {mode:?}: use 'standard' or 'blurring'"
        ))),
    }
}

fn parse_method(method: &str) -> PyResult<Method> {
    match method {
        "auto" => Ok(Method::Auto),
        "dense" => Ok(Method::Dense),
        "grid" => Ok(Method::Grid),
        _ => Err(value_error(format!(
            "unknown method {method:?}: use 'auto', 'dense' or 'grid'"
        ))),
    }
}

fn parse_distances(distances: &str) -> PyResult<Distances> {
    match distances {
        "direct" => Ok(Distances::Direct),
        "expanded" => Ok(Distances::Expanded),
        _ => Err(value_error(format!(
            "unknown distances {distances:?}: use 'direct' or 'expanded'"
        ))),
    }
}

// ---------------------------------------------------------------------------
// Mean shift.

/// A fitted mean-shift model (`MeanShiftFit`), and whether its input was
/// float64 (outputs follow the input's dtype).
#[pyclass(frozen, module = "gpu_cluster._native")]
struct MeanShiftModel {
    fit: MeanShiftFit,
    f64_out: bool,
}

#[pymethods]
impl MeanShiftModel {
    /// Cluster centres, `k x d`, label order.
    fn cluster_centers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        points_array(py, self.fit.centers(), self.f64_out)
    }

    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        labels_array(py, self.fit.labels())
    }

    #[getter]
    fn n_iter(&self) -> usize {
        self.fit.n_iter()
    }

    #[getter]
    fn bandwidth(&self) -> f64 {
        f64::from(self.fit.bandwidth())
    }

    /// How the kernel sums ran: "dense" or "grid".
    #[getter]
    fn method(&self) -> &'static str {
        match self.fit.method() {
            Method::Grid => "grid",
            _ => "dense",
        }
    }

    /// How the kernel sums computed squared distances: "direct", or
    /// "expanded" where asked for on rows of more than 32 coordinates.
    #[getter]
    fn distances(&self) -> &'static str {
        match self.fit.distances() {
            Distances::Expanded => "expanded",
            _ => "direct",
        }
    }

    /// The bound on the gaussian weight a grid's cut left out, or None.
    #[getter]
    fn gaussian_tail(&self) -> Option<f64> {
        self.fit.gaussian_tail()
    }

    #[getter]
    fn counts(&self) -> Vec<usize> {
        self.fit.counts().to_vec()
    }

    #[getter]
    fn intensities(&self) -> Vec<f32> {
        self.fit.intensities().to_vec()
    }

    #[getter]
    fn stop_reason(&self) -> String {
        format!("{:?}", self.fit.stop_reason())
    }

    /// scikit-learn's `predict`: the nearest centre (ties: lowest label),
    /// whatever `cluster_all` was.
    /// (`cluster_all`: the fit's, which the library's `predict` applies.)
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        backend: &str,
        cluster_all: bool,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let slot = backend_slot(backend)?;
        let held = Held::new(x)?;
        let (values, dim) = (held.values(), held.dim());
        let fit = &self.fit;
        let labels = py
            .detach(|| -> Result<Vec<i32>, Error> {
                let ctx = context(slot)?;
                let x = values.points(dim)?;
                if !cluster_all {
                    // Labels without the -1 rule: the nearest centre.
                    let index = NearestNeighbors::new().fit(&ctx, fit.centers())?;
                    let found = index.kneighbors(Some(&x), 1)?;
                    Ok(found.all_indices().iter().map(|&i| i as i32).collect())
                } else {
                    fit.predict_on(&ctx, &x)
                }
            })
            .map_err(to_py)?;
        Ok(labels_array(py, &labels))
    }

    /// The model as the library's JSON document (pickling).
    fn to_json(&self) -> String {
        self.fit.to_json()
    }

    #[staticmethod]
    fn from_json(json: &str, f64_out: bool) -> PyResult<Self> {
        Ok(Self {
            fit: MeanShiftFit::from_json(json).map_err(to_py)?,
            f64_out,
        })
    }

    #[getter]
    fn f64_out(&self) -> bool {
        self.f64_out
    }
}

/// Fits mean shift. `bandwidth = None` estimates it (scikit-learn's
/// defaults: quantile 0.3, all points).
#[pyfunction]
#[pyo3(signature = (x, bandwidth, seeds, bin_seeding, min_bin_freq, cluster_all, max_iter, kernel, mode, backend, method = "auto", gaussian_cutoff = Some(3.0), distances = "direct"))]
#[allow(clippy::too_many_arguments)]
fn mean_shift_fit(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    bandwidth: Option<f64>,
    seeds: Option<&Bound<'_, PyAny>>,
    bin_seeding: bool,
    min_bin_freq: usize,
    cluster_all: bool,
    max_iter: usize,
    kernel: Option<&str>,
    mode: &str,
    backend: &str,
    method: &str,
    gaussian_cutoff: Option<f64>,
    distances: &str,
) -> PyResult<MeanShiftModel> {
    let slot = backend_slot(backend)?;
    let kernel = parse_kernel(kernel)?;
    let mode = parse_mode(mode)?;
    let method = parse_method(method)?;
    let distances = parse_distances(distances)?;
    let held = Held::new(x)?;
    let f64_out = held.is_f64();
    let (values, dim) = (held.values(), held.dim());
    let seeds = seeds.map(Held::new).transpose()?;
    let seed_values = seeds.as_ref().map(|s| (s.values(), s.dim()));
    let fit = py
        .detach(|| -> Result<MeanShiftFit, Error> {
            let ctx = context(slot)?;
            let x = values.points(dim)?;
            let mut ms = match bandwidth {
                Some(h) => MeanShift::new(h as f32),
                None => MeanShift::default(),
            }
            .mode(mode)
            .bin_seeding(bin_seeding)
            .min_bin_freq(min_bin_freq)
            .cluster_all(cluster_all)
            .max_iter(max_iter)
            .method(method)
            .distances(distances)
            .gaussian_cutoff(gaussian_cutoff.map(|c| c as f32));
            if let Some(k) = kernel {
                ms = ms.kernel(k);
            }
            if let Some((v, d)) = &seed_values {
                ms = ms.seeds(v.points(*d)?);
            }
            ms.fit(&ctx, &x)
        })
        .map_err(to_py)?;
    Ok(MeanShiftModel { fit, f64_out })
}

/// scikit-learn's `estimate_bandwidth`; a subset of `n_samples` points is
/// drawn with `seed` (ChaCha8, not numpy's stream).
#[pyfunction]
#[pyo3(signature = (x, quantile, n_samples, seed, backend))]
fn estimate_bandwidth(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    quantile: f64,
    n_samples: Option<usize>,
    seed: u64,
    backend: &str,
) -> PyResult<f64> {
    let slot = backend_slot(backend)?;
    let held = Held::new(x)?;
    let (values, dim) = (held.values(), held.dim());
    py.detach(|| -> Result<f64, Error> {
        let ctx = context(slot)?;
        let x = values.points(dim)?;
        let est = BandwidthEstimate {
            quantile,
            n_samples,
            seed,
        };
        est.estimate(&ctx, &x).map(f64::from)
    })
    .map_err(to_py)
}

// ---------------------------------------------------------------------------
// k-means.

/// A fitted k-means model (`KMeansFit`).
#[pyclass(frozen, module = "gpu_cluster._native")]
struct KMeansModel {
    fit: KMeansFit,
    f64_out: bool,
}

#[pymethods]
impl KMeansModel {
    fn cluster_centers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        points_array(py, self.fit.cluster_centers(), self.f64_out)
    }

    /// Labels as int32, scikit-learn's dtype for k-means.
    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i32>> {
        self.fit.labels().to_vec().into_pyarray(py)
    }

    #[getter]
    fn inertia(&self) -> f64 {
        self.fit.inertia()
    }

    #[getter]
    fn n_iter(&self) -> usize {
        self.fit.n_iter()
    }

    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        backend: &str,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let slot = backend_slot(backend)?;
        let held = Held::new(x)?;
        let (values, dim) = (held.values(), held.dim());
        let fit = &self.fit;
        let labels = py
            .detach(|| fit.predict_on(&context(slot)?, &values.points(dim)?))
            .map_err(to_py)?;
        Ok(labels.into_pyarray(py))
    }

    /// Distances to every centre, `n x k`, in the input's dtype.
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        backend: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let slot = backend_slot(backend)?;
        let held = Held::new(x)?;
        let f64_out = held.is_f64();
        let (values, dim) = (held.values(), held.dim());
        let fit = &self.fit;
        let d = py
            .detach(|| fit.transform_on(&context(slot)?, &values.points(dim)?))
            .map_err(to_py)?;
        points_array(py, &d, f64_out)
    }

    /// The model as the library's JSON document (pickling).
    fn to_json(&self) -> String {
        self.fit.to_json()
    }

    #[staticmethod]
    fn from_json(json: &str, f64_out: bool) -> PyResult<Self> {
        Ok(Self {
            fit: KMeansFit::from_json(json).map_err(to_py)?,
            f64_out,
        })
    }

    #[getter]
    fn f64_out(&self) -> bool {
        self.f64_out
    }
}

/// Fits k-means. `init` is "k-means++", "random" or "given" (then
/// `init_centers` are the starting centres).
#[pyfunction]
#[pyo3(signature = (x, n_clusters, init, init_centers, n_init, max_iter, tol, seed, sample_weight, backend))]
#[allow(clippy::too_many_arguments)]
fn kmeans_fit(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    n_clusters: usize,
    init: &str,
    init_centers: Option<&Bound<'_, PyAny>>,
    n_init: Option<usize>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    sample_weight: Option<PyReadonlyArray1<'_, f32>>,
    backend: &str,
) -> PyResult<KMeansModel> {
    let slot = backend_slot(backend)?;
    let held = Held::new(x)?;
    let f64_out = held.is_f64();
    let (values, dim) = (held.values(), held.dim());
    let given = init_centers.map(Held::new).transpose()?;
    let given_values = given.as_ref().map(|g| (g.values(), g.dim()));
    let weights: Option<Vec<f32>> = sample_weight.map(|w| w.as_array().to_vec());
    let init_kind = match init {
        "k-means++" => 0,
        "random" => 1,
        "given" => 2,
        _ => {
            return Err(value_error(format!(
                "unknown init {init:?}: use 'k-means++', 'random' or centres"
            )));
        }
    };
    let fit = py
        .detach(|| -> Result<KMeansFit, Error> {
            let ctx = context(slot)?;
            let x = values.points(dim)?;
            let init = match (init_kind, &given_values) {
                (0, _) => KMeansInit::KMeansPlusPlus,
                (1, _) => KMeansInit::Random,
                (_, Some((v, d))) => KMeansInit::Given(v.points(*d)?),
                (_, None) => {
                    return Err(Error::InvalidParameter {
                        name: "init",
                        value: "given".into(),
                        reason: "needs the initial centres",
                    });
                }
            };
            let mut km = KMeans::new(n_clusters)
                .init(init)
                .max_iter(max_iter)
                .tol(tol)
                .seed(seed);
            if let Some(n) = n_init {
                km = km.n_init(n);
            }
            if let Some(w) = weights {
                km = km.sample_weights(w);
            }
            km.fit(&ctx, &x)
        })
        .map_err(to_py)?;
    Ok(KMeansModel { fit, f64_out })
}

// ---------------------------------------------------------------------------
// DBSCAN.

/// `(labels, core_sample_indices)` of a fitted DBSCAN.
type DbscanResult<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>);

/// Fits DBSCAN (euclidean) and returns `(labels, core_sample_indices)`.
/// `eps` is rounded to `f32`, the precision of the distances, and kept
/// within `f32`'s positive range (a larger one holds every point, a
/// smaller one only duplicates, there as in `f64`).
#[pyfunction]
#[pyo3(signature = (x, eps, min_samples, sample_weight, backend))]
fn dbscan_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    eps: f64,
    min_samples: usize,
    sample_weight: Option<PyReadonlyArray1<'_, f32>>,
    backend: &str,
) -> PyResult<DbscanResult<'py>> {
    let slot = backend_slot(backend)?;
    let held = Held::new(x)?;
    let (values, dim) = (held.values(), held.dim());
    let weights: Option<Vec<f32>> = sample_weight.map(|w| w.as_array().to_vec());
    let eps = match eps {
        e if e > 0.0 && e.is_finite() => (e as f32).clamp(f32::from_bits(1), f32::MAX),
        // The library's error for the value given.
        e => e as f32,
    };
    let fit = py
        .detach(|| {
            let ctx = context(slot)?;
            let x = values.points(dim)?;
            let mut db = Dbscan::new(eps, min_samples);
            if let Some(w) = weights {
                db = db.sample_weights(w);
            }
            db.fit(&ctx, &x)
        })
        .map_err(to_py)?;
    let core = fit
        .core_sample_indices()
        .iter()
        .map(|&i| i as i64)
        .collect::<Vec<_>>()
        .into_pyarray(py);
    Ok((labels_array(py, fit.labels()), core))
}

// ---------------------------------------------------------------------------
// Nearest neighbours.

fn parse_metric(metric: &str) -> PyResult<Metric> {
    Metric::ALL
        .into_iter()
        .find(|m| m.name() == metric)
        .ok_or_else(|| {
            value_error(format!(
                "unsupported metric {metric:?}: use 'euclidean' (or 'minkowski' with p=2), \
                 'sqeuclidean', 'cosine' or 'inner_product'"
            ))
        })
}

/// `(offsets, indices, distances)` of radius queries.
type RadiusLists<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyAny>,
);

/// A kNN index (`KnnIndex`) over the fitted points.
#[pyclass(frozen, module = "gpu_cluster._native")]
struct KnnModel {
    index: KnnIndex,
    f64_out: bool,
}

#[pymethods]
impl KnnModel {
    /// `(distances, indices)`, each `n x k`; `x = None` queries the indexed
    /// points, each leaving itself out.
    #[pyo3(signature = (x, k))]
    fn kneighbors<'py>(
        &self,
        py: Python<'py>,
        x: Option<&Bound<'py, PyAny>>,
        k: usize,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let held = x.map(Held::new).transpose()?;
        let vals = held.as_ref().map(|h| (h.values(), h.dim()));
        let index = &self.index;
        let found = py
            .detach(|| {
                let q = vals.as_ref().map(|(v, d)| v.points(*d)).transpose()?;
                index.kneighbors(q.as_ref(), k)
            })
            .map_err(to_py)?;
        let n = found.len();
        let idx = found
            .all_indices()
            .iter()
            .map(|&i| i64::from(i))
            .collect::<Vec<_>>()
            .into_pyarray(py)
            .reshape([n, k])?
            .into_any();
        let dist = self
            .distances(py, found.all_distances())?
            .call_method1("reshape", ((n, k),))?;
        Ok((dist, idx))
    }

    /// `(offsets, indices, distances)`: query `i`'s neighbours are
    /// `indices[offsets[i]:offsets[i + 1]]`, sorted by distance.
    #[pyo3(signature = (x, radius))]
    fn radius_neighbors<'py>(
        &self,
        py: Python<'py>,
        x: Option<&Bound<'py, PyAny>>,
        radius: f64,
    ) -> PyResult<RadiusLists<'py>> {
        let held = x.map(Held::new).transpose()?;
        let vals = held.as_ref().map(|h| (h.values(), h.dim()));
        let index = &self.index;
        let found = py
            .detach(|| {
                let q = vals.as_ref().map(|(v, d)| v.points(*d)).transpose()?;
                index.radius_neighbors(q.as_ref(), radius as f32)
            })
            .map_err(to_py)?;
        let offsets = found
            .offsets()
            .iter()
            .map(|&o| o as i64)
            .collect::<Vec<_>>()
            .into_pyarray(py);
        let idx = found
            .all_indices()
            .iter()
            .map(|&i| i64::from(i))
            .collect::<Vec<_>>()
            .into_pyarray(py);
        let dist = self.distances(py, found.all_distances())?;
        Ok((offsets, idx, dist))
    }
}

impl KnnModel {
    /// Distances in the fitted data's dtype (float64: the `f32` distances
    /// widened, exactly).
    fn distances<'py>(&self, py: Python<'py>, d: &[f32]) -> PyResult<Bound<'py, PyAny>> {
        Ok(if self.f64_out {
            d.iter()
                .map(|&v| f64::from(v))
                .collect::<Vec<_>>()
                .into_pyarray(py)
                .into_any()
        } else {
            d.to_vec().into_pyarray(py).into_any()
        })
    }
}

/// Builds a kNN index over `x`.
#[pyfunction]
#[pyo3(signature = (x, metric, backend))]
fn knn_fit(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    metric: &str,
    backend: &str,
) -> PyResult<KnnModel> {
    let slot = backend_slot(backend)?;
    let metric = parse_metric(metric)?;
    let held = Held::new(x)?;
    let f64_out = held.is_f64();
    let (values, dim) = (held.values(), held.dim());
    let index = py
        .detach(|| {
            let ctx = context(slot)?;
            NearestNeighbors::new()
                .metric(metric)
                .fit(&ctx, &values.points(dim)?)
        })
        .map_err(to_py)?;
    Ok(KnnModel { index, f64_out })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MeanShiftModel>()?;
    m.add_class::<KMeansModel>()?;
    m.add_class::<KnnModel>()?;
    m.add_function(wrap_pyfunction!(mean_shift_fit, m)?)?;
    m.add_function(wrap_pyfunction!(estimate_bandwidth, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(knn_fit, m)?)?;
    m.add_function(wrap_pyfunction!(dbscan_fit, m)?)?;
    m.add_function(wrap_pyfunction!(backend_info, m)?)?;
    m.add_function(wrap_pyfunction!(points_address, m)?)?;
    Ok(())
}
