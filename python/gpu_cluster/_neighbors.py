"""NearestNeighbors, as in sklearn.neighbors, on the Rust library (exact,
on a GPU or the CPU twin)."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _native
from ._common import BACKENDS, FLOAT_DTYPES, check_input

_METRICS = {
    "euclidean": "euclidean",
    "l2": "euclidean",
    "sqeuclidean": "sqeuclidean",
    "cosine": "cosine",
    "inner_product": "inner_product",
}


class NearestNeighbors(BaseEstimator):
    """Unsupervised nearest neighbours, scikit-learn's `NearestNeighbors`,
    exact on a GPU or the CPU twin.

    Parameters are scikit-learn's, with its defaults; `algorithm`,
    `leaf_size` and `n_jobs` are accepted and unused (the search is always
    exact: brute force, or for radius queries with a euclidean metric in 1
    to 4 dimensions on enough points a uniform grid, on either backend,
    with brute force's results). Metrics: "minkowski" with p=2 (the
    default) or "euclidean", "sqeuclidean", "cosine", and this library's
    "inner_product" (largest first). Then `backend` ({"auto", "gpu", "cpu"}).

    Differences from scikit-learn: ties are broken by lower index; radius
    results always come sorted by distance; distances are computed in
    float32 (returned in the input's float dtype).
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "radius": [Interval(numbers.Real, 0, None, closed="both"), None],
        "algorithm": [StrOptions({"auto", "ball_tree", "kd_tree", "brute"})],
        "leaf_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "p": [Interval(numbers.Real, 0, None, closed="right"), None],
        "metric": [str],
        "metric_params": [dict, None],
        "n_jobs": [numbers.Integral, None],
        "backend": [StrOptions(set(BACKENDS))],
    }

    def __init__(
        self,
        *,
        n_neighbors=5,
        radius=1.0,
        algorithm="auto",
        leaf_size=30,
        metric="minkowski",
        p=2,
        metric_params=None,
        n_jobs=None,
        backend="auto",
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.backend = backend

    def _effective_metric(self):
        metric = self.metric
        if metric == "minkowski":
            p = 2 if self.p is None else self.p
            if (self.metric_params or {}).get("p", p) != 2:
                raise ValueError(
                    f"metric 'minkowski' with p={p}: only p=2 (euclidean) is supported"
                )
            return "euclidean"
        if metric not in _METRICS:
            raise ValueError(
                f"unsupported metric {metric!r}: use 'minkowski' (p=2), 'euclidean', "
                "'sqeuclidean', 'cosine' or 'inner_product'"
            )
        return _METRICS[metric]

    def fit(self, X, y=None):
        """Index `X`. `y` is ignored."""
        self._validate_params()
        X = check_input(self, X, reset=True)
        self.effective_metric_ = self._effective_metric()
        self.effective_metric_params_ = dict(self.metric_params or {})
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        self._index = _native.knn_fit(X, self.effective_metric_, self.backend)
        return self

    def _get_index(self):
        index = getattr(self, "_index", None)
        if index is None:
            index = _native.knn_fit(self._fit_X, self.effective_metric_, self.backend)
            self._index = index
        return index

    def _queries(self, X):
        if X is None:
            return None
        return check_input(self, X, reset=False)

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """The `n_neighbors` nearest fitted points of each query, nearest
        first. `X=None`: the fitted points, each leaving itself out."""
        check_is_fitted(self)
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        elif n_neighbors <= 0:
            raise ValueError("Expected n_neighbors > 0. Got %d" % n_neighbors)
        elif not isinstance(n_neighbors, numbers.Integral):
            raise TypeError(
                "n_neighbors does not take %s value, enter integer value" % type(n_neighbors)
            )
        Q = self._queries(X)
        n_fit = self.n_samples_fit_
        available = n_fit if Q is not None else n_fit - 1
        if n_neighbors > available:
            raise ValueError(
                "Expected n_neighbors <= n_samples_fit, but n_neighbors = %d, "
                "n_samples_fit = %d, n_samples = %d"
                % (n_neighbors + (Q is None), n_fit, n_fit if Q is None else Q.shape[0])
            )
        dist, idx = self._get_index().kneighbors(Q, int(n_neighbors))
        if return_distance:
            return dist, idx
        return idx

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        """Every fitted point within `radius` of each query (object arrays of
        arrays, sorted by distance whatever `sort_results` says)."""
        check_is_fitted(self)
        if radius is None:
            radius = self.radius
        Q = self._queries(X)
        offsets, idx, dist = self._get_index().radius_neighbors(Q, float(radius))
        n = len(offsets) - 1
        neigh_ind = np.empty(n, dtype=object)
        neigh_dist = np.empty(n, dtype=object)
        for i in range(n):
            a, b = offsets[i], offsets[i + 1]
            neigh_ind[i] = idx[a:b]
            neigh_dist[i] = dist[a:b]
        if return_distance:
            return neigh_dist, neigh_ind
        return neigh_ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """The k-neighbours graph as a scipy CSR matrix."""
        from scipy.sparse import csr_matrix

        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        if mode == "connectivity":
            idx = self.kneighbors(X, n_neighbors, return_distance=False)
            data = np.ones(idx.size)
        elif mode == "distance":
            dist, idx = self.kneighbors(X, n_neighbors, return_distance=True)
            data = np.ravel(dist)
        else:
            raise ValueError(
                f'Unsupported mode, must be one of "connectivity", or "distance" but got "{mode}" instead'
            )
        n_queries = idx.shape[0]
        indptr = np.arange(0, n_queries * n_neighbors + 1, n_neighbors)
        return csr_matrix((data, np.ravel(idx), indptr), shape=(n_queries, self.n_samples_fit_))

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_index", None)
        return state
