#!/usr/bin/env python3
"""Merges the JSON lines of `examples/bench.rs` (ours) and
`bench/peers/peers.py` (the peers) into one markdown table, checks that
cluster counts agree, and draws a scaling plot where matplotlib is present.
Lines of the kNN workload (`"workload": "knn"`: ours' `--modes knn` and
`bench/peers/knn_peers.py`'s) make a second table, "Exact nearest
neighbours", after the mean-shift one (alone where there is no mean-shift
line): every round's timed runs pooled, per-round medians, queries/s, pair
evaluations/s, recall@k and the ratio to faiss-cpu's time in the same run;
it checks that both sides timed byte-identical arrays (fingerprints) and
that recall is 1. Lines of the k-means workload (`"workload": "kmeans"`:
ours' `--modes kmeans` and `bench/peers/kmeans_peers.py`'s) make a third,
"k-means": seconds per fit and per iteration pooled over the rounds, the
iterations run, the final inertia of each side and its relative
difference from scikit-learn's, and the ratio to scikit-learn's time per
iteration in the same run; it checks both sides timed the same points and
initial centres (fingerprints) and warns where ours' inertia is off
scikit-learn's by more than 1e-4 relative after the same iterations.
Lines of the DBSCAN workload (`"workload": "dbscan"`: ours' `--modes
dbscan` and `bench/peers/dbscan_peers.py`'s) make a fourth, "DBSCAN":
seconds per fit pooled over the rounds, per-round medians, the clusters,
noise and core points found, whether each row's labels are identical to
scikit-learn's, and the ratio of each scikit-learn configuration's time
to the row's in the same run; it checks both sides fitted the same points
(fingerprints) and warns where labels differ.

    python3 bench/table.py OURS.jsonl PEERS.jsonl [--out TABLE.md]
        [--plot SCALING.png] [--command "the command that ran"]

Several runs' files may be given together (e.g. the stages of
bench/device-run); where the same measurement appears twice, the one with
more timed repetitions is kept (the later one on a tie).

Only the standard library is needed for the table.
"""

import argparse
import json
import statistics
import sys
from collections import defaultdict

MODE_ORDER = {"blurring": 0, "blur1": 1, "standard": 2, "standard-bin": 3}
MODE_TEXT = {
    "blurring": "blurring fit",
    "blur1": "1 blurring iteration",
    "standard": "standard fit",
    "standard-bin": "standard fit, bin seeding",
}
SOFTWARE = "software adapter: not a GPU timing"


def load(paths):
    lines = []
    for path in paths:
        with open(path) as f:
            for raw in f:
                raw = raw.strip()
                if raw.startswith("{"):
                    try:
                        r = json.loads(raw)
                    except json.JSONDecodeError:
                        print(f"table: skipping a malformed line in {path}: {raw[:80]}", file=sys.stderr)
                        continue
                    # Expanded distances are a workload of their own beside
                    # the direct one of the same N, D, kernel and mode.
                    if r.get("distances", "direct") != "direct" and "mode" in r:
                        r["mode"] += f", {r['distances']} distances"
                    lines.append(r)
    return lines


def key(r):
    return (r["n"], r["d"], r["kernel"], r["mode"])


def name_of(r):
    if r["kind"] == "ours":
        if r["backend"] == "cpu":
            return "**ours CPU** " + r["adapter"].removeprefix("CPU ")
        label = f"**ours GPU** {r['adapter']}"
        if r.get("software"):
            label = label.removesuffix(", software") + f" — *{SOFTWARE}*"
        return label
    extra = ""
    if r.get("device"):
        extra = f" ({r['device']})"
    elif r["peer"].startswith("sklearn") and r.get("n_jobs") is not None:
        extra = f" (n_jobs={r['n_jobs']})"
    return r["peer"] + extra


def fmt_ms(ms):
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def fmt_rate(r):
    pe = r.get("pair_evals")
    if not pe or not r.get("median_ms"):
        return "—"
    rate = pe / (r["median_ms"] / 1e3)
    for unit, div in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rate >= div:
            return f"{rate / div:.3g} {unit}"
    return f"{rate:.3g}"


def ratio(peer_ms, ours):
    """How many times faster ours is than this row: peer time / our time."""
    if ours is None or ours.get("software"):
        return "—"
    x = peer_ms / ours["median_ms"]
    return f"{x:,.0f}×" if x >= 100 else f"{x:.3g}×"


def is_knn(r):
    """A line of the kNN workload (older knn_peers.py lines carry no
    "workload": a peer or env line with "q" and no "mode")."""
    if r.get("workload") == "knn":
        return True
    return r.get("kind") in ("peer", "env") and "q" in r and "mode" not in r


def is_kmeans(r):
    return r.get("workload") == "kmeans"


def is_dbscan(r):
    return r.get("workload") == "dbscan"


