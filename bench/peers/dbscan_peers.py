#!/usr/bin/env python3
"""Times the peers of gpu-cluster's DBSCAN (N points in D dimensions,
neighbourhoods of radius eps, core points with at least min_samples
neighbours, themselves included), as a user would run them, prints one JSON
line per peer, and checks every peer's labels against scikit-learn's and
against ours'.

    python3 bench/peers/dbscan_peers.py --data X.npy [--eps 0.3]
        [--min-samples 10] [--reps 3] [--warmup 1] [--time-budget S]
        [--peers sklearn,cuml] [--skip sklearn,cuml] [--sklearn-n-jobs none,-1]
        [--ours-labels PREFIX] [--round R]

    python3 bench/peers/dbscan_peers.py [--n 100000] [--d 2]
        [--dist blobs|uniform] [--seed 0] [--save-dir DIR] [--data-only] [...]

The data: one float32 .npy file (C order), N x D (--data), so that our Rust
benchmark (examples/bench.rs --modes dbscan) fits the same array. Without
it the script makes it itself, seeded: knn_peers.py's generator with no
queries (numpy RandomState(seed); --dist blobs: 100 centres uniform in
[-10, 10]^D, standard deviation 1; --dist uniform: [0, 1)^D, here
stretched to [0, 20)^D, the blobs' box), every coordinate then multiplied
by (N / 100000)^(1/D), so the points have the same density at every N as
at N = 100000: the neighbourhood of a given eps holds about as many points
whatever N (at D = 2, eps = 0.3: about 80 in the median, 220 at most, on
blobs), and a larger N is a larger area of the same stuff, not a denser
one (which would grow scikit-learn's neighbour lists, and its memory, as
N^2). --save-dir DIR writes it as DIR/dbscan_data_n{N}_d{D}_{dist}_s{seed}.npy
(and the timings go on, unless --data-only: then only the "env" line is
printed, nothing timed). Defaults: N = 100000, D = 2, eps = 0.3,
min_samples = 10. The env line gives the array's fingerprint (shape and the
wrapping 64-bit sum of (i + 1) * bits[i] over the float32 bit patterns, as
hex; examples/bench.rs computes the same): bench/table.py checks both sides
fitted the same bytes. Every line carries "workload": "dbscan" (and
"round": R with --round).

Peers (each timed from the host array to host labels, everything a user
would call included):

- sklearn-dbscan: scikit-learn `DBSCAN(eps=eps, min_samples=m,
  algorithm="auto", n_jobs=J).fit(X)` on the float32 array as given (a
  k-d tree at low D), once per --sklearn-n-jobs value: "none" (the
  default call: the neighbourhood queries on one thread) is the peer
  "sklearn-dbscan", -1 (the queries spread over every core, as ours' are)
  "sklearn-dbscan-j-1". The cluster expansion is single-threaded either
  way.
- cuml-dbscan: RAPIDS cuML `DBSCAN(eps=eps, min_samples=m).fit(X)` on a
  GPU, labels copied back as numpy. Reported "missing" where cuML does not
  import (or finds no GPU).

Per peer: times of --reps timed runs after --warmup untimed ones (best and
median seconds), the clusters found, the noise points (label -1) and the
core points, and the label checks: each peer's labels against the first
scikit-learn run's ("labels_vs_sklearn"), and scikit-learn's against ours'
(--ours-labels PREFIX: the int32 .npy files PREFIX-cpu.npy and
PREFIX-gpu.npy that examples/bench.rs writes, those present;
"labels_vs_ours": {"cpu": ..., "gpu": ...}). A check says "identical"
(every label equal: ours numbers clusters as scikit-learn does), "same
partition, renumbered" (equal up to the clusters' numbers, noise the
same), or how many points differ.

A peer that cannot run is reported with "status": "missing" (not
importable, no device) or "skipped" (--skip), never timed with something
else; one that raises gives "status": "error" and the run goes on.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's
environment before numpy loads (knn_peers.py does it on import, which comes
first); the first line ("kind": "env") says which were removed, which BLAS
and thread counts threadpoolctl sees, where the data came from, and the
load average.
"""

import knn_peers  # noqa: I001 - first: it clears OPENBLAS_* before numpy loads

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

# The seeded generator, fingerprints, timing, environment line and the
# absent / guarded / emit / load helpers are knn_peers.py's.
from knn_peers import absent, add_common_args, emit, env_line, fingerprint, guarded, load, make_data, timed  # noqa: E402

PEERS = ("sklearn", "cuml")
# The density every N is scaled to: knn_peers.py's blobs at this N.
DENSITY_N = 100000
# knn_peers.py's uniform points are in [0, 1)^D: stretched to the blobs' box.
UNIFORM_SIDE = 20.0


