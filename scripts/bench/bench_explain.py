#!/usr/bin/env python3
"""Issue 20's speed table: `bench --explain` (this toolkit) beside its peers
(scripts/bench/bench_explain_peers.py: TensorFlow/Keras GradientTape eager and tf.function, PyTorch
autograd eager), the same four jobs on the same model, weights and photos. The programs run
alternately, --rounds times (the order rotating each round, so a busy machine's drift favours no
side), and each row takes per implementation the median over the rounds, with the smallest and
largest round beside it (the spread). The ratio is our time over the fastest peer's; the targets
are ratio <= 0.5 on the CPU (2x faster) and <= 0.2 on the GPU (5x).

Usage: bench_explain.py [--bench build/apps/bench] [--device cpu|cuda|auto] [--out DIR] [--rounds N]
                        [--photos DIR] [--rows ...] [--filter-steps N] [--repeats N] [--quick]
                        [--peers tensorflow,pytorch] [--tf-python PY] [--torch-python PY]
                        [--deadline-s S]
--photos: an x.npy folder; by default data/sample/test is turned into DIR/photos with
scripts/data/photos_to_npy.py (random pixels when that cannot run). Each peer runs under its own
Python (default this one; the peer pip-installs its framework when missing). The load of the
machine (the 1-minute load average when each side starts, and the share of CPU time stolen or
busy elsewhere) is recorded beside the table, which goes to DIR/explain.txt and DIR/explain.json.
A side that fails or runs out of time leaves the others' results and makes the exit status 1.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import bench_common as bc
from bench_compare import find_bench, run

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def cpu_times():
    """(busy, steal, total) jiffies of all CPUs since boot, from /proc/stat; None where unreadable."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    steal = v[7] if len(v) > 7 else 0
    return sum(v) - idle, steal, sum(v)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return -1.0


def make_photos(out):
    """data/sample/test as an x.npy folder (Keras' order and NEAREST resize to 150x150)."""
    dst = os.path.join(out, "photos")
    if os.path.exists(os.path.join(dst, "x.npy")):
        return dst
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "data", "photos_to_npy.py"),
                        os.path.join(ROOT, "data", "sample", "test"), dst, "--size", "150"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("bench_explain: no photos (%s); timing random pixels" % (r.stderr or r.stdout).strip()[-200:],
              file=sys.stderr)
        return ""
    return dst


def merge(runs):
    """{(impl, id): row} with ms = median over the rounds, lo/hi = the extreme rounds."""
    out, order = {}, []
    for rep in runs:
        for r in rep["rows"]:
            key = (r["impl"], r["id"])
            if key not in out:
                out[key] = dict(r, rounds=[])
                order.append(key)
            if r["skipped"]:
                out[key]["skipped"], out[key]["note"] = True, r["note"]
            else:
                out[key]["rounds"].append(r["ms"])
    for key in order:
        r = out[key]
        if r["rounds"]:
            bc.finish_row(r, r["rounds"], len(r["rounds"]))
            r["lo"], r["hi"] = min(r["rounds"]), max(r["rounds"])
        else:
            r["skipped"] = True
    return out, order


