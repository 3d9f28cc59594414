"""scikit-learn's clustering and neighbour search on any GPU (WebGPU) or a
fast CPU twin, from the Rust library ``gpu-cluster``.

Change the import and keep the code::

    from gpu_cluster import MeanShift      # was: from sklearn.cluster import MeanShift
    labels = MeanShift(bandwidth=2.5).fit_predict(X)

Every estimator takes scikit-learn's parameters, with its defaults, and adds
``backend`` ("auto": a hardware GPU if there is one, else the CPU twin;
"gpu": any adapter, software ones included; "cpu").
"""

import os as _os


def _quiet_vulkan_layer():
    """Without a desktop session (no absolute XDG_RUNTIME_DIR, as over SSH or
    in CI), Mesa's Vulkan device-select layer tries to reach a Wayland display
    whenever adapters are listed, and libwayland prints "error:
    XDG_RUNTIME_DIR is invalid or not set" on standard error while all is
    well. The layer only orders GPUs for a display, so with no session and no
    explicit choice it is switched off with its own switch, before the
    extension first lists adapters (as the command line does)."""
    runtime = _os.environ.get("XDG_RUNTIME_DIR", "")
    chosen = any(k in _os.environ for k in ("NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT", "DRI_PRIME"))
    if not _os.path.isabs(runtime) and not chosen:
        _os.environ["NODEVICE_SELECT"] = "1"


_quiet_vulkan_layer()

from ._dbscan import DBSCAN, dbscan  # noqa: E402
from ._kmeans import KMeans, k_means  # noqa: E402
from ._mean_shift import MeanShift, estimate_bandwidth, get_bin_seeds, mean_shift  # noqa: E402
from ._neighbors import NearestNeighbors  # noqa: E402
from ._common import backend_info  # noqa: E402

__all__ = [
    "MeanShift",
    "mean_shift",
    "estimate_bandwidth",
    "get_bin_seeds",
    "KMeans",
    "k_means",
    "DBSCAN",
    "dbscan",
    "NearestNeighbors",
    "backend_info",
]
__version__ = "0.1.0"
