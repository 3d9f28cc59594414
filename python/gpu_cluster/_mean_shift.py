"""MeanShift, mean_shift, estimate_bandwidth and get_bin_seeds, as in
sklearn.cluster, on the Rust library."""

import numbers
import warnings
from collections import defaultdict

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from . import _native
from ._common import BACKENDS, FLOAT_DTYPES, check_input

KERNELS = {"flat", "gaussian", "triangular", "epanechnikov"}


@validate_params(
    {
        "X": ["array-like"],
        "quantile": [Interval(numbers.Real, 0, 1, closed="both")],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
        "backend": [StrOptions(set(BACKENDS))],
    },
    prefer_skip_nested_validation=True,
)
def estimate_bandwidth(
    X, *, quantile=0.3, n_samples=None, random_state=0, n_jobs=None, backend="auto"
):
    """scikit-learn's `estimate_bandwidth`: the mean distance from each point
    to its k-th nearest neighbour, k = max(1, int(n * quantile)), the point
    itself its own first neighbour. The subset of `n_samples` points is drawn
    with numpy exactly as scikit-learn draws it. Returns a float64 scalar
    (0 for constant data, as scikit-learn). `n_jobs` is accepted and unused.
    """
    X = check_array(X, dtype=FLOAT_DTYPES, order="C")
    if n_samples is not None:
        idx = check_random_state(random_state).permutation(X.shape[0])[:n_samples]
        X = np.ascontiguousarray(X[idx])
    # k = max(1, int(n * q)): a quantile of 0 gives k = 1 there and here.
    q = float(quantile) if quantile > 0 else float(np.nextafter(0.0, 1.0))
    return np.float64(_native.estimate_bandwidth(X, q, None, 0, backend))


