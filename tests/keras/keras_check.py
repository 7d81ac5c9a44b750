"""Shared by the Python tests of tests/keras: running under the interpreter that has Keras,
skipping (exit 77, one line) when it lacks a package, running our binaries, and the one
comparison rule, max |got - golden| <= 1e-5 * max(1, max |golden|), with its table.

Standard library only at import time: the driver starts under CMake's Python3_EXECUTABLE and
re-runs itself under ACTS_KERAS_PYTHON (default python3), where Keras is installed."""
import importlib
import os
import shutil
import subprocess
import sys

SKIP = 77
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "keras")
RTOL = 1e-5


def skip(reason):
    print("skip: " + reason)
    sys.stdout.flush()
    sys.exit(SKIP)


def in_keras_python():
    """Re-runs the calling script under ACTS_KERAS_PYTHON once; returns when already there."""
    if os.environ.get("ACTS_KERAS_CHILD") == "1":
        return
    want = os.environ.get("ACTS_KERAS_PYTHON", "python3")
    exe = shutil.which(want)
    if exe is None:
        skip(f"ACTS_KERAS_PYTHON={want} is not an interpreter on this machine; set it to a Python with Keras")
    sys.stdout.flush()
    script = os.path.abspath(sys.argv[0])
    os.execve(exe, [exe, script, *sys.argv[1:]], dict(os.environ, ACTS_KERAS_CHILD="1"))


def need(modules, install):
    """Imports `modules` (names), skipping with the missing ones and `install` (how to get them)."""
    missing = []
    for m in modules:
        try:
            importlib.import_module(m)
        except Exception:  # ImportError, or a broken install failing while it imports
            missing.append(m)
    if missing:
        skip(f"{sys.executable} lacks {', '.join(missing)}; {install}")


def run(cmd, cwd=None, env=None):
    """Runs a command; returns its CompletedProcess (text), printing the command."""
    print("$ " + " ".join(cmd))
    sys.stdout.flush()
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


class Table:
    """The comparisons made, each a row; failures also as lines of their own."""

    def __init__(self):
        self.rows = []
        self.failures = []

    def fail(self, what):
        print("FAIL " + what)
        sys.stdout.flush()
        self.failures.append(what)

    def check(self, cond, what):
        if not cond:
            self.fail(what)
        return cond

    def compare(self, file, layer, got, golden):
        """The rule: got and golden of one shape, max |got - golden| <= RTOL * max(1, max |golden|)."""
        import numpy as np
        got = np.asarray(got, dtype=np.float64)
        golden = np.asarray(golden, dtype=np.float64)
        if got.shape != golden.shape:
            self.rows.append((file, layer, "shape " + str(got.shape), "shape " + str(golden.shape), "FAIL"))
            self.fail(f"{file} {layer}: shape {got.shape}, golden {golden.shape}")
            return False
        err = float(np.max(np.abs(got - golden))) if got.size else 0.0
        tol = RTOL * max(1.0, float(np.max(np.abs(golden))) if golden.size else 0.0)
        ok = err <= tol  # False for NaN too
        self.rows.append((file, layer, f"{err:.3g}", f"{tol:.3g}", "ok" if ok else "FAIL"))
        if not ok:
            self.fail(f"{file} {layer}: max abs err {err:.3g} > tolerance {tol:.3g}")
        return ok

    def finish(self):
        """Prints the table and returns the exit code."""
        heads = ("file", "layer", "max abs err", "tolerance", "")
        widths = [max(len(str(r[i])) for r in [heads] + self.rows) for i in range(len(heads))]
        for r in [heads] + self.rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        print(f"{len(self.rows)} comparisons, {len(self.failures)} failures")
        for f in self.failures:
            print("FAIL " + f)
        return 1 if self.failures else 0
