"""The binding itself: labels equal to scikit-learn's on fixed cases
(and on the DBSCAN answers kept under tests/data/sklearn_dbscan/),
pickling, zero-copy input, output dtypes, errors, the GIL, backends."""

import gc
import json
import os
import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sklearn.cluster as skc
import sklearn.neighbors as skn
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.utils._param_validation import InvalidParameterError

import gpu_cluster
from gpu_cluster import DBSCAN, KMeans, MeanShift, NearestNeighbors, _native

X, _ = make_blobs(
    n_samples=300,
    centers=np.array([[1, 1], [-1, -1], [1, -1]]) + 10,
    cluster_std=0.4,
    random_state=11,
)


def gpu_available():
    try:
        _native.backend_info("gpu")
        return True
    except RuntimeError:
        return False


# ---------------------------------------------------------------------------
# Same answers as scikit-learn.


@pytest.mark.parametrize(
    "params",
    [
        dict(bandwidth=1.2),
        dict(bandwidth=1.2, cluster_all=False),
        dict(bandwidth=0.9, bin_seeding=True),
        dict(),
        dict(bin_seeding=True, min_bin_freq=3),
        dict(bandwidth=1.0, seeds=[[10, 10], [11, 11], [9, 9]]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mean_shift_labels_equal_scikit_learn(params, dtype):
    x = X.astype(dtype)
    ours = MeanShift(**params).fit(x)
    ref = skc.MeanShift(**params).fit(x)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-5)
    assert ours.cluster_centers_.dtype == ref.cluster_centers_.dtype
    np.testing.assert_array_equal(ours.predict(x[::7]), ref.predict(x[::7]))


def test_scikit_learn_toy_example():
    x = np.array([[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]])
    centers, labels = gpu_cluster.mean_shift(x, bandwidth=2)
    np.testing.assert_array_equal(labels, [1, 1, 1, 0, 0, 0])
    np.testing.assert_allclose(centers, [[3.33333333, 6.0], [1.33333333, 0.66666667]], rtol=1e-6)
    assert gpu_cluster.estimate_bandwidth(x, quantile=0.5) == pytest.approx(
        skc.estimate_bandwidth(x, quantile=0.5), rel=1e-6
    )


@pytest.mark.parametrize("n_samples", [None, 100])
def test_estimate_bandwidth_equals_scikit_learn(n_samples):
    for q in [0.05, 0.3, 0.9]:
        ours = gpu_cluster.estimate_bandwidth(X, quantile=q, n_samples=n_samples)
        ref = skc.estimate_bandwidth(X, quantile=q, n_samples=n_samples)
        assert ours == pytest.approx(ref, rel=1e-5)
        assert isinstance(ours, np.float64)


def test_zero_estimated_bandwidth_like_scikit_learn():
    x = np.array([1, 1, 1, 2, 2, 2, 3, 3], dtype=float).reshape(-1, 1)
    for bin_seeding in [False, True]:
        ours = MeanShift(bin_seeding=bin_seeding).fit(x)
        ref = skc.MeanShift(bin_seeding=bin_seeding).fit(x)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)
        assert ours.n_iter_ == ref.n_iter_ == 0
        assert ours.bandwidth_ == 0
    # Kernels that divide by the bandwidth refuse it, saying why.
    with pytest.raises(ValueError, match="the estimated bandwidth is 0"):
        MeanShift(kernel="gaussian").fit(x)


def test_kmeans_given_centres_equal_scikit_learn():
    x, _ = make_blobs(n_samples=500, centers=5, n_features=3, random_state=3)
    init = x[[0, 100, 200, 300, 400]]
    for dtype in [np.float32, np.float64]:
        xd = x.astype(dtype)
        ours = KMeans(5, init=init, n_init=1).fit(xd)
        ref = skc.KMeans(5, init=init, n_init=1).fit(xd)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-5)
        assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-5)
        assert ours.n_iter_ == ref.n_iter_
        assert ours.cluster_centers_.dtype == dtype
        np.testing.assert_array_equal(ours.predict(xd), ref.predict(xd))
        np.testing.assert_allclose(ours.transform(xd[:20]), ref.transform(xd[:20]), rtol=1e-5)