def build(lines, command=None):
    knn_lines = [r for r in lines if is_knn(r)]
    kmeans_lines = [r for r in lines if is_kmeans(r)]
    dbscan_lines = [r for r in lines if is_dbscan(r)]
    lines = [r for r in lines if not (is_knn(r) or is_kmeans(r) or is_dbscan(r))]
    if not any(r.get("kind") in ("ours", "peer") for r in lines):
        md = [f"Command: `{command}`\n"] if command else []
        if knn_lines:
            md.append(build_knn(knn_lines))
        if kmeans_lines:
            md.append(build_kmeans(kmeans_lines))
        if dbscan_lines:
            md.append(build_dbscan(dbscan_lines))
        return "\n".join(md), []
    ours = [r for r in lines if r.get("kind") == "ours"]
    peers = [r for r in lines if r.get("kind") == "peer"]
    envs = [r for r in lines if r.get("kind") == "env"]
    skips = [r for r in lines if r.get("kind") == "skip"]
    errors = [r for r in lines if r.get("kind") == "error"]
    adapters = [r for r in lines if r.get("kind") == "adapter"]
    shapes = [r for r in lines if r.get("kind") == "shape"]

    def better(new, old):
        return old is None or new.get("reps", 0) >= old.get("reps", 0)

    groups = defaultdict(lambda: {"ours": {}, "peers": {}})
    for r in ours:
        g = groups[key(r)]["ours"]
        if better(r, g.get(r["backend"])):
            g[r["backend"]] = r
    absent = {}
    for r in peers:
        if r["status"] == "ok":
            g = groups[key(r)]["peers"]
            if better(r, g.get(r["peer"])):
                g[r["peer"]] = r
        else:
            absent.setdefault((r["peer"], r["status"], r["reason"]), set()).add((r["n"], r["d"], r["mode"]))

    out = []
    warnings = []
    # Kernel time measured by the device (`gpu_ms`), where any row has it.
    kernel_col = any(r.get("gpu_ms") is not None for r in ours)
    out.append(
        "| N | D | kernel | workload | backend / peer | reps | time (ms) "
        + ("| GPU kernels (ms) " if kernel_col else "")
        + "| pair-evals/s | clusters | ours CPU faster by | ours GPU faster by |"
    )
    out.append("|---:|---:|---|---|---|---:|---:|" + ("---:|" if kernel_col else "") + "---:|---:|---:|---:|")
    for k in sorted(groups, key=lambda k: (k[1], k[0], MODE_ORDER.get(k[3], 9), k[2])):
        g = groups[k]
        n, d, kernel, mode = k
        cpu, gpu = g["ours"].get("cpu"), g["ours"].get("gpu")
        ref = cpu or gpu
        rows = [g["ours"][b] for b in ("gpu", "cpu") if b in g["ours"]] + sorted(
            g["peers"].values(), key=lambda r: r["median_ms"]
        )
        if cpu and gpu and cpu.get("clusters") is not None and cpu["clusters"] != gpu["clusters"]:
            warnings.append(
                f"N={n} D={d} {kernel} {mode}: ours GPU found {gpu['clusters']} clusters, ours CPU {cpu['clusters']}"
            )
        for r in rows:
            is_peer = r["kind"] == "peer"
            if is_peer and ref and r.get("clusters") is not None and ref.get("clusters") is not None:
                if r["clusters"] != ref["clusters"]:
                    why = (
                        " (in-place batches compute a different iteration from ours: expected to differ)"
                        if "inplace" in r["peer"]
                        else ""
                    )
                    warnings.append(
                        f"N={n} D={d} {kernel} {mode}: {r['peer']} found {r['clusters']} clusters, "
                        f"ours {ref['clusters']}{why}"
                    )
            clusters = "—" if r.get("clusters") is None else str(r["clusters"])
            kernels = ""
            if kernel_col:
                kernels = " " + ("—" if r.get("gpu_ms") is None else fmt_ms(r["gpu_ms"])) + " |"
            out.append(
                "| {n} | {d} | {kernel} | {mode} | {name} | {reps} | {t} |{kernels} {rate} | {cl} | {rc} | {rg} |".format(
                    n=f"{n:,}",
                    d=d,
                    kernel=kernel,
                    mode=MODE_TEXT.get(mode, mode),
                    name=name_of(r),
                    reps=r.get("reps", "?"),
                    t=fmt_ms(r["median_ms"]),
                    kernels=kernels,
                    rate=fmt_rate(r),
                    cl=clusters,
                    rc=ratio(r["median_ms"], cpu) if is_peer else "—",
                    rg=ratio(r["median_ms"], gpu) if is_peer else "—",
                )
            )

    notes = []
    notes.append(
        "Time: median of the timed repetitions (after the warm-up runs), wall clock, "
        "upload and copy back included. \"ours … faster by\" = the row's time ÷ ours' time "
        "on the same data in the same run (> 1: ours is faster); not given against a software adapter."
    )
    if kernel_col:
        notes.append(
            "GPU kernels: the time the device itself measured its compute passes running "
            "(timestamp queries, `Context::gpu_time`), mean per timed repetition; the rest of the "
            "row's time is overhead (upload, submission, waiting, copy back). — where not measured "
            "(CPU, peers, adapters without timestamp queries)."
        )
    notes.append(
        "Pair-evaluations/s: N² × iterations ÷ time for the blurring workloads (ours' fit also "
        "merges and labels inside its time, the peers' blurring rows do not); not defined for "
        "standard mode, whose work depends on how long each seed climbs."
    )
    seen_adapters = set()
    for a in adapters:
        if a.get("backend") != "gpu" or a.get("adapter") in seen_adapters:
            continue
        seen_adapters.add(a.get("adapter"))
        detail = ", ".join(
            f"{k.replace('_', ' ')} {a[k]}" for k in ("vendor", "device", "driver", "driver_info") if a.get(k)
        )
        kind = f" — *{SOFTWARE}*" if a.get("software") else ""
        notes.append(f"GPU adapter: {a.get('adapter')}" + (f" ({detail})" if detail else "") + kind)
    seen_shapes = []
    for r in shapes:
        if r.get("shape") not in seen_shapes:
            seen_shapes.append(r.get("shape"))
    if seen_shapes:
        notes.append("GPU launch shapes chosen (`Context::tuned_shapes`): " + "; ".join(seen_shapes) + ".")
    if any(r.get("software") for r in ours):
        notes.append(
            f"GPU rows marked *{SOFTWARE}* ran on a software Vulkan driver (Mesa's llvmpipe) on the "
            "same CPU cores: they check the GPU path end to end and say nothing about GPU speed."
        )
    if skips:
        seen = set()
        for s in skips:
            t = (s.get("backend"), s.get("reason"))
            if t in seen:
                continue
            seen.add(t)
            ns = sorted({(x.get("n"), x.get("d")) for x in skips if (x.get("backend"), x.get("reason")) == t})
            where = ", ".join(f"N={a} D={b}" for a, b in ns if a is not None)
            notes.append(f"Ours {s.get('backend')} not run: {s.get('reason')}" + (f" ({where})" if where else ""))
    for r in errors:
        notes.append(
            f"Ours {r.get('backend')} failed at N={r.get('n')} D={r.get('d')} {r.get('kernel')} "
            f"{r.get('mode')}: {r.get('error')}"
        )
    for (peer, status, reason), where in sorted(absent.items()):
        ws = sorted(where)
        span = ", ".join(f"N={a} D={b}" for a, b in sorted({(a, b) for a, b, _ in ws}, key=lambda t: (t[1], t[0])))
        notes.append(f"Peer {peer} {status}: {reason} ({span})")
    for e in envs[:1]:
        tp = e.get("threadpools")
        if isinstance(tp, list):
            pools = "; ".join(
                f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} × {p.get('num_threads')} threads"
                for p in tp
            )
        else:
            pools = str(tp)
        unset = ", ".join(e.get("unset_env") or []) or "none set"
        notes.append(
            f"Peers' environment: Python {e.get('python')}, numpy {e.get('numpy')}; threadpools: {pools}; "
            f"removed from the peers' environment: {unset}."
        )

    md = []
    if command:
        md.append(f"Command: `{command}`\n")
    md.extend(out)
    md.append("")
    md.extend(f"- {n}" for n in notes)
    if warnings:
        md.append("")
        md.append("Cluster-count warnings:")
        md.extend(f"- {w}" for w in warnings)
    if knn_lines:
        md.append("")
        md.append(build_knn(knn_lines).rstrip("\n"))
    if kmeans_lines:
        md.append("")
        md.append(build_kmeans(kmeans_lines).rstrip("\n"))
    if dbscan_lines:
        md.append("")
        md.append(build_dbscan(dbscan_lines).rstrip("\n"))
    return "\n".join(md) + "\n", warnings


# ------------------------------------------------------------------ kNN

KNN_PEER_ORDER = {"faiss-flat-l2": 0, "sklearn-brute": 1, "torch-cuda": 2}
KNN_PEER_TEXT = {
    "faiss-flat-l2": "faiss-cpu `IndexFlatL2`",
    "sklearn-brute": "scikit-learn brute",
    "torch-cuda": "PyTorch cdist + topk, CUDA",
}


def fmt_s(s):
    if s >= 10:
        return f"{s:,.1f}"
    if s >= 0.1:
        return f"{s:.3f}"
    return f"{s:.3g}"


def fmt_si(x):
    for unit, div in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.3g} {unit}"
    return f"{x:.3g}"


