#!/usr/bin/env python3
"""Writes DIR/SUMMARY.md for a bench/device-run, from its work directory DIR:
whether the run stopped after the preflight (and why), whether the adapter
is a software one, the machine, the preflight's report, the GPU adapter the
timings come from, the build, each stage's status, a few headline figures,
the launch shapes the tuner chose, the GPU tests' results and the combined
table (DIR/table.md).

    python3 bench/device_summary.py DIR

Only the standard library is needed.
"""

import json
import statistics
import sys
from pathlib import Path

# One gaussian blurring iteration at N = 1e5, D = 2 on an H100 SXM
# (../DESIGN.md, "Performance"): the floor with the FP32 and exp2 pipes
# overlapped, without overlap, and the acceptance bar (3x the 4 ms floor).
FLOOR_MS = {"overlapped": 2.4, "no overlap": 4.5, "aim (2x)": 4.8, "acceptance": 12.0}


def read(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def lines_of(out):
    rows = []
    for f in sorted(Path(out, "stages").glob("*/*.jsonl")):
        for raw in read(f).splitlines():
            if raw.startswith("{"):
                try:
                    rows.append(json.loads(raw))
                except json.JSONDecodeError:
                    pass
    return rows


def fmt_ms(ms):
    return f"{ms:,.0f} ms" if ms >= 100 else (f"{ms:.1f} ms" if ms >= 10 else f"{ms:.3g} ms")


def best(rows, **want):
    """The measurement of this workload with the most repetitions."""
    sel = [r for r in rows if all(r.get(k) == v for k, v in want.items())]
    return max(sel, key=lambda r: r.get("reps", 0), default=None)


def describe(r):
    if r is None:
        return None
    times = r.get("times_ms") or [r["median_ms"]]
    spread = ""
    if len(times) >= 4:
        q = statistics.quantiles(times, n=4)
        spread = f", quartiles {fmt_ms(q[0])}–{fmt_ms(q[2])}"
    rate = ""
    if r.get("pair_evals"):
        rate = f", {r['pair_evals'] / (r['median_ms'] / 1e3) / 1e9:.3g} G pair-evals/s"
    kernels = ""
    if r.get("gpu_ms") is not None:
        # Device-measured kernel time per rep (timestamp queries).
        kernels = f", GPU kernels {fmt_ms(r['gpu_ms'])} per fit"
        if r.get("median_ms"):
            kernels += f" ({r['gpu_ms'] / r['median_ms']:.0%} of the median)"
    sw = " — SOFTWARE adapter, not a GPU timing" if r.get("software") else ""
    return f"{fmt_ms(r['median_ms'])} median (min {fmt_ms(r['min_ms'])}, {r.get('reps')} reps{spread}){kernels}{rate}{sw}"


def headline(rows):
    ours = [r for r in rows if r.get("kind") == "ours"]
    peers = [r for r in rows if r.get("kind") == "peer" and r.get("status") == "ok"]
    out = []

    def block(title, n, d, mode, kernel="gaussian"):
        w = dict(n=n, d=d, mode=mode, kernel=kernel)
        gpu = best(ours, backend="gpu", **w)
        cpu = best(ours, backend="cpu", **w)
        ps = {}
        for r in peers:
            if all(r.get(k) == v for k, v in w.items()):
                if r["peer"] not in ps or r.get("reps", 0) >= ps[r["peer"]].get("reps", 0):
                    ps[r["peer"]] = r
        if not (gpu or cpu or ps):
            return None
        out.append(f"**{title}**")
        out.append("")
        if gpu:
            out.append(f"- ours GPU ({gpu['adapter']}): {describe(gpu)}")
        if cpu:
            out.append(f"- ours CPU twin ({cpu['adapter']}): {describe(cpu)}")
        for name, r in sorted(ps.items(), key=lambda t: t[1]["median_ms"]):
            vs = ""
            if gpu and not gpu.get("software"):
                vs = f"; ours GPU is {r['median_ms'] / gpu['median_ms']:.3g}× faster"
            out.append(f"- {name}{' (' + r['device'] + ')' if r.get('device') else ''}: {describe(r)}{vs}")
        out.append("")
        return gpu

    block("Reference workload: N = 1500, D = 2, gaussian blurring fit, 5 iterations, end to end", 1500, 2, "blurring")
    big = max((r["n"] for r in ours if r["mode"] == "blur1" and r["d"] == 2 and r["n"] >= 50000), default=None)
    if big is not None:
        ref = 100000 if any(r["n"] == 100000 for r in ours) else big
        gpu = block(f"One gaussian blurring iteration, N = {ref:,}, D = 2", ref, 2, "blur1")
        if gpu and ref == 100000 and not gpu.get("software"):
            floors = ", ".join(f"{k} {v} ms" for k, v in FLOOR_MS.items())
            out.append(
                f"Against the H100 SXM floors in DESIGN.md ({floors}): ours is "
                f"{gpu['median_ms'] / FLOOR_MS['overlapped']:.2g}× the overlapped floor "
                f"({'within' if gpu['median_ms'] <= FLOOR_MS['acceptance'] else 'OUTSIDE'} the 12 ms acceptance bar). "
                "Times include upload and copy back; nvidia-smi (env/) says SXM or PCIe."
            )
            out.append("")
    top = max((r["n"] for r in ours if r["backend"] == "gpu" and r["mode"] == "blur1" and r["d"] == 2), default=None)
    if top is not None and top != big:
        block(f"One gaussian blurring iteration, N = {top:,}, D = 2 (largest N)", top, 2, "blur1")
    out += knn_headline(rows)
    out += kmeans_headline(rows)
    return out


def kernels_s(r, med_s):
    """", GPU kernels X" for a line with a device-measured kernel time
    (`gpu_ms`, per timed run), else nothing."""
    if r.get("gpu_ms") is None:
        return ""
    share = f" ({r['gpu_ms'] / 1e3 / med_s:.0%} of the median)" if med_s else ""
    return f", GPU kernels {fmt_ms(r['gpu_ms'])} per run{share}"


def knn_headline(rows):
    """Stage k: exact kNN, every round's timed runs pooled per side."""
    knn = [r for r in rows if r.get("workload") == "knn" and r.get("kind") in ("ours", "peer")]
    knn = [r for r in knn if r.get("kind") == "ours" or r.get("status") == "ok"]
    if not knn:
        return []
    n, q, d, k = max((r["n"], r["q"], r["d"], r["k"]) for r in knn)
    sides = {}
    for r in knn:
        if (r["n"], r["q"], r["d"], r["k"]) != (n, q, d, k):
            continue
        name = f"ours {r['backend'].upper()}" if r["kind"] == "ours" else r["peer"]
        side = sides.setdefault(name, {"times": [], "line": r, "recall": []})
        side["times"] += r.get("times_s") or [r["median_s"]]
        side["recall"].append(r.get("recall_at_k"))
        side["line"] = r
    med = {name: statistics.median(s["times"]) for name, s in sides.items()}
    out = [f"**Exact kNN: N = {n:,} data points, Q = {q:,} queries, D = {d}, k = {k} (index build + search, end to end)**", ""]
    order = sorted(sides, key=lambda x: (not x.startswith("ours"), med[x]))
    gpu = sides.get("ours GPU")
    gpu_hw = gpu is not None and not gpu["line"].get("software")
    for name in order:
        s, r = sides[name], sides[name]["line"]
        where = r.get("adapter") or r.get("device") or ""
        sw = " — SOFTWARE adapter, not a GPU timing" if r.get("software") else ""
        recall = min((x for x in s["recall"] if x is not None), default=None)
        vs = ""
        if gpu_hw and name != "ours GPU":
            vs = f"; ours GPU is {med[name] / med['ours GPU']:.3g}× faster"
        out.append(
            f"- {name}{' (' + where + ')' if where else ''}: {med[name]:.4g} s median of {len(s['times'])} runs "
            f"(best {min(s['times']):.4g} s), {q / med[name]:,.0f} queries/s, "
            f"{n * q / med[name] / 1e9:.3g} G pair-evals/s"
            + (f", recall@{k} {recall:.4g}" if recall is not None else "")
            + kernels_s(r, med[name])
            + f"{vs}{sw}"
        )
    out.append("")
    return out


def kmeans_headline(rows):
    """Stage m: k-means, every round's timed fits pooled per side; the
    ratios are per iteration (the same as per fit wherever both sides ran
    the same iterations)."""
    km = [r for r in rows if r.get("workload") == "kmeans" and r.get("kind") in ("ours", "peer")]
    km = [r for r in km if r.get("kind") == "ours" or r.get("status") == "ok"]
    if not km:
        return []
    n, d, k = max((r["n"], r["d"], r["k"]) for r in km)
    sides = {}
    for r in km:
        if (r["n"], r["d"], r["k"]) != (n, d, k):
            continue
        name = f"ours {r['backend'].upper()}" if r["kind"] == "ours" else r["peer"]
        side = sides.setdefault(name, {"times": [], "per_iter": [], "line": r})
        times = r.get("times_s") or [r["median_s"]]
        it = max(1, r.get("n_iter") or 1)
        side["times"] += times
        side["per_iter"] += [t / it for t in times]
        side["line"] = r
    med = {name: statistics.median(s["times"]) for name, s in sides.items()}
    per_it = {name: statistics.median(s["per_iter"]) for name, s in sides.items()}
    max_iter = next(iter(sides.values()))["line"].get("max_iter")
    out = [f"**k-means: N = {n:,}, D = {d}, k = {k}, at most {max_iter} Lloyd iterations from given centres "
           "(host arrays to host centres and labels)**", ""]
    ref = sides.get("sklearn-lloyd")
    ref_inertia = ref["line"].get("inertia") if ref else None
    gpu = sides.get("ours GPU")
    gpu_hw = gpu is not None and not gpu["line"].get("software")
    for name in sorted(sides, key=lambda x: (not x.startswith("ours"), per_it[x])):
        s, r = sides[name], sides[name]["line"]
        where = r.get("adapter") or r.get("device") or ""
        sw = " — SOFTWARE adapter, not a GPU timing" if r.get("software") else ""
        vs = ""
        if gpu_hw and name != "ours GPU":
            vs = f"; ours GPU is {per_it[name] / per_it['ours GPU']:.3g}× faster per iteration"
        inertia = r.get("inertia")
        itext = ""
        if inertia is not None:
            itext = f", inertia {inertia:.8g}"
            if ref_inertia and name != "sklearn-lloyd":
                itext += f" ({(inertia - ref_inertia) / ref_inertia:+.1e} vs scikit-learn's)"
        out.append(
            f"- {name}{' (' + where + ')' if where else ''}: {med[name]:.4g} s per fit, median of "
            f"{len(s['times'])} (best {min(s['times']):.4g} s), {r.get('n_iter')} iterations, "
            f"{per_it[name] * 1e3:.3g} ms per iteration{kernels_s(r, med[name])}{itext}{vs}{sw}"
        )
    if ref and "ours CPU" in sides:
        out.append(f"- scikit-learn's time per iteration ÷ ours CPU twin's: "
                   f"{per_it['sklearn-lloyd'] / per_it['ours CPU']:.3g}× (target: at least 2×)")
    if ref and gpu_hw:
        out.append(f"- scikit-learn's time per iteration ÷ ours GPU's: "
                   f"{per_it['sklearn-lloyd'] / per_it['ours GPU']:.3g}× (target: at least 10×)")
    out.append("")
    return out


def shapes(rows):
    """The launch shapes the GPU stages ran in, once each."""
    seen = {}
    for r in rows:
        if r.get("kind") == "shape" and r.get("backend") == "gpu":
            seen.setdefault(r.get("shape"), r)
    if not seen:
        return []
    out = ["## Launch shapes", "", "Chosen by the tuner on this adapter (timed, or read from the run's tuning cache; "
           "built in on software adapters):", ""]
    out += [f"- {text}" for text in sorted(seen)]
    return out + [""]


def tests(out):
    """The GPU tests' result lines (stage f), and any failure named."""
    files = sorted(Path(out, "stages", "f-tests").glob("*.txt"))
    if not files:
        return []
    md = ["## GPU tests on this adapter", "", "```"]
    for f in files:
        lines = read(f).splitlines()
        results = [line for line in lines if line.startswith("test result")]
        failed = [line for line in lines if line.startswith("test ") and line.endswith("FAILED")]
        md.append(f"{f.stem}: " + ("; ".join(results) if results else (lines[-1] if lines else "no output")))
        md += [f"  {line}" for line in failed]
    return md + ["```", ""]


def main():
    out = Path(sys.argv[1])
    rows = lines_of(out)
    system = read(out / "env" / "system.txt").splitlines()
    phase = next((line.split(":", 1)[1].split(";")[0].strip() for line in system if line.startswith("phase:")), "")
    md = [f"# GPU benchmark run (bench/device-run{', ' + phase if phase else ''})", ""]
    stopped = read(out / "env" / "STOPPED").strip()
    if stopped:
        md += [f"**STOPPED AFTER THE PREFLIGHT: {stopped}.** Nothing was measured.", ""]
    adapter = read(out / "env" / "adapter.json").strip()
    if '"software":true' in adapter:
        name = json.loads(adapter.splitlines()[0]).get("adapter", "?") if adapter.startswith("{") else "?"
        md += [f"**NOT A GPU: the adapter is a software one ({name}); its timings are not GPU figures.**", ""]

    md += ["## Machine", "", "```"]
    smi = read(out / "env" / "nvidia-smi.txt").splitlines()
    csv = [line for line in smi if line.startswith("name,") or line.count(",") >= 5]
    md += csv or ["nvidia-smi: " + (smi[0] if smi else "not run")]
    md += [line for line in system if line]
    md += read(out / "env" / "glibc.txt").splitlines()[:1]
    md += ["```", ""]
    preflight = read(out / "preflight.txt").strip()
    if preflight:
        md += ["## Preflight", "", "```", preflight, "```", ""]

    adapters = [r for r in rows if r.get("kind") == "adapter"]
    md += ["## Adapter and build", "", "```"]
    md += [adapter or "(no adapter line)"]
    seen = {adapter}
    for a in adapters:
        s = json.dumps(a)
        if a.get("backend") == "cpu" and s not in seen:
            seen.add(s)
            md.append(s)
    md += read(out / "env" / "BUILDINFO").splitlines()
    md += ["```", "", "Python packages:", "", "```"]
    md += read(out / "env" / "python.txt").splitlines()
    md += ["```", ""]

    status = read(out / "stages" / "status.tsv").splitlines()[1:]
    if status:
        md += ["## Stages", "", "| stage | status | seconds | timeout (s) |", "|---|---|---:|---:|"]
        md += ["| " + " | ".join(line.split("\t")) + " |" for line in status]
        md.append("")
        md += ["## Headline", ""] + (headline(rows) or ["(nothing measured yet)", ""])
    md += shapes(rows)
    md += tests(out)
    for stage, what in (
        ("h-host", "Stage h, examples/host_time.rs on this machine's CPU: the host's share of stage a."),
        ("g-grid", "Stage g, examples/grid_scaling.rs on this adapter."),
    ):
        quoted = read(out / "stages" / stage / "table.md").strip()
        if quoted:
            md += [f"({what})", "", quoted, ""]
    table = read(out / "table.md")
    if table:
        md += ["## All measurements", "", "Scaling plot: scaling.png (where matplotlib is installed).", "", table]
    (out / "SUMMARY.md").write_text("\n".join(md))
    print(f"device_summary: wrote {out / 'SUMMARY.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
