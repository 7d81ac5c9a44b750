#!/usr/bin/env python3
"""scripts/bench/bench_compare.py as the device script runs it, on the CPU (ctest bench_compare_fail_soft):
ours beside PyTorch with ratios (rows marked skipped where torch is not installed); a side that
fails (a bench exiting 1, a PyTorch that crashes) or runs out of time (--deadline-s) leaves the
other side's table and a NOT FINISHED line, writes compare.json with the failure, and exits 1.
No timing is asserted.
Usage: bench_compare_test.py path/to/bench"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "bench", "bench_compare.py")
HAS_TORCH = importlib.util.find_spec("torch") is not None
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def compare(bench, out, deadline=120, env=None):
    return subprocess.run([sys.executable, SCRIPT, "--bench", bench, "--device", "cpu", "--quick", "--rows", "dump_1",
                           "--no-install", "--out", out, "--deadline-s", str(deadline)],
                          capture_output=True, text=True, env=env)


def main():
    bench = sys.argv[1]
    print("torch %s: the PyTorch side %s" % ("installed" if HAS_TORCH else "missing",
                                             "runs" if HAS_TORCH else "reports its rows as skipped"))
    with tempfile.TemporaryDirectory() as tmp:
        # Both sides as they are here.
        r = compare(bench, os.path.join(tmp, "real"))
        check(re.search(r"^dump_1 +acts ", r.stdout, re.M), "our table is printed")
        if HAS_TORCH:
            check(r.returncode == 0, "exit 0 when both sides finish (got %d)" % r.returncode)
            check("pytorch eager" in r.stdout and "acts/pt" in r.stdout, "the ratio table is printed")
        else:  # bench_pytorch.py then reports its rows as skipped, saying why
            check(r.returncode == 0, "exit 0 when PyTorch is missing (got %d)" % r.returncode)
            check("skipped: torch is not importable" in r.stdout, "the ratio rows say torch is missing")

        # The PyTorch side crashes (a stand-in torch that fails on import): ours still reports.
        shim = os.path.join(tmp, "shim", "torch")
        os.makedirs(shim)
        with open(os.path.join(shim, "__init__.py"), "w") as f:
            f.write("raise RuntimeError('a torch that crashes, from bench_compare_test.py')\n")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(shim) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        r = compare(bench, os.path.join(tmp, "peer_fail"), env=env)
        check(r.returncode == 1, "exit 1 when PyTorch fails (got %d)" % r.returncode)
        check(re.search(r"^dump_1 +acts ", r.stdout, re.M), "our table is printed without a peer")
        check("NOT FINISHED: pytorch, round 1: bench_pytorch.py exited with" in r.stdout, "the peer's failure is named")

        # Our side fails: PyTorch's table (where torch exists) and the failure are still reported.
        out = os.path.join(tmp, "ours_fail")
        r = compare("/bin/false", out)
        check(r.returncode == 1, "exit 1 when our bench fails (got %d)" % r.returncode)
        check("NOT FINISHED: ours, round 1: false exited with 1" in r.stdout, "our failure is named")
        if HAS_TORCH:
            check(re.search(r"^dump_1 +pytorch eager ", r.stdout, re.M), "PyTorch's table is still printed")
        with open(os.path.join(out, "compare.json")) as f:
            report = json.load(f)
        check(report["acts"] is None and any("ours" in x for x in report["failures"]),
              "compare.json records the failure")

        # Our side hangs: the deadline ends it and the comparison still reports, in time.
        hang = os.path.join(tmp, "hang.sh")
        with open(hang, "w") as f:
            f.write("#!/bin/sh\nexec sleep 300\n")  # exec: the timeout's kill reaches the sleep itself
        os.chmod(hang, 0o755)
        t = time.monotonic()
        r = compare(hang, os.path.join(tmp, "hang"), deadline=20)
        took = time.monotonic() - t
        check(r.returncode == 1, "exit 1 when our bench runs out of time (got %d)" % r.returncode)
        check(re.search(r"NOT FINISHED: ours, round 1: hang.sh did not finish in \d+ s", r.stdout) is not None,
              "the timeout is named")
        # The claim is that the deadline ended the hang (300 s), not how fast a loaded machine is.
        check(took < 250, "the comparison ended after %.0f s: the deadline (20 s) did not end the 300 s hang" % took)
    if failures:
        print("stdout of the last run:\n" + r.stdout + "\nstderr:\n" + r.stderr[-3000:])
        sys.exit("%d check(s) failed" % len(failures))


if __name__ == "__main__":
    main()