def kernel_note(lines, what):
    """A note of the device-measured kernel time (`gpu_ms`, mean per timed
    run) of ours' lines that have it, or None where none has."""
    parts = []
    for r in lines:
        if r.get("kind") != "ours" or r.get("gpu_ms") is None:
            continue
        where = ", ".join(f"{k}={r[k]:,}" if isinstance(r[k], int) else f"{k}={r[k]}"
                          for k in ("n", "q", "d", "k") if k in r)
        round_ = f", round {r['round']}" if r.get("round") is not None else ""
        share = ""
        if r.get("median_s"):
            share = f" ({r['gpu_ms'] / 1e3 / r['median_s']:.0%} of the median)"
        parts.append(f"{where}{round_}: {fmt_ms(r['gpu_ms'])} ms{share}")
    if not parts:
        return None
    return (f"GPU kernels per {what}, as the device measured them (timestamp queries, "
            "`Context::gpu_time`; the rest of the time is upload, submission, waiting and copy back): "
            + "; ".join(parts) + ".")


def knn_rows(lines):
    """Per (n, q, d, k): each backend's / peer's timed runs pooled over the
    rounds, with the per-round medians; absent ones with their reason."""
    groups = defaultdict(lambda: {"rows": {}, "absent": {}})
    for r in lines:
        kind = r.get("kind")
        if kind not in ("ours", "peer", "skip", "error"):
            continue
        if not all(k in r for k in ("n", "q", "d", "k")):
            continue
        g = groups[(r["n"], r["q"], r["d"], r["k"])]
        if kind == "ours":
            name = ("ours", r["backend"])
        elif kind == "peer":
            name = ("peer", r["peer"])
        else:
            name = ("ours", r.get("backend", "?"))
        if kind in ("skip", "error") or (kind == "peer" and r.get("status") != "ok"):
            why = r.get("reason") or r.get("error") or r.get("status")
            status = r.get("status") or ("not run" if kind == "skip" else "error")
            g["absent"].setdefault(name, (status, why, r))
            continue
        row = g["rows"].setdefault(name, {"lines": [], "times": [], "rounds": []})
        row["lines"].append(r)
        times = r.get("times_s") or [r["median_s"]]
        row["times"].extend(times)
        row["rounds"].append((r.get("round"), r["median_s"]))
    for g in groups.values():
        for name in g["rows"]:
            g["absent"].pop(name, None)
    return groups


def knn_name(kind, who, r):
    if kind == "ours":
        if who == "cpu":
            label = "**ours CPU twin**"
            if r and r.get("adapter"):
                label += " " + r["adapter"].removeprefix("CPU ")
            return label
        label = "**ours GPU**"
        if r and r.get("adapter"):
            label += " " + r["adapter"].removesuffix(", software")
        if r and r.get("software"):
            label += f" — *{SOFTWARE}*"
        return label
    text = KNN_PEER_TEXT.get(who, who)
    if r:
        if r.get("device"):
            text += f" ({r['device']})"
        elif who.startswith("faiss") and r.get("omp_threads"):
            text += f" ({r['omp_threads']} threads)"
        elif who.startswith("sklearn"):
            text += f" (n_jobs={r.get('n_jobs')})"
    return text


def knn_order(item):
    (kind, who), _ = item
    if kind == "ours":
        return (0, {"cpu": 0, "gpu": 1}.get(who, 2), who)
    return (1, KNN_PEER_ORDER.get(who, 9), who)


