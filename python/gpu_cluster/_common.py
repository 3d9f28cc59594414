"""What the estimators share: input conversion and the backend parameter."""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from . import _native

BACKENDS = ("auto", "gpu", "cpu")

# The float dtypes read by the Rust side (scikit-learn's order: float32 stays float32, read in
# place when C-contiguous), anything else becomes float64.
FLOAT_DTYPES = [np.float64, np.float32]


def backend_info(backend="auto"):
    """Where `backend` runs: "CPU (N threads)" or the GPU adapter's name."""
    return _native.backend_info(backend)


def seed_from(random_state):
    """A 64-bit seed for the Rust ChaCha8 stream from scikit-learn's
    `random_state` (None, an int or a RandomState)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state) % (1 << 64)
    rng = check_random_state(random_state)
    return int(rng.randint(0, np.iinfo(np.int32).max))


def float_array(x):
    """A C-contiguous float32/float64 2-D array for the Rust side, as is
    when it already is one (no copy)."""
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    return np.ascontiguousarray(x)


def check_input(est, X, reset):
    """scikit-learn's `validate_data(est, X, dtype=FLOAT_DTYPES, order="C")`,
    with a fast path for what needs no conversion: a non-empty 2-D
    C-contiguous float32/float64 ndarray (the Rust side then checks the
    values are finite, with the same NaN/inf wording). The fast path saves
    about 50 us a call, which is a few percent of a small fit."""
    if (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in (np.float32, np.float64)
        and X.flags.c_contiguous
        and X.shape[0] >= 1
        and X.shape[1] >= 1
    ):
        if reset:
            est.n_features_in_ = X.shape[1]
            if hasattr(est, "feature_names_in_"):
                del est.feature_names_in_
            return X
        if not hasattr(est, "feature_names_in_") and X.shape[1] == getattr(
            est, "n_features_in_", None
        ):
            return X
    return validate_data(est, X, reset=reset, dtype=FLOAT_DTYPES, order="C")
