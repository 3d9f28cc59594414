#!/usr/bin/env python3
"""Times the peers of gpu-cluster's exact k-nearest-neighbour search (Q
queries against N data points in D dimensions, k neighbours each), as a user
would run them, and prints one JSON line per peer.

    python3 bench/peers/knn_peers.py --data X.npy --queries Q.npy [--k 10]
        [--reps 3] [--warmup 1] [--time-budget S] [--recall-queries 100]
        [--peers faiss,sklearn,torch] [--skip faiss,sklearn,torch]
        [--faiss-threads T] [--torch-batch-bytes 1073741824] [--round R]

    python3 bench/peers/knn_peers.py [--n 100000] [--q 10000] [--d 16]
        [--dist blobs|uniform] [--seed 0] [--save-dir DIR] [...]

The data: two float32 .npy files (C order), N x D and Q x D, given with
--data and --queries, so that our Rust benchmark can time the same arrays.
Without them the script makes them itself, seeded (numpy RandomState(seed)):
by default (--dist blobs) Gaussian blobs: 100 centres uniform in
[-10, 10]^D, standard deviation 1, each point and each query drawn from a
uniformly chosen centre (data and queries from the same mixture, the
queries after the data in the same stream); --dist uniform draws both
uniformly in [0, 1)^D. --save-dir DIR writes them as
DIR/knn_data_n{N}_d{D}_{dist}_s{seed}.npy and DIR/knn_queries_q{Q}_d{D}_{dist}_s{seed}.npy
(and the timings go on, unless --data-only: then only the "env" line is
printed, nothing timed). Defaults: N = 100000, Q = 10000, D = 16, k = 10.
The env line gives each array's fingerprint (shape and the 64-bit sum of
(i + 1) * bits[i] over its float32 bit patterns, wrapping, as hex), which
examples/bench.rs computes too: bench/table.py checks that both sides timed
byte-identical arrays. Every line carries "workload": "knn" (and "round": R
with --round, bench/run's interleaving of ours and the peers).

Peers (each timed from the host arrays to host results, everything a user
would call included):

- faiss-flat-l2: faiss-cpu `IndexFlatL2(D)`, `add(data)`, `search(queries, k)`
  (squared L2 distances), with faiss's OpenMP threads (its default: all
  cores; --faiss-threads sets them).
- sklearn-brute: scikit-learn `NearestNeighbors(n_neighbors=k,
  algorithm="brute").fit(data).kneighbors(queries)` (euclidean), default
  n_jobs, on the float32 arrays as given.
- torch-cuda: PyTorch on CUDA: upload both arrays, `torch.cdist` and
  `topk(k, largest=False)` per query batch (a batch's Q_b x N float32
  distance block stays under --torch-batch-bytes), copy indices and
  distances back. Reported "missing" where torch or CUDA is absent.

Per peer: times of --reps timed runs after --warmup untimed ones (best and
median seconds), queries/s and pair evaluations/s (N * Q / seconds) from the
median and from the best, and recall@k of the peer's indices against the
exact answer: float64 numpy (direct differences) on --recall-queries queries
(a seeded subset, computed untimed, ties by lower index), as the mean of
|peer's k indices & exact k indices| / k.

A peer that cannot run is reported with "status": "missing" (not importable,
no device) or "skipped" (--skip), never timed with something else; one that
raises gives "status": "error" and the run goes on.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's
environment before numpy loads (as bench/peers/peers.py does); the first line
("kind": "env") says which were removed, which BLAS and thread counts
threadpoolctl sees, where the data came from, and the 1-minute load average
(each peer line has the load average after its runs too: other work on the
machine shows there). faiss's line gives its distance_compute_blas_threshold,
which picks between its BLAS path and its sequential SIMD scan (faiss 1.15
compares it with queries x D: 160000 at the defaults, the BLAS path).
"""

import os

_UNSET = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.pop(v, None) is not None]
_UNSET = sorted(set(_UNSET) | set(filter(None, os.environ.pop("BENCH_UNSET_ENV", "").split(","))))

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

PEERS = ("faiss", "sklearn", "torch")


def emit(obj):
    print(json.dumps(obj), flush=True)


# ----------------------------------------------------------------- data