def get_bin_seeds(X, bin_size, min_bin_freq=1):
    """scikit-learn's `get_bin_seeds`: the occupied cells of a grid of side
    `bin_size` holding at least `min_bin_freq` points, in order of each
    cell's first point; `X` itself when `bin_size` is 0 or every point has a
    cell of its own (with scikit-learn's warning)."""
    if bin_size == 0:
        return X
    # + 0.0: -0.0 and 0.0 are one bin (scikit-learn keys bins by tuples).
    bins = np.round(np.asarray(X) / bin_size) + 0.0
    _, first, counts = np.unique(bins, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    kept = [first[i] for i in order if counts[i] >= min_bin_freq]
    bin_seeds = np.asarray(bins[kept], dtype=np.float32).reshape(len(kept), -1)
    if len(bin_seeds) == len(X):
        warnings.warn(
            "Binning data failed with provided bin_size=%f, using data points as seeds."
            % bin_size
        )
        return X
    return bin_seeds * bin_size


class MeanShift(ClusterMixin, BaseEstimator):
    """Mean shift clustering, scikit-learn's `MeanShift`, on a GPU or the
    CPU twin.

    Parameters are scikit-learn's, with its defaults (`n_jobs` is accepted
    and unused: the work is spread by the backend), then this library's own:

    kernel : {"flat", "gaussian", "triangular", "epanechnikov"} or None
        None: flat in standard mode (scikit-learn's), gaussian in blurring mode.
    mode : {"standard", "blurring"}, default="standard"
        "blurring": every point moves each iteration (GBMS), until stable or
        `max_iter` iterations.
    backend : {"auto", "gpu", "cpu"}, default="auto"
        "auto": a hardware GPU if there is one, else the CPU twin.
    method : {"auto", "dense", "grid"}, default="auto"
        How the kernel sums find their data: "dense" (every pair) or
        "grid" (a uniform grid in 1 to 4 dimensions, on either backend:
        N x neighbours work; the dense result for the compact kernels, the
        gaussian cut at `gaussian_cutoff` bandwidths); "auto" takes the grid
        only where it gives the dense result and pays.
    gaussian_cutoff : float or None, default=3.0
        Where the grid cuts the gaussian kernel, in bandwidths; None: where
        its float32 weights reach 0 (the dense result).
    distances : {"direct", "expanded"}, default="direct"
        How the dense sums compute squared distances on rows of more than
        32 features: "direct" (coordinate by coordinate, the most precise)
        or "expanded" (|q|^2 + |x|^2 - 2 q.x from a matrix product, the
        shape GPUs are built for; it rounds differently where points are
        close beside their distance from the data's mean). Not with
        `method="grid"`; on 32 features or fewer both run direct.

    Attributes: `cluster_centers_` (in the input's float dtype), `labels_`,
    `n_iter_`, `n_features_in_`, `feature_names_in_`, `bandwidth_` (the
    bandwidth used, given or estimated), `method_` ("dense" or "grid"),
    `distances_` ("direct", or "expanded" where asked for on more than 32
    features) and `gaussian_tail_` (the bound on the weight a grid's
    gaussian cut left out, or None).

    Differences from scikit-learn: the work is float32 around the data's
    mean, so centres can differ in the last bits.
    """

    _parameter_constraints: dict = {
        "bandwidth": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "seeds": ["array-like", None],
        "bin_seeding": ["boolean"],
        "min_bin_freq": [Interval(numbers.Integral, 1, None, closed="left")],
        "cluster_all": ["boolean"],
        "n_jobs": [numbers.Integral, None],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "kernel": [StrOptions(KERNELS), None],
        "mode": [StrOptions({"standard", "blurring"})],
        "backend": [StrOptions(set(BACKENDS))],
        "method": [StrOptions({"auto", "dense", "grid"})],
        "gaussian_cutoff": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "distances": [StrOptions({"direct", "expanded"})],
    }

    def __init__(
        self,
        *,
        bandwidth=None,
        seeds=None,
        bin_seeding=False,
        min_bin_freq=1,
        cluster_all=True,
        n_jobs=None,
        max_iter=300,
        kernel=None,
        mode="standard",
        backend="auto",
        method="auto",
        gaussian_cutoff=3.0,
        distances="direct",
    ):
        self.bandwidth = bandwidth
        self.seeds = seeds
        self.bin_seeding = bin_seeding
        self.cluster_all = cluster_all
        self.min_bin_freq = min_bin_freq
        self.n_jobs = n_jobs
        self.max_iter = max_iter
        self.kernel = kernel
        self.mode = mode
        self.backend = backend
        self.method = method
        self.gaussian_cutoff = gaussian_cutoff
        self.distances = distances

    def fit(self, X, y=None):
        """Perform clustering. `y` is ignored. Returns the fitted estimator."""
        self._validate_params()
        X = check_input(self, X, reset=True)
        seeds = self.seeds
        if seeds is not None:
            seeds = check_array(seeds, dtype=np.float64, order="C")
        model = _native.mean_shift_fit(
            X,
            None if self.bandwidth is None else float(self.bandwidth),
            seeds,
            bool(self.bin_seeding),
            int(self.min_bin_freq),
            bool(self.cluster_all),
            int(self.max_iter),
            self.kernel,
            self.mode,
            self.backend,
            self.method,
            None if self.gaussian_cutoff is None else float(self.gaussian_cutoff),
            self.distances,
        )
        self._set_model(model, bool(self.cluster_all))
        return self

    def _set_model(self, model, cluster_all):
        self._model = model
        self._fit_cluster_all = cluster_all
        self.cluster_centers_ = model.cluster_centers()
        self.labels_ = model.labels()
        self.n_iter_ = model.n_iter
        self.bandwidth_ = model.bandwidth
        self.method_ = model.method
        self.distances_ = model.distances
        self.gaussian_tail_ = model.gaussian_tail

    def predict(self, X):
        """The closest cluster of each sample (scikit-learn's rule: the
        nearest centre, whatever `cluster_all` is)."""
        check_is_fitted(self)
        X = check_input(self, X, reset=False)
        return self._model.predict(X, self.backend, self._fit_cluster_all)

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
            self._model = _native.MeanShiftModel.from_json(*saved)


def mean_shift(
    X,
    *,
    bandwidth=None,
    seeds=None,
    bin_seeding=False,
    min_bin_freq=1,
    cluster_all=True,
    max_iter=300,
    n_jobs=None,
    kernel=None,
    mode="standard",
    backend="auto",
    method="auto",
    gaussian_cutoff=3.0,
    distances="direct",
):
    """scikit-learn's `mean_shift`: `(cluster_centers, labels)` of
    `MeanShift` with these parameters."""
    model = MeanShift(
        bandwidth=bandwidth,
        seeds=seeds,
        min_bin_freq=min_bin_freq,
        bin_seeding=bin_seeding,
        cluster_all=cluster_all,
        n_jobs=n_jobs,
        max_iter=max_iter,
        kernel=kernel,
        mode=mode,
        backend=backend,
        method=method,
        gaussian_cutoff=gaussian_cutoff,
        distances=distances,
    ).fit(X)
    return model.cluster_centers_, model.labels_
