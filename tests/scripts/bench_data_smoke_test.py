#!/usr/bin/env python3
"""Smoke test of apps/bench_data as users run it (ctest bench_data_sample): on data/sample/train
with one repeat it prints its table and writes JSON whose rows count every sample image; a
missing folder and a missing --data fail with a message. No timing is asserted.
Usage: bench_data_smoke_test.py path/to/bench_data"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "data", "sample", "train")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    exe = sys.argv[1]
    # independent count: every file of the two class folders is a JPEG
    expected = sum(len(os.listdir(os.path.join(SAMPLE, c))) for c in sorted(os.listdir(SAMPLE)))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench_data.json")
        r = subprocess.run([exe, "--data", SAMPLE, "--repeats", "1", "--threads", "1", "--threads", "2",
                            "--json", out], capture_output=True, text=True)
        check(r.returncode == 0, "exit 0 (stderr: %s)" % r.stderr.strip()[-300:])
        check(re.search(r"^impl +threads +images +skipped +seconds +images/s$", r.stdout, re.M) is not None,
              "table header printed")
        for t in (1, 2):
            check(re.search(r"^acts +%d +%d +0 +[0-9.]+ +[0-9.]+$" % (t, expected), r.stdout, re.M) is not None,
                  "table row for %d thread(s) with %d images" % (t, expected))
        try:
            with open(out) as f:
                j = json.load(f)
        except (OSError, ValueError) as e:
            j = {"rows": []}
            check(False, "JSON readable: %s" % e)
        rows = j.get("rows", [])
        check([w.get("threads") for w in rows] == [1, 2], "JSON has the rows for 1 and 2 threads")
        for w in rows:
            check(w.get("images") == expected and w.get("skipped") == 0, "JSON row counts %d images" % expected)
            ok = w.get("seconds", 0) > 0 and abs(w["images_per_s"] * w["seconds"] - expected) < 1e-6 * expected
            check(ok, "JSON row: seconds > 0 and images/s = images / seconds")
        check(j.get("image_size") == 150 and j.get("repeats") == 1, "JSON records image size and repeats")

    r = subprocess.run([exe, "--data", os.path.join(SAMPLE, "no-such-folder")], capture_output=True, text=True)
    check(r.returncode == 1 and "no-such-folder" in r.stderr, "missing folder: exit 1 naming it")
    r = subprocess.run([exe], capture_output=True, text=True)
    check(r.returncode == 2 and "--data" in r.stderr, "no --data: exit 2 saying it is required")
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
