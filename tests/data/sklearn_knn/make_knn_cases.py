#!/usr/bin/env python3
"""Known answers for exact nearest neighbours (scikit-learn's NearestNeighbors
semantics, FAISS IndexFlatIP for the inner product), per the library's documented semantics (src/knn/mod.rs),
section "Nearest neighbours".

Run from the repository root:

    python3 tests/data/sklearn_knn/make_knn_cases.py

It rewrites every case folder under tests/data/sklearn_knn/ and README.md
there. The output is deterministic for a given set of versions. Made with:

    Python 3.11.7, numpy 2.4.6, scikit-learn 1.9.1

(the script writes the versions it ran with into README.md and every
case.json; it asserts nothing about them). README.md describes the file
format; in short, each case folder holds

  data.csv       n x d float32 values, comma-separated, no header, each
                 written as repr(float(v)) of the float32 v: the exact value
                 of the float32 as the shortest float64 string, so parsing it
                 as f32 (or as f64 and casting) gives the same float32.
  queries.csv    (only when the queries are not the data) same format.
  case.json      metric, k, radius, exclude_self, sklearn version.
  indices.csv    one line per query: the answer's data indices (0-based),
                 comma-separated; an empty line for an empty radius answer.
  distances.csv  one line per query, aligned with indices.csv: the
                 distances (repr of float64).

How the answers are made. The data are generated as float32 and given to
scikit-learn as those values in float64. scikit-learn answers each case (with
algorithm="brute" and again with algorithm="auto", which must agree); the
script then recomputes every distance directly in float64 from the same
values (difference, square, sum, sqrt; cosine as 1 - x.y / (|x| |y|) clipped
to [0, 2], a zero vector at distance 1 from every point), checks that
scikit-learn's distances agree with those, and sorts each row with a stable
sort on (distance, index), so ties go to the lower index (the library's rule; not
scikit-learn's own tie order, see README.md). distances.csv holds the direct
float64 values, not scikit-learn's (which come from ||x||^2 - 2 x.y + ||y||^2
and may differ in the last digits, and by more for exact duplicates).
Finally every case is recomputed in float32, with differences and as
|x|^2 - 2 x.y + |y|^2, and both must give exactly the expected indices.

inner_product has no scikit-learn metric: its answers are numpy's (float64
x . q, largest first, ties by lower index), FAISS IndexFlatIP's semantics;
distances.csv holds the inner products, descending.

Robustness: in every row of every case, the distances that decide the answer
(the k + 1 smallest, all of them when k = n; for radius queries those <= r
and the first beyond) are pairwise more than MARGIN = 1e-4 apart, relative
to the larger; and for radius queries no distance lies within MARGIN * r of
r. The only exception is case self_duplicates, which has exact duplicate
points: its equal distances are exact ties (between bit-identical points),
whose expected order is the lower index first. The random seed of each
data set was chosen as the first that passes (see `pick`).

Cases (README.md lists them with n, d, number of queries, k or r):

  euclidean_queries  euclidean, k = 5, separate queries.
  sqeuclidean        sqeuclidean, k = 3, separate queries; scikit-learn's
                     "sqeuclidean" result is checked to equal its "euclidean"
                     result squared (same indices, distances to 1e-12).
  cosine_zero        cosine, k = 4, separate queries; data row ZERO_ROW is the
                     zero vector (distance 1 to every query; the data lie in
                     a cone and some queries point away from it, so the zero
                     vector is among the answers of some rows).
  self_duplicates    kneighbors() with no argument: the data against itself,
                     self excluded by index, k = 6; exact duplicates (a pair,
                     a triple and a group of 8 > k + 1 identical points) stay
                     each other's neighbours at distance 0, ties by lower
                     index. The only case with ties.
  k_equals_n         euclidean, k = n = 24: every point, separate queries.
  d1                 euclidean, d = 1, k = 5.
  d40                euclidean, d = 40, k = 8.
  radius             radius_neighbors, euclidean, r = 0.75, separate queries;
                     some rows empty, rows sorted.
  inner_product      inner product (numpy), k = 5, separate queries.
"""

