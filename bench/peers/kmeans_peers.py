#!/usr/bin/env python3
"""Times the peers of gpu-cluster's k-means (Lloyd's iterations from given
initial centres: N points in D dimensions, k clusters, at most --max-iter
iterations), as a user would run them, and prints one JSON line per peer.

    python3 bench/peers/kmeans_peers.py --data X.npy --init C.npy
        [--max-iter 50] [--reps 3] [--warmup 1] [--time-budget S]
        [--peers sklearn,faiss,torch] [--skip sklearn,faiss,torch]
        [--sklearn-reps R] [--sklearn-warmup W] [--sklearn-f64-check] [--faiss-threads T]
        [--torch-batch-bytes 1073741824] [--round R]

    python3 bench/peers/kmeans_peers.py [--n 100000] [--d 16] [--k 256]
        [--dist blobs|uniform] [--seed 0] [--save-dir DIR] [--data-only] [...]

The data: two float32 .npy files (C order), the N x D points (--data) and
the k x D initial centres (--init), so that our Rust benchmark
(examples/bench.rs --modes kmeans) starts from the same centres on the same
arrays. Without them the script makes them itself, seeded: the points are
knn_peers.py's generator with no queries (numpy RandomState(seed); --dist
blobs: 100 centres uniform in [-10, 10]^D, standard deviation 1, each point
from a uniformly chosen centre; --dist uniform: [0, 1)^D), so for the same
N, D, dist and seed they are the kNN workload's data points, byte for byte;
the initial centres are the points at k distinct indices drawn by
RandomState(seed + 1).choice(N, k, replace=False), in the order drawn.
--save-dir DIR writes them as DIR/kmeans_data_n{N}_d{D}_{dist}_s{seed}.npy
and DIR/kmeans_init_k{k}_n{N}_d{D}_{dist}_s{seed}.npy (and the timings go
on, unless --data-only: then only the "env" line is printed, nothing timed).
Defaults: N = 100000, D = 16, k = 256, 50 iterations. The env line gives
both arrays' fingerprints (shape and the wrapping 64-bit sum of
(i + 1) * bits[i] over the float32 bit patterns, as hex; examples/bench.rs
computes the same): bench/table.py checks both sides timed the same bytes.
Every line carries "workload": "kmeans" (and "round": R with --round).

Peers (each timed from the host arrays to host centres and labels,
everything a user would call included):

- sklearn-lloyd: scikit-learn `KMeans(n_clusters=k, init=C, n_init=1,
  max_iter=M, tol=0, algorithm="lloyd").fit(X)` on the float32 array as
  given (its own threads: OpenMP, all cores). tol = 0: it stops before M
  iterations only on strict convergence (no label changed), as ours does;
  "n_iter" is its n_iter_. Empty clusters take the points farthest from
  their centres, as ours do. With --sklearn-f64-check it also fits once
  more, untimed, on float64 copies of X and C ("f64_inertia",
  "f64_n_iter"): scikit-learn computes float32 input in float32 (distances
  by GEMM), and over tens of iterations the few labels that flip at
  near-ties can move its inertia by about 1e-4 relative from its own
  float64 run's, which is the yardstick for ours (float32, distances by
  direct differences).
- faiss-kmeans: faiss-cpu `Kmeans(D, k, niter=M, max_points_per_centroid=
  ceil(N / k), min_points_per_centroid=1)` (no subsampling: every point is
  used), `train(X, init_centroids=C)`, then `index.search(X, 1)` for the
  labels against the final centres (the final assignment scikit-learn and
  ours make too). faiss always runs M iterations (no convergence test) and
  handles an empty cluster differently: it splits a large cluster in two
  (a slightly perturbed copy of its centre); the line's "nsplit" counts
  those splits. Its iterations are otherwise Lloyd's (assignment by
  IndexFlatL2, BLAS, then means).
- torch-cuda: PyTorch on CUDA, a straightforward Lloyd loop: upload X and
  C, then M times `cdist` + `argmin` (in batches of rows whose N_b x k
  float32 distance block stays under --torch-batch-bytes), per-cluster sums
  by `index_add_` and counts by `bincount`, new centre = sum / count (an
  empty cluster keeps its centre); a final assignment, labels and centres
  copied back. Always M iterations. Reported "missing" where torch or CUDA
  is absent.

Per peer: times of --reps timed runs after --warmup untimed ones (best and
median seconds, and seconds per iteration from the median: median /
n_iter), the iterations run, and the final inertia recomputed untimed in
float64 from the peer's centres and labels (sum of squared distances of
each point to its label's centre), with the peer's own figure beside it
where it has one (scikit-learn's inertia_, faiss's summed search
distances). Same start, same iterations, the same empty-cluster rule: the
inertias agree to about 1e-4 relative (float32 arithmetic); faiss's and
torch's empty-cluster rules can move them further apart.

A peer that cannot run is reported with "status": "missing" (not
importable, no device) or "skipped" (--skip), never timed with something
else; one that raises gives "status": "error" and the run goes on.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's
environment before numpy loads (as the other peer scripts do); the first
line ("kind": "env") says which were removed, which BLAS and thread counts
threadpoolctl sees, where the data came from, and the load average.
"""