def build_knn(lines):
    groups = knn_rows(lines)
    envs = [r for r in lines if r.get("kind") == "env"]
    loads = [r for r in lines if r.get("kind") == "load"]
    out = ["### Exact nearest neighbours", ""]
    out.append(
        "| N | Q | D | k | backend / peer | timed runs (rounds) | seconds (median) | best | "
        "per-round medians | queries/s | pair-evals/s | recall@k | faiss-cpu time ÷ this | "
        "faiss-cpu best ÷ this best |"
    )
    out.append("|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    warnings = []
    notes = []
    for key in sorted(groups):
        n, q, d, k = key
        g = groups[key]
        faiss = g["rows"].get(("peer", "faiss-flat-l2"))
        faiss_med = statistics.median(faiss["times"]) if faiss else None
        faiss_best = min(faiss["times"]) if faiss else None
        faiss_rounds = {rd: m for rd, m in faiss["rounds"]} if faiss else {}
        # Measured rows, then those not measured (always one for our GPU and
        # one for the torch peer), in a fixed order.
        items = list(g["rows"].items()) + [(name, None) for name in g["absent"]]
        names = {name for name, _ in items}
        items += [(name, None) for name in (("ours", "gpu"), ("peer", "torch-cuda")) if name not in names]
        items.sort(key=knn_order)
        lead = f"| {n:,} | {q:,} | {d} | {k} "
        for name, row in items:
            kind, who = name
            if row is None:
                status, why, r = g["absent"].get(name, ("not in this run", None, None))
                label = knn_name(kind, who, r)
                text = f"*{status}*" + (f": {why}" if why else "")
                out.append(lead + f"| {label} | — | {text} | — | — | — | — | — | — | — |")
                continue
            last = row["lines"][-1]
            med = statistics.median(row["times"])
            best = min(row["times"])
            rounds = sorted(row["rounds"], key=lambda t: (t[0] is None, t[0] or 0))
            per_round = " / ".join(fmt_s(m) for _, m in rounds)
            software = kind == "ours" and last.get("software")
            recalls = [x.get("recall_at_k") for x in row["lines"] if x.get("recall_at_k") is not None]
            recall = min(recalls) if recalls else None
            rq = last.get("recall_queries")
            if recall is not None and recall < 1:
                warnings.append(f"N={n} Q={q} D={d} k={k}: {knn_name(kind, who, last)} recall@{k} {recall:.4f} < 1")
            if faiss_med and not software:
                x = faiss_med / med
                by_round = [faiss_rounds[rd] / m for rd, m in rounds if rd in faiss_rounds]
                rtext = f"{x:.3g}×"
                if len(by_round) > 1 and name != ("peer", "faiss-flat-l2"):
                    rtext += f" ({min(by_round):.3g}–{max(by_round):.3g})"
            else:
                rtext = "—"
            btext = f"{faiss_best / best:.3g}×" if faiss_best and not software else "—"
            out.append(
                lead
                + "| {label} | {runs} ({nr}) | {med} | {best} | {pr} | {qps} | {pps} | {rec} | {ratio} | {bratio} |".format(
                    label=knn_name(kind, who, last),
                    runs=len(row["times"]),
                    nr=len(rounds),
                    med=fmt_s(med),
                    best=fmt_s(best),
                    pr=per_round,
                    qps=fmt_si(q / med),
                    pps=fmt_si(n * q / med),
                    rec="—" if recall is None else f"{recall:.4g}" + (f" ({rq} q)" if rq else ""),
                    ratio=rtext,
                    bratio=btext,
                )
            )

        # Byte-identical arrays on both sides?
        ours_fp = {(x.get("data_fingerprint"), x.get("queries_fingerprint"))
                   for (kind, _), row in g["rows"].items() if kind == "ours" for x in row["lines"]}
        peer_fp = {(e.get("data_fingerprint"), e.get("queries_fingerprint")) for e in envs
                   if e.get("n") == n and e.get("q") == q and e.get("d") == d and e.get("data_fingerprint")}
        fps = ours_fp | peer_fp
        if len(fps) == 1 and ours_fp and peer_fp:
            dfp, qfp = next(iter(fps))
            notes.append(
                f"N={n:,} Q={q:,} D={d}: ours and the peers timed byte-identical arrays "
                f"(fingerprints {dfp} and {qfp}, the same in every line of both sides)."
            )
        elif len(fps) > 1:
            warnings.append(f"N={n} Q={q} D={d}: the data differ between the lines: fingerprints {sorted(fps)}")
        elif not peer_fp and ours_fp:
            notes.append(f"N={n:,} Q={q:,} D={d}: no peer fingerprint to compare ours' with.")

    notes.insert(
        0,
        "Seconds: median of every timed run of every round pooled (each round is a fresh process "
        "with its own warm-up runs first), wall clock from host arrays to host results, the index "
        "built in each run (ours: `NearestNeighbors::new().metric(Metric::SqEuclidean).fit` + "
        "`kneighbors(Some(&queries), k)`; faiss: `IndexFlatL2` + `add` + `search`; scikit-learn: "
        "`fit` + `kneighbors`; PyTorch: upload, `cdist` + `topk` per batch, copy back). "
        "Pair-evals/s = N × Q ÷ median. \"faiss-cpu time ÷ this\" > 1: this row is faster than "
        "faiss-cpu's `IndexFlatL2` on the same arrays in the same run; in brackets the range of "
        "that ratio round by round (ours and the peers ran back to back in each round, the order "
        "swapped every round); \"best ÷ best\" sets the fastest single runs side by side, the least "
        "disturbed by other work on the machine. Neither is given for a software adapter.",
    )
    notes.insert(
        1,
        "Recall@k: the mean over the checked queries of |row's k indices ∩ exact k indices| ÷ k, the "
        "exact answer in float64 by direct differences, ties by lower index (ours: its own check on "
        "evenly spaced queries; the peers: knn_peers.py's on a seeded random subset); the lowest over "
        "the rounds.",
    )
    firsts = [(x.get("backend"), x.get("first_s")) for x in lines
              if x.get("kind") == "ours" and x.get("first_s") is not None]
    if any(b == "gpu" for b, _ in firsts):
        gf = [f for b, f in firsts if b == "gpu"]
        notes.append(
            f"Ours GPU: every timed run builds a new index, so it uploads the data each time (as the "
            f"PyTorch peer does); the first call of each round (the warm-up, untimed) also builds the "
            f"pipelines: {', '.join(fmt_s(f) for f in gf)} s."
        )
    if any(x.get("kind") == "ours" and x.get("software") for x in lines):
        notes.append(
            f"GPU rows marked *{SOFTWARE}* ran on a software Vulkan driver on the same CPU cores: "
            "they check the GPU path end to end and say nothing about GPU speed."
        )
    seen = set()
    for e in envs:
        t = (e.get("python"), e.get("numpy"))
        if t in seen:
            continue
        seen.add(t)
        tp = e.get("threadpools")
        pools = (
            "; ".join(
                f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} × {p.get('num_threads')} threads"
                for p in tp
            )
            if isinstance(tp, list)
            else str(tp)
        )
        notes.append(
            f"kNN peers' environment: Python {e.get('python')}, numpy {e.get('numpy')}"
            + (f", CPU {e['cpu_model']}" if e.get("cpu_model") else "")
            + f", {e.get('cpu_count')} CPUs; threadpools: {pools}."
        )
    versions = {}
    for (kind, who), row in ((name, row) for g in groups.values() for name, row in g["rows"].items()):
        if kind != "peer":
            continue
        r = row["lines"][-1]
        if who.startswith("faiss"):
            versions[who] = (
                f"faiss {r.get('version')}, {r.get('omp_threads')} OpenMP threads, "
                f"distance_compute_blas_threshold {r.get('blas_threshold')}"
            )
        elif who.startswith("sklearn"):
            versions[who] = f"scikit-learn {r.get('version')}, n_jobs={r.get('n_jobs')}"
        elif who.startswith("torch"):
            versions[who] = f"torch {r.get('torch')}, CUDA {r.get('cuda')}, {r.get('device')}, batch {r.get('batch')}"
    if versions:
        notes.append("Peers: " + "; ".join(versions.values()) + ".")
    avgs = [x["loadavg_1m"] for x in lines if isinstance(x.get("loadavg_1m"), (int, float))]
    starts = [x["loadavg"] for x in loads if x.get("when") == "start"]
    ends = [x["loadavg"] for x in loads if x.get("when") == "end"]
    if avgs or starts:
        text = "Load average (1, 5, 15 min)"
        if starts:
            text += f": {starts[0]} before the kNN runs"
        if ends:
            text += f", {ends[-1]} after"
        if avgs:
            text += f"; 1-minute load after each measurement {min(avgs):.2f}–{max(avgs):.2f}"
        notes.append(text + ".")
    kn = kernel_note(lines, "run")
    if kn:
        notes.append(kn)
    md = out + [""] + [f"- {x}" for x in notes]
    if warnings:
        md += ["", "kNN warnings:"] + [f"- {w}" for w in warnings]
        for w in warnings:
            print(f"table: warning: knn: {w}", file=sys.stderr)
    return "\n".join(md) + "\n"


# --------------------------------------------------------------- k-means

KMEANS_PEER_ORDER = {"sklearn-lloyd": 0, "faiss-kmeans": 1, "torch-cuda": 2}
KMEANS_PEER_TEXT = {
    "sklearn-lloyd": "scikit-learn `KMeans` lloyd",
    "faiss-kmeans": "faiss-cpu `Kmeans`",
    "torch-cuda": "PyTorch Lloyd loop, CUDA",
}
KMEANS_REF = ("peer", "sklearn-lloyd")
KMEANS_TOL = 1e-4


def kmeans_rows(lines):
    """Per (n, d, k, max_iter): each backend's / peer's timed fits pooled
    over the rounds (seconds per fit, and per iteration: each fit's time
    over its line's n_iter), with the per-round medians; absent ones with
    their reason."""
    groups = defaultdict(lambda: {"rows": {}, "absent": {}})
    for r in lines:
        kind = r.get("kind")
        if kind not in ("ours", "peer", "skip", "error"):
            continue
        if not all(k in r for k in ("n", "d", "k")):
            continue
        g = groups[(r["n"], r["d"], r["k"], r.get("max_iter"))]
        name = ("peer", r["peer"]) if kind == "peer" else ("ours", r.get("backend", "?"))
        if kind in ("skip", "error") or (kind == "peer" and r.get("status") != "ok"):
            why = r.get("reason") or r.get("error") or r.get("status")
            status = r.get("status") or ("not run" if kind == "skip" else "error")
            g["absent"].setdefault(name, (status, why, r))
            continue
        row = g["rows"].setdefault(name, {"lines": [], "times": [], "per_iter": [], "rounds": []})
        row["lines"].append(r)
        times = r.get("times_s") or [r["median_s"]]
        it = max(1, r.get("n_iter") or 1)
        row["times"].extend(times)
        row["per_iter"].extend(t / it for t in times)
        row["rounds"].append((r.get("round"), r["median_s"] / it))
    for g in groups.values():
        for name in g["rows"]:
            g["absent"].pop(name, None)
    return groups


