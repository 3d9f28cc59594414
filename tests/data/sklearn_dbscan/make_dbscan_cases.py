#!/usr/bin/env python3
"""Known answers for DBSCAN from scikit-learn's DBSCAN (euclidean).

Run from the repository root: python3 tests/data/sklearn_dbscan/make_dbscan_cases.py
It rewrites every case folder here. Each folder holds data.csv (float32
values written exactly), optionally weights.csv, case.json (eps,
min_samples, scikit-learn's version) and scikit-learn's labels.csv and
core.csv (core_sample_indices_).

scikit-learn is fed the float32 data's float64 values; the library compares
squared distances in float32. The script refuses a case where any pair's
distance lies within MIN_MARGIN (relative) of eps (nudging eps up until
none does), so no neighbourhood can depend on the precision. Weights are
sums of powers of two, so every neighbourhood sum is exact in both.
"""

import json
import os
import shutil

import numpy as np
import sklearn
from scipy.spatial.distance import cdist
from sklearn.cluster import DBSCAN
from sklearn.datasets import make_blobs, make_moons

ROOT = os.path.dirname(os.path.abspath(__file__))
MIN_MARGIN = 1e-4


def write_rows(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(",".join(repr(float(v)) for v in np.atleast_1d(r)) + "\n")


def write_ints(path, values):
    with open(path, "w") as f:
        for v in values:
            f.write(f"{int(v)}\n")


def case(name, X, eps, min_samples, weights=None):
    X = np.asarray(X, dtype=np.float32)
    d = cdist(X.astype(np.float64), X.astype(np.float64))
    # eps nudged up until no distance lies near it.
    for _ in range(50):
        if (np.abs(d - eps) / eps).min() >= MIN_MARGIN:
            break
        eps = float(np.float32(eps * (1 + 3 * MIN_MARGIN)))
    else:
        raise SystemExit(f"{name}: every eps tried has a distance near it")
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    fit = DBSCAN(eps=eps, min_samples=min_samples).fit(
        X.astype(np.float64), sample_weight=None if w is None else w.astype(np.float64)
    )
    out = os.path.join(ROOT, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    write_rows(os.path.join(out, "data.csv"), X)
    if w is not None:
        write_rows(os.path.join(out, "weights.csv"), w)
    write_ints(os.path.join(out, "labels.csv"), fit.labels_)
    write_ints(os.path.join(out, "core.csv"), fit.core_sample_indices_)
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(
            {
                "eps": eps,
                "min_samples": min_samples,
                "sklearn": sklearn.__version__,
                "clusters": int(fit.labels_.max() + 1),
                "noise": int((fit.labels_ < 0).sum()),
            },
            f,
            indent=1,
        )
        f.write("\n")
    print(f"{name}: {len(X)} points, eps {eps}, {fit.labels_.max() + 1} clusters, "
          f"{(fit.labels_ < 0).sum()} noise")


def main():
    rng = np.random.default_rng(7)
    X, _ = make_blobs(300, centers=4, cluster_std=0.6, random_state=3)
    X = np.vstack([X, rng.uniform(-12, 12, size=(30, 2))])
    case("blobs_noise", X, 0.45, 5)
    X, _ = make_moons(400, noise=0.06, random_state=2)
    case("moons", X, 0.13, 6)
    X, _ = make_blobs(250, centers=3, n_features=5, cluster_std=1.0, random_state=5)
    case("d5", X, 1.7, 8)
    X, _ = make_blobs(200, centers=3, cluster_std=0.8, random_state=9)
    w = rng.choice([0.25, 1.0, 2.5, -0.5], size=len(X), p=[0.3, 0.4, 0.25, 0.05])
    case("weighted", X, 0.52, 4, weights=w)
    X, _ = make_blobs(120, centers=2, cluster_std=0.5, random_state=4)
    case("min_samples_1", X, 0.3, 1)
    case("all_noise", X, 0.013, 3)
    case("one_cluster", X, 50.0, 2)
    # Duplicates: repeated points are each other's neighbours at distance 0.
    base, _ = make_blobs(60, centers=2, cluster_std=0.4, random_state=6)
    X = np.vstack([base, base[:20], base[:5]])
    case("duplicates", X, 0.35, 4)
    # Chains of borders between clusters: borders reached by two clusters
    # take the lower-numbered one.
    t = np.linspace(0, 1, 9)
    left = np.column_stack([t, np.zeros_like(t)])
    right = left + [2.0, 0.0]
    bridge = np.array([[1.5, 0.0]])
    X = np.vstack([right, left, bridge]) + rng.normal(0, 1e-3, size=(19, 2))
    case("shared_border", X, 0.52, 4)


if __name__ == "__main__":
    main()
