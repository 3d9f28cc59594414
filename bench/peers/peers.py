#!/usr/bin/env python3
"""Times the peers of gpu-cluster's mean shift on one .npy data file, as a
user would run them, and prints one JSON line per peer and workload.

    python3 bench/peers/peers.py DATA.npy [--bandwidth 2.5] [--kernels gaussian]
        [--modes blurring,blur1,standard,standard-bin] [--iterations 5]
        [--reps 3] [--warmup 1] [--batch 1250] [--batch-bytes 2147483648]
        [--variants inplace,pingpong] [--time-budget S]
        [--skip numpy,sklearn,torch,cupy,faiss]

Workloads (the same names as `examples/bench.rs` uses for ours):

- blurring: the reference workload's batched blurring mean shift, float32,
  batch 1250: every point moves to the kernel-weighted mean of all points,
  `iterations` times. "-inplace" peers write each batch back into the array
  before the next batch reads it, as the original did (so later batches see
  earlier batches' new positions); "-pingpong" peers read the previous
  iteration's positions throughout, as this crate does. The formulation is
  the original's: broadcast differences, sqrt, kernel of the distance,
  `weight @ X / weight.sum(1)`. Run with numpy, with CuPy on the GPU and with
  PyTorch on CUDA where present (upload and copy back included). Clusters are
  counted afterwards, untimed, with this crate's (scikit-learn's) merge rule.
  The batch shrinks below 1250 only where a batch's batch x N x D temporary
  would pass --batch-bytes (large N x D; the line's "batch" says which ran).
  Beside the pingpong variant, PyTorch also runs "torch-cuda-cdist": what a
  strong PyTorch user writes, `torch.cdist` (matrix products inside, no
  batch x N x D temporary), the kernel on its output (the gaussian as
  `exp(-0.5 d^2 / h^2)`, without the constant that cancels), then
  `w @ X / w.sum(1)`; its temporary is batch x N, so its batch shrinks only
  where that would pass --batch-bytes.
- blur1: the same with one iteration, no clustering.
- standard / standard-bin: scikit-learn's MeanShift (flat kernel) without /
  with bin_seeding; and, where faiss is importable, the same algorithm
  written on faiss range_search (a hand-rolled peer, labelled as such).

cuML has no MeanShift: where it is importable it is reported as skipped.

The "python" family is this crate's own Python package (`pip install
./python`): `gpu_cluster.MeanShift` with scikit-learn's call, in the
standard modes, on the CPU twin and on a hardware GPU where there is one,
so the table shows the binding beside the Rust rows it wraps.
A peer that cannot run is reported with "status": "missing" (not importable,
no device) or "skipped" (not applicable, or not run at this N: --skip),
never timed with something else. --time-budget stops adding timed
repetitions once they took that many seconds in all (at least one runs; the
line's "reps" says how many ran).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's
environment before numpy loads (they force a slow OpenBLAS kernel on some
machines); the first line ("kind": "env") says which were removed and which
BLAS kernel and thread counts threadpoolctl sees.
"""

import os

_UNSET = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.pop(v, None) is not None]
# bench/run removes them before starting us and names them here.
_UNSET = sorted(set(_UNSET) | set(filter(None, os.environ.pop("BENCH_UNSET_ENV", "").split(","))))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

KERNELS = ("flat", "triangular", "epanechnikov", "gaussian")
MODES = ("blurring", "blur1", "standard", "standard-bin")


def emit(obj):
    print(json.dumps(obj), flush=True)


# ---------------------------------------------------------------- kernels


def kernel_of_distance(xp, d, kernel, h):
    """Kernel weight of a distance array (the original took sqrt first)."""
    if kernel == "gaussian":
        # The original: exp(-0.5 (d/h)^2) / (h sqrt(2 pi)).
        return xp.exp(-0.5 * (d / h) ** 2) / (h * math.sqrt(2 * math.pi))
    if kernel == "flat":
        return (d <= h).astype(d.dtype)
    if kernel == "triangular":
        return xp.clip(1 - d / h, 0, None)
    if kernel == "epanechnikov":
        return xp.clip(1 - (d / h) ** 2, 0, None)
    raise ValueError(kernel)