def kmeans_name(kind, who, r):
    if kind == "ours":
        return knn_name(kind, who, r)
    text = KMEANS_PEER_TEXT.get(who, who)
    if r:
        if r.get("device"):
            text += f" ({r['device']})"
        elif who.startswith("faiss") and r.get("omp_threads"):
            text += f" ({r['omp_threads']} threads)"
    return text


def kmeans_order(item):
    (kind, who), _ = item
    if kind == "ours":
        return (0, {"cpu": 0, "gpu": 1}.get(who, 2), who)
    return (1, KMEANS_PEER_ORDER.get(who, 9), who)


def fmt_rel(x):
    if x == 0:
        return "0"
    return f"{x:+.1e}"


def build_kmeans(lines):
    groups = kmeans_rows(lines)
    envs = [r for r in lines if r.get("kind") == "env"]
    loads = [r for r in lines if r.get("kind") == "load"]
    out = ["### k-means", ""]
    out.append(
        "| N | D | k | backend / peer | timed fits (rounds) | seconds per fit (median) | best | iterations | "
        "ms per iteration | per-round medians (ms/iteration) | inertia | vs scikit-learn's | "
        "scikit-learn time ÷ this (per iteration) | best ÷ best |"
    )
    out.append("|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    warnings = []
    notes = []
    for key in sorted(groups, key=lambda t: tuple(-1 if v is None else v for v in t)):
        n, d, k, max_iter = key
        g = groups[key]
        ref = g["rows"].get(KMEANS_REF)
        ref_med = statistics.median(ref["per_iter"]) if ref else None
        ref_best = min(ref["per_iter"]) if ref else None
        ref_rounds = {rd: m for rd, m in ref["rounds"]} if ref else {}
        ref_inertia = ref["lines"][-1].get("inertia") if ref else None
        ref_iters = {x.get("n_iter") for x in ref["lines"]} if ref else set()
        f64 = next((x for x in (ref["lines"] if ref else []) if x.get("f64_inertia") is not None), None)
        f64_inertia = f64["f64_inertia"] if f64 else None
        f64_rel = {}
        items = list(g["rows"].items()) + [(name, None) for name in g["absent"]]
        names = {name for name, _ in items}
        items += [(name, None) for name in (("ours", "gpu"), ("peer", "torch-cuda")) if name not in names]
        items.sort(key=kmeans_order)
        lead = f"| {n:,} | {d} | {k} "
        for name, row in items:
            kind, who = name
            if row is None:
                status, why, r = g["absent"].get(name, ("not in this run", None, None))
                text = f"*{status}*" + (f": {why}" if why else "")
                out.append(lead + f"| {kmeans_name(kind, who, r)} | — | {text} | — | — | — | — | — | — | — | — |")
                continue
            last = row["lines"][-1]
            label = kmeans_name(kind, who, last)
            med = statistics.median(row["times"])
            best = min(row["times"])
            per_it = statistics.median(row["per_iter"])
            per_it_best = min(row["per_iter"])
            rounds = sorted(row["rounds"], key=lambda t: (t[0] is None, t[0] or 0))
            per_round = " / ".join(f"{m * 1e3:.3g}" for _, m in rounds)
            iters = sorted({x.get("n_iter") for x in row["lines"] if x.get("n_iter") is not None})
            itext = "—" if not iters else (str(iters[0]) if len(iters) == 1 else f"{iters[0]}–{iters[-1]}")
            inertias = [x.get("inertia") for x in row["lines"] if x.get("inertia") is not None]
            inertia = inertias[-1] if inertias else None
            if inertias and max(inertias) - min(inertias) > KMEANS_TOL * abs(inertias[0]):
                warnings.append(f"N={n} D={d} k={k}: {label}: the inertia changed between rounds "
                                f"({min(inertias):.8g}–{max(inertias):.8g})")
            short = f"ours {who.upper()}" if kind == "ours" else who
            if inertia is not None and f64_inertia:
                f64_rel[short] = (inertia - f64_inertia) / f64_inertia
            if inertia is not None and ref_inertia:
                rel = (inertia - ref_inertia) / ref_inertia
                vs = fmt_rel(rel) if name != KMEANS_REF else "—"
                # Against scikit-learn's float32 fit, or its float64 one
                # where there is one (near-tie labels flip in float32).
                off = min(abs(rel), abs(f64_rel.get(short, rel)))
                if kind == "ours" and off > KMEANS_TOL and set(iters) == ref_iters:
                    warnings.append(
                        f"N={n} D={d} k={k}: {label}: inertia {inertia:.10g} differs from scikit-learn's "
                        f"{ref_inertia:.10g} by {rel:+.2e} relative after the same {itext} iterations"
                        + (f" (from its float64 fit's {f64_inertia:.10g} by {f64_rel[short]:+.2e})"
                           if short in f64_rel else "")
                    )
            else:
                vs = "—"
            software = kind == "ours" and last.get("software")
            if ref_med and not software:
                x = ref_med / per_it
                by_round = [ref_rounds[rd] / m for rd, m in rounds if rd in ref_rounds]
                rtext = f"{x:.3g}×"
                if len(by_round) > 1 and name != KMEANS_REF:
                    rtext += f" ({min(by_round):.3g}–{max(by_round):.3g})"
                btext = f"{ref_best / per_it_best:.3g}×"
            else:
                rtext = btext = "—"
            out.append(
                lead
                + "| {label} | {runs} ({nr}) | {med} | {best} | {it} | {pit} | {pr} | {inertia} | {vs} | {ratio} | {bratio} |".format(
                    label=label,
                    runs=len(row["times"]),
                    nr=len(rounds),
                    med=fmt_s(med),
                    best=fmt_s(best),
                    it=itext,
                    pit=f"{per_it * 1e3:.3g}",
                    pr=per_round,
                    inertia="—" if inertia is None else f"{inertia:.10g}",
                    vs=vs,
                    ratio=rtext,
                    bratio=btext,
                )
            )

        if f64 is not None:
            others = "; ".join(f"{who} {fmt_rel(r)}" for who, r in f64_rel.items())
            notes.append(
                f"N={n:,} D={d} k={k}: scikit-learn on float64 copies of the same points and centres (one more "
                f"fit, untimed): {f64.get('f64_n_iter')} iterations, inertia {f64_inertia:.10g}; each row's "
                f"inertia relative to it: {others}."
            )

        # The same points and initial centres on both sides?
        ours_fp = {(x.get("data_fingerprint"), x.get("init_fingerprint"))
                   for (kind, _), row in g["rows"].items() if kind == "ours" for x in row["lines"]}
        peer_fp = {(e.get("data_fingerprint"), e.get("init_fingerprint")) for e in envs
                   if e.get("n") == n and e.get("d") == d and e.get("k") == k and e.get("data_fingerprint")}
        fps = ours_fp | peer_fp
        if len(fps) == 1 and ours_fp and peer_fp:
            dfp, ifp = next(iter(fps))
            notes.append(
                f"N={n:,} D={d} k={k}: ours and the peers timed byte-identical points and initial centres "
                f"(fingerprints {dfp} and {ifp}, the same in every line of both sides)."
            )
        elif len(fps) > 1:
            warnings.append(f"N={n} D={d} k={k}: the data differ between the lines: fingerprints {sorted(fps)}")
        elif not peer_fp and ours_fp:
            notes.append(f"N={n:,} D={d} k={k}: no peer fingerprint to compare ours' with.")
        splits = [x.get("nsplit") for (kind, who), row in g["rows"].items() if who.startswith("faiss")
                  for x in row["lines"][-1:]]
        if splits and splits[0]:
            notes.append(
                f"N={n:,} D={d} k={k}: faiss split a cluster {splits[0]} times (its rule for an empty "
                "cluster), so its centres, and its inertia, part from scikit-learn's there."
            )

    max_iters = sorted({m for (_, _, _, m) in groups if m is not None})
    notes.insert(
        0,
        "Every side starts from the same k initial centres (rows of the data drawn by kmeans_peers.py) "
        f"and runs Lloyd's iterations, at most {', '.join(map(str, max_iters)) or 'M'}: ours "
        "`KMeans::new(k).init(KMeansInit::Given(c)).max_iter(M).tol(0.0).fit` and scikit-learn "
        "`KMeans(init=c, n_init=1, max_iter=M, tol=0, algorithm=\"lloyd\").fit` stop sooner only when no "
        "label changes (strict convergence), and both move an emptied cluster to the farthest point; "
        "faiss `Kmeans(niter=M)` (no subsampling) `.train(X, init_centroids=c)` + `index.search(X, 1)` "
        "stops once its objective is unchanged, and splits a large cluster for an empty one; the PyTorch "
        "loop (`cdist` + `argmin`, `index_add_` + `bincount`; an empty cluster keeps its centre) always runs M. "
        "Each then assigns once more against the final centres.",
    )
    notes.insert(
        1,
        "Seconds per fit: median of every timed fit of every round pooled (each round is a fresh process "
        "with its own warm-up fits first), wall clock from host arrays to host centres and labels. Ms per "
        "iteration: each fit's time ÷ its iterations, pooled the same way; the ratio column is "
        "scikit-learn's ms per iteration ÷ this row's (> 1: this row is faster), which is its time per fit "
        "÷ this row's wherever both ran the same iterations; in brackets its range round by round (ours and "
        "the peers ran back to back in each round, the order swapped every round); \"best ÷ best\" sets the "
        "fastest single fits side by side. Neither is given for a software adapter.",
    )
    notes.insert(
        2,
        "Inertia: the sum of squared distances of every point to its label's centre, recomputed in float64 "
        "from each side's final centres and labels, untimed; \"vs scikit-learn's\" is (this − scikit-learn's) "
        f"÷ scikit-learn's. The same iterations from the same start agree to about {KMEANS_TOL:g} relative: "
        "scikit-learn computes float32 input in float32 with distances by GEMM, so a few labels at near-ties "
        "flip and tens of iterations carry the difference on (its own float64 fit, where given below, is "
        "the closer yardstick); a larger gap for ours, from both, is a warning below.",
    )
    firsts = [(x.get("backend"), x.get("first_s")) for x in lines
              if x.get("kind") == "ours" and x.get("first_s") is not None]
    if any(b == "gpu" for b, _ in firsts):
        gf = [f for b, f in firsts if b == "gpu"]
        notes.append(
            f"Ours GPU: every timed fit uploads the points (as the PyTorch peer does); the first fit of each "
            f"round (a warm-up, untimed) also builds the pipelines: {', '.join(fmt_s(f) for f in gf)} s."
        )
    if any(x.get("kind") == "ours" and x.get("software") for x in lines):
        notes.append(
            f"GPU rows marked *{SOFTWARE}* ran on a software Vulkan driver on the same CPU cores: "
            "they check the GPU path end to end and say nothing about GPU speed."
        )
    seen = set()
    for e in envs:
        t = (e.get("python"), e.get("numpy"))
        if t in seen:
            continue
        seen.add(t)
        tp = e.get("threadpools")
        pools = (
            "; ".join(
                f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} × {p.get('num_threads')} threads"
                for p in tp
            )
            if isinstance(tp, list)
            else str(tp)
        )
        notes.append(
            f"k-means peers' environment: Python {e.get('python')}, numpy {e.get('numpy')}"
            + (f", CPU {e['cpu_model']}" if e.get("cpu_model") else "")
            + f", {e.get('cpu_count')} CPUs; threadpools: {pools}."
        )
    versions = {}
    for (kind, who), row in ((name, row) for g in groups.values() for name, row in g["rows"].items()):
        if kind != "peer":
            continue
        r = row["lines"][-1]
        if who.startswith("faiss"):
            versions[who] = f"faiss {r.get('version')}, {r.get('omp_threads')} OpenMP threads"
        elif who.startswith("sklearn"):
            versions[who] = f"scikit-learn {r.get('version')}"
        elif who.startswith("torch"):
            versions[who] = f"torch {r.get('torch')}, CUDA {r.get('cuda')}, {r.get('device')}, batch {r.get('batch')}"
    if versions:
        notes.append("Peers: " + "; ".join(versions.values()) + ".")
    avgs = [x["loadavg_1m"] for x in lines if isinstance(x.get("loadavg_1m"), (int, float))]
    starts = [x["loadavg"] for x in loads if x.get("when") == "start"]
    ends = [x["loadavg"] for x in loads if x.get("when") == "end"]
    if avgs or starts:
        text = "Load average (1, 5, 15 min)"
        if starts:
            text += f": {starts[0]} before the k-means runs"
        if ends:
            text += f", {ends[-1]} after"
        if avgs:
            text += f"; 1-minute load after each measurement {min(avgs):.2f}–{max(avgs):.2f}"
        notes.append(text + ".")
    kn = kernel_note(lines, "fit")
    if kn:
        notes.append(kn)
    md = out + [""] + [f"- {x}" for x in notes]
    if warnings:
        md += ["", "k-means warnings:"] + [f"- {w}" for w in warnings]
        for w in warnings:
            print(f"table: warning: kmeans: {w}", file=sys.stderr)
    return "\n".join(md) + "\n"


