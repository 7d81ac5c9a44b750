#!/usr/bin/env python3
"""Checks that numpy itself reads an NPY file the way we meant to write it: np.load() succeeds,
the dtype and shape are the expected ones, and the values are finite. For tests of the apps'
outputs (dump_acts writes activations as NPY); the C++ tests never need Python.

  python3 scripts/data/check_npy.py FILE --dtype float32 --shape 20,148,148,32 [--min 0] [--max 1] [--sum S]
  python3 scripts/data/check_npy.py FILE --dtype float32 --shape ''          (a 0-d array)

Exit status 0 when every check passes; otherwise 1 with one line per failed check on stderr
(2 when numpy is missing: install it with `pip install numpy`).
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description="np.load an NPY file and check dtype, shape, values")
    ap.add_argument("file")
    ap.add_argument("--dtype", help="numpy dtype name, e.g. float32, uint8")
    ap.add_argument("--shape", help="comma-separated dimensions; '' for a 0-d array")
    ap.add_argument("--min", type=float, help="smallest allowed value")
    ap.add_argument("--max", type=float, help="largest allowed value")
    ap.add_argument("--sum", type=float, help="expected sum of all values (relative tolerance 1e-6)")
    ap.add_argument("--allow-nonfinite", action="store_true", help="do not fail on NaN/Inf")
    args = ap.parse_args()
    try:
        import numpy as np
    except ImportError:
        print("check_npy: numpy is not installed (pip install numpy)", file=sys.stderr)
        return 2

    try:
        a = np.load(args.file, allow_pickle=False)
    except Exception as e:  # numpy raises ValueError/OSError/EOFError for damaged files
        print(f"{args.file}: np.load failed: {e}", file=sys.stderr)
        return 1
    problems = []
    if args.dtype is not None and a.dtype != np.dtype(args.dtype):
        problems.append(f"dtype {a.dtype}, expected {np.dtype(args.dtype)}")
    if args.shape is not None:
        want = tuple(int(d) for d in args.shape.split(",") if d.strip())
        if a.shape != want:
            problems.append(f"shape {a.shape}, expected {want}")
    if a.dtype.kind == "f" and not args.allow_nonfinite and not np.all(np.isfinite(a)):
        problems.append(f"{int(np.size(a) - np.count_nonzero(np.isfinite(a)))} non-finite values")
    if a.size and args.min is not None and a.min() < args.min:
        problems.append(f"minimum {a.min()} below {args.min}")
    if a.size and args.max is not None and a.max() > args.max:
        problems.append(f"maximum {a.max()} above {args.max}")
    if args.sum is not None:
        total = float(np.sum(a, dtype=np.float64))
        if abs(total - args.sum) > 1e-6 * max(1.0, abs(args.sum)):
            problems.append(f"sum {total}, expected {args.sum}")
    for p in problems:
        print(f"{args.file}: {p}", file=sys.stderr)
    if not problems:
        print(f"{args.file}: ok ({a.dtype}, shape {a.shape})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
