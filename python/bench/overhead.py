"""Times the Python estimator against the Rust call it wraps, on the
reference workload (1500 points, 6 blobs) or a .npy file.

    python python/bench/overhead.py [--data blobs.npy] [--backend cpu] [--reps 41]

`gpu-cluster blobs --out blobs.npy` writes the reference data; without
--data, scikit-learn's make_blobs draws 1500 points of 6 blobs of the same
shape (std sqrt 5, centres in [-35, 35]^2). Prints, per configuration, the
median time of `MeanShift(...).fit(X)` and of the bare `_native` call it
makes (the Rust API plus the array hand-over), and the difference."""

import argparse
import statistics
import time

import numpy as np

from gpu_cluster import MeanShift, _native, backend_info

CONFIGS = [
    (
        "blurring, gaussian, h 2.5, at most 5 iterations",
        dict(bandwidth=2.5, kernel="gaussian", mode="blurring", max_iter=5),
        (2.5, None, False, 1, True, 5, "gaussian", "blurring"),
    ),
    ("standard, flat, h 2.5", dict(bandwidth=2.5), (2.5, None, False, 1, True, 300, None, "standard")),
    (
        "standard, flat, h 2.5, bin seeding",
        dict(bandwidth=2.5, bin_seeding=True),
        (2.5, None, True, 1, True, 300, None, "standard"),
    ),
]


def median_ms(f, reps):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--reps", type=int, default=41)
    args = ap.parse_args()
    if args.data:
        X = np.load(args.data).astype(np.float32)
    else:
        from sklearn.datasets import make_blobs

        rng = np.random.default_rng(1)
        X, _ = make_blobs(
            n_samples=1500, centers=rng.uniform(-35, 35, (6, 2)), cluster_std=5**0.5, random_state=1
        )
        X = X.astype(np.float32)
    print(f"{X.shape[0]} x {X.shape[1]} {X.dtype} on {backend_info(args.backend)}")
    print("| configuration | estimator (ms) | Rust call (ms) | overhead |")
    print("|---|---|---|---|")
    for name, params, native in CONFIGS:
        est = MeanShift(backend=args.backend, **params)
        # Interleaved, so drifting machine load hits both alike.
        a, b = [], []
        for _ in range(5):
            a.append(median_ms(lambda: est.fit(X), args.reps // 5 + 1))
            b.append(median_ms(lambda: _native.mean_shift_fit(X, *native, args.backend), args.reps // 5 + 1))
        a, b = statistics.median(a), statistics.median(b)
        print(f"| {name} | {a:.3f} | {b:.3f} | {100 * (a - b) / b:+.1f}% ({(a - b) * 1e3:.0f} us) |")


if __name__ == "__main__":
    main()
