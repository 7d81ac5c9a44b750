#!/usr/bin/env python3
"""Checks scripts/data/make_split.py and scripts/data/photos_to_npy.py as users run them.
make_split: a fake Kaggle train.zip (and the competition zip holding it) -> the tutorial split,
and its errors. photos_to_npy: tests/fixtures/photos -> x.npy/y.npy equal to the Keras golden of
tests/fixtures/data_golden (skipped, exit 77, when numpy or Pillow is missing)."""
import json
import os
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []
checks = [0]


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True)


def check(cond, what):
    checks[0] += 1
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def fake_train_zip(path, skip=None):
    with zipfile.ZipFile(path, "w") as z:
        for prefix in ("cat", "dog"):
            for i in range(2100):
                if f"{prefix}.{i}.jpg" != skip:
                    z.writestr(f"train/{prefix}.{i}.jpg", f"{prefix}{i}")


def test_make_split(t):
    split = os.path.join(ROOT, "scripts", "data", "make_split.py")
    zp = os.path.join(t, "train.zip")
    fake_train_zip(zp)
    r = run(split, zp, os.path.join(t, "out"))
    check(r.returncode == 0, "make_split on train.zip: " + r.stderr.strip())
    counts = {f"{s}/{c}": len(os.listdir(os.path.join(t, "out", s, c)))
              for s in ("train", "validation", "test") for c in ("cats", "dogs")}
    check(counts == {"train/cats": 1000, "train/dogs": 1000, "validation/cats": 500, "validation/dogs": 500,
                     "test/cats": 500, "test/dogs": 500}, f"split sizes {counts}")
    check(open(os.path.join(t, "out", "validation", "dogs", "dog.1000.jpg")).read() == "dog1000", "file content")
    check(not os.path.exists(os.path.join(t, "out", "train", "cats", "cat.1000.jpg")), "cat.1000 is not in train")
    r = run(split, zp, os.path.join(t, "out"))
    check(r.returncode != 0 and "already exists" in r.stderr, "refuses to overwrite: " + r.stderr.strip())
    outer = os.path.join(t, "dogs-vs-cats.zip")
    with zipfile.ZipFile(outer, "w") as z:
        z.write(zp, "train.zip")
        z.writestr("test1.zip", b"")
    r = run(split, outer, os.path.join(t, "out2"))
    check(r.returncode == 0 and os.path.exists(os.path.join(t, "out2", "test", "cats", "cat.1999.jpg")),
          "make_split on the competition zip: " + r.stderr.strip())
    fake_train_zip(zp, skip="dog.1234.jpg")
    r = run(split, zp, os.path.join(t, "out3"))
    check(r.returncode != 0 and "dog.1234.jpg" in r.stderr and not os.path.exists(os.path.join(t, "out3"))
          and not os.path.exists(os.path.join(t, "out3.partial")), "missing photo: " + r.stderr.strip())
    open(os.path.join(t, "bad.zip"), "w").write("not a zip")
    r = run(split, os.path.join(t, "bad.zip"), os.path.join(t, "out4"))
    check(r.returncode != 0 and "not a zip" in r.stderr, "bad zip: " + r.stderr.strip())


def test_photos_to_npy(t):
    try:
        import numpy as np
        import PIL  # noqa: F401
    except ImportError:
        print("skipped: numpy/Pillow not installed (pip install numpy pillow)")
        sys.exit(77)  # ctest's SKIP_RETURN_CODE
    r = run(os.path.join(ROOT, "scripts", "data", "photos_to_npy.py"), os.path.join(ROOT, "tests", "fixtures", "photos"),
            os.path.join(t, "npy"), "--size", "150")
    check(r.returncode == 0, "photos_to_npy: " + r.stderr.strip())
    golden = os.path.join(ROOT, "tests", "fixtures", "data_golden")
    g = json.load(open(os.path.join(golden, "photos.json")))
    x, y = np.load(os.path.join(t, "npy", "x.npy")), np.load(os.path.join(t, "npy", "y.npy"))
    check(np.array_equal(x, np.load(os.path.join(golden, "photos_150.npy"))), "x.npy equals Keras' pixels")
    check(y.tolist() == g["labels"], "y.npy equals Keras' labels")
    check(open(os.path.join(t, "npy", "classes.txt")).read().split() == sorted(g["class_indices"]), "classes.txt")


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else ""
    if part not in ("make_split", "photos_to_npy"):
        sys.exit("usage: scripts_data_test.py make_split|photos_to_npy")
    with tempfile.TemporaryDirectory() as t:
        (test_make_split if part == "make_split" else test_photos_to_npy)(t)
    print(f"{checks[0] - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)