@pytest.mark.parametrize("metric", ["euclidean", "minkowski", "cosine", "sqeuclidean"])
def test_nearest_neighbors_equal_scikit_learn(metric):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    q = rng.normal(size=(30, 4))
    ours = NearestNeighbors(n_neighbors=4, metric=metric).fit(x)
    ref = skn.NearestNeighbors(n_neighbors=4, metric=metric).fit(x)
    d1, i1 = ours.kneighbors(q)
    d2, i2 = ref.kneighbors(q)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-4, atol=1e-6)
    # Without queries: each point leaves itself out.
    np.testing.assert_array_equal(ours.kneighbors()[1], ref.kneighbors()[1])
    if metric in ("euclidean", "minkowski"):
        r1 = ours.radius_neighbors(q, radius=1.0)
        r2 = ref.radius_neighbors(q, radius=1.0, sort_results=True)
        for a, b in zip(r1[1], r2[1]):
            np.testing.assert_array_equal(a, b)
        g1 = ours.kneighbors_graph(q, 3, mode="distance").toarray()
        g2 = ref.kneighbors_graph(q, 3, mode="distance").toarray()
        np.testing.assert_allclose(g1, g2, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------
# Pickling and cloning.


@pytest.mark.parametrize(
    "est",
    [
        MeanShift(bandwidth=1.2),
        MeanShift(bandwidth=1.2, cluster_all=False),
        MeanShift(kernel="gaussian", mode="blurring", bandwidth=1.0, max_iter=10),
        KMeans(3, random_state=0),
        NearestNeighbors(n_neighbors=3),
    ],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pickle_round_trip(est, dtype):
    x = X.astype(dtype)
    fitted = clone(est).fit(x)
    back = pickle.loads(pickle.dumps(fitted))
    assert back.get_params() == fitted.get_params()
    if isinstance(est, NearestNeighbors):
        for a, b in zip(fitted.kneighbors(x[:9]), back.kneighbors(x[:9])):
            np.testing.assert_array_equal(a, b)
        return
    np.testing.assert_array_equal(back.labels_, fitted.labels_)
    np.testing.assert_array_equal(back.cluster_centers_, fitted.cluster_centers_)
    assert back.cluster_centers_.dtype == dtype
    assert back.n_iter_ == fitted.n_iter_
    np.testing.assert_array_equal(back.predict(x), fitted.predict(x))


def test_mean_shift_pickle_is_the_library_model():
    fitted = MeanShift(bandwidth=1.2).fit(X)
    state = fitted.__getstate__()
    json, f64 = state["_model_json"]
    assert json.startswith('{"format":"gpu-cluster/meanshift","version":1,')
    assert f64 is True
    assert "_model" not in state and hasattr(fitted, "_model")


def test_zero_bandwidth_model_pickles():
    x = np.array([[1.0], [1.0], [2.0]])
    fitted = MeanShift(cluster_all=False).fit(x)
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.predict([[1.0], [2.0], [1.5]]), [0, 1, 0])


# ---------------------------------------------------------------------------
# DBSCAN: scikit-learn's answers, pickling.

SKLEARN_DBSCAN = Path(__file__).resolve().parents[2] / "tests" / "data" / "sklearn_dbscan"


def dbscan_cases():
    return sorted(p.parent.name for p in SKLEARN_DBSCAN.glob("*/case.json"))


@pytest.mark.parametrize("name", dbscan_cases())
def test_dbscan_known_answers(name):
    # Labels (numbering included) and core points kept from scikit-learn
    # 1.9.1 by tests/data/sklearn_dbscan/make_dbscan_cases.py.
    case = SKLEARN_DBSCAN / name
    meta = json.loads((case / "case.json").read_text())
    x = np.loadtxt(case / "data.csv", delimiter=",", ndmin=2)
    weights = case / "weights.csv"
    sample_weight = np.loadtxt(weights, ndmin=1) if weights.exists() else None
    want_labels, want_core = (
        np.array((case / f).read_text().split(), dtype=np.int64) for f in ["labels.csv", "core.csv"]
    )
    est = DBSCAN(eps=meta["eps"], min_samples=meta["min_samples"])
    labels = est.fit_predict(x, sample_weight=sample_weight)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(est.core_sample_indices_, want_core)
    core, labels = gpu_cluster.dbscan(
        x, eps=meta["eps"], min_samples=meta["min_samples"], sample_weight=sample_weight
    )
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(core, want_core)


@pytest.mark.parametrize(
    "params",
    [dict(), dict(eps=0.3, min_samples=10), dict(eps=0.2, min_samples=2), dict(eps=2.0, min_samples=1)],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dbscan_equals_scikit_learn(params, dtype):
    x = X.astype(dtype)
    ours = DBSCAN(**params).fit(x)
    ref = skc.DBSCAN(**params).fit(x)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
    np.testing.assert_array_equal(ours.components_, ref.components_)
    assert ours.labels_.dtype == ref.labels_.dtype
    assert ours.core_sample_indices_.dtype == ref.core_sample_indices_.dtype
    assert ours.components_.dtype == ref.components_.dtype
    assert ours.n_features_in_ == 2


def test_dbscan_weights_equal_scikit_learn():
    rng = np.random.RandomState(0)
    # Negative weights included: they keep their neighbours from being core.
    for weights in [rng.randint(0, 5, len(X)), rng.uniform(-1, 3, len(X))]:
        ours = gpu_cluster.dbscan(X, eps=0.3, min_samples=8, sample_weight=weights)
        ref = skc.dbscan(X, eps=0.3, min_samples=8, sample_weight=weights)
        for a, b in zip(ours, ref):
            np.testing.assert_array_equal(a, b)
    # The metric scikit-learn's dbscan() defaults to is minkowski with p=2.
    core, _ = gpu_cluster.dbscan(X, metric="minkowski", p=2, eps=0.3)
    np.testing.assert_array_equal(core, skc.dbscan(X, eps=0.3)[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dbscan_pickle_round_trip(dtype):
    fitted = DBSCAN(eps=0.3, min_samples=10).fit(X.astype(dtype))
    back = pickle.loads(pickle.dumps(fitted))
    assert back.get_params() == fitted.get_params()
    np.testing.assert_array_equal(back.labels_, fitted.labels_)
    np.testing.assert_array_equal(back.core_sample_indices_, fitted.core_sample_indices_)
    np.testing.assert_array_equal(back.components_, fitted.components_)
    assert back.components_.dtype == dtype
    assert back.n_features_in_ == 2
    # A refit from the clone gives the same answer.
    np.testing.assert_array_equal(clone(back).fit_predict(X.astype(dtype)), fitted.labels_)


def test_dbscan_errors():
    with pytest.raises(ValueError, match="metric 'manhattan' is not supported"):
        DBSCAN(metric="manhattan").fit(X)
    with pytest.raises(ValueError, match="metric 'precomputed' is not supported"):
        gpu_cluster.dbscan(X, metric="precomputed")
    with pytest.raises(ValueError, match="'minkowski' with p=1 is not supported"):
        DBSCAN(metric="minkowski", p=1).fit(X)
    with pytest.raises(ValueError, match="a callable metric"):
        DBSCAN(metric=lambda a, b: 0.0).fit(X)
    with pytest.raises(InvalidParameterError):
        DBSCAN(eps=0).fit(X)
    with pytest.raises(InvalidParameterError):
        DBSCAN(min_samples=0).fit(X)
    with pytest.raises(ValueError, match="sample_weight"):
        DBSCAN().fit(X, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        DBSCAN().fit(np.array([[1.0], [np.nan]]))


# ---------------------------------------------------------------------------
# numpy in and out.


def spy_on(monkeypatch, name):
    seen = []
    original = getattr(_native, name)

    def spy(x, *args):
        seen.append(x)
        return original(x, *args)

    monkeypatch.setattr(_native, name, spy)
    return seen


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_contiguous_float_input_is_read_in_place(monkeypatch, dtype):
    x = np.ascontiguousarray(X, dtype=dtype)
    seen = spy_on(monkeypatch, "mean_shift_fit")
    MeanShift(bandwidth=1.2).fit(x)
    assert seen[0] is x  # the Python layer passes the array itself
    # ... and the points a fit makes read a float32 array's own buffer
    # (float64 is rounded to float32: a new buffer).
    assert (_native.points_address(x) == x.ctypes.data) == (dtype == np.float32)
    seen = spy_on(monkeypatch, "kmeans_fit")
    KMeans(3, random_state=0).fit(x)
    assert seen[0] is x
    seen = spy_on(monkeypatch, "dbscan_fit")
    DBSCAN(eps=0.3).fit(x)
    assert seen[0] is x


def test_other_layouts_and_dtypes_are_converted(monkeypatch):
    seen = spy_on(monkeypatch, "mean_shift_fit")
    fortran = np.asfortranarray(X.astype(np.float32))
    ints = (X * 10).astype(np.int64)
    for x, dtype in [(fortran, np.float32), (ints, np.float64), (X.tolist(), np.float64)]:
        fit = MeanShift(bandwidth=12.0 if x is ints else 1.2).fit(x)
        got = seen[-1]
        assert got.dtype == dtype and got.flags.c_contiguous
        assert fit.cluster_centers_.dtype == dtype
    # Other layouts are copied into row-major points.
    assert _native.points_address(fortran) != fortran.ctypes.data


@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_changing_a_lent_array_changes_nothing_fitted(backend):
    if backend == "gpu" and not gpu_available() and os.environ.get("REQUIRE_GPU") != "1":
        pytest.skip("no GPU adapter")
    x = np.ascontiguousarray(X, dtype=np.float32)
    y = np.ascontiguousarray(X[::-1] * 1.5, dtype=np.float32)
    want = NearestNeighbors(n_neighbors=3).fit(x.copy()).kneighbors(X[:5])
    nn = NearestNeighbors(n_neighbors=3, backend=backend).fit(x)
    x[:] = y  # after the fit: the index keeps what it was given
    got = nn.kneighbors(X[:5])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])
    # ... and a later fit on the changed array sees the new values, not a
    # device copy of the old ones found by address.
    labels = DBSCAN(eps=0.3, min_samples=5, backend=backend).fit_predict(x)
    np.testing.assert_array_equal(labels, DBSCAN(eps=0.3, min_samples=5).fit_predict(y.copy()))
    del x, nn  # the buffer outlives neither
    gc.collect()


def test_the_grid_method():
    kw = dict(bandwidth=1.2, kernel="epanechnikov", backend="cpu")
    dense = MeanShift(method="dense", **kw).fit(X)
    grid = MeanShift(method="grid", **kw).fit(X)
    assert (dense.method_, grid.method_) == ("dense", "grid")
    np.testing.assert_array_equal(grid.labels_, dense.labels_)
    np.testing.assert_array_equal(grid.cluster_centers_, dense.cluster_centers_)
    assert grid.gaussian_tail_ is None
    # The gaussian is cut where asked, and says by how much at most.
    cut = MeanShift(bandwidth=1.2, mode="blurring", max_iter=3, method="grid", backend="cpu").fit(X)
    assert cut.method_ == "grid"
    assert abs(cut.gaussian_tail_ - np.exp(-4.5)) < 1e-9
    exact = MeanShift(
        bandwidth=1.2, mode="blurring", max_iter=3, method="grid", gaussian_cutoff=None, backend="cpu"
    ).fit(X)
    blurred = MeanShift(bandwidth=1.2, mode="blurring", max_iter=3, method="dense", backend="cpu").fit(X)
    np.testing.assert_array_equal(exact.labels_, blurred.labels_)
    assert exact.gaussian_tail_ is None
    for bad in [dict(method="kd_tree"), dict(gaussian_cutoff=0.0)]:
        with pytest.raises(InvalidParameterError):
            MeanShift(bandwidth=1.2, **bad).fit(X)


@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_expanded_distances(backend):
    if backend == "gpu" and not gpu_available() and os.environ.get("REQUIRE_GPU") != "1":
        pytest.skip("no GPU adapter")
    # Blobs of 40 features (more than 32: the expanded form applies).
    wide, truth = make_blobs(n_samples=200, n_features=40, centers=4, cluster_std=1.0, random_state=3)
    kw = dict(bandwidth=8.0, mode="blurring", max_iter=3, backend=backend)
    direct = MeanShift(**kw).fit(wide)
    expanded = MeanShift(distances="expanded", **kw).fit(wide)
    assert (direct.distances_, expanded.distances_) == ("direct", "expanded")
    assert len(np.unique(direct.labels_)) == 4
    np.testing.assert_array_equal(expanded.labels_, direct.labels_)
    np.testing.assert_allclose(expanded.cluster_centers_, direct.cluster_centers_, rtol=0, atol=1e-3)
    # What ran survives pickling; clone keeps the parameter.
    assert pickle.loads(pickle.dumps(expanded)).distances_ == "expanded"
    assert clone(expanded).distances == "expanded"
    # On 32 features or fewer the sums run direct whatever was asked.
    assert MeanShift(bandwidth=1.2, distances="expanded", backend=backend).fit(X).distances_ == "direct"


def test_expanded_distances_refused_with_the_grid():
    with pytest.raises(ValueError, match="expanded distances are for the dense sums"):
        MeanShift(bandwidth=1.2, method="grid", distances="expanded", backend="cpu").fit(X)
    for bad in ["gemm", "Expanded", None]:
        with pytest.raises(InvalidParameterError):
            MeanShift(bandwidth=1.2, distances=bad).fit(X)
    with pytest.raises(ValueError, match="unknown distances"):
        _native.mean_shift_fit(X, 1.2, None, False, 1, True, 300, None, "standard", "cpu", "auto", 3.0, "gemm")


def test_labels_and_attributes():
    ms = MeanShift(bandwidth=1.2).fit(X)
    assert ms.labels_.dtype == np.intp and ms.labels_.shape == (300,)
    assert ms.n_features_in_ == 2
    km = KMeans(3, random_state=0).fit(X)
    assert km.labels_.dtype == np.int32
    assert isinstance(km.inertia_, float)
    assert km.fit_transform(X).shape == (300, 3)
    assert km.get_feature_names_out().tolist() == ["kmeans0", "kmeans1", "kmeans2"]
    assert -km.score(X) == pytest.approx(km.inertia_, rel=1e-4)


# ---------------------------------------------------------------------------
# Errors.


def test_errors_are_value_errors_with_the_rust_message():
    with pytest.raises(ValueError, match="No point was within bandwidth=0.1"):
        MeanShift(bandwidth=0.1, seeds=[[-9, -9]]).fit(X)
    with pytest.raises(InvalidParameterError):  # a ValueError
        MeanShift(bandwidth=-1).fit(X)
    with pytest.raises(InvalidParameterError):
        MeanShift(backend="tpu").fit(X)
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=8"):
        KMeans().fit(X[:3])
    with pytest.raises(ValueError, match="only p=2"):
        NearestNeighbors(p=1).fit(X)
    with pytest.raises(ValueError, match="unknown backend"):
        _native.backend_info("tpu")
    # A value float32 cannot hold: the Rust message, as a ValueError.
    with pytest.raises(ValueError, match="not finite"):
        MeanShift(bandwidth=1.0).fit(np.array([[1e300], [0.0]]))


def test_missing_gpu_is_a_runtime_error():
    if gpu_available():
        pytest.skip("a GPU adapter is present")
    with pytest.raises(RuntimeError, match="no GPU adapter"):
        MeanShift(bandwidth=1.0, backend="gpu").fit(X)


# ---------------------------------------------------------------------------
# The GIL and the backends.


def test_gil_is_released_while_fitting():
    big, _ = make_blobs(n_samples=6000, centers=6, random_state=0)
    done = threading.Event()
    ticks = []

    def fit():
        MeanShift(bandwidth=1.0, backend="cpu").fit(big)
        done.set()

    t = threading.Thread(target=fit)
    t.start()
    start = time.perf_counter()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - start
    # With the GIL held by the fit, this loop could not run meanwhile.
    assert elapsed < 0.05 or len(ticks) > 10, (elapsed, len(ticks))


def test_backends_agree():
    cpu = MeanShift(bandwidth=1.2, backend="cpu").fit(X)
    auto = MeanShift(bandwidth=1.2).fit(X)
    np.testing.assert_array_equal(cpu.labels_, auto.labels_)
    assert "CPU" in gpu_cluster.backend_info("cpu")
    # CI sets REQUIRE_GPU=1 so that a missing adapter fails here instead
    # of passing without the GPU half.
    if os.environ.get("REQUIRE_GPU") == "1":
        assert gpu_available(), "REQUIRE_GPU is set but there is no GPU adapter"
    if gpu_available():
        gpu = MeanShift(bandwidth=1.2, backend="gpu").fit(X)
        np.testing.assert_array_equal(cpu.labels_, gpu.labels_)
        km_cpu = KMeans(3, init=X[:3], backend="cpu").fit(X)
        km_gpu = KMeans(3, init=X[:3], backend="gpu").fit(X)
        np.testing.assert_array_equal(km_cpu.labels_, km_gpu.labels_)
        db_cpu = DBSCAN(eps=0.3, min_samples=10, backend="cpu").fit(X)
        db_gpu = DBSCAN(eps=0.3, min_samples=10, backend="gpu").fit(X)
        np.testing.assert_array_equal(db_cpu.labels_, db_gpu.labels_)
        np.testing.assert_array_equal(db_cpu.core_sample_indices_, db_gpu.core_sample_indices_)
        nn = NearestNeighbors(n_neighbors=3, backend="gpu").fit(X)
        np.testing.assert_array_equal(
            nn.kneighbors(X[:20])[1],
            NearestNeighbors(n_neighbors=3, backend="cpu").fit(X).kneighbors(X[:20])[1],
        )
