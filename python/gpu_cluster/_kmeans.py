"""KMeans and k_means, as in sklearn.cluster, on the Rust library (Lloyd)."""

import numbers
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _native
from ._common import BACKENDS, FLOAT_DTYPES, check_input, seed_from


class KMeans(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator
):
    """K-means clustering (Lloyd), scikit-learn's `KMeans`, on a GPU or the
    CPU twin.

    Parameters are scikit-learn's, with its defaults (`verbose`, `copy_x`
    and `n_jobs` are accepted and unused; `algorithm="elkan"` runs Lloyd,
    which gives the same result), then this library's `backend`
    ({"auto", "gpu", "cpu"}).

    `random_state` seeds this library's own portable stream (ChaCha8), not
    numpy's: the same seed gives the same centres on every platform, but
    not scikit-learn's initial centres. Given initial centres (an array)
    give scikit-learn's labels on well-separated data.

    Attributes: `cluster_centers_` (in the input's float dtype), `labels_`
    (int32), `inertia_`, `n_iter_`, `n_features_in_`, `feature_names_in_`.
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "n_jobs": [numbers.Integral, None],
        "backend": [StrOptions(set(BACKENDS))],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
        n_jobs=None,
        backend="auto",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.n_jobs = n_jobs
        self.backend = backend

    def _resolve_n_init(self):
        init = self.init
        if self.n_init == "auto":
            n = 10 if (callable(init) or (isinstance(init, str) and init == "random")) else 1
        else:
            n = self.n_init
        if not isinstance(init, str) and not callable(init) and n != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only"
                f" one init in {self.__class__.__name__} instead of n_init={n}.",
                RuntimeWarning,
                stacklevel=3,
            )
            n = 1
        return n

    def _given_centers(self, X, centers):
        centers = check_array(centers, dtype=X.dtype, order="C", copy=False)
        if centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not "
                f"match the number of clusters {self.n_clusters}."
            )
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not "
                f"match the number of features of the data {X.shape[1]}."
            )
        return centers

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering. `y` is ignored."""
        self._validate_params()
        X = check_input(self, X, reset=True)
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
            )
        weights = None
        if sample_weight is not None:
            weights = np.ascontiguousarray(
                _check_sample_weight(sample_weight, X, dtype=X.dtype), dtype=np.float32
            )
        n_init = self._n_init = self._resolve_n_init()
        if self.algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single "
                "cluster. Using 'lloyd' instead.",
                RuntimeWarning,
            )
        rng = check_random_state(self.random_state)
        seed = seed_from(self.random_state)
        if callable(self.init):
            # One run per call of the callable; keep the lowest inertia.
            best = None
            for _ in range(n_init):
                centers = self._given_centers(X, self.init(X, self.n_clusters, random_state=rng))
                model = self._fit_native(X, "given", centers, 1, seed, weights)
                if best is None or model.inertia < best.inertia:
                    best = model
            model = best
        elif isinstance(self.init, str):
            model = self._fit_native(X, self.init, None, None if self.n_init == "auto" else n_init, seed, weights)
        else:
            model = self._fit_native(X, "given", self._given_centers(X, self.init), 1, seed, weights)
        self._model = model
        self.cluster_centers_ = model.cluster_centers()
        self.labels_ = model.labels()
        self.inertia_ = float(model.inertia)
        self.n_iter_ = int(model.n_iter)
        self._n_features_out = self.cluster_centers_.shape[0]
        distinct = len(np.unique(self.labels_))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _fit_native(self, X, init, centers, n_init, seed, weights):
        return _native.kmeans_fit(
            X,
            int(self.n_clusters),
            init,
            centers,
            n_init,
            int(self.max_iter),
            float(self.tol),
            seed,
            weights,
            self.backend,
        )

    def _check_test_data(self, X):
        check_is_fitted(self)
        return check_input(self, X, reset=False)

    def predict(self, X):
        """The index of the closest centre of each sample."""
        X = self._check_test_data(X)
        # Centred on the fit's offset in float64, then compared in float32,
        # as the fit compared: precise far from the origin too.
        return self._model.predict(X, self.backend)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return `labels_`."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Distances from each sample to every centre, `(n_samples, n_clusters)`."""
        X = self._check_test_data(X)
        return self._model.transform(X, self.backend)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit and return the distances to the centres."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of `X` on the fitted centres."""
        X = self._check_test_data(X)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        d = self.transform(X).min(axis=1).astype(np.float64)
        return -float(np.sum(sample_weight * d * d))

    # Pickling: the fitted model travels as the library's JSON document.
    def __getstate__(self):
        state = dict(super().__getstate__())
        model = state.pop("_model", None)
        if model is not None:
            state["_model_json"] = (model.to_json(), model.f64_out)
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_model_json", None)
        super().__setstate__(state)
        if saved is not None:
            self._model = _native.KMeansModel.from_json(*saved)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def k_means(
    X,
    n_clusters,
    *,
    sample_weight=None,
    init="k-means++",
    n_init="auto",
    max_iter=300,
    verbose=False,
    tol=1e-4,
    random_state=None,
    copy_x=True,
    algorithm="lloyd",
    return_n_iter=False,
    backend="auto",
):
    """scikit-learn's `k_means`: `(centroid, label, inertia)`, and `n_iter`
    with `return_n_iter`."""
    est = KMeans(
        n_clusters=n_clusters,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        verbose=verbose,
        tol=tol,
        random_state=random_state,
        copy_x=copy_x,
        algorithm=algorithm,
        backend=backend,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_