# ----------------------------------------------------------------- data


def make_points(n, d, dist, seed):
    """knn_peers.py's seeded points, scaled to DENSITY_N's density."""
    x, _ = make_data(n, 0, d, dist, seed)
    scale = (n / DENSITY_N) ** (1.0 / d) * (UNIFORM_SIDE if dist == "uniform" else 1.0)
    return np.ascontiguousarray((x.astype(np.float64) * scale).astype(np.float32)), scale


def summary(labels, core):
    labels = np.asarray(labels)
    return {
        "clusters": int(labels.max()) + 1 if len(labels) else 0,
        "noise": int(np.count_nonzero(labels < 0)),
        "core_points": None if core is None else int(len(core)),
    }


def compare(a, b):
    """How labels a match labels b: identical, the same partition with other
    numbers, or the number of points that differ."""
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.shape != b.shape:
        return {"verdict": f"different lengths ({len(a)} and {len(b)})", "differ": None}
    differ = int(np.count_nonzero(a != b))
    if differ == 0:
        return {"verdict": "identical", "differ": 0}
    pairs = np.unique(np.stack([a, b]), axis=1)
    renumbered = (
        np.array_equal(a < 0, b < 0)
        and len(np.unique(pairs[0])) == pairs.shape[1]
        and len(np.unique(pairs[1])) == pairs.shape[1]
    )
    return {"verdict": "same partition, renumbered" if renumbered else f"{differ} points differ", "differ": differ}


def ours_labels(prefix):
    """Ours' labels by backend, from the files examples/bench.rs wrote."""
    found = {}
    for backend in ("cpu", "gpu"):
        path = f"{prefix}-{backend}.npy"
        if os.path.exists(path):
            found[backend] = (path, np.load(path))
    return found


def result(base, peer, times, labels, core, checks, **extra):
    med, best = statistics.median(times), min(times)
    line = dict(base, kind="peer", peer=peer, status="ok")
    line.update(
        reps=len(times),
        reps_asked=base["reps"],
        best_s=round(best, 6),
        median_s=round(med, 6),
        times_s=[round(t, 6) for t in times],
        loadavg_1m=round(os.getloadavg()[0], 2),
    )
    line.update(summary(labels, core))
    line.update(checks)
    line.update(extra)
    return line


# ------------------------------------------------------------ the peers


def sklearn_name(n_jobs):
    return "sklearn-dbscan" if n_jobs is None else f"sklearn-dbscan-j{n_jobs}"


def sklearn_peer(x, args, base, state):
    """One line per --sklearn-n-jobs value; the first run's labels become
    the reference the others (and cuML) are checked against, and are
    checked against ours'."""
    if "sklearn" in args.skip:
        for j in args.sklearn_n_jobs:
            yield absent(base, sklearn_name(j), "skipped", "--skip sklearn")
        return
    try:
        import sklearn
        from sklearn.cluster import DBSCAN
    except Exception as e:  # noqa: BLE001 - any import failure means missing
        for j in args.sklearn_n_jobs:
            yield absent(base, sklearn_name(j), "missing", f"scikit-learn not importable: {type(e).__name__}: {e}")
        return
    for n_jobs in args.sklearn_n_jobs:

        def run():
            return DBSCAN(eps=args.eps, min_samples=args.min_samples, algorithm="auto", n_jobs=n_jobs).fit(x)

        times, fit = timed(run, args.reps, args.warmup)
        checks = {}
        if "labels" in state:
            checks["labels_vs_sklearn"] = compare(fit.labels_, state["labels"])
        else:
            state["labels"] = fit.labels_
            checks["labels_vs_ours"] = {
                backend: dict(compare(theirs, fit.labels_), file=path)
                for backend, (path, theirs) in ours_labels(args.ours_labels).items()
            } if args.ours_labels else {}
        yield result(
            base, sklearn_name(n_jobs), times, fit.labels_, fit.core_sample_indices_, checks,
            n_jobs=n_jobs,
            algorithm="auto",
            version=sklearn.__version__,
            note="DBSCAN(eps, min_samples, algorithm='auto', n_jobs).fit(X) in each timed run",
        )


