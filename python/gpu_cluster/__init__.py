"""scikit-learn's clustering and neighbour search on any GPU (WebGPU) or a
fast CPU twin, from the Rust library ``gpu-cluster``.

Change the import and keep the code::

    from gpu_cluster import MeanShift      # was: from sklearn.cluster import MeanShift
    labels = MeanShift(bandwidth=2.5).fit_predict(X)

Every estimator takes scikit-learn's parameters, with its defaults, and adds
``backend`` ("auto": a hardware GPU if there is one, else the CPU twin;
"gpu": any adapter, software ones included; "cpu").
"""

from ._dbscan import DBSCAN, dbscan
from ._kmeans import KMeans, k_means
from ._mean_shift import MeanShift, estimate_bandwidth, get_bin_seeds, mean_shift
from ._neighbors import NearestNeighbors
from ._common import backend_info

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
