#!/usr/bin/env python3
"""Runs apps/bench (this toolkit) and scripts/bench/bench_pytorch.py with the same plan and prints, per
row, our time over PyTorch's for each PyTorch variant (< 1: we are faster). This is what the GPU
machine's device check runs; it needs neither OpenCV nor numpy. With --rounds N the programs
run alternately N times and each row takes the median over the rounds, which keeps a busy
machine's drift from favouring either side. --peers pytorch,keras adds Keras itself
(scripts/bench/bench_keras.py, TensorFlow on the CPU), the tutorial's own stack.

Usage: bench_compare.py [--bench build/apps/bench] [--device auto|cuda|cpu] [--out DIR]
                        [--quick] [--full] [--rows ...] [--variants ...] [--rounds N] [--tf32]
                        [--nondeterministic] [--cudnn-benchmark] [--no-install] [--peers pytorch,keras]
                        [--deadline-s S] [--precision fp32|bf16] [--scaling]
                        [--torch-python PY] [--keras-python PY]
Writes DIR/acts.json, DIR/<peer>.json (last round), DIR/compare.json and DIR/compare.txt.
A side that fails or runs out of time (--deadline-s: the whole comparison ends within S seconds,
each program getting what is left) does not stop the others: the report shows what finished and
names what did not, and the exit status is then 1.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

import bench_common as bc

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_SCRIPTS = {"pytorch": "bench_pytorch.py", "keras": "bench_keras.py"}
ROOT = os.path.dirname(os.path.dirname(HERE))  # scripts/bench/ -> the repository


def find_bench(given):
    if given:
        return given
    if os.environ.get("ACTS_BENCH"):
        return os.environ["ACTS_BENCH"]
    found = sorted(glob.glob(os.path.join(ROOT, "build*", "apps", "bench")), key=os.path.getmtime, reverse=True)
    if not found:
        sys.exit("bench_compare: no build*/apps/bench; build it (cmake --build build --target bench) or pass --bench")
    return found[0]


def run(cmd, deadline):
    """Runs one side; returns None, or why it gave no result. deadline: time.monotonic() by which
    the whole comparison must end (None: no limit); 10 s of it are kept for the report."""
    print("bench_compare: " + " ".join(cmd), file=sys.stderr, flush=True)
    limit = None if deadline is None else max(5.0, deadline - time.monotonic() - 10)
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # a side cut off still leaves its progress lines
    name = os.path.basename(cmd[1] if cmd[1:2] and cmd[1].endswith(".py") else cmd[0])
    try:  # their tables go to stderr; stdout gets the merged report
        r = subprocess.run(cmd, stdout=sys.stderr, env=env, timeout=limit)
    except subprocess.TimeoutExpired:
        why = "%s did not finish in %.0f s" % (name, limit)
    else:
        if r.returncode == 0:
            return None
        why = "%s exited with %d" % (name, r.returncode)
    print("bench_compare: " + why, file=sys.stderr, flush=True)
    return why


def merge(reports):
    """One report whose rows take the median ms over the rounds (rows skipped in any round stay skipped)."""
    out = json.loads(json.dumps(reports[-1]))
    for i, row in enumerate(out["rows"]):
        runs = [rep["rows"][i] for rep in reports]
        if all(not x["skipped"] for x in runs) and len(runs) > 1:
            bc.finish_row(row, [x["ms"] for x in runs], sum(x["repeats"] for x in runs))
            row["note"] = (row["note"] + "; " if row["note"] else "") + "median of %d rounds" % len(runs)
    return out


def ratios(ours, theirs):
    lines = ["%-13s %-34s %12s %-16s %12s %10s" % ("row", "case", "acts ms", "peer", "peer ms", "acts/pt")]
    table = []
    for o in ours["rows"]:
        for t in [t for t in theirs["rows"] if t["id"] == o["id"]]:
            if o["skipped"] or t["skipped"]:
                why = o["note"] if o["skipped"] else t["note"]
                lines.append("%-13s %-34s %12s %-16s %12s %10s  skipped: %s" % (o["id"], o["what"], "-", t["impl"], "-",
                                                                               "-", why))
                table.append({"id": o["id"], "peer": t["impl"], "ratio": None, "why": why})
                continue
            # time per image, so a plan difference between the two sides cannot skew the ratio
            ratio = (o["ms"] / o["images"]) / (t["ms"] / t["images"])
            lines.append("%-13s %-34s %12.3f %-16s %12.3f %10.2f" % (o["id"], o["what"], o["ms"], t["impl"], t["ms"],
                                                                     ratio))
            table.append({"id": o["id"], "peer": t["impl"], "acts_ms": o["ms"], "peer_ms": t["ms"], "ratio": ratio})
    return "\n".join(lines) + "\n", table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", help="the bench executable (default: newest build*/apps/bench, or $ACTS_BENCH)")
    ap.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    ap.add_argument("--out", default="bench-results", help="folder for the JSON and text results")
    ap.add_argument("--rows", default="")
    ap.add_argument("--variants", default="", help="PyTorch variants (default: eager,graphs,compile on CUDA)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="every side: bf16 = mixed precision (ours --precision bf16, Keras mixed_bfloat16, "
                         "torch.autocast bfloat16)")
    ap.add_argument("--scaling", action="store_true",
                    help="every side: a training step at batch 1..256 (150 px) and 150..600 px (batch 8) instead of the rows")
    ap.add_argument("--nondeterministic", action="store_true", help="ours: non-reproducible cuDNN algorithms allowed")
    ap.add_argument("--cudnn-benchmark", action="store_true",
                    help="ours: time cuDNN's algorithms at start (PyTorch's side always runs with cudnn.benchmark)")
    ap.add_argument("--no-install", action="store_true", help="never pip-install a missing torch or tensorflow")
    ap.add_argument("--peers", default="pytorch", help="pytorch, keras or both (comma-separated)")
    ap.add_argument("--torch-python", default=sys.executable, help="the Python that runs PyTorch's side (default: this one)")
    ap.add_argument("--keras-python", default=sys.executable, help="the Python that runs Keras' side (default: this one)")
    ap.add_argument("--deadline-s", type=float, default=0,
                    help="end the whole comparison within this many seconds, reporting what finished (0: no limit)")
    a = ap.parse_args()
    deadline = time.monotonic() + a.deadline_s if a.deadline_s > 0 else None
    peers = [p for p in a.peers.split(",") if p]
    if not peers or any(p not in PEER_SCRIPTS for p in peers):
        sys.exit("bench_compare: --peers takes pytorch and/or keras, not %r" % a.peers)
    os.makedirs(a.out, exist_ok=True)
    common = ["--device", a.device] + (["--rows", a.rows] if a.rows else []) + (["--quick"] if a.quick else []) + \
             (["--full"] if a.full else []) + (["--tf32"] if a.tf32 else []) + \
             (["--repeats", str(a.repeats)] if a.repeats else []) + ["--precision", a.precision] + \
             (["--scaling"] if a.scaling else [])
    ours_runs, peer_runs, failures = [], {p: [] for p in peers}, []
    for k in range(a.rounds):
        aj = os.path.join(a.out, "acts.json")
        why = run([find_bench(a.bench)] + common + ["--json", aj] + (["--nondeterministic"] if a.nondeterministic else []) +
                  (["--cudnn-benchmark"] if a.cudnn_benchmark else []), deadline)
        if why:
            failures.append("ours, round %d: %s" % (k + 1, why))
        else:
            with open(aj) as f:
                ours_runs.append(json.load(f))
        for p in peers:
            pj = os.path.join(a.out, p + ".json")
            python = a.torch_python if p == "pytorch" else a.keras_python
            why = run([python, os.path.join(HERE, PEER_SCRIPTS[p])] + common + ["--json", pj] +
                      (["--variants", a.variants] if a.variants and p == "pytorch" else []) +
                      (["--no-install"] if a.no_install else []), deadline)
            if why:
                failures.append("%s, round %d: %s" % (p, k + 1, why))
            else:
                with open(pj) as f:
                    peer_runs[p].append(json.load(f))
    ours = merge(ours_runs) if ours_runs else None
    theirs = {p: merge(runs) for p, runs in peer_runs.items() if runs}
    names = {"pytorch": "PyTorch's", "keras": "Keras'"}
    report = bc.table(ours) if ours else ""
    report += "".join("\n" + bc.table(theirs[p]) for p in peers if p in theirs)
    table = []
    if ours and theirs:
        merged = dict(next(iter(theirs.values())), rows=[r for p in peers if p in theirs for r in theirs[p]["rows"]])
        text, table = ratios(ours, merged)
        report += "\nacts/pt = our time per image over %s (< 1: faster)\n" % " or ".join(
            names[p] for p in peers if p in theirs) + text
    report += "".join("NOT FINISHED: %s\n" % f for f in failures)
    sys.stdout.write(report)
    with open(os.path.join(a.out, "compare.txt"), "w") as f:
        f.write(report)
    bc.write_json(dict({"acts": ours, "ratios": table, "failures": failures, "date": bc.utc_now()}, **theirs),
                  os.path.join(a.out, "compare.json"))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
