#!/usr/bin/env python3
"""Known answers for k-means from scikit-learn's KMeans (Lloyd).

Run from the repository root: python3 tests/data/sklearn_kmeans/make_kmeans_cases.py
It rewrites every case folder here and README.md's case table. See README.md
for the format.

Data are float32 (written exactly); scikit-learn is fed their float64 values,
so its answers are float64 computations on the very inputs the library reads.

"given" cases start from fixed initial centres, so the library must reproduce
scikit-learn's labels exactly. The script checks that the data leave no room
for float32 rounding to decide anything: it replays Lloyd in float64 with the
library's rules (ALGORITHMS.md), checks the replay gives scikit-learn's labels,
centres and n_iter, and measures the margins that a float32 computation could
cross: the relative gap between each point's nearest and second-nearest centre
at every assignment, and the distance of every iteration's centre shift from
the tol threshold. Cases whose margins are below MIN_MARGIN are refused.

"k-means++" and "random" cases keep scikit-learn's best inertia over its own
n_init runs (its random stream is numpy's, not the library's ChaCha8, so the
centres differ); the library must come within 1% of it.
"""

import json
import os
import shutil
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

ROOT = os.path.dirname(os.path.abspath(__file__))
MIN_MARGIN = 1e-4


def fmt(v):
    return repr(float(v))