def make_data(n, q, d, dist, seed):
    """Seeded float32 data and queries (see the module docstring)."""
    rng = np.random.RandomState(seed)
    if dist == "uniform":
        x = rng.uniform(0.0, 1.0, (n, d)).astype(np.float32)
        qs = rng.uniform(0.0, 1.0, (q, d)).astype(np.float32)
        return x, qs
    if dist == "blobs":
        centres = rng.uniform(-10.0, 10.0, (100, d))
        x = (centres[rng.randint(0, 100, n)] + rng.standard_normal((n, d))).astype(np.float32)
        qs = (centres[rng.randint(0, 100, q)] + rng.standard_normal((q, d))).astype(np.float32)
        return x, qs
    raise ValueError(dist)


def exact_knn(x, q, k, chunk_bytes=256 << 20):
    """Exact k nearest (indices, squared distances) in float64 by direct
    differences; ties by lower index."""
    x64 = x.astype(np.float64)
    n, d = x64.shape
    rows = max(1, chunk_bytes // (n * d * 8))
    idx = np.empty((len(q), k), dtype=np.int64)
    dist = np.empty((len(q), k), dtype=np.float64)
    for s in range(0, len(q), rows):
        qb = q[s : s + rows].astype(np.float64)
        diff = qb[:, None, :] - x64[None, :, :]
        d2 = np.einsum("qnd,qnd->qn", diff, diff)
        for r in range(len(qb)):
            part = np.argpartition(d2[r], k)[: k + 1] if k < n else np.arange(n)
            # Everything tied with the k-th must be seen to break ties by index.
            kth = np.sort(d2[r][part])[k - 1]
            cand = np.flatnonzero(d2[r] <= kth)
            order = cand[np.lexsort((cand, d2[r][cand]))][:k]
            idx[s + r] = order
            dist[s + r] = d2[r][order]
    return idx, dist


def fingerprint(a):
    """Shape and the wrapping 64-bit sum of (i + 1) * bits[i] over the
    float32 bit patterns in C order (examples/bench.rs computes the same)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).ravel().astype(np.uint64)
    weights = np.arange(1, len(bits) + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        total = int(np.sum(bits * weights, dtype=np.uint64))
    return f"{a.shape[0]}x{a.shape[1]}:{total:016x}"


def recall(found, exact):
    found = np.asarray(found)
    k = exact.shape[1]
    hits = sum(len(set(f[:k].tolist()) & set(e.tolist())) for f, e in zip(found, exact))
    return hits / (k * len(exact))


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


def result(base, peer, times, indices, sub, exact, **extra):
    med, best = statistics.median(times), min(times)
    pairs = base["n"] * base["q"]
    line = dict(base, kind="peer", peer=peer, status="ok")
    line.update(
        reps=len(times),
        reps_asked=base["reps"],
        best_s=round(best, 6),
        median_s=round(med, 6),
        times_s=[round(t, 6) for t in times],
        queries_per_s=round(base["q"] / med, 1),
        queries_per_s_best=round(base["q"] / best, 1),
        pair_evals=pairs,
        pair_evals_per_s=round(pairs / med, 1),
        pair_evals_per_s_best=round(pairs / best, 1),
        recall_at_k=round(recall(np.asarray(indices)[sub], exact), 6),
        recall_queries=len(sub),
        loadavg_1m=round(os.getloadavg()[0], 2),
    )
    line.update(extra)
    return line


def absent(base, peer, status, reason):
    return dict(base, kind="peer", peer=peer, status=status, reason=reason)


# ------------------------------------------------------------ the peers


def faiss_peer(x, q, k, args, base, sub, exact):
    name = "faiss-flat-l2"
    if "faiss" in args.skip:
        yield absent(base, name, "skipped", "--skip faiss")
        return
    try:
        import faiss
    except Exception as e:  # noqa: BLE001 - any import failure means missing
        yield absent(base, name, "missing", f"faiss not importable: {type(e).__name__}: {e}")
        return

    if args.faiss_threads is not None:
        faiss.omp_set_num_threads(args.faiss_threads)

    def run():
        index = faiss.IndexFlatL2(x.shape[1])
        index.add(x)
        return index.search(q, k)

    times, (dist, ind) = timed(run, args.reps, args.warmup)
    yield result(
        base, name, times, ind, sub, exact,
        version=getattr(faiss, "__version__", "?"),
        omp_threads=faiss.omp_get_max_threads(),
        blas_threshold=int(faiss.cvar.distance_compute_blas_threshold),
        distances="squared L2",
        note="IndexFlatL2 built and searched in each timed run",
    )


def sklearn_peer(x, q, k, args, base, sub, exact):
    name = "sklearn-brute"
    if "sklearn" in args.skip:
        yield absent(base, name, "skipped", "--skip sklearn")
        return
    try:
        import sklearn
        from sklearn.neighbors import NearestNeighbors
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "missing", f"scikit-learn not importable: {type(e).__name__}: {e}")
        return

    def run():
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=args.sklearn_n_jobs)
        return nn.fit(x).kneighbors(q)

    reps = args.sklearn_reps if args.sklearn_reps is not None else args.reps
    warmup = args.sklearn_warmup if args.sklearn_warmup is not None else args.warmup
    times, (dist, ind) = timed(run, reps, warmup)
    line = result(
        base, name, times, ind, sub, exact,
        version=sklearn.__version__,
        n_jobs=args.sklearn_n_jobs,
        distances="euclidean",
        note="fit and kneighbors in each timed run",
    )
    line.update(reps_asked=reps, warmup=warmup)
    yield line


def torch_peer(x, q, k, args, base, sub, exact):
    name = "torch-cuda"
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
    batch = max(1, min(len(q), args.torch_batch_bytes // max(1, n * 4)))

    def run():
        xd = torch.from_numpy(x).to("cuda")
        qd = torch.from_numpy(q).to("cuda")
        ind = torch.empty((len(q), k), dtype=torch.int64, device="cuda")
        dist = torch.empty((len(q), k), dtype=torch.float32, device="cuda")
        for s in range(0, len(q), batch):
            d = torch.cdist(qd[s : s + batch], xd)
            vals, idx = torch.topk(d, k, dim=1, largest=False, sorted=True)
            ind[s : s + batch] = idx
            dist[s : s + batch] = vals
        return dist.cpu().numpy(), ind.cpu().numpy()

    try:
        times, (dist, ind) = timed(run, args.reps, args.warmup, torch.cuda.synchronize)
    finally:
        torch.cuda.empty_cache()
    yield result(
        base, name, times, ind, sub, exact,
        device=device,
        torch=torch.__version__,
        cuda=torch.version.cuda,
        batch=batch,
        copies="included",
        distances="euclidean",
    )


def guarded(gen, base, name):
    try:
        yield from gen
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "error", f"{type(e).__name__}: " + " ".join(str(e).split()))


# ----------------------------------------------------------------- main


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def env_line(source):
    info = {
        "kind": "env",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "unset_env": _UNSET,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    info.update(source)
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "architecture", "version")}
            for p in threadpool_info()
        ]
    except Exception as e:  # noqa: BLE001
        info["threadpools"] = f"threadpoolctl not importable: {e}"
    return info


def load(path, what, ap):
    a = np.load(path)
    if a.ndim != 2:
        ap.error(f"{path}: expected a 2-D {what} array, got shape {a.shape}")
    if a.dtype != np.float32:
        ap.error(f"{path}: expected float32, got {a.dtype}")
    return np.ascontiguousarray(a)


def add_common_args(ap, d, peers):
    """The options every peer script shares: the generator (points `--n`,
    `--d` dimensions by default `d`, `--dist`, `--seed`, `--save-dir`), the
    timing (`--reps`, `--warmup`, `--time-budget`) and the peer families
    (`--peers`, default `peers`; `--skip`)."""
    ap.add_argument("--n", type=int, default=100000, help="points when generated")
    ap.add_argument("--d", type=int, default=d, help="dimensions when generated")
    ap.add_argument("--dist", default="blobs", choices=("blobs", "uniform"), help="generator")
    ap.add_argument("--seed", type=int, default=0, help="generator seed")
    ap.add_argument("--save-dir", help="write the generated arrays here as .npy")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    ap.add_argument("--time-budget", type=float, default=None,
                    help="stop adding timed repetitions once they took this many seconds (at least one runs)")
    ap.add_argument("--peers", default=",".join(peers), help="peer families to run (comma-separated)")
    ap.add_argument("--skip", default="", help="peer families to report as skipped (comma-separated)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="N x D float32 .npy (with --queries)")
    ap.add_argument("--queries", help="Q x D float32 .npy (with --data)")
    add_common_args(ap, 16, PEERS)
    ap.add_argument("--q", type=int, default=10000, help="queries when generated")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--recall-queries", type=int, default=100, help="queries checked against the exact answer")
    ap.add_argument("--sklearn-n-jobs", type=int, default=None, help="NearestNeighbors(n_jobs=...); default None")
    ap.add_argument("--sklearn-reps", type=int, default=None, help="timed scikit-learn runs (default: --reps)")
    ap.add_argument("--sklearn-warmup", type=int, default=None, help="untimed scikit-learn runs (default: --warmup)")
    ap.add_argument("--faiss-threads", type=int, default=None,
                    help="faiss.omp_set_num_threads(...) first; default: faiss's own (all cores)")
    ap.add_argument("--torch-batch-bytes", type=int, default=1 << 30,
                    help="largest float32 query-batch x N distance block on the GPU (default 1 GiB)")
    ap.add_argument("--data-only", action="store_true",
                    help="make (or read) and save the arrays, print the env line, time nothing")
    ap.add_argument("--round", type=int, default=None, help="a round number to put on every line (bench/run)")
    args = ap.parse_args()
    if (args.data is None) != (args.queries is None):
        ap.error("give both --data and --queries, or neither (then the arrays are generated)")
    if args.data_only and args.data is None and not args.save_dir:
        ap.error("--data-only makes the arrays for someone else: give --save-dir")
    if args.reps < 1 or args.warmup < 0 or args.k < 1 or args.recall_queries < 1:
        ap.error("--reps, --k and --recall-queries must be >= 1, --warmup >= 0")
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
        q = load(args.queries, "queries", ap)
        source = {"data": args.data, "queries": args.queries, "generator": None}
    else:
        x, q = make_data(args.n, args.q, args.d, args.dist, args.seed)
        source = {"data": None, "queries": None, "generator": args.dist, "seed": args.seed}
        if args.save_dir:
            os.makedirs(args.save_dir, exist_ok=True)
            tag = f"{args.dist}_s{args.seed}"
            dp = os.path.join(args.save_dir, f"knn_data_n{args.n}_d{args.d}_{tag}.npy")
            qp = os.path.join(args.save_dir, f"knn_queries_q{args.q}_d{args.d}_{tag}.npy")
            np.save(dp, x)
            np.save(qp, q)
            source.update(data=dp, queries=qp)
    if x.shape[1] != q.shape[1]:
        ap.error(f"data have {x.shape[1]} dimensions, queries {q.shape[1]}")
    n, d = x.shape
    k = args.k
    if k > n:
        ap.error(f"k = {k} > N = {n}")
    tags = {"workload": "knn"}
    if args.round is not None:
        tags["round"] = args.round
    source.update(tags, n=n, q=len(q), d=d, data_fingerprint=fingerprint(x), queries_fingerprint=fingerprint(q))
    emit(env_line(source))
    if args.data_only:
        return

    # The exact answer on a seeded subset of queries, untimed.
    m = min(args.recall_queries, len(q))
    sub = np.sort(np.random.RandomState(12345).choice(len(q), m, replace=False))
    exact, _ = exact_knn(x, q[sub], k)

    base = dict(tags, n=n, q=len(q), d=d, k=k, reps=args.reps, warmup=args.warmup)
    peers = {"faiss": faiss_peer, "sklearn": sklearn_peer, "torch": torch_peer}
    names = {"faiss": "faiss-flat-l2", "sklearn": "sklearn-brute", "torch": "torch-cuda"}
    for fam in families:
        for line in guarded(peers[fam](x, q, k, args, base, sub, exact), base, names[fam]):
            emit(line)
            if line["status"] == "ok":
                print(
                    f"knn_peers: {line['peer']} N={n} Q={len(q)} D={d} k={k}: "
                    f"best {line['best_s']:.3f} s, median {line['median_s']:.3f} s, "
                    f"{line['queries_per_s']:.0f} queries/s, {line['pair_evals_per_s']:.3g} pairs/s, "
                    f"recall@{k} {line['recall_at_k']:.4f}",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(f"knn_peers: {line['peer']}: {line['status']}: {line['reason']}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
