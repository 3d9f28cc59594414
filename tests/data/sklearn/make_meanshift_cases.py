#!/usr/bin/env python3
"""Known answers for tests/sklearn_meanshift.rs, computed with scikit-learn.

Run from the repository root:

    python3 tests/data/sklearn/make_meanshift_cases.py

It rewrites every case folder under tests/data/sklearn/ and README.md there
(with the Python, numpy and scikit-learn versions used). The output is
deterministic for a given set of versions.

Each case folder holds plain text that the Rust test parses with std only:

  data.csv      the points, one row per line, comma-separated, no header.
                Every value is a float32, written as numpy's shortest string
                that reads back as the same float32; scikit-learn is given the
                same values as float64, so both sides see identical inputs.
  seeds.csv     (only when the case gives seeds) same format.
  params.txt    "key = value" lines: the MeanShift parameters.
  expected.txt  "key = value" lines: n_iter, n_clusters, bandwidth (the one
                scikit-learn used, repr of a float64).
  labels.txt    scikit-learn's labels_, one integer per line (-1 = none).
  centers.csv   scikit-learn's cluster_centers_ (float64, repr), label order.
  queries.csv   new points (float32, as data.csv) around the data.
  predict.txt   "label,within" per query: scikit-learn's predict() (nearest
                centre, whatever cluster_all says) and 1 if that centre is
                within h of the query, else 0 (this library's predict follows
                cluster_all, so with cluster_all off it gives -1 where 0).

bandwidth/ holds estimate_bandwidth answers on one data set:
  data.csv      as above.
  quantiles.csv "quantile,bandwidth" rows (repr of float64 both), no header.

Lines starting with '#' are comments in params.txt and expected.txt.

Every case is checked here to be robust to float32 arithmetic: the script
replays scikit-learn's seed loop in float64 and requires that no point lies
within a relative margin MARGIN of a window boundary (|x - m| = h) at any
step, that no shift lies near the stopping threshold 1e-3 h, that no bin
coordinate x / h lies near a rounding boundary (k + 0.5), that no two modes lie
near distance h (the merge), and that every point's nearest centre is clearly
nearer than its second (and clearly inside or outside h where cluster_all is
off). The random seed of each data set was chosen by searching for the first
that passes (see `pick`).
"""

import os
import platform
import shutil
import sys

import numpy as np
import sklearn
from sklearn.cluster import MeanShift, estimate_bandwidth

HERE = os.path.dirname(os.path.abspath(__file__))
MARGIN = 1e-4


def f32(a):
    """Rounds to float32 and returns float64 holding exactly those values."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def fmt32(v):
    s = np.format_float_positional(np.float32(v), unique=True, trim="-")
    assert np.float32(float(s)) == np.float32(v) and float(np.float32(s)) == float(np.float32(v))
    return s


def fmt64(v):
    return repr(float(v))


def write_csv32(path, x):
    with open(path, "w") as f:
        for row in np.atleast_2d(x):
            f.write(",".join(fmt32(v) for v in row) + "\n")


def write_csv64(path, x):
    with open(path, "w") as f:
        for row in np.atleast_2d(x):
            f.write(",".join(fmt64(v) for v in row) + "\n")


def blobs(rng, centres, sizes, std):
    centres = np.asarray(centres, dtype=np.float64)
    parts = [c + std * rng.standard_normal((n, len(c))) for c, n in zip(centres, sizes)]
    return f32(np.vstack(parts))


# ---------------------------------------------------------------------------
# Replay of scikit-learn's loop, for the robustness margins.


def get_bin_seeds(x, h, min_bin_freq):
    """scikit-learn's get_bin_seeds, also returning the rounding margin."""
    q = x / h
    frac = np.abs(q - np.floor(q) - 0.5)
    margin = float(frac.min())
    bins = {}
    for row in np.round(q):
        bins[tuple(row)] = bins.get(tuple(row), 0) + 1
    seeds = np.array([b for b, c in bins.items() if c >= min_bin_freq], dtype=np.float32)
    if len(seeds) == len(x):
        return x, margin
    return seeds * h, margin