def write_rows(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(",".join(fmt(v) for v in np.atleast_1d(r)) + "\n")


def write_ints(path, values):
    with open(path, "w") as f:
        for v in values:
            f.write(f"{int(v)}\n")


def lloyd_replay(X, w, centers, max_iter, tol):
    """Lloyd in float64 with the library's rules; returns labels, centres,
    n_iter, inertia, the smallest assignment margin, the smallest tol margin,
    and how many empty-cluster relocations happened."""
    X = X.astype(np.float64)
    centers = centers.astype(np.float64).copy()
    k = centers.shape[0]
    tol_abs = tol * np.mean(np.var(X, axis=0))
    labels_old = np.full(X.shape[0], -1)
    assign_margin = np.inf
    tol_margin = np.inf
    relocations = 0

    def assign(c):
        nonlocal assign_margin
        d2 = ((X[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        labels = np.argmin(d2, axis=1)
        if k > 1:
            s = np.sort(d2, axis=1)
            gap = (s[:, 1] - s[:, 0]) / np.maximum(s[:, 1], 1e-300)
            assign_margin = min(assign_margin, gap.min())
        return labels, d2[np.arange(X.shape[0]), labels]

    strict = False
    n_iter = 0
    for i in range(max_iter):
        labels, d2 = assign(centers)
        n_iter = i + 1
        sums = np.zeros_like(centers)
        mass = np.zeros(k)
        np.add.at(sums, labels, X * w[:, None])
        np.add.at(mass, labels, w)
        empty = np.where(mass <= 0)[0]
        if len(empty):
            relocations += len(empty)
            cand = [j for j in np.lexsort((np.arange(len(d2)), -d2)) if d2[j] > 0]
            for c, j in zip(empty, cand):
                old = labels[j]
                sums[old] -= X[j] * w[j]
                sums[c] = X[j] * w[j]
                mass[c] = w[j]
                mass[old] -= w[j]
        new = centers.copy()
        for c in range(k):
            if mass[c] > 0:
                new[c] = sums[c] / mass[c]
        shift = ((new - centers) ** 2).sum()
        centers = new
        if np.array_equal(labels, labels_old):
            strict = True
            break
        if tol_abs > 0:
            tol_margin = min(tol_margin, abs(shift - tol_abs) / tol_abs)
        if shift <= tol_abs:
            break
        labels_old = labels
    if not strict:
        labels, _ = assign(centers)
    inertia = float((w * ((X - centers[labels]) ** 2).sum(axis=1)).sum())
    return labels, centers, n_iter, inertia, assign_margin, tol_margin, relocations


def blobs(n, d, centers, std, seed, offset=0.0):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=centers, cluster_std=std,
                      random_state=seed, center_box=(-20, 20))
    return (X + offset).astype(np.float32)


def case_dir(name):
    d = os.path.join(ROOT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


ROWS = []


def given(name, X, init, max_iter=300, tol=1e-4, w=None, note=""):
    k = init.shape[0]
    X64 = X.astype(np.float64)
    w64 = np.ones(len(X)) if w is None else w.astype(np.float64)
    km = KMeans(n_clusters=k, init=init.astype(np.float64), n_init=1,
                max_iter=max_iter, tol=tol, algorithm="lloyd")
    km.fit(X64, sample_weight=None if w is None else w64)
    labels, centers, n_iter, inertia, am, tm, rel = lloyd_replay(X, w64, init, max_iter, tol)
    assert np.array_equal(labels, km.labels_), f"{name}: replay labels differ from scikit-learn's"
    assert n_iter == km.n_iter_, f"{name}: replay n_iter {n_iter} vs {km.n_iter_}"
    assert np.allclose(centers, km.cluster_centers_, rtol=1e-9, atol=1e-9), name
    assert abs(inertia - km.inertia_) <= 1e-9 * max(1.0, km.inertia_), name
    assert am > MIN_MARGIN and tm > MIN_MARGIN, f"{name}: margins {am} {tm}"
    d = case_dir(name)
    write_rows(os.path.join(d, "data.csv"), X)
    write_rows(os.path.join(d, "init.csv"), init)
    if w is not None:
        write_rows(os.path.join(d, "weights.csv"), w[:, None])
    write_ints(os.path.join(d, "labels.csv"), km.labels_)
    write_rows(os.path.join(d, "centers.csv"), km.cluster_centers_)
    meta = {"init": "given", "k": k, "n_init": 1, "max_iter": max_iter, "tol": tol,
            "inertia": float(km.inertia_), "n_iter": int(km.n_iter_), "sklearn": sklearn.__version__}
    write_meta(d, meta)
    ROWS.append((name, "given", X.shape[0], X.shape[1], k, w is not None, max_iter, tol,
                 km.n_iter_, f"{am:.2g}", f"{tm:.2g}" if np.isfinite(tm) else "-", rel, note))


def best_of(name, X, k, init, n_init, w=None, note=""):
    X64 = X.astype(np.float64)
    w64 = None if w is None else w.astype(np.float64)
    inertias = []
    for seed in range(5):
        km = KMeans(n_clusters=k, init=init, n_init=n_init, random_state=seed, algorithm="lloyd")
        km.fit(X64, sample_weight=w64)
        inertias.append(km.inertia_)
    d = case_dir(name)
    write_rows(os.path.join(d, "data.csv"), X)
    if w is not None:
        write_rows(os.path.join(d, "weights.csv"), w[:, None])
    meta = {"init": init, "k": k, "n_init": n_init, "max_iter": 300, "tol": 1e-4,
            "inertia": float(min(inertias)), "n_iter": None, "sklearn": sklearn.__version__}
    write_meta(d, meta)
    ROWS.append((name, init, X.shape[0], X.shape[1], k, w is not None, 300, 1e-4, "-",
                 "-", "-", "-", note + f" best of random_state 0-4, each n_init={n_init}: "
                 + ", ".join(f"{v:.6g}" for v in inertias)))


def write_meta(d, meta):
    keys = ["init", "k", "n_init", "max_iter", "tol", "inertia", "n_iter", "sklearn"]
    with open(os.path.join(d, "case.json"), "w") as f:
        f.write("{\n")
        for i, key in enumerate(keys):
            v = meta[key]
            s = "null" if v is None else (json.dumps(v) if not isinstance(v, float) else repr(v))
            f.write(f'  "{key}": {s}' + ("," if i + 1 < len(keys) else "") + "\n")
        f.write("}\n")


def sklearn_pp_init(X, k, seed):
    """scikit-learn's own k-means++ centres, as the fixed start of a case."""
    from sklearn.cluster import kmeans_plusplus
    c, _ = kmeans_plusplus(X.astype(np.float64), k, random_state=seed)
    return c.astype(np.float32)


def main():
    X = blobs(400, 2, 5, 1.5, 0)
    given("given_blobs2d", X, sklearn_pp_init(X, 5, 0))
    X = blobs(600, 5, 4, 2.0, 1)
    w = np.random.RandomState(1).uniform(0.1, 3.0, size=len(X)).astype(np.float32)
    given("given_weighted5d", X, sklearn_pp_init(X, 4, 1), w=w)
    X = blobs(300, 40, 3, 3.0, 2)
    given("given_d40", X, sklearn_pp_init(X, 3, 2))
    X = blobs(300, 3, 4, 2.0, 3)
    init = sklearn_pp_init(X, 4, 3)
    init[2] = np.array([500.0, 500.0, 500.0], dtype=np.float32)
    given("given_empty_cluster", X, init, note="centre 2 starts far from every point: the cluster is empty at the first step and takes the farthest point")
    X = blobs(500, 2, 6, 2.5, 4)
    given("given_max_iter", X, X[[0, 1, 2, 3, 4, 5]].copy(), max_iter=3,
          note="stops at max_iter, not converged: a last assignment")
    X = blobs(300, 2, 3, 1.0, 5)
    given("given_tol0", X, X[[0, 10, 20]].copy(), tol=0.0, note="tol 0: only strict convergence stops it")
    X = blobs(200, 2, 3, 1.0, 6, offset=1e4)
    given("given_offset", X, sklearn_pp_init(X, 3, 6), note="data near (1e4, 1e4): centring keeps f32 precise")
    X = blobs(150, 3, 1, 1.0, 7)
    given("given_k1", X, X[[0]].copy())
    X = blobs(1500, 2, 6, 2.2, 8)
    best_of("pp_blobs2d", X, 6, "k-means++", 10)
    X = blobs(800, 4, 5, 1.8, 9)
    w = np.random.RandomState(9).uniform(0.0, 2.0, size=len(X)).astype(np.float32)
    best_of("pp_weighted4d", X, 5, "k-means++", 10, w=w)
    X = blobs(600, 3, 4, 1.5, 10)
    best_of("random_blobs3d", X, 4, "random", 10)

    readme = os.path.join(ROOT, "README.md")
    text = open(readme).read()
    head, sep, _ = text.partition("## Cases\n")
    table = ["| case | init | n | d | k | weights | max_iter | tol | n_iter | assign margin | tol margin | relocations | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in ROWS:
        table.append("| " + " | ".join(f"`{r[0]}`" if i == 0 else str(v) for i, v in enumerate(r)) + " |")
    with open(readme, "w") as f:
        f.write(head + sep + "\n" + "\n".join(table) + "\n")
    print(f"wrote {len(ROWS)} cases with Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