# ---------------------------------------------------------------- DBSCAN

DBSCAN_PEER_TEXT = {"cuml-dbscan": "cuML `DBSCAN`"}
DBSCAN_REF = "sklearn-dbscan"  # scikit-learn's default call: the labels' yardstick


def dbscan_peer_text(who, r):
    if who.startswith("sklearn-dbscan"):
        jobs = who.removeprefix("sklearn-dbscan-j") if who != DBSCAN_REF else None
        return f"scikit-learn `DBSCAN` (n_jobs={r.get('n_jobs') if r and 'n_jobs' in r else jobs})"
    text = DBSCAN_PEER_TEXT.get(who, who)
    return text + (f" ({r['device']})" if r and r.get("device") else "")


def dbscan_rows(lines):
    """Per (n, d, eps, min_samples): each backend's / peer's timed fits
    pooled over the rounds, with the per-round medians; absent ones with
    their reason."""
    groups = defaultdict(lambda: {"rows": {}, "absent": {}})
    for r in lines:
        kind = r.get("kind")
        if kind not in ("ours", "peer", "skip", "error") or not all(k in r for k in ("n", "d", "eps")):
            continue
        g = groups[(r["n"], r["d"], float(r["eps"]), r.get("min_samples"))]
        name = ("peer", r["peer"]) if kind == "peer" else ("ours", r.get("backend", "?"))
        if kind in ("skip", "error") or (kind == "peer" and r.get("status") != "ok"):
            why = r.get("reason") or r.get("error") or r.get("status")
            g["absent"].setdefault(name, (r.get("status") or ("not run" if kind == "skip" else "error"), why, r))
            continue
        row = g["rows"].setdefault(name, {"lines": [], "times": [], "rounds": []})
        row["lines"].append(r)
        row["times"].extend(r.get("times_s") or [r["median_s"]])
        row["rounds"].append((r.get("round"), r["median_s"]))
    for g in groups.values():
        for name in g["rows"]:
            g["absent"].pop(name, None)
    return groups