def replay(x, seeds, h, max_iter, cluster_all, centers):
    """Replays scikit-learn's fit; returns (margins dict, n_iter, modes)."""
    window = np.inf
    stop = np.inf
    modes = {}
    n_iter = 0
    thresh = 1e-3 * h
    for seed in seeds:
        m = np.asarray(seed, dtype=np.float64)
        it = 0
        while True:
            d = np.linalg.norm(x - m, axis=1)
            window = min(window, float(np.min(np.abs(d - h))) / h)
            inside = d <= h
            if not inside.any():
                break
            old = m
            m = x[inside].mean(axis=0)
            s = float(np.linalg.norm(m - old))
            if s > 0:
                stop = min(stop, abs(s - thresh) / thresh)
            count = int(inside.sum())
            if s <= thresh or it == max_iter:
                break
            it += 1
        if inside.any():
            modes[tuple(m)] = count
        n_iter = max(n_iter, it)
    pts = np.array(list(modes.keys()))
    merge = np.inf
    for i in range(len(pts)):
        d = np.linalg.norm(pts - pts[i], axis=1)
        merge = min(merge, float(np.min(np.abs(d - h))) / h)
    d = np.linalg.norm(x[:, None, :] - centers[None, :, :], axis=2)
    ds = np.sort(d, axis=1)
    label = float(np.min(ds[:, 1] - ds[:, 0])) / h if len(centers) > 1 else np.inf
    radius = np.inf if cluster_all else float(np.min(np.abs(ds[:, 0] - h))) / h
    margins = dict(window=window, stop=stop, merge=merge, label=label, radius=radius)
    return margins, n_iter


# ---------------------------------------------------------------------------


def make_queries(x, centers, h, n=24):
    """Points around the data, each clearly nearer one centre than the others
    and clearly inside or outside h of it (seeded by the data's size)."""
    rng = np.random.RandomState(len(x))
    lo, hi = x.min(axis=0) - h, x.max(axis=0) + h
    out = []
    while len(out) < n:
        q = f32(rng.uniform(lo, hi))
        d = np.sort(np.linalg.norm(centers - q, axis=1))
        if len(d) > 1 and d[1] - d[0] <= MARGIN * h:
            continue
        if abs(d[0] - h) <= MARGIN * h:
            continue
        out.append(q)
    return np.array(out)


def run_case(name, x, bandwidth=None, quantile=None, seeds=None, bin_seeding=False,
             min_bin_freq=1, cluster_all=True, max_iter=300, write=True):
    """Fits scikit-learn; returns the worst margin (and writes the case)."""
    if bandwidth is None:
        h = estimate_bandwidth(x, quantile=0.3 if quantile is None else quantile)
    else:
        h = bandwidth
    ms = MeanShift(bandwidth=bandwidth if quantile is None else h, seeds=seeds,
                   bin_seeding=bin_seeding, min_bin_freq=min_bin_freq,
                   cluster_all=cluster_all, max_iter=max_iter)
    ms.fit(x)
    if bandwidth is None and quantile is None:
        assert ms.bandwidth is None  # estimated inside fit, as h above
    bin_margin = np.inf
    if seeds is not None:
        replay_seeds = seeds
    elif bin_seeding:
        replay_seeds, bin_margin = get_bin_seeds(x, h, min_bin_freq)
    else:
        replay_seeds = x
    margins, n_iter = replay(x, replay_seeds, h, max_iter, cluster_all, ms.cluster_centers_)
    margins["bin"] = bin_margin if bin_seeding and seeds is None else np.inf
    assert n_iter == ms.n_iter_, (name, n_iter, ms.n_iter_)
    worst = min(margins.values())
    if not write:
        return worst
    assert worst > MARGIN, (name, margins)
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    write_csv32(os.path.join(d, "data.csv"), x)
    if seeds is not None:
        write_csv32(os.path.join(d, "seeds.csv"), seeds)
    with open(os.path.join(d, "params.txt"), "w") as f:
        f.write(f"# MeanShift parameters of case {name}\n")
        if bandwidth is not None:
            f.write(f"bandwidth = {fmt32(bandwidth)}\n")
        else:
            f.write(f"quantile = {fmt64(0.3 if quantile is None else quantile)}\n")
        f.write(f"bin_seeding = {str(bin_seeding).lower()}\n")
        f.write(f"min_bin_freq = {min_bin_freq}\n")
        f.write(f"cluster_all = {str(cluster_all).lower()}\n")
        f.write(f"max_iter = {max_iter}\n")
        f.write(f"seeds = {str(seeds is not None).lower()}\n")
    with open(os.path.join(d, "expected.txt"), "w") as f:
        f.write(f"# scikit-learn {sklearn.__version__} answers for case {name}\n")
        f.write("# smallest robustness margins (relative): "
                + ", ".join(f"{k} {v:.3g}" for k, v in sorted(margins.items())) + "\n")
        f.write(f"n_iter = {ms.n_iter_}\n")
        f.write(f"n_clusters = {len(ms.cluster_centers_)}\n")
        f.write(f"bandwidth = {fmt64(h)}\n")
    with open(os.path.join(d, "labels.txt"), "w") as f:
        f.write("".join(f"{int(v)}\n" for v in ms.labels_))
    write_csv64(os.path.join(d, "centers.csv"), ms.cluster_centers_)
    queries = make_queries(x, ms.cluster_centers_, h)
    write_csv32(os.path.join(d, "queries.csv"), queries)
    dq = np.linalg.norm(queries[:, None, :] - ms.cluster_centers_[None, :, :], axis=2)
    with open(os.path.join(d, "predict.txt"), "w") as f:
        for label, dist in zip(ms.predict(queries), dq.min(axis=1)):
            f.write(f"{int(label)},{int(dist <= h)}\n")
    print(f"{name}: n={len(x)} d={x.shape[1]} h={float(h)!r} clusters={len(ms.cluster_centers_)} "
          f"n_iter={ms.n_iter_} labels(-1)={int((ms.labels_ == -1).sum())} "
          f"margin={worst:.3g}")
    return worst