def fmt(r):
    if not r or r.get("skipped") or not r.get("rounds"):
        return "-"
    if len(r["rounds"]) == 1:
        return "%.1f" % r["ms"]
    return "%.1f (%.1f-%.1f)" % (r["ms"], r["lo"], r["hi"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", help="the bench executable (default: newest build*/apps/bench, or $ACTS_BENCH)")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--out", default="bench-explain")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--photos", help="x.npy folder (default: data/sample/test converted into OUT/photos)")
    ap.add_argument("--rows", default="")
    ap.add_argument("--filter-steps", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--peers", default="", help="tensorflow,pytorch (default: both on the CPU, pytorch on CUDA)")
    ap.add_argument("--tf-python", default=sys.executable, help="the Python that runs the TensorFlow peer")
    ap.add_argument("--torch-python", default=sys.executable, help="the Python that runs the PyTorch peer")
    ap.add_argument("--deadline-s", type=float, default=0)
    ap.add_argument("--no-install", action="store_true", help="the peers never pip-install their framework")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    deadline = time.monotonic() + a.deadline_s if a.deadline_s > 0 else None
    gpu = a.device == "cuda"
    peers = [p for p in (a.peers or ("pytorch" if gpu else "tensorflow,pytorch")).split(",") if p]
    photos = a.photos if a.photos is not None else make_photos(a.out)
    common = (["--photos", photos] if photos else []) + (["--rows", a.rows] if a.rows else []) + \
        (["--filter-steps", str(a.filter_steps)] if a.filter_steps else []) + \
        (["--repeats", str(a.repeats)] if a.repeats else []) + (["--quick"] if a.quick else [])
    sides = [("acts", [find_bench(a.bench), "--explain", "--device", a.device] + common)]
    for p in peers:
        py = a.tf_python if p == "tensorflow" else a.torch_python
        sides.append((p, [py, os.path.join(HERE, "bench_explain_peers.py"), "--framework", p,
                          "--device", "cuda" if gpu else "cpu"] + common + (["--no-install"] if a.no_install else [])))
    runs, failures, loads = [], [], []
    t0 = cpu_times()
    for k in range(a.rounds):
        for name, cmd in sides[k % len(sides):] + sides[:k % len(sides)]:  # rotate the order each round
            path = os.path.join(a.out, "%s.json" % name)
            loads.append(loadavg())
            why = run(cmd + ["--json", path], deadline)
            if why:
                failures.append("%s, round %d: %s" % (name, k + 1, why))
                continue
            with open(path) as f:
                runs.append(json.load(f))
    t1 = cpu_times()
    rows, order = merge(runs)
    ours = {i: rows[(im, i)] for (im, i) in order if im == "acts"}
    impls = [im for im in dict.fromkeys(im for im, _ in order) if im != "acts"]
    target = 0.2 if gpu else 0.5
    head = "%-12s %-33s %-24s" % ("row", "case", "acts ms") + "".join(" %-24s" % (im + " ms") for im in impls) + \
        "  %-14s %8s  %s" % ("fastest peer", "ratio", "target (<= %.1f)" % target)
    lines = [head]
    table = []
    for rid, o in ours.items():
        theirs = {im: rows.get((im, rid)) for im in impls}
        done = {im: r for im, r in theirs.items() if r and not r.get("skipped")}
        best = min(done, key=lambda im: done[im]["ms"]) if done else None
        ratio = o["ms"] / done[best]["ms"] if best and not o.get("skipped") else None
        lines.append("%-12s %-33s %-24s" % (rid, o["what"], fmt(o)) + "".join(" %-24s" % fmt(theirs[im]) for im in impls) +
                     "  %-14s %8s  %s" % (best or "-", "%.3f" % ratio if ratio else "-",
                                          "-" if ratio is None else ("met" if ratio <= target else "MISSED")))
        table.append({"id": rid, "acts": o, "peers": theirs, "fastest": best, "ratio": ratio})
    lines.append("ms: median over %d rounds (smallest-largest round), each round itself the median of the "
                 "plan's repeats; ratio = acts / fastest peer" % a.rounds)
    lines.append("load: 1-minute load average %.1f-%.1f when each side started, on %d CPUs" %
                 (min(loads), max(loads), os.cpu_count()) if loads else "load: -")
    if t0 and t1 and t1[2] > t0[2]:
        lines.append("CPU time during the comparison: %.0f%% busy (all processes), %.1f%% stolen by the host" %
                     (100.0 * (t1[0] - t0[0]) / (t1[2] - t0[2]), 100.0 * (t1[1] - t0[1]) / (t1[2] - t0[2])))
    lines += ["skipped: %s %s: %s" % (im, rid, rows[(im, rid)]["note"]) for im, rid in order if rows[(im, rid)].get("skipped")]
    backends = sorted({rep["backend"] for rep in runs})
    lines += ["backend: " + b for b in backends]
    lines += ["NOT FINISHED: " + f for f in failures]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(a.out, "explain.txt"), "w") as f:
        f.write(text)
    bc.write_json({"date": bc.utc_now(), "device": a.device, "rounds": a.rounds, "loads": loads, "table": table,
                   "failures": failures, "runs": runs}, os.path.join(a.out, "explain.json"))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