def dbscan_order(item):
    (kind, who), _ = item
    if kind == "ours":
        return (0, {"cpu": 0, "gpu": 1}.get(who, 2), who)
    return (1, 0 if who.startswith("sklearn") else 1, who != DBSCAN_REF, who)


def label_checks(verdicts):
    """One cell from the label checks of every round: "identical" where all
    agree, else each verdict with its count of rounds."""
    if not verdicts:
        return "not checked"
    counts = defaultdict(int)
    for v in verdicts:
        counts[v] += 1
    if len(counts) == 1:
        v = next(iter(counts))
        return (f"**{v}**" if v == "identical" else f"*{v}*") + f" ({len(verdicts)} checks)"
    return "; ".join(f"*{v}* ×{c}" for v, c in counts.items())


def side_ratio(ref, row, software):
    """The ref row's median ÷ this row's, its range round by round, and the
    best ÷ best: two cells."""
    if ref is None or software:
        return "—", "—"
    x = statistics.median(ref["times"]) / statistics.median(row["times"])
    ref_rounds = dict(ref["rounds"])
    by_round = [ref_rounds[rd] / m for rd, m in row["rounds"] if rd in ref_rounds]
    text = f"{x:.3g}×"
    if len(by_round) > 1 and ref is not row:
        text += f" ({min(by_round):.3g}–{max(by_round):.3g})"
    return text, f"{min(ref['times']) / min(row['times']):.3g}×"


def dbscan_peer_notes(envs, lines, loads, versions):
    """The peers' environment, their versions and the load average."""
    notes = []
    for t, e in {(e.get("python"), e.get("numpy")): e for e in envs}.items():
        tp = e.get("threadpools")
        pools = "; ".join(
            f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} × {p.get('num_threads')} threads"
            for p in tp
        ) if isinstance(tp, list) else str(tp)
        notes.append(
            f"DBSCAN peers' environment: Python {t[0]}, numpy {t[1]}"
            + (f", CPU {e['cpu_model']}" if e.get("cpu_model") else "")
            + f", {e.get('cpu_count')} CPUs; threadpools: {pools}."
        )
    if versions:
        notes.append("Peers: " + "; ".join(sorted(versions)) + ".")
    avgs = [x["loadavg_1m"] for x in lines if isinstance(x.get("loadavg_1m"), (int, float))]
    when = {w: [x["loadavg"] for x in loads if x.get("when") == w] for w in ("start", "end")}
    if avgs or when["start"]:
        text = "Load average (1, 5, 15 min)"
        text += f": {when['start'][0]} before the DBSCAN runs" if when["start"] else ""
        text += f", {when['end'][-1]} after" if when["end"] else ""
        if avgs:
            text += f"; 1-minute load after each measurement {min(avgs):.2f}–{max(avgs):.2f}"
        notes.append(text + ".")
    return notes


def build_dbscan(lines):
    groups = dbscan_rows(lines)
    envs = [r for r in lines if r.get("kind") == "env"]
    refs = sorted({who for g in groups.values() for (kind, who) in g["rows"] if who.startswith("sklearn-dbscan")},
                  key=lambda w: (w != DBSCAN_REF, w))
    ref_text = {
        who: next(dbscan_peer_text(who, row["lines"][-1]) for g in groups.values()
                  for (_, w), row in g["rows"].items() if w == who).removeprefix("scikit-learn `DBSCAN` ")
        for who in refs
    }
    cols = ["N", "D", "eps", "min_samples", "backend / peer", "timed fits (rounds)", "seconds per fit (median)",
            "best", "per-round medians (s)", "clusters", "noise", "core points", "labels vs scikit-learn's"]
    cols += [c for w in refs for c in (f"scikit-learn {ref_text[w]} time ÷ this", "best ÷ best")]
    out = ["### DBSCAN", "", "| " + " | ".join(cols) + " |"]
    out.append("|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---|" + "---:|---:|" * len(refs))
    warnings = []
    notes = []
    versions = set()
    for key in sorted(groups, key=lambda t: tuple(-1 if v is None else v for v in t)):
        n, d, eps, ms = key
        g = groups[key]
        ref_lines = g["rows"].get(("peer", DBSCAN_REF), {}).get("lines", [])
        items = list(g["rows"].items()) + [(name, None) for name in g["absent"]]
        names = {name for name, _ in items}
        items += [(name, None) for name in (("ours", "gpu"), ("peer", "cuml-dbscan")) if name not in names]
        items.sort(key=dbscan_order)
        lead = f"| {n:,} | {d} | {eps:g} | {ms} "
        for name, row in items:
            kind, who = name
            if row is None:
                status, why, r = g["absent"].get(name, ("not in this run", None, None))
                label = knn_name(kind, who, r) if kind == "ours" else dbscan_peer_text(who, r)
                text = f"*{status}*" + (f": {why}" if why else "")
                out.append(lead + f"| {label} | — | {text} |" + " — |" * (len(cols) - 7))
                continue
            last = row["lines"][-1]
            label = knn_name(kind, who, last) if kind == "ours" else dbscan_peer_text(who, last)
            rounds = sorted(row["rounds"], key=lambda t: (t[0] is None, t[0] or 0))
            found = {(x.get("clusters"), x.get("noise"), x.get("core_points")) for x in row["lines"]}
            if len(found) > 1:
                warnings.append(f"N={n} eps={eps:g}: {label}: the result changed between rounds: {sorted(found)}")
            if kind == "ours":
                verdicts = [x["labels_vs_ours"][who]["verdict"] for x in ref_lines
                            if who in (x.get("labels_vs_ours") or {})]
            elif who == DBSCAN_REF:
                verdicts = None
            else:
                verdicts = [x["labels_vs_sklearn"]["verdict"] for x in row["lines"] if x.get("labels_vs_sklearn")]
            if verdicts and any(v != "identical" for v in verdicts):
                warnings.append(f"N={n} eps={eps:g}: {label}: labels vs scikit-learn's: {label_checks(verdicts)}")
            software = kind == "ours" and last.get("software")
            ratios = [c for w in refs for c in side_ratio(g["rows"].get(("peer", w)), row, software)]
            if kind == "peer":
                versions.add(f"scikit-learn {last.get('version')}" if who.startswith("sklearn")
                             else f"{who} {last.get('version')}")
            out.append(lead + "| " + " | ".join([
                label,
                f"{len(row['times'])} ({len(rounds)})",
                fmt_s(statistics.median(row["times"])),
                fmt_s(min(row["times"])),
                " / ".join(fmt_s(m) for _, m in rounds),
                *(f"{last[c]:,}" if last.get(c) is not None else "—" for c in ("clusters", "noise", "core_points")),
                "— (the reference)" if verdicts is None else label_checks(verdicts),
                *ratios,
            ]) + " |")

        # The same points on both sides?
        ours_fp = {x.get("data_fingerprint") for (kind, _), row in g["rows"].items() if kind == "ours"
                   for x in row["lines"]}
        peer_fp = {e.get("data_fingerprint") for e in envs
                   if e.get("n") == n and e.get("d") == d and e.get("data_fingerprint")}
        fps = ours_fp | peer_fp
        if len(fps) == 1 and ours_fp and peer_fp:
            notes.append(f"N={n:,} D={d} eps={eps:g}: ours and the peers fitted byte-identical points "
                         f"(fingerprint {next(iter(fps))}, the same in every line of both sides).")
        elif len(fps) > 1:
            warnings.append(f"N={n} D={d}: the data differ between the lines: fingerprints {sorted(fps)}")
        elif ours_fp and not peer_fp:
            notes.append(f"N={n:,} D={d} eps={eps:g}: no peer fingerprint to compare ours' with.")

    notes.insert(
        0,
        "Every side fits the same float32 points (dbscan_peers.py's: knn_peers.py's seeded blobs, or uniform "
        "points, scaled so every N has the density of N = 100,000) with the same eps and min_samples: ours "
        "`Dbscan::new(eps, min_samples).fit(ctx, &x)` (the neighbour index built in each fit: a grid at low "
        "D, on the CPU twin or on the device where the points fit one GPU binding), scikit-learn "
        "`DBSCAN(eps, min_samples, algorithm=\"auto\", n_jobs=J).fit(X)` (a k-d tree at low D; n_jobs "
        "spreads its neighbourhood queries over the cores, "
        "the cluster expansion is single-threaded), cuML `DBSCAN(eps, min_samples).fit(X)` where it imports.",
    )
    notes.insert(
        1,
        "Seconds per fit: median of every timed fit of every round pooled (each round is a fresh process "
        "with its own warm-up fits first), wall clock from host points to host labels. \"scikit-learn … ÷ "
        "this\" > 1: this row is faster than that scikit-learn call on the same points in the same run; in "
        "brackets its range round by round (ours and the peers ran back to back in each round, the order "
        "swapped every round); \"best ÷ best\" sets the fastest single fits side by side, the least disturbed "
        "by other work on the machine. Neither is given for a software adapter.",
    )
    notes.insert(
        2,
        "Labels: ours writes its labels once (round 1, each backend) and dbscan_peers.py compares the labels "
        "of scikit-learn's default call with them in every round; the other peers' labels are compared with "
        "that same call's. \"identical\": every point has the same label, cluster numbers included (ours "
        "numbers clusters as scikit-learn does); \"same partition, renumbered\": the same clusters and noise "
        "under other numbers; otherwise the number of points that differ.",
    )
    firsts = [x.get("first_s") for x in lines if x.get("kind") == "ours" and x.get("backend") == "gpu"
              and x.get("first_s") is not None]
    if firsts:
        notes.append(
            "Ours GPU: every timed fit uploads the points and builds the index; the first fit of each round "
            f"(a warm-up, untimed) also builds the pipelines: {', '.join(fmt_s(f) for f in firsts)} s."
        )
    if any(x.get("kind") == "ours" and x.get("software") for x in lines):
        notes.append(
            f"GPU rows marked *{SOFTWARE}* ran on a software Vulkan driver on the same CPU cores: "
            "they check the GPU path end to end (its labels included) and say nothing about GPU speed."
        )
    loads = [r for r in lines if r.get("kind") == "load"]
    notes += dbscan_peer_notes(envs, lines, loads, versions)
    kn = kernel_note(lines, "fit")
    if kn:
        notes.append(kn)
    md = out + [""] + [f"- {x}" for x in notes]
    if warnings:
        md += ["", "DBSCAN warnings:"] + [f"- {w}" for w in warnings]
        for w in warnings:
            print(f"table: warning: dbscan: {w}", file=sys.stderr)
    return "\n".join(md) + "\n"


