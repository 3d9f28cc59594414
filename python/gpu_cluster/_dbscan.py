"""DBSCAN and dbscan, as in sklearn.cluster, on the Rust library (euclidean)."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import _check_sample_weight

from . import _native
from ._common import BACKENDS, check_input

_EUCLIDEAN = {"euclidean", "l2"}


def _check_metric(metric, p, metric_params):
    """Raises ValueError naming `metric` unless it is the euclidean distance:
    "euclidean" or "l2" (`p` ignored, as scikit-learn ignores it there), or
    "minkowski" with p=2 (from `metric_params` first, then `p`; None is 2)."""
    if isinstance(metric, str) and metric in _EUCLIDEAN:
        return
    if isinstance(metric, str) and metric == "minkowski":
        p = (metric_params or {}).get("p", p)
        if p is None or p == 2:
            return
        raise ValueError(
            f"metric 'minkowski' with p={p} is not supported: gpu_cluster's DBSCAN "
            "is euclidean only ('euclidean', or 'minkowski' with p=2)"
        )
    if isinstance(metric, str):
        what = f"metric {metric!r}"
    else:
        what = f"a callable metric ({getattr(metric, '__name__', repr(metric))})"
    raise ValueError(
        f"{what} is not supported: gpu_cluster's DBSCAN is euclidean only "
        "('euclidean', or 'minkowski' with p=2)"
    )


class DBSCAN(ClusterMixin, BaseEstimator):
    """Density-based clustering, scikit-learn's `DBSCAN`, on a GPU or the
    CPU twin.

    Parameters are scikit-learn's, with its defaults, then this library's
    `backend` ({"auto", "gpu", "cpu"}). Only the euclidean distance is
    supported: `metric` "euclidean" (or "l2", or "minkowski" with p=2);
    any other metric, "precomputed" and callables included, raises a
    ValueError naming it. `algorithm`, `leaf_size` and `n_jobs` are accepted
    and unused: the neighbourhoods are an exact radius search, over every
    pair or, in 1 to 4 dimensions on enough points, through a uniform grid
    (on either backend) with the same result.

    Attributes: `labels_` (-1 for noise, clusters numbered as scikit-learn
    numbers them), `core_sample_indices_`, `components_` (the core samples,
    in the input's float dtype), `n_features_in_`, `feature_names_in_`.

    Differences from scikit-learn: dense input only; distances are computed
    in float32 around the data's mean, and `eps` is rounded to float32, so a
    point at a distance within float32 rounding of `eps` can fall on the
    other side of it.
    """

    _parameter_constraints: dict = {
        "eps": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "min_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "metric": [str, callable],
        "metric_params": [dict, None],
        "algorithm": [StrOptions({"auto", "ball_tree", "kd_tree", "brute"})],
        "leaf_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "p": [Interval(numbers.Real, 0.0, None, closed="left"), None],
        "n_jobs": [numbers.Integral, None],
        "backend": [StrOptions(set(BACKENDS))],
    }

    def __init__(
        self,
        eps=0.5,
        *,
        min_samples=5,
        metric="euclidean",
        metric_params=None,
        algorithm="auto",
        leaf_size=30,
        p=None,
        n_jobs=None,
        backend="auto",
    ):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.metric_params = metric_params
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.n_jobs = n_jobs
        self.backend = backend

    def fit(self, X, y=None, sample_weight=None):
        """Perform DBSCAN clustering. `y` is ignored; `sample_weight`: one
        weight per sample, summed instead of counting the neighbours
        (negative weights allowed). Returns the fitted estimator."""
        self._validate_params()
        _check_metric(self.metric, self.p, self.metric_params)
        X = check_input(self, X, reset=True)
        weights = None
        if sample_weight is not None:
            weights = np.ascontiguousarray(
                _check_sample_weight(sample_weight, X, dtype=X.dtype), dtype=np.float32
            )
        labels, core = _native.dbscan_fit(
            X, float(self.eps), int(self.min_samples), weights, self.backend
        )
        self.labels_ = labels
        self.core_sample_indices_ = core
        if len(core):
            self.components_ = X[core].copy()
        else:
            self.components_ = np.empty((0, X.shape[1]))
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return `labels_` (-1 for noise)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


@validate_params(
    {
        "X": ["array-like"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=False,
)
def dbscan(
    X,
    eps=0.5,
    *,
    min_samples=5,
    metric="minkowski",
    metric_params=None,
    algorithm="auto",
    leaf_size=30,
    p=2,
    sample_weight=None,
    n_jobs=None,
    backend="auto",
):
    """scikit-learn's `dbscan`: `(core_samples, labels)` of `DBSCAN` with
    these parameters."""
    est = DBSCAN(
        eps=eps,
        min_samples=min_samples,
        metric=metric,
        metric_params=metric_params,
        algorithm=algorithm,
        leaf_size=leaf_size,
        p=p,
        n_jobs=n_jobs,
        backend=backend,
    )
    est.fit(X, sample_weight=sample_weight)
    return est.core_sample_indices_, est.labels_