import os

_UNSET = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.pop(v, None) is not None]
_UNSET = sorted(set(_UNSET) | set(filter(None, os.environ.pop("BENCH_UNSET_ENV", "").split(","))))

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

# The seeded generator, fingerprints and environment line are knn_peers.py's.
from knn_peers import env_line as _env_line  # noqa: E402
from knn_peers import add_common_args, fingerprint, make_data  # noqa: E402

PEERS = ("sklearn", "faiss", "torch")
NAMES = {"sklearn": "sklearn-lloyd", "faiss": "faiss-kmeans", "torch": "torch-cuda"}
# The torch peer's device (a test may point it at "cpu"; the peer still
# requires CUDA to be available before it runs).
TORCH_DEVICE = "cuda"


def emit(obj):
    print(json.dumps(obj), flush=True)


def env_line(source):
    line = _env_line(source)
    line["unset_env"] = _UNSET
    return line


# ----------------------------------------------------------------- data


def make_init(x, k, seed):
    """The k initial centres: rows of x at k distinct seeded indices."""
    idx = np.random.RandomState(seed + 1).choice(len(x), k, replace=False)
    return np.ascontiguousarray(x[idx])


def inertia_f64(x, centres, labels):
    """sum_i |x_i - c_{l_i}|^2 in float64, in chunks."""
    c = np.asarray(centres, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    total = 0.0
    for s in range(0, len(x), 65536):
        diff = x[s : s + 65536].astype(np.float64) - c[labels[s : s + 65536]]
        total += float(np.einsum("nd,nd->", diff, diff))
    return total


# --------------------------------------------------------------- timing


TIME_BUDGET_S = None  # --time-budget


def timed(fn, reps, warmup, sync=None):
    for _ in range(warmup):
        fn()
        if sync:
            sync()
    times = []
    out = None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t)
        if TIME_BUDGET_S is not None and sum(times) >= TIME_BUDGET_S:
            break
    return times, out


def result(base, peer, times, x, centres, labels, n_iter, **extra):
    med, best = statistics.median(times), min(times)
    line = dict(base, kind="peer", peer=peer, status="ok")
    line.update(
        reps=len(times),
        reps_asked=base["reps"],
        best_s=round(best, 6),
        median_s=round(med, 6),
        times_s=[round(t, 6) for t in times],
        n_iter=int(n_iter),
        s_per_iter=round(med / max(1, n_iter), 9),
        s_per_iter_best=round(best / max(1, n_iter), 9),
        inertia=inertia_f64(x, centres, labels),
        clusters_used=int(len(np.unique(np.asarray(labels)))),
        loadavg_1m=round(os.getloadavg()[0], 2),
    )
    line.update(extra)
    return line


def absent(base, peer, status, reason):
    return dict(base, kind="peer", peer=peer, status=status, reason=reason)


# ------------------------------------------------------------ the peers


def sklearn_peer(x, init, args, base):
    name = NAMES["sklearn"]
    if "sklearn" in args.skip:
        yield absent(base, name, "skipped", "--skip sklearn")
        return
    try:
        import sklearn
        from sklearn.cluster import KMeans
    except Exception as e:  # noqa: BLE001 - any import failure means missing
        yield absent(base, name, "missing", f"scikit-learn not importable: {type(e).__name__}: {e}")
        return
    k = len(init)

    def run():
        km = KMeans(n_clusters=k, init=init, n_init=1, max_iter=args.max_iter, tol=0.0, algorithm="lloyd")
        km.fit(x)
        return km

    reps = args.sklearn_reps if args.sklearn_reps is not None else args.reps
    warmup = args.sklearn_warmup if args.sklearn_warmup is not None else args.warmup
    times, km = timed(run, reps, warmup)
    line = result(
        base, name, times, x, km.cluster_centers_, km.labels_, km.n_iter_,
        own_inertia=float(km.inertia_),
        version=sklearn.__version__,
        note="KMeans(init=C, n_init=1, tol=0, algorithm='lloyd').fit in each timed run",
    )
    line.update(reps_asked=reps, warmup=warmup)
    if args.sklearn_f64_check:
        x64 = x.astype(np.float64)
        km64 = KMeans(n_clusters=k, init=init.astype(np.float64), n_init=1, max_iter=args.max_iter, tol=0.0,
                      algorithm="lloyd").fit(x64)
        line.update(f64_inertia=inertia_f64(x, km64.cluster_centers_, km64.labels_), f64_n_iter=int(km64.n_iter_))
    yield line