def plot(lines, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except Exception as e:  # noqa: BLE001
        print(f"table: no plot ({path}): matplotlib not importable: {e}", file=sys.stderr)
        return False
    rows = [
        r
        for r in lines
        if not (is_knn(r) or is_kmeans(r) or is_dbscan(r))
        and (r.get("kind") == "ours" or (r.get("kind") == "peer" and r.get("status") == "ok"))
    ]
    if not rows:
        return False

    def series(r):
        if r["kind"] == "ours":
            return "ours " + r["backend"].upper() + (" (software)" if r.get("software") else "")
        return r["peer"]

    ns_by_d = defaultdict(set)
    ds_by_n = defaultdict(set)
    for r in rows:
        ns_by_d[r["d"]].add(r["n"])
        ds_by_n[r["n"]].add(r["d"])
    d_main = max(ns_by_d, key=lambda d: (len(ns_by_d[d]), -d))
    n_sweep = max(ds_by_n, key=lambda n: (len(ds_by_n[n]), -n))
    names = sorted({series(r) for r in rows}, key=lambda s: (not s.startswith("ours"), s))
    cmap = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    colour = {s: cmap(i % cmap.N) for i, s in enumerate(names)}
    workloads = sorted({(r["mode"], r["kernel"]) for r in rows}, key=lambda t: (MODE_ORDER.get(t[0], 9), t[1]))
    fig, axes = plt.subplots(len(workloads), 2, figsize=(12, 3.6 * len(workloads)), squeeze=False)
    for i, (mode, kernel) in enumerate(workloads):
        for j, (fixed, var, other) in enumerate((("d", "n", d_main), ("n", "d", n_sweep))):
            ax = axes[i][j]
            sel = [r for r in rows if r["mode"] == mode and r["kernel"] == kernel and r[fixed] == other]
            by = defaultdict(list)
            for r in sel:
                by[series(r)].append((r[var], r["median_ms"]))
            for label, pts in sorted(by.items()):
                pts.sort()
                style = "-o" if label.startswith("ours") else "--s"
                ax.plot(
                    [p[0] for p in pts], [p[1] for p in pts], style, label=label, markersize=4, color=colour[label]
                )
            ax.set_xscale("log")
            ticks = sorted({r[var] for r in sel})
            if ticks:
                ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
                ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.set_yscale("log")
            ax.set_xlabel("N (points)" if var == "n" else "D (dimension)")
            ax.set_ylabel("time (ms)")
            ax.set_title(
                f"{MODE_TEXT.get(mode, mode)}, {kernel}: " + (f"D = {other}" if var == "n" else f"N = {other:,}"),
                fontsize=10,
            )
            ax.grid(True, which="both", alpha=0.3)
            if by:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", help="JSON-lines files")
    ap.add_argument("--out", help="write the markdown here too")
    ap.add_argument("--plot", help="scaling plot PNG (needs matplotlib)")
    ap.add_argument("--command", help="the command line to print above the table")
    args = ap.parse_args()
    lines = load(args.inputs)
    md, warnings = build(lines, args.command)
    sys.stdout.write(md)
    if args.out:
        with open(args.out, "w") as f:
            f.write(md)
        print(f"\ntable: wrote {args.out}", file=sys.stderr)
    for w in warnings:
        print(f"table: warning: cluster counts differ: {w}", file=sys.stderr)
    if args.plot and plot(lines, args.plot):
        print(f"table: wrote {args.plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