def torch_kernel_of_distance(torch, d, kernel, h):
    if kernel == "gaussian":
        return torch.exp(-0.5 * (d / h) ** 2) / (h * math.sqrt(2 * math.pi))
    if kernel == "flat":
        return (d <= h).to(d.dtype)
    if kernel == "triangular":
        return torch.clamp(1 - d / h, min=0)
    if kernel == "epanechnikov":
        return torch.clamp(1 - (d / h) ** 2, min=0)
    raise ValueError(kernel)


# ------------------------------------------------------ batched blurring


def batch_for(n, d, args):
    """The stated batch, shrunk where a batch x n x d float32 temporary
    would pass --batch-bytes."""
    return max(1, min(args.batch, args.batch_bytes // max(1, n * d * 4)))


def blur_xp(xp, X, kernel, h, iterations, bs, inplace):
    """The reference workload's batched blurring mean shift on numpy or
    CuPy arrays. Modifies and returns X."""
    n = len(X)
    for _ in range(iterations):
        src = X if inplace else X.copy()
        for i in range(0, n, bs):
            s = slice(i, min(i + bs, n))
            d = xp.sqrt(((src[None] - src[s][:, None]) ** 2).sum(2))
            w = kernel_of_distance(xp, d, kernel, h)
            X[s] = (w @ src) / w.sum(1, keepdims=True)
    return X


def blur_torch(torch, X, kernel, h, iterations, bs, inplace):
    n = len(X)
    for _ in range(iterations):
        src = X if inplace else X.clone()
        for i in range(0, n, bs):
            s = slice(i, min(i + bs, n))
            d = (((src[None] - src[s][:, None]) ** 2).sum(2)).sqrt()
            w = torch_kernel_of_distance(torch, d, kernel, h)
            X[s] = (w @ src) / w.sum(1, keepdim=True)
    return X


def blur_torch_cdist(torch, X, kernel, h, iterations, bs):
    """The same iterations (pingpong) as a strong PyTorch user writes them:
    distances by torch.cdist, which works through matrix products, the
    kernel on them, and one more matrix product for the weighted sums.
    Modifies and returns X."""
    n = len(X)
    for _ in range(iterations):
        src = X.clone()
        for i in range(0, n, bs):
            s = slice(i, min(i + bs, n))
            d = torch.cdist(src[s], src)
            if kernel == "gaussian":
                w = torch.exp(d.square_().mul_(-0.5 / (h * h)))
            else:
                w = torch_kernel_of_distance(torch, d, kernel, h)
            X[s] = (w @ src) / w.sum(1, keepdim=True)
    return X


# ------------------------------------------------------------ clustering


def merge_modes(modes, intensity, h):
    """scikit-learn's merge (this crate's too): identical modes collapse;
    sorted by intensity descending, ties by coordinates descending; each
    survivor suppresses every later entry within h (d^2 <= h^2)."""
    modes = np.asarray(modes, dtype=np.float64)
    intensity = np.asarray(intensity)
    uniq, first = np.unique(modes, axis=0, return_index=True)
    inten = intensity[first]
    keys = tuple(uniq[:, j] for j in reversed(range(uniq.shape[1]))) + (inten,)
    order = np.lexsort(keys)[::-1]
    suppressed = np.zeros(len(uniq), dtype=bool)
    centres = []
    h2 = h * h
    for idx in order:
        if suppressed[idx]:
            continue
        centres.append(uniq[idx])
        suppressed |= ((uniq - uniq[idx]) ** 2).sum(1) <= h2
    return np.array(centres)


def count_within(points, h):
    """How many points lie within h of each point (the blurring intensity)."""
    p = np.asarray(points, dtype=np.float32)
    n, d = p.shape
    bs = max(1, int(2e7 // (n * d)))
    out = np.empty(n, dtype=np.int64)
    for i in range(0, n, bs):
        s = slice(i, min(i + bs, n))
        d2 = ((p[s, None] - p[None]) ** 2).sum(2)
        out[s] = (d2 <= np.float32(h * h)).sum(1)
    return out


def blurred_clusters(positions, h):
    positions = np.asarray(positions, dtype=np.float32)
    return len(merge_modes(positions, count_within(positions, h), h))


# -------------------------------------------------------------- timing


TIME_BUDGET_MS = None  # --time-budget, in ms


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
        times.append((time.perf_counter() - t) * 1e3)
        if TIME_BUDGET_MS is not None and sum(times) >= TIME_BUDGET_MS:
            break
    return times, out


def result(base, peer, times, clusters, pair_evals, **extra):
    line = dict(base, kind="peer", peer=peer, status="ok")
    line.update(
        reps=len(times),
        reps_asked=base.get("reps"),
        median_ms=round(statistics.median(times), 4),
        min_ms=round(min(times), 4),
        times_ms=[round(t, 4) for t in times],
        clusters=clusters,
        pair_evals=pair_evals,
    )
    line.update(extra)
    return line


def absent(base, peer, status, reason):
    return dict(base, kind="peer", peer=peer, status=status, reason=reason)


# ------------------------------------------------------------ the peers


def numpy_peers(x, args, base, iterations, kernel):
    n = len(x)
    pairs = iterations * n * n
    if "numpy" in args.skip:
        yield absent(base, "numpy", "skipped", "not run at this N (bench/run --numpy-n)")
        return
    bs = batch_for(n, x.shape[1], args)
    for inplace in args.inplace_variants:
        name = "numpy-" + ("inplace" if inplace else "pingpong")
        times, out = timed(
            lambda: blur_xp(np, x.copy(), kernel, args.bandwidth, iterations, bs, inplace),
            args.reps,
            args.warmup,
        )
        clusters = blurred_clusters(out, args.bandwidth) if base["mode"] == "blurring" else None
        yield result(base, name, times, clusters, pairs, batch=bs)


def cupy_peers(x, args, base, iterations, kernel):
    if "cupy" in args.skip:
        yield absent(base, "cupy", "skipped", "not run at this N (bench/run --cupy-n)")
        return
    try:
        import cupy as cp
    except Exception as e:  # noqa: BLE001 - any import failure means missing
        yield absent(base, "cupy", "missing", f"cupy not importable: {type(e).__name__}: {e}")
        return
    try:
        cp.cuda.runtime.getDeviceCount()
        device = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception as e:  # noqa: BLE001
        yield absent(base, "cupy", "missing", f"cupy present but no CUDA device: {e}")
        return
    n = len(x)
    pairs = iterations * n * n
    sync = cp.cuda.runtime.deviceSynchronize
    bs = batch_for(n, x.shape[1], args)
    for inplace in args.inplace_variants:
        name = "cupy-" + ("inplace" if inplace else "pingpong")

        def run():
            xd = cp.asarray(x)
            return cp.asnumpy(blur_xp(cp, xd, kernel, args.bandwidth, iterations, bs, inplace))

        try:
            times, out = timed(run, args.reps, args.warmup, sync)
        finally:
            cp.get_default_memory_pool().free_all_blocks()
        clusters = blurred_clusters(out, args.bandwidth) if base["mode"] == "blurring" else None
        yield result(base, name, times, clusters, pairs, batch=bs, device=device, copies="included")


def torch_peers(x, args, base, iterations, kernel):
    if "torch" in args.skip:
        yield absent(base, "torch-cuda", "skipped", "not run at this N (bench/run --torch-n)")
        return
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        yield absent(base, "torch-cuda", "missing", f"torch not importable: {type(e).__name__}: {e}")
        return
    if not torch.cuda.is_available():
        yield absent(base, "torch-cuda", "missing", f"torch {torch.__version__} present but CUDA not available")
        return
    device = torch.cuda.get_device_name(0)
    n = len(x)
    pairs = iterations * n * n
    # (name, variant, batch): the broadcast formulation in each variant
    # asked for, and cdist beside pingpong, whose semantics it has (its
    # temporary is batch x N, with no D).
    runs = [(f"torch-cuda-{v}", v, batch_for(n, x.shape[1], args)) for v in args.variants]
    if "pingpong" in args.variants:
        runs.append(("torch-cuda-cdist", "cdist", batch_for(n, 1, args)))
    for name, variant, bs in runs:

        def run():
            xd = torch.from_numpy(x).to("cuda")
            if variant == "cdist":
                out = blur_torch_cdist(torch, xd, kernel, args.bandwidth, iterations, bs)
            else:
                out = blur_torch(torch, xd, kernel, args.bandwidth, iterations, bs, variant == "inplace")
            return out.cpu().numpy()

        try:
            times, out = timed(run, args.reps, args.warmup, torch.cuda.synchronize)
        finally:
            torch.cuda.empty_cache()
        clusters = blurred_clusters(out, args.bandwidth) if base["mode"] == "blurring" else None
        yield result(
            base,
            name,
            times,
            clusters,
            pairs,
            batch=bs,
            device=device,
            copies="included",
            torch=torch.__version__,
            cuda=torch.version.cuda,
        )


def sklearn_peers(x, args, base, kernel):
    bin_seeding = base["mode"] == "standard-bin"
    name = "sklearn" + ("-bin" if bin_seeding else "")
    if "sklearn" in args.skip:
        yield absent(base, name, "skipped", "not run at this N (bench/run --sklearn-n)")
        return
    if kernel != "flat":
        yield absent(base, name, "skipped", "scikit-learn's MeanShift has the flat kernel only")
        return
    try:
        import sklearn
        from sklearn.cluster import MeanShift
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "missing", f"scikit-learn not importable: {e}")
        return

    def run():
        return MeanShift(bandwidth=args.bandwidth, bin_seeding=bin_seeding, n_jobs=args.sklearn_n_jobs).fit(x)

    reps = args.sklearn_reps if args.sklearn_reps is not None else args.reps
    warmup = args.sklearn_warmup if args.sklearn_warmup is not None else args.warmup
    times, model = timed(run, reps, warmup)
    yield result(
        base,
        name,
        times,
        len(model.cluster_centers_),
        None,
        version=sklearn.__version__,
        reps_asked=reps,
        warmup=warmup,
        n_jobs=args.sklearn_n_jobs,
        n_iter=int(model.n_iter_),
    )


def faiss_mean_shift(faiss, x, h, seeds, max_iter=300, tol=1e-3):
    """scikit-learn's standard mean shift (flat kernel), every seed climbing
    until its shift is <= tol*h, neighbours found by faiss range_search over
    an exact IndexFlatL2 (which keeps d^2 < r strictly)."""
    index = faiss.IndexFlatL2(x.shape[1])
    index.add(x)
    means = seeds.astype(np.float32).copy()
    counts = np.zeros(len(means), dtype=np.int64)
    active = np.arange(len(means))
    thresh = tol * h
    iters = 0
    for it in range(max_iter + 1):
        if len(active) == 0:
            break
        lims, _, ids = index.range_search(np.ascontiguousarray(means[active]), h * h)
        lims = lims.astype(np.int64)
        cnt = np.diff(lims)
        counts[active] = cnt
        empty = cnt == 0
        sums = np.add.reduceat(x[ids], lims[:-1][~empty], axis=0) if (~empty).any() else None
        new = means[active].copy()
        if sums is not None:
            new[~empty] = sums / cnt[~empty, None]
        moved = np.linalg.norm(new - means[active], axis=1)
        done = empty | (moved <= thresh) | (it == max_iter)
        means[active] = new
        active = active[~done]
        iters = it
    keep = counts > 0
    if not keep.any():
        raise ValueError(f"no point within bandwidth {h} of any seed")
    return merge_modes(means[keep], counts[keep], h), iters


def faiss_peers(x, args, base, kernel):
    name = "faiss-range" + ("-bin" if base["mode"] == "standard-bin" else "")
    if "faiss" in args.skip:
        yield absent(base, name, "skipped", "not run at this N (bench/run --faiss-n)")
        return
    try:
        import faiss
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "missing", f"faiss not importable: {type(e).__name__}: {e}")
        return
    if kernel != "flat":
        yield absent(base, name, "skipped", "the faiss peer is written for the flat kernel only")
        return
    if base["mode"] == "standard-bin":
        try:
            from sklearn.cluster import get_bin_seeds

            seeds = get_bin_seeds(x, args.bandwidth, 1)
        except Exception as e:  # noqa: BLE001
            yield absent(base, name, "missing", f"bin seeds need scikit-learn: {e}")
            return
    else:
        seeds = x
    times, out = timed(lambda: faiss_mean_shift(faiss, x, args.bandwidth, seeds), args.reps, args.warmup)
    centres, iters = out
    yield result(
        base,
        name,
        times,
        len(centres),
        None,
        version=getattr(faiss, "__version__", "?"),
        n_iter=iters,
        note="mean shift written here on faiss range_search (faiss has no mean shift)",
    )


def python_peers(x, args, base, kernel):
    """This library's own Python estimator, `gpu_cluster.MeanShift`, with
    scikit-learn's call on the CPU twin (and a hardware GPU where there is
    one): beside our Rust rows, the binding's overhead on the same work."""
    bin_seeding = base["mode"] == "standard-bin"
    name = "gpu_cluster-python" + ("-bin" if bin_seeding else "")
    try:
        import gpu_cluster
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "missing", f"gpu_cluster not importable (pip install ./python): {e}")
        return
    backends = ["cpu"]
    if "software" not in gpu_cluster.backend_info("auto").lower() and not gpu_cluster.backend_info(
        "auto"
    ).startswith("CPU"):
        backends.append("gpu")
    for backend in backends:

        def run():
            return gpu_cluster.MeanShift(
                bandwidth=args.bandwidth, bin_seeding=bin_seeding, kernel=kernel, backend=backend
            ).fit(x)

        times, model = timed(run, args.reps, args.warmup)
        yield result(
            base,
            f"{name}, {gpu_cluster.backend_info(backend)}",
            times,
            len(model.cluster_centers_),
            None,
            version=getattr(gpu_cluster, "__version__", None),
            n_iter=int(model.n_iter_),
        )


def cuml_peers(base):
    try:
        import cuml
    except Exception as e:  # noqa: BLE001
        yield absent(base, "cuml", "missing", f"cuml not importable: {type(e).__name__}: {e}")
        return
    yield absent(base, "cuml", "skipped", f"cuML {cuml.__version__} has no MeanShift")


# ----------------------------------------------------------------- main


def guarded(gen, base):
    """A peer's lines; a peer that raises (e.g. scikit-learn's "no point
    within bandwidth" with bin seeding) gives an "error" line, and the run
    goes on."""
    name = {"faiss": "faiss-range"}.get(gen.__name__.removesuffix("_peers"), gen.__name__.removesuffix("_peers"))
    if base["mode"] == "standard-bin" and name in ("sklearn", "faiss-range"):
        name += "-bin"
    try:
        yield from gen
    except Exception as e:  # noqa: BLE001
        yield absent(base, name, "error", f"{type(e).__name__}: " + " ".join(str(e).split()))


def env_line(x, path):
    info = {
        "kind": "env",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "unset_env": _UNSET,
        "file": path,
        "machine": platform.machine(),
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "architecture", "version")}
            for p in threadpool_info()
        ]
    except Exception as e:  # noqa: BLE001
        info["threadpools"] = f"threadpoolctl not importable: {e}"
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help=".npy file, n x d")
    ap.add_argument("--bandwidth", type=float, default=2.5)
    ap.add_argument("--kernels", default="gaussian", help="kernels for the blurring modes (comma-separated)")
    ap.add_argument("--standard-kernel", default="flat", help="kernel for the standard modes")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--iterations", type=int, default=5, help="blurring iterations of the blurring mode")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions (median reported)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    ap.add_argument("--batch", type=int, default=1250, help="batch size of the batched blurring")
    ap.add_argument(
        "--batch-bytes",
        type=int,
        default=2 << 30,
        help="shrink the batch where a batch x N x D float32 temporary would pass this (default 2 GiB)",
    )
    ap.add_argument(
        "--variants",
        default="inplace,pingpong",
        help="batched blurring variants to run (comma-separated: inplace, pingpong)",
    )
    ap.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="stop adding timed repetitions once they took this many seconds (at least one runs)",
    )
    ap.add_argument(
        "--skip",
        default="",
        help="peer families to report as skipped at this N (comma-separated: numpy, sklearn, torch, cupy, faiss)",
    )
    ap.add_argument("--sklearn-n-jobs", type=int, default=None, help="MeanShift(n_jobs=...); default None, as a user would")
    ap.add_argument("--sklearn-reps", type=int, default=None, help="timed scikit-learn runs (default: --reps)")
    ap.add_argument("--sklearn-warmup", type=int, default=None, help="untimed scikit-learn runs (default: --warmup)")
    ap.add_argument(
        "--peers",
        default="numpy,cupy,torch,sklearn,faiss,cuml,python",
        help="which peer families to run (comma-separated)",
    )
    args = ap.parse_args()
    modes = args.modes.split(",")
    kernels = args.kernels.split(",")
    families = set(args.peers.split(","))
    args.skip = set(filter(None, args.skip.split(",")))
    for m in modes:
        if m not in MODES:
            ap.error(f"unknown mode {m!r}: use {', '.join(MODES)}")
    for k in kernels + [args.standard_kernel]:
        if k not in KERNELS:
            ap.error(f"unknown kernel {k!r}: use {', '.join(KERNELS)}")
    if args.reps < 1:
        ap.error("--reps must be >= 1")
    if args.batch < 1 or args.batch_bytes < 1:
        ap.error("--batch and --batch-bytes must be >= 1")
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in ("inplace", "pingpong"):
            ap.error(f"unknown variant {v!r}: use inplace, pingpong")
    args.variants = [v for v in ("inplace", "pingpong") if v in variants]
    args.inplace_variants = [v == "inplace" for v in args.variants]
    if args.time_budget is not None:
        if not args.time_budget > 0:
            ap.error("--time-budget must be > 0 seconds")
        global TIME_BUDGET_MS
        TIME_BUDGET_MS = args.time_budget * 1e3

    x = np.ascontiguousarray(np.load(args.data), dtype=np.float32)
    if x.ndim != 2:
        ap.error(f"{args.data}: expected a 2-D array, got shape {x.shape}")
    emit(env_line(x, args.data))
    n, d = x.shape
    for mode in modes:
        for kernel in [args.standard_kernel] if mode.startswith("standard") else kernels:
            iterations = args.iterations if mode == "blurring" else 1
            base = dict(
                file=args.data,
                n=n,
                d=d,
                kernel=kernel,
                mode=mode,
                bandwidth=args.bandwidth,
                iterations=iterations if not mode.startswith("standard") else None,
                reps=args.reps,
                warmup=args.warmup,
            )
            gens = []
            if mode in ("blurring", "blur1"):
                # The GPU peers first: a run cut short keeps them.
                if "torch" in families:
                    gens.append(torch_peers(x, args, base, iterations, kernel))
                if "cupy" in families:
                    gens.append(cupy_peers(x, args, base, iterations, kernel))
                if "numpy" in families:
                    gens.append(numpy_peers(x, args, base, iterations, kernel))
            else:
                if "sklearn" in families:
                    gens.append(sklearn_peers(x, args, base, kernel))
                if "faiss" in families:
                    gens.append(faiss_peers(x, args, base, kernel))
                if "cuml" in families:
                    gens.append(cuml_peers(base))
                if "python" in families:
                    gens.append(python_peers(x, args, base, kernel))
            for g in gens:
                for line in guarded(g, base):
                    emit(line)
                    if line["status"] == "ok":
                        print(
                            f"peers: {line['peer']} n={n} d={d} {mode} {kernel}: "
                            f"{line['median_ms']:.1f} ms, clusters {line['clusters']}",
                            file=sys.stderr,
                            flush=True,
                        )


if __name__ == "__main__":
    main()