import json
import os
import platform
import shutil
import sys

import numpy as np
import sklearn
from sklearn.neighbors import NearestNeighbors

HERE = os.path.dirname(os.path.abspath(__file__))
# Relative separation of deciding distances: 1e-4 (not just 1e-5) leaves room
# for float32 distances computed as |x|^2 - 2 x.y + |y|^2 on a GPU.
MARGIN = 1e-4
ZERO_ROW = 17  # the zero vector of case cosine_zero


def f32(a):
    """Rounds to float32 and returns float64 holding exactly those values."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def fmt32(v):
    """repr of the float32 value as a Python float (exact, shortest)."""
    s = repr(float(np.float32(v)))
    assert np.float32(s) == np.float32(v) and float(s) == float(np.float32(v))
    return s


def write_csv32(path, x):
    with open(path, "w") as f:
        for row in np.atleast_2d(x):
            f.write(",".join(fmt32(v) for v in row) + "\n")


def write_rows(path, rows, fmt):
    with open(path, "w") as f:
        for row in rows:
            f.write(",".join(fmt(v) for v in row) + "\n")


# ---------------------------------------------------------------------------
# Direct float64 distances (the sort keys and the written distances).


def exact_matrix(metric, q, x):
    """Q x N matrix of direct float64 distances (inner_product: products)."""
    if metric in ("euclidean", "sqeuclidean"):
        diff = q[:, None, :] - x[None, :, :]
        d2 = (diff * diff).sum(axis=2)
        return np.sqrt(d2) if metric == "euclidean" else d2
    if metric == "cosine":
        nq = np.sqrt((q * q).sum(axis=1))
        nx = np.sqrt((x * x).sum(axis=1))
        dot = q @ x.T
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = dot / (nq[:, None] * nx[None, :])
        d = np.clip(1.0 - cos, 0.0, 2.0)
        d[(nq[:, None] == 0) | (nx[None, :] == 0)] = 1.0  # zero vector: 1
        return d
    if metric == "inner_product":
        return q @ x.T
    raise ValueError(metric)


def sort_key(metric, row):
    """Ascending key: distance, or minus the inner product."""
    return -row if metric == "inner_product" else row


def order_row(metric, dist_row, candidates):
    """candidates sorted stably by (key, index)."""
    candidates = np.asarray(sorted(candidates))
    keys = sort_key(metric, dist_row[candidates])
    return candidates[np.lexsort((candidates, keys))]


def rel_close(a, b):
    return abs(a - b) <= MARGIN * max(abs(a), abs(b))


def row_margin(metric, dist_row, deciding, x, ties_allowed):
    """Smallest relative gap between consecutive deciding distances (sorted);
    exact ties between bit-identical points are skipped when allowed
    (returns (margin, number of exact ties))."""
    order = order_row(metric, dist_row, deciding)
    vals = sort_key(metric, dist_row[order])
    worst = np.inf
    ties = 0
    for a, b, ia, ib in zip(vals[:-1], vals[1:], order[:-1], order[1:]):
        if a == b and ties_allowed and np.array_equal(x[ia], x[ib]):
            ties += 1
            continue
        scale = max(abs(a), abs(b))
        worst = min(worst, abs(b - a) / scale if scale > 0 else 0.0)
    return worst, ties


# ---------------------------------------------------------------------------


def expected(metric, q, x, k=None, radius=None, exclude_self=False):
    """The expected answer per the library's rule: per row (indices, values), and
    the robustness margins."""
    dm = exact_matrix(metric, q, x)
    n = len(x)
    rows_i, rows_d = [], []
    margin, ties = np.inf, 0
    for r in range(len(q)):
        cand = [j for j in range(n) if not (exclude_self and j == r)]
        order = order_row(metric, dm[r], cand)
        if k is not None:
            take = order[:k]
            deciding = order[: k + 1]
        else:
            inside = order[dm[r][order] <= radius]
            take = inside
            deciding = order[: len(inside) + 1]
            near = np.min(np.abs(dm[r] - radius)) / radius
            margin = min(margin, near)
        m, t = row_margin(metric, dm[r], deciding, x, ties_allowed=exclude_self)
        margin = min(margin, m)
        ties += t
        rows_i.append(take)
        rows_d.append(dm[r][take])
        # The rule, checked on the result itself: sorted by (key, index).
        keys = sort_key(metric, dm[r][take])
        for a in range(len(take) - 1):
            assert keys[a] < keys[a + 1] or (keys[a] == keys[a + 1] and take[a] < take[a + 1])
    return rows_i, rows_d, margin, ties


def sklearn_answer(metric, x, q, k=None, radius=None, exclude_self=False, algorithm="brute"):
    nn = NearestNeighbors(metric=metric, algorithm=algorithm)
    nn.fit(x)
    if radius is not None:
        d, i = nn.radius_neighbors(q, radius=radius, sort_results=True)
        return list(d), list(i)
    if exclude_self:
        d, i = nn.kneighbors(n_neighbors=k)
    else:
        d, i = nn.kneighbors(q, n_neighbors=k)
    return list(d), list(i)


def check_against_sklearn(name, metric, x, q, rows_i, rows_d, k, radius, exclude_self):
    """scikit-learn's answer must hold the same distances (to a tolerance)
    and, where no exact tie reaches the edge of the answer, the same
    indices. Returns (largest |difference| of distances, rows whose index
    order differs from scikit-learn's, rows whose index set differs)."""
    worst = 0.0
    order_diff, set_diff = 0, 0
    algorithms = ["brute"] + (["auto"] if metric in ("euclidean", "sqeuclidean") else [])
    for algorithm in algorithms:
        sd, si = sklearn_answer(metric, x, q, k, radius, exclude_self, algorithm)
        assert len(sd) == len(rows_i)
        for r, (ei, ed) in enumerate(zip(rows_i, rows_d)):
            sdr, sir = np.asarray(sd[r], dtype=np.float64), np.asarray(si[r], dtype=np.int64)
            assert len(sir) == len(ei), (name, r, algorithm)
            # Same multiset of distances (scikit-learn's own sort is by
            # distance; compare sorted values).
            dev = np.abs(np.sort(sdr) - ed)  # ed is sorted ascending
            tol = 1e-9 * np.maximum(1.0, np.abs(ed)) + (1e-7 if metric == "euclidean" else 0.0)
            assert np.all(dev <= tol), (name, r, algorithm, dev.max())
            worst = max(worst, float(dev.max()) if len(dev) else 0.0)
            # Same indices as a set, except where an exact tie straddles the
            # end of the answer (only possible in the ties case).
            if set(sir.tolist()) != set(ei.tolist()):
                assert exclude_self, (name, r, algorithm)
                set_diff += algorithm == "brute"
            elif algorithm == "brute" and not np.array_equal(sir, ei):
                order_diff += 1
            if exclude_self:
                assert r not in sir.tolist()
    return worst, order_diff, set_diff


def float32_rehearsal(metric, x, q, k, radius, exclude_self, rows_i, rows_d):
    """Recomputes every answer in float32, as an implementation might: with
    differences (direct) and as |x|^2 - 2 x.y + |y|^2 (gemm); both must give
    exactly the expected indices. Returns the largest |float32 distance -
    written distance| of each form over the answers."""
    x32, q32 = x.astype(np.float32), q.astype(np.float32)
    worst = {}
    for form in ("direct", "gemm"):
        if metric in ("euclidean", "sqeuclidean"):
            if form == "direct":
                diff = q32[:, None, :] - x32[None, :, :]
                d2 = (diff * diff).sum(axis=2, dtype=np.float32)
            else:
                d2 = (q32 * q32).sum(1)[:, None] + (x32 * x32).sum(1)[None, :] - np.float32(2) * (q32 @ x32.T)
                d2 = np.maximum(d2, np.float32(0))
            dm = np.sqrt(d2) if metric == "euclidean" else d2
        elif metric == "cosine":
            nq, nx = np.sqrt((q32 * q32).sum(1)), np.sqrt((x32 * x32).sum(1))
            with np.errstate(divide="ignore", invalid="ignore"):
                dm = np.clip(np.float32(1) - (q32 @ x32.T) / (nq[:, None] * nx[None, :]), 0, 2)
            dm[(nq[:, None] == 0) | (nx[None, :] == 0)] = 1
        else:
            dm = q32 @ x32.T
        dm = dm.astype(np.float64)
        w = 0.0
        for r in range(len(q)):
            cand = [j for j in range(len(x)) if not (exclude_self and j == r)]
            order = order_row(metric, dm[r], cand)
            got = order[:k] if k is not None else order[dm[r][order] <= radius]
            assert np.array_equal(got, rows_i[r]), (metric, form, r, got, rows_i[r])
            if len(got):
                w = max(w, float(np.max(np.abs(dm[r][got] - rows_d[r]))))
        worst[form] = w
    return worst


def write_case(name, metric, x, q, k=None, radius=None, exclude_self=False, notes=""):
    rows_i, rows_d, margin, ties = expected(metric, q, x, k, radius, exclude_self)
    assert margin > MARGIN, (name, margin)
    f32dev = float32_rehearsal(metric, x, q, k, radius, exclude_self, rows_i, rows_d)
    if metric == "inner_product":
        worst, order_diff, set_diff = 0.0, 0, 0
        sk_metric = None
    else:
        worst, order_diff, set_diff = check_against_sklearn(
            name, metric, x, q, rows_i, rows_d, k, radius, exclude_self)
        sk_metric = metric
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    write_csv32(os.path.join(d, "data.csv"), x)
    if not exclude_self:
        write_csv32(os.path.join(d, "queries.csv"), q)
    case = {
        "metric": metric,
        "k": k,
        "radius": radius,
        "exclude_self": exclude_self,
        "sklearn": sklearn.__version__,
    }
    with open(os.path.join(d, "case.json"), "w") as f:
        f.write("{\n" + ",\n".join(f'  "{key}": {json.dumps(v)}' for key, v in case.items()) + "\n}\n")
    write_rows(os.path.join(d, "indices.csv"), rows_i, lambda v: str(int(v)))
    write_rows(os.path.join(d, "distances.csv"), rows_d, lambda v: repr(float(v)))
    info = dict(
        name=name, metric=metric, n=len(x), d=x.shape[1],
        queries="the data (self excluded)" if exclude_self else str(len(q)),
        k="-" if k is None else str(k), radius="-" if radius is None else repr(radius),
        margin=margin, ties=ties, sklearn_dev=worst if sk_metric else None,
        order_diff=order_diff, set_diff=set_diff,
        empty=sum(len(r) == 0 for r in rows_i), notes=notes, f32dev=f32dev,
    )
    print(f"{name}: metric={metric} n={len(x)} d={x.shape[1]} q={info['queries']} k={k} r={radius} "
          f"margin={margin:.3g} ties={ties} sklearn_dev={worst:.3g} "
          f"sklearn_order_diff={order_diff} sklearn_set_diff={set_diff} empty_rows={info['empty']} "
          f"f32_direct_dev={f32dev['direct']:.2g} f32_gemm_dev={f32dev['gemm']:.2g}")
    return info


def passes(metric, k=None, radius=None, exclude_self=False):
    def check(xq):
        x, q = xq
        return expected(metric, q, x, k, radius, exclude_self)[2] > MARGIN
    return check


def pick(make, check, tries=500):
    """First data seed whose (data, queries) pass `check`."""
    for s in range(tries):
        xq = make(np.random.RandomState(s))
        if check(xq):
            return s, xq
    raise SystemExit("no data seed passed the margins")


# ---------------------------------------------------------------------------
# What scikit-learn itself does with a zero vector and with ties (README).


def sklearn_findings():
    out = []
    rng = np.random.RandomState(0)
    x = f32(rng.standard_normal((12, 3)))
    x[4] = 0.0
    nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(x)
    d_copy, i_copy = nn.kneighbors(x.copy(), n_neighbors=12)
    d_same, i_same = nn.kneighbors(x, n_neighbors=12)
    d_none, i_none = nn.kneighbors(n_neighbors=11)
    zc = dict(zip(i_copy[4].tolist(), d_copy[4].tolist()))
    zs = dict(zip(i_same[4].tolist(), d_same[4].tolist()))
    out.append(
        "- cosine, zero data vector, queried with a copy of the data: its row has "
        f"distance {zc[4]!r} to itself and to every other point (min {min(zc.values())!r}, "
        f"max {max(zc.values())!r}), and every other row has distance "
        f"{float(d_copy[0][list(i_copy[0]).index(4)])!r} to it: the library's rule.")
    out.append(
        "- queried with the very array object it was fitted on (`kneighbors(X)` "
        "where X is the fitted array), scikit-learn's `cosine_distances(X, X)` "
        "sets the diagonal to 0, so the zero vector has distance "
        f"{zs[4]!r} to itself (and {max(v for j, v in zs.items() if j != 4)!r} to the others) "
        f"and comes first in its own row: {i_same[4][:5].tolist()}... "
        "This differs from the library (1 to itself); the cases here never "
        "query the fitted object with a zero vector (cosine_zero's queries are "
        "other points; the zero vector is not a query).")
    out.append(
        "- all-equal distances are not returned by lower index: the zero "
        f"vector's row against the same object, after itself, is {i_same[4][1:6].tolist()}...; "
        f"with `kneighbors()` (self excluded) it is {i_none[4][:5].tolist()}... "
        f"(against a copy it happened to be {i_copy[4][:5].tolist()}...).")
    # Ties between duplicates.
    x = f32(rng.standard_normal((30, 3)))
    x[11] = x[2]
    x[25] = x[2]
    nn = NearestNeighbors(algorithm="brute").fit(x)
    d, i = nn.kneighbors(x.copy(), n_neighbors=4)
    d2, i2 = nn.kneighbors(n_neighbors=3)
    out.append(
        "- exact duplicates (rows 2, 11 and 25 equal), euclidean, brute: "
        f"`kneighbors(copy, 4)` gives row 2 as {i[2].tolist()} with distances "
        f"{[float(v) for v in d[2]]}; `kneighbors(n_neighbors=3)` gives row 2 as "
        f"{i2[2].tolist()}, row 11 as {i2[11].tolist()}: the tie order is not by index, "
        "so the expected files sort scikit-learn's rows themselves.")
    nn = NearestNeighbors(algorithm="kd_tree").fit(x)
    d3, i3 = nn.kneighbors(x.copy(), n_neighbors=4)
    out.append(f"  With algorithm=\"kd_tree\" row 2 of `kneighbors(copy, 4)` is {i3[2].tolist()}.")
    return out


# ---------------------------------------------------------------------------


def main():
    for entry in os.listdir(HERE):
        p = os.path.join(HERE, entry)
        if os.path.isdir(p) and entry != "__pycache__":
            shutil.rmtree(p)
    infos = []
    seeds = []

    # Euclidean, separate queries: 4 Gaussian blobs in 5-D, queries around.
    def euclid(rng):
        c = rng.uniform(-6, 6, (4, 5))
        x = f32(c[rng.randint(0, 4, 200)] + rng.standard_normal((200, 5)))
        q = f32(rng.uniform(-7, 7, (40, 5)))
        return x, q

    s, (x, q) = pick(euclid, passes("euclidean", k=5))
    seeds.append(("euclidean_queries", s))
    infos.append(write_case("euclidean_queries", "euclidean", x, q, k=5))

    # sqeuclidean, and its equality with euclidean squared in scikit-learn.
    def sq(rng):
        return f32(rng.standard_normal((150, 4)) * 2.0), f32(rng.standard_normal((30, 4)) * 2.5)

    s, (x, q) = pick(sq, passes("sqeuclidean", k=3))
    seeds.append(("sqeuclidean", s))
    for algorithm in ("brute", "auto"):
        a = NearestNeighbors(metric="sqeuclidean", algorithm=algorithm).fit(x).kneighbors(q, 3)
        b = NearestNeighbors(metric="euclidean", algorithm=algorithm).fit(x).kneighbors(q, 3)
        assert np.array_equal(a[1], b[1])
        assert np.allclose(a[0], b[0] ** 2, rtol=1e-12, atol=0), np.abs(a[0] - b[0] ** 2).max()
    infos.append(write_case("sqeuclidean", "sqeuclidean", x, q, k=3,
                            notes="scikit-learn's sqeuclidean = its euclidean squared (checked)"))

    # Cosine with a zero data vector: data in a cone around a direction,
    # some queries pointing away (their nearest is the zero vector, at 1).
    def cos(rng):
        axis = np.ones(6) / np.sqrt(6)
        x = axis * rng.uniform(0.5, 3.0, (120, 1)) + 0.35 * rng.standard_normal((120, 6))
        x[ZERO_ROW] = 0.0
        q = rng.standard_normal((30, 6))
        q[:6] = -axis * rng.uniform(0.5, 2.0, (6, 1)) + 0.2 * rng.standard_normal((6, 6))
        return f32(x), f32(q)

    s, (x, q) = pick(cos, passes("cosine", k=4))
    assert not np.any(x[ZERO_ROW]) and np.all((q * q).sum(1) > 0)
    seeds.append(("cosine_zero", s))
    info = write_case("cosine_zero", "cosine", x, q, k=4,
                      notes=f"data row {ZERO_ROW} is the zero vector")
    with open(os.path.join(HERE, "cosine_zero", "indices.csv")) as f:
        rows = [line.strip().split(",") for line in f]
    with_zero = sum(str(ZERO_ROW) in r for r in rows)
    first = sum(r[0] == str(ZERO_ROW) for r in rows)
    assert with_zero > 0 and with_zero < len(rows), with_zero
    info["notes"] += f"; it is in {with_zero} rows' answers ({first} as the nearest)"
    infos.append(info)

    # The data against itself, self excluded, with exact duplicates.
    def dup(rng):
        x = f32(rng.uniform(0, 8, (100, 3)))
        x[[41, 73]] = x[9]                          # a triple: 9, 41, 73
        x[58] = x[22]                               # a pair: 22, 58
        group = [5, 13, 30, 31, 47, 66, 80, 99]     # 8 equal points (> k + 1)
        x[group] = x[group[3]]
        return x, x

    s, (x, q) = pick(dup, passes("euclidean", k=6, exclude_self=True))
    seeds.append(("self_duplicates", s))
    info = write_case("self_duplicates", "euclidean", x, q, k=6, exclude_self=True,
                      notes="rows 9, 41, 73 equal; 22, 58 equal; 5, 13, 30, 31, 47, 66, 80, 99 equal")
    assert info["ties"] > 0
    # Every exact duplicate stays a neighbour at distance 0, lower index first
    # (the group of 8: the 6 lowest-indexed others).
    rows_i, rows_d, _, _ = expected("euclidean", x, x, 6, None, True)
    for group in ([9, 41, 73], [22, 58], [5, 13, 30, 31, 47, 66, 80, 99]):
        for a in group:
            others = [b for b in group if b != a][:6]
            assert rows_i[a][: len(others)].tolist() == others, (a, rows_i[a])
            assert np.all(rows_d[a][: len(others)] == 0.0)
            assert len(others) == 6 or rows_d[a][len(others)] > 0
    infos.append(info)

    # k = n.
    def kn(rng):
        return f32(rng.uniform(-3, 3, (24, 3))), f32(rng.uniform(-4, 4, (10, 3)))

    s, (x, q) = pick(kn, passes("euclidean", k=24))
    seeds.append(("k_equals_n", s))
    infos.append(write_case("k_equals_n", "euclidean", x, q, k=24))

    # d = 1.
    def d1(rng):
        return f32(rng.uniform(-10, 10, (60, 1))), f32(rng.uniform(-12, 12, (20, 1)))

    s, (x, q) = pick(d1, passes("euclidean", k=5))
    seeds.append(("d1", s))
    infos.append(write_case("d1", "euclidean", x, q, k=5))

    # d = 40.
    def d40(rng):
        c = rng.standard_normal((5, 40)) * 3
        x = c[rng.randint(0, 5, 300)] + rng.standard_normal((300, 40))
        q = c[rng.randint(0, 5, 20)] + 1.2 * rng.standard_normal((20, 40))
        return f32(x), f32(q)

    s, (x, q) = pick(d40, passes("euclidean", k=8))
    seeds.append(("d40", s))
    infos.append(write_case("d40", "euclidean", x, q, k=8))

    # Radius queries: uniform data in a square; some queries outside it.
    r = 0.75

    def rad(rng):
        x = rng.uniform(0, 6, (150, 2))
        q = rng.uniform(0, 6, (30, 2))
        q[::5] += np.array([9.0, -4.0])             # far away: empty rows
        return f32(x), f32(q)

    s, (x, q) = pick(rad, passes("euclidean", radius=r))
    seeds.append(("radius", s))
    info = write_case("radius", "euclidean", x, q, radius=r)
    assert 0 < info["empty"] < len(q)
    infos.append(info)

    # Inner product (numpy; FAISS IndexFlatIP semantics).
    def ip(rng):
        return f32(rng.standard_normal((100, 6))), f32(rng.standard_normal((25, 6)))

    s, (x, q) = pick(ip, passes("inner_product", k=5))
    seeds.append(("inner_product", s))
    infos.append(write_case("inner_product", "inner_product", x, q, k=5,
                            notes="computed with numpy (x . q in float64), largest first"))

    findings = sklearn_findings()
    for line in findings:
        print(line)

    table = "\n".join(
        f"| `{i['name']}` | {i['metric']} | {i['n']} | {i['d']} | {i['queries']} | {i['k']} | "
        f"{i['radius']} | {i['margin']:.2g} | {i['ties']} | "
        + ("-" if i["sklearn_dev"] is None else f"{i['sklearn_dev']:.1e}")
        + f" | {i['order_diff']} / {i['set_diff']} | {i['f32dev']['direct']:.1e} / {i['f32dev']['gemm']:.1e}"
        + f" | {i['empty']} | {i['notes']} |"
        for i in infos)
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(README.format(
            python=platform.python_version(), numpy=np.__version__,
            sklearn=sklearn.__version__, margin=MARGIN, table=table,
            findings="\n".join(findings),
            seeds="\n".join(f"- `{n}`: data seed {s}" for n, s in seeds)))


README = """# Known answers for exact nearest neighbours

Made by `tests/data/sklearn_knn/make_knn_cases.py` (run from the repository
root: `python3 tests/data/sklearn_knn/make_knn_cases.py`; it rewrites every
folder here) with

- Python {python}
- numpy {numpy}
- scikit-learn {sklearn}

The semantics are the library's (src/knn/mod.rs): scikit-learn's
`NearestNeighbors` (FAISS `IndexFlatIP` for the inner product), every row
sorted by distance ascending (inner product: descending), ties by lower index.

## Format

One folder per case. All files are plain ASCII text, lines end with `\\n`,
no header, no spaces, no quotes.

- `data.csv`: n lines of d comma-separated numbers: the data, row i = point
  i (0-based). Every value is a float32, written as the shortest decimal
  string of its exact value as a float64 (Python's `repr(float(v))`, e.g.
  `0.10000000149011612`): parse as f64 and cast to f32, or parse as f32
  directly; both give the same float32.
- `queries.csv`: the queries, same format. Absent when the queries are the
  data themselves (`exclude_self` true): then query r is data row r.
- `case.json`: exactly five keys, one per line, in this order:

  ```
  {{
    "metric": "euclidean",
    "k": 5,
    "radius": null,
    "exclude_self": false,
    "sklearn": "{sklearn}"
  }}
  ```

  `metric` is one of `euclidean`, `sqeuclidean`, `cosine`,
  `inner_product`; `k` is an integer or `null`; `radius` a number (a float32
  value, exactly representable) or `null` (exactly one of `k`, `radius` is
  set); `exclude_self` true means: query with the data itself, a point is not
  its own neighbour (excluded by index, not by distance: scikit-learn's
  `kneighbors()` with no argument); `sklearn` is the scikit-learn version
  whose results were checked. A line-based parser works: strip, drop a
  trailing comma, split at `": `.
- `indices.csv`: one line per query, the answer's data indices,
  comma-separated, in the expected order. For a k query every line has k
  indices; a radius query's line holds every index with distance <= r and
  may be empty (an empty line: the file still has exactly one line per
  query).
- `distances.csv`: one line per query, aligned with `indices.csv` (same
  number of values): float64 values as Python's `repr`. euclidean: the
  distance; sqeuclidean: its square; cosine: 1 - cos, clipped to [0, 2], 1
  for a zero vector; inner_product: the inner product (largest first).

Values are computed directly in float64 from the float32 inputs
(difference, square, sum, sqrt). The script rehearses a float32
implementation with numpy, in two forms: with differences ("direct") and as
|x|^2 - 2 x.y + |y|^2 ("gemm", as a GPU matrix product would); both must
reproduce every `indices.csv` exactly, and the table below gives how far
their distances are from the written ones. The gemm form loses digits for
small distances (about sqrt(float32 eps) |x| at distance 0: ~4e-3 for the
duplicates of `self_duplicates`, ~1e-3 relative at distance 0.07 in `d1`), so
compare distances with a tolerance such as 1e-4 relative plus 5e-3 absolute
(sqeuclidean: 1e-4 relative plus 1e-4 absolute), and indices exactly.
Indices must match exactly: the distances that decide each answer (the k + 1 smallest, every one
when k = n; radius: those <= r and the next, and every distance against r)
differ pairwise by more than {margin} relative (and |d - r| > {margin} r), so
float32 rounding cannot reorder them. The only exception is
`self_duplicates`, whose exact duplicates give exact ties (equal float32
inputs give equal distances in any arithmetic), ordered by lower index.

## Cases

Columns: margin = the smallest relative gap between deciding distances (and
to r); ties = adjacent equal deciding distances (exact duplicates); sklearn
dev = the largest |scikit-learn distance - written distance|; sklearn order /
set = rows where scikit-learn's brute output differs from the expected row in
order only / in its index set (both only through ties); f32 dev = the
largest |float32 distance - written distance| of the float32 rehearsal (see
Format), with differences (direct) and as |x|^2 - 2 x.y + |y|^2 (gemm);
empty = empty rows.

| case | metric | n | d | queries | k | r | margin | ties | sklearn dev | sklearn order / set | f32 dev direct / gemm | empty | notes |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{table}

How each was checked: scikit-learn `NearestNeighbors(metric=..., algorithm="brute")`
(and `algorithm="auto"`, a tree, for euclidean and sqeuclidean) answered every
case but `inner_product` (`kneighbors(queries, k)`, `kneighbors(n_neighbors=k)`
for self exclusion, `radius_neighbors(queries, r, sort_results=True)`); its
distances agree with the written ones (to 1e-9 relative, plus 1e-7 absolute for
euclidean, whose ||x||^2 - 2 x.y + ||y||^2 form loses digits near 0) and its
index sets equal the expected ones except where an exact tie straddles the end
of an answer. `sqeuclidean`: scikit-learn's `sqeuclidean` indices equal its
`euclidean` ones and its distances equal theirs squared (1e-12 relative).
`inner_product` has no scikit-learn metric and comes from numpy (float64 dot
products), FAISS IndexFlatIP's semantics.

## scikit-learn's own behaviour (measured by the script)

{findings}

The expected files follow the library where scikit-learn's order is
unspecified: every row is re-sorted with a stable sort on (distance, index).

numpy RandomState seeds of the data sets (the first that passed the margins):

{seeds}
"""

if __name__ == "__main__":
    sys.exit(main())