def faiss_peer(x, init, args, base):
    name = NAMES["faiss"]
    if "faiss" in args.skip:
        yield absent(base, name, "skipped", "--skip faiss")
        return
    try:
        import faiss
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "missing", f"faiss not importable: {type(e).__name__}: {e}")
        return
    if args.faiss_threads is not None:
        faiss.omp_set_num_threads(args.faiss_threads)
    n, d = x.shape
    k = len(init)
    per_centroid = -(-n // k)

    def run():
        km = faiss.Kmeans(
            d, k, niter=args.max_iter, max_points_per_centroid=per_centroid, min_points_per_centroid=1,
            seed=1234, verbose=False,
        )
        km.train(x, init_centroids=init)
        dist, labels = km.index.search(x, 1)
        return km, dist, labels

    times, (km, dist, labels) = timed(run, args.reps, args.warmup)
    yield result(
        base, name, times, x, km.centroids, labels[:, 0], len(km.obj),
        own_inertia=float(dist.sum(dtype=np.float64)),
        nsplit=int(sum(s["nsplit"] for s in km.iteration_stats)),
        version=getattr(faiss, "__version__", "?"),
        omp_threads=faiss.omp_get_max_threads(),
        note="Kmeans(niter=M, no subsampling).train(X, init_centroids=C) + index.search(X, 1) in each timed run",
    )


def torch_peer(x, init, args, base):
    name = NAMES["torch"]
    if "torch" in args.skip:
        yield absent(base, name, "skipped", "--skip torch")
        return
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "missing", f"torch not importable: {type(e).__name__}: {e}")
        return
    if not torch.cuda.is_available():
        yield absent(base, name, "missing", f"torch {torch.__version__} present but CUDA not available")
        return
    device = torch.cuda.get_device_name(0)
    n = len(x)
    k = len(init)
    batch = max(1, min(n, args.torch_batch_bytes // max(1, k * 4)))

    def assign(xd, c):
        return torch.cat([torch.cdist(xd[s : s + batch], c).argmin(1) for s in range(0, n, batch)])

    def run():
        xd = torch.from_numpy(x).to(TORCH_DEVICE)
        c = torch.from_numpy(init).to(TORCH_DEVICE)
        for _ in range(args.max_iter):
            labels = assign(xd, c)
            sums = torch.zeros_like(c).index_add_(0, labels, xd)
            counts = torch.bincount(labels, minlength=k).to(c.dtype)[:, None]
            c = torch.where(counts > 0, sums / counts.clamp(min=1), c)
        labels = assign(xd, c)
        return c.cpu().numpy(), labels.cpu().numpy()

    try:
        times, (centres, labels) = timed(run, args.reps, args.warmup, torch.cuda.synchronize)
    finally:
        torch.cuda.empty_cache()
    yield result(
        base, name, times, x, centres, labels, args.max_iter,
        device=device,
        torch=torch.__version__,
        cuda=torch.version.cuda,
        batch=batch,
        copies="included",
        note="cdist + argmin, index_add_ + bincount, M iterations and a final assignment in each timed run",
    )


def guarded(gen, base, name):
    try:
        yield from gen
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "error", f"{type(e).__name__}: " + " ".join(str(e).split()))


# ----------------------------------------------------------------- main


def load(path, what, ap):
    a = np.load(path)
    if a.ndim != 2:
        ap.error(f"{path}: expected a 2-D {what} array, got shape {a.shape}")
    if a.dtype != np.float32:
        ap.error(f"{path}: expected float32, got {a.dtype}")
    return np.ascontiguousarray(a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="N x D float32 .npy (with --init)")
    ap.add_argument("--init", help="k x D float32 .npy, the initial centres (with --data)")
    add_common_args(ap, 16, PEERS)
    ap.add_argument("--k", type=int, default=256, help="clusters when generated")
    ap.add_argument("--max-iter", type=int, default=50, help="Lloyd iterations (at most, for scikit-learn)")
    ap.add_argument("--sklearn-reps", type=int, default=None, help="timed scikit-learn runs (default: --reps)")
    ap.add_argument("--sklearn-warmup", type=int, default=None, help="untimed scikit-learn runs (default: --warmup)")
    ap.add_argument("--sklearn-f64-check", action="store_true",
                    help="one more scikit-learn fit, untimed, on float64 copies (its inertia on the line)")
    ap.add_argument("--faiss-threads", type=int, default=None,
                    help="faiss.omp_set_num_threads(...) first; default: faiss's own (all cores)")
    ap.add_argument("--torch-batch-bytes", type=int, default=1 << 30,
                    help="largest float32 row-batch x k distance block on the GPU (default 1 GiB)")
    ap.add_argument("--data-only", action="store_true",
                    help="make (or read) and save the arrays, print the env line, time nothing")
    ap.add_argument("--round", type=int, default=None, help="a round number to put on every line (bench/run)")
    args = ap.parse_args()
    if (args.data is None) != (args.init is None):
        ap.error("give both --data and --init, or neither (then the arrays are generated)")
    if args.data_only and args.data is None and not args.save_dir:
        ap.error("--data-only makes the arrays for someone else: give --save-dir")
    if args.reps < 1 or args.warmup < 0 or args.max_iter < 1:
        ap.error("--reps and --max-iter must be >= 1, --warmup >= 0")
    if args.time_budget is not None:
        if not args.time_budget > 0:
            ap.error("--time-budget must be > 0 seconds")
        global TIME_BUDGET_S
        TIME_BUDGET_S = args.time_budget
    families = [p for p in args.peers.split(",") if p]
    args.skip = set(filter(None, args.skip.split(",")))
    for p in families + sorted(args.skip):
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}: use {', '.join(PEERS)}")

    if args.data is not None:
        x = load(args.data, "data", ap)
        init = load(args.init, "initial centres", ap)
        source = {"data": args.data, "init": args.init, "generator": None}
    else:
        if not 1 <= args.k <= args.n:
            ap.error(f"--k must be between 1 and --n = {args.n}, got {args.k}")
        x, _ = make_data(args.n, 0, args.d, args.dist, args.seed)
        init = make_init(x, args.k, args.seed)
        source = {"data": None, "init": None, "generator": args.dist, "seed": args.seed}
        if args.save_dir:
            os.makedirs(args.save_dir, exist_ok=True)
            tag = f"n{args.n}_d{args.d}_{args.dist}_s{args.seed}"
            dp = os.path.join(args.save_dir, f"kmeans_data_{tag}.npy")
            ip = os.path.join(args.save_dir, f"kmeans_init_k{args.k}_{tag}.npy")
            np.save(dp, x)
            np.save(ip, init)
            source.update(data=dp, init=ip)
    if x.shape[1] != init.shape[1]:
        ap.error(f"data have {x.shape[1]} dimensions, initial centres {init.shape[1]}")
    n, d = x.shape
    k = len(init)
    if k > n:
        ap.error(f"k = {k} > N = {n}")
    tags = {"workload": "kmeans"}
    if args.round is not None:
        tags["round"] = args.round
    source.update(tags, n=n, d=d, k=k, data_fingerprint=fingerprint(x), init_fingerprint=fingerprint(init))
    emit(env_line(source))
    if args.data_only:
        return

    base = dict(tags, n=n, d=d, k=k, max_iter=args.max_iter, reps=args.reps, warmup=args.warmup)
    peers = {"sklearn": sklearn_peer, "faiss": faiss_peer, "torch": torch_peer}
    for fam in families:
        for line in guarded(peers[fam](x, init, args, base), base, NAMES[fam]):
            emit(line)
            if line["status"] == "ok":
                print(
                    f"kmeans_peers: {line['peer']} N={n} D={d} k={k}: "
                    f"best {line['best_s']:.3f} s, median {line['median_s']:.3f} s, "
                    f"{line['n_iter']} iterations, {line['s_per_iter'] * 1e3:.3g} ms/iteration, "
                    f"inertia {line['inertia']:.8g}",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(f"kmeans_peers: {line['peer']}: {line['status']}: {line['reason']}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