def pick(make, check, tries=200):
    """First data seed whose data pass `check` (returns (seed, data))."""
    for s in range(tries):
        x = make(np.random.RandomState(s))
        if check(x):
            return s, x
    raise SystemExit("no data seed passed the margins")


def passes(**kw):
    return lambda x: run_case("probe", x, write=False, **kw) > MARGIN


def main():
    for entry in os.listdir(HERE):
        p = os.path.join(HERE, entry)
        if os.path.isdir(p) and entry != "__pycache__":
            shutil.rmtree(p)
    made = []

    # 2-D, three blobs of different sizes, away from the origin.
    def blobs2d(rng):
        return blobs(rng, [[40.0, -20.0], [52.0, -14.0], [44.0, -6.0]], [30, 24, 18], 0.7)

    h = 2.0
    s, x = pick(blobs2d, lambda x: all(
        passes(bandwidth=h, **kw)(x) for kw in (
            {}, {"bin_seeding": True}, {"bin_seeding": True, "min_bin_freq": 3})))
    made.append(("blobs2d", s))
    run_case("blobs2d", x, bandwidth=h)
    run_case("blobs2d_bin", x, bandwidth=h, bin_seeding=True)
    run_case("blobs2d_bin_minfreq", x, bandwidth=h, bin_seeding=True, min_bin_freq=3)

    # Equal, tight blobs: every window holds a whole blob, so intensities tie
    # and the merge orders the modes by coordinates, descending.
    def ties(rng):
        return blobs(rng, [[-8.0, 3.0], [6.0, 9.0], [6.0, -5.0], [-2.0, -12.0]], [12] * 4, 0.25)

    s, x = pick(ties, passes(bandwidth=2.5))
    made.append(("ties", s))
    run_case("ties", x, bandwidth=2.5)

    # Far outliers with cluster_all off: bins of one point are not seeds,
    # so the outliers are farther than h from every centre (-1).
    def outliers(rng):
        core = blobs(rng, [[10.0, 10.0], [22.0, 4.0]], [25, 20], 0.6)
        far = f32(rng.uniform(-60.0, 60.0, (5, 2)) + np.array([[80.0, -90.0]]))
        return np.vstack([core[:12], far[:2], core[12:], far[2:]])

    s, x = pick(outliers, passes(bandwidth=2.25, bin_seeding=True, min_bin_freq=2,
                                 cluster_all=False))
    made.append(("outliers", s))
    run_case("outliers", x, bandwidth=2.25, bin_seeding=True, min_bin_freq=2, cluster_all=False)

    # Given seeds, one far from every point (dropped), none in the third blob,
    # with cluster_all off: that blob's points get -1.
    def seeded(rng):
        return blobs(rng, [[0.0, 0.0], [9.0, 1.0], [3.0, 12.0]], [20, 16, 14], 0.5)

    seeds = f32([[0.5, -0.25], [8.5, 1.5], [-40.0, 40.0], [0.25, 0.5]])
    s, x = pick(seeded, passes(bandwidth=1.75, seeds=seeds, cluster_all=False))
    made.append(("seeds", s))
    run_case("seeds", x, bandwidth=1.75, seeds=seeds, cluster_all=False)

    # Estimated bandwidth: the default quantile inside fit, and another.
    def wide(rng):
        return blobs(rng, [[-6.0, 4.0], [7.0, 5.0], [0.0, -9.0]], [40, 35, 25], 1.5)

    s, x = pick(wide, lambda x: passes(bandwidth=None)(x) and passes(quantile=0.15)(x))
    made.append(("estimated", s))
    run_case("estimated_q030", x)
    run_case("estimated_q015", x, quantile=0.15)

    # 1-D and 3-D.
    def line(rng):
        return blobs(rng, [[-30.0], [-21.0], [5.0], [12.0]], [15, 25, 10, 20], 0.8)

    s, x = pick(line, passes(bandwidth=2.0))
    made.append(("line1d", s))
    run_case("line1d", x, bandwidth=2.0)

    def cube(rng):
        return blobs(rng, [[1.0, 2.0, 3.0], [9.0, -4.0, 2.0], [-5.0, 6.0, -7.0], [4.0, 8.0, 9.0]],
                     [20, 26, 14, 17], 0.7)

    s, x = pick(cube, lambda x: passes(bandwidth=2.5)(x)
                and passes(bandwidth=2.5, bin_seeding=True)(x))
    made.append(("blobs3d", s))
    run_case("blobs3d", x, bandwidth=2.5)
    run_case("blobs3d_bin", x, bandwidth=2.5, bin_seeding=True)

    # Elongated blobs with a small max_iter: seeds are still moving when the
    # cap stops them, so n_iter_ = max_iter and the unconverged modes merge.
    def stretched(rng):
        a = rng.standard_normal((40, 2)) * np.array([6.0, 0.6]) + np.array([0.0, 0.0])
        b = rng.standard_normal((30, 2)) * np.array([0.6, 5.0]) + np.array([25.0, 3.0])
        return f32(np.vstack([a, b]))

    s, x = pick(stretched, passes(bandwidth=3.0, max_iter=2))
    made.append(("maxiter", s))
    run_case("maxiter", x, bandwidth=3.0, max_iter=2)

    # estimate_bandwidth alone, over several quantiles (0.29 * 100 gives
    # k = 28 in float64, as int(n * quantile) does; 0.005 gives k = 1: the
    # point itself, bandwidth 0, which this library reports as an error).
    rng = np.random.RandomState(7)
    x = blobs(rng, [[3.0, -2.0, 1.0], [-4.0, 5.0, 0.5]], [60, 40], 1.2)
    d = os.path.join(HERE, "bandwidth")
    os.makedirs(d, exist_ok=True)
    write_csv32(os.path.join(d, "data.csv"), x)
    with open(os.path.join(d, "quantiles.csv"), "w") as f:
        for q in (0.005, 0.05, 0.15, 0.29, 0.3, 0.5, 0.77, 1.0):
            f.write(f"{fmt64(q)},{fmt64(estimate_bandwidth(x, quantile=q))}\n")
    made.append(("bandwidth", 7))

    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(README.format(
            python=platform.python_version(), numpy=np.__version__,
            sklearn=sklearn.__version__, margin=MARGIN,
            seeds="\n".join(f"- `{n}`: data seed {s}" for n, s in made)))


README = """# scikit-learn known answers for mean shift

Made by `tests/data/sklearn/make_meanshift_cases.py` (run from the repository
root: `python3 tests/data/sklearn/make_meanshift_cases.py`) with

- Python {python}
- numpy {numpy}
- scikit-learn {sklearn}

and read by `tests/sklearn_meanshift.rs`. The script's docstring describes the
file formats. Data are float32 values written as numpy's shortest round-trip
strings; scikit-learn saw them as float64, so both sides start from the same
numbers. Each case's robustness margins (no point near a window boundary, no
shift near the stopping threshold, no bin coordinate near a rounding boundary,
no two modes near distance h, no point nearly equidistant from two centres)
exceed {margin} relative to the bandwidth; `expected.txt` lists them.

numpy RandomState seeds of the data sets (the first that passed the margins):

{seeds}
"""

if __name__ == "__main__":
    sys.exit(main())