def cuml_peer(x, args, base, state):
    name = "cuml-dbscan"
    if "cuml" in args.skip:
        yield absent(base, name, "skipped", "--skip cuml")
        return
    try:
        import cuml
        from cuml.cluster import DBSCAN
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "missing", f"cuML not importable: {type(e).__name__}: {e}")
        return

    def run():
        fit = DBSCAN(eps=args.eps, min_samples=args.min_samples, output_type="numpy").fit(x)
        return np.asarray(fit.labels_), getattr(fit, "core_sample_indices_", None)

    times, (labels, core) = timed(run, args.reps, args.warmup)
    checks = {"labels_vs_sklearn": compare(labels, state["labels"])} if "labels" in state else {}
    yield result(
        base, name, times, labels, None if core is None else np.asarray(core), checks,
        version=cuml.__version__,
        note="cuml.cluster.DBSCAN(eps, min_samples).fit(X), labels to the host, in each timed run",
    )


# ----------------------------------------------------------------- main


def parse_jobs(text):
    jobs = []
    for item in filter(None, text.split(",")):
        jobs.append(None if item.lower() == "none" else int(item))
    return jobs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="N x D float32 .npy")
    add_common_args(ap, 2, PEERS)
    ap.add_argument("--eps", type=float, default=0.3, help="neighbourhood radius")
    ap.add_argument("--min-samples", type=int, default=10, help="neighbours (self included) of a core point")
    ap.add_argument("--sklearn-n-jobs", default="none,-1",
                    help="DBSCAN(n_jobs=...) values, one scikit-learn line each (default none,-1)")
    ap.add_argument("--ours-labels", default=None,
                    help="check scikit-learn's labels against PREFIX-cpu.npy and PREFIX-gpu.npy (int32)")
    ap.add_argument("--data-only", action="store_true",
                    help="make (or read) and save the array, print the env line, time nothing")
    ap.add_argument("--round", type=int, default=None, help="a round number to put on every line (bench/run)")
    args = ap.parse_args()
    if args.data_only and args.data is None and not args.save_dir:
        ap.error("--data-only makes the array for someone else: give --save-dir")
    if args.reps < 1 or args.warmup < 0 or args.min_samples < 1:
        ap.error("--reps and --min-samples must be >= 1, --warmup >= 0")
    if not args.eps > 0:
        ap.error("--eps must be > 0")
    try:
        args.sklearn_n_jobs = parse_jobs(args.sklearn_n_jobs)
    except ValueError:
        ap.error(f"--sklearn-n-jobs: integers or none, got {args.sklearn_n_jobs!r}")
    if args.time_budget is not None:
        if not args.time_budget > 0:
            ap.error("--time-budget must be > 0 seconds")
        knn_peers.TIME_BUDGET_S = args.time_budget  # read by knn_peers.timed
    families = [p for p in args.peers.split(",") if p]
    args.skip = set(filter(None, args.skip.split(",")))
    for p in families + sorted(args.skip):
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}: use {', '.join(PEERS)}")

    if args.data is not None:
        x = load(args.data, "data", ap)
        source = {"data": args.data, "generator": None}
    else:
        x, scale = make_points(args.n, args.d, args.dist, args.seed)
        source = {"data": None, "generator": args.dist, "seed": args.seed, "scale": scale}
        if args.save_dir:
            os.makedirs(args.save_dir, exist_ok=True)
            dp = os.path.join(args.save_dir, f"dbscan_data_n{args.n}_d{args.d}_{args.dist}_s{args.seed}.npy")
            np.save(dp, x)
            source.update(data=dp)
    n, d = x.shape
    tags = {"workload": "dbscan"}
    if args.round is not None:
        tags["round"] = args.round
    source.update(tags, n=n, d=d, data_fingerprint=fingerprint(x))
    emit(env_line(source))
    if args.data_only:
        return

    base = dict(tags, n=n, d=d, eps=args.eps, min_samples=args.min_samples, reps=args.reps, warmup=args.warmup)
    peers = {"sklearn": sklearn_peer, "cuml": cuml_peer}
    state = {}  # the first scikit-learn run's labels
    for fam in families:
        for line in guarded(peers[fam](x, args, base, state), base, f"{fam}-dbscan"):
            emit(line)
            if line["status"] != "ok":
                print(f"dbscan_peers: {line['peer']}: {line['status']}: {line['reason']}", file=sys.stderr, flush=True)
                continue
            checks = [f"vs scikit-learn's: {line['labels_vs_sklearn']['verdict']}"] if "labels_vs_sklearn" in line else []
            checks += [f"vs ours {b}: {c['verdict']}" for b, c in line.get("labels_vs_ours", {}).items()]
            print(
                f"dbscan_peers: {line['peer']} N={n} D={d} eps={args.eps} min_samples={args.min_samples}: "
                f"best {line['best_s']:.3f} s, median {line['median_s']:.3f} s, {line['clusters']} clusters, "
                f"{line['noise']} noise, {line['core_points']} core; labels " + ("; ".join(checks) or "not checked"),
                file=sys.stderr,
                flush=True,
            )


if __name__ == "__main__":
    main()
