#!/usr/bin/env python3
"""Checks that scripts/bench/bench_common.py's plan() mirrors apps/bench/bench_plan.cpp, so PyTorch and this
toolkit time the same work: runs `bench --rows none` (no row runs; the JSON still carries the
plan) for the GPU and CPU plans with and without --quick/--full/--repeats, and compares every
number; the same for `bench --explain` and explain_plan(), `bench --scaling` and scaling_plan(). Usage: check_bench_plan.py path/to/bench"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

KEYS = ["train_b20", "train_b256", "eval_b20", "dump_1", "dump_1000", "schedule", "dump_images", "dump_batch"]


def plan_of(bench, d, mode, device, flags):
    """The JSON report of `bench [mode] --device D --rows none FLAGS` (no row runs; the plan is in
    its settings), or None after printing why bench failed."""
    path = os.path.join(d, "plan.json")
    r = subprocess.run([bench] + mode + ["--device", device, "--rows", "none", "--json", path] + flags,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("bench %s %s %s failed: %s" % (" ".join(mode), device, flags, r.stderr.strip()))
        return None
    with open(path) as f:
        return json.load(f)


def main():
    bench = sys.argv[1]
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for device in ["cuda", "cpu"]:
            for flags in [[], ["--quick"], ["--full"], ["--repeats", "7"], ["--quick", "--repeats", "2"]]:
                got = plan_of(bench, d, [], device, flags)
                if got is None:
                    bad += 1
                    continue
                repeats = int(flags[flags.index("--repeats") + 1]) if "--repeats" in flags else 0
                want = bc.plan(device == "cuda", "--quick" in flags, "--full" in flags, repeats)
                for k in KEYS:
                    if got["settings"][k] != want[k]:
                        print("%s %s: %s is %s in bench, %s in bench_common" % (device, flags, k, got["settings"][k], want[k]))
                        bad += 1
                if got["rows"]:
                    print("%s %s: --rows none ran rows" % (device, flags))
                    bad += 1
                if abs(got["flop_per_image"]["forward"] - bc.FORWARD_FLOP) > 1:
                    print("forward FLOP differ")
                    bad += 1
        # bench --explain's plan against bench_common.explain_plan()
        for device in ["cuda", "cpu"]:
            for flags in [[], ["--quick"], ["--repeats", "7"], ["--filter-steps", "5"], ["--quick", "--repeats", "2"]]:
                got = plan_of(bench, d, ["--explain"], device, flags)
                if got is None:
                    bad += 1
                    continue
                got = got["settings"]["explain"]
                arg = lambda k: int(flags[flags.index(k) + 1]) if k in flags else 0  # noqa: E731
                want = bc.explain_plan(device == "cuda", "--quick" in flags, arg("--repeats"), arg("--filter-steps"))
                for k in bc.EXPLAIN_IDS + ["filter_steps", "scorecam_batch"]:
                    if got[k] != want[k]:
                        print("explain %s %s: %s is %s in bench, %s in bench_common" % (device, flags, k, got[k], want[k]))
                        bad += 1
        # bench --scaling's plan against bench_common.scaling_plan()
        for device in ["cuda", "cpu"]:
            for flags in [[], ["--quick"], ["--repeats", "7"]]:
                got = plan_of(bench, d, ["--scaling"], device, flags)
                if got is None:
                    bad += 1
                    continue
                got = got["settings"]["scaling"]
                repeats = int(flags[flags.index("--repeats") + 1]) if "--repeats" in flags else 0
                want = bc.scaling_plan(device == "cuda", "--quick" in flags, repeats)
                if got != want:
                    print("scaling %s %s: bench has %s, bench_common %s" % (device, flags, got, want))
                    bad += 1
    print("bench plan: %s" % ("mirrors bench_common.plan(), explain_plan() and scaling_plan()" if not bad else
                              "%d differences" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
