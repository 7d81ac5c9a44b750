#!/usr/bin/env python3
"""Times Keras' own data loading on a class-folder split, the way the tutorial uses it:
keras_preprocessing's ImageDataGenerator(rescale=1./255).flow_from_directory(DIR,
target_size=(150, 150), batch_size=20, class_mode='binary'), iterated for one full epoch of
batches. That is Keras' work every epoch: PIL decode, NEAREST resize, float32 rescale (one
thread, as fit() runs it with its default workers=1). The listing (flow_from_directory itself)
is timed apart: Keras does it once per run. One untimed epoch first warms the page cache.
apps/bench_data times our loader on the same folder; scripts/bench/bench_data_compare.py runs both.

Usage: bench_data_keras.py --data DIR [--image-size 150] [--batch 20] [--repeats 3]
                           [--json FILE] [--no-install]
Needs keras-preprocessing, Pillow, numpy and scipy; missing ones are pip-installed at the
versions scripts/reference/make_data_golden.py was checked with (unless --no-install).
"""
import argparse
import contextlib
import importlib
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time

import bench_common as bc

# module -> pip requirement; the versions make_data_golden.py matched our decoder against
NEEDED = {"numpy": "numpy==2.4.6", "scipy": "scipy==1.17.1", "PIL": "pillow==13.0.0",
          "keras_preprocessing": "keras-preprocessing==1.1.2"}


def ensure_packages(allow_install):
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if not missing:
        return
    reqs = [NEEDED[m] for m in missing]
    if not allow_install:
        sys.exit("bench_data_keras: missing %s; install them: %s -m pip install %s"
                 % (", ".join(missing), sys.executable, " ".join(reqs)))
    print("bench_data_keras: pip install " + " ".join(reqs), file=sys.stderr, flush=True)
    # few retries and a short timeout, so an offline machine fails fast
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "20"] + reqs,
                       capture_output=True, text=True)
    importlib.invalidate_caches()
    still = [m for m in missing if importlib.util.find_spec(m) is None]
    if r.returncode != 0 or still:
        tail = (r.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
        sys.exit("bench_data_keras: could not install %s (offline?): %s\nInstall them by hand: %s -m pip install %s"
                 % (", ".join(still or missing), tail, sys.executable, " ".join(reqs)))


def one_epoch(a):
    """(listing seconds, epoch seconds, images): a fresh generator, then len(it) batches."""
    from keras_preprocessing.image import ImageDataGenerator
    gen = ImageDataGenerator(rescale=1. / 255)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # Keras' "Found N images ..." line
        it = gen.flow_from_directory(a.data, target_size=(a.image_size, a.image_size), batch_size=a.batch,
                                     class_mode="binary")
    t1 = time.perf_counter()
    if it.n == 0:
        sys.exit("bench_data_keras: %s: Keras found no images (one sub-folder of images per class expected)" % a.data)
    for _ in range(len(it)):
        x, _y = next(it)
    t2 = time.perf_counter()
    assert x.dtype.name == "float32" and x.shape[1:] == (a.image_size, a.image_size, 3)
    return t1 - t0, t2 - t1, it.n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="split folder with one sub-folder per class")
    ap.add_argument("--image-size", type=int, default=150)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--no-install", action="store_true", help="never pip-install missing packages")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit("bench_data_keras: %s: no such folder" % a.data)
    ensure_packages(not a.no_install)
    import keras_preprocessing
    import PIL

    print("bench_data_keras: warm-up epoch of %s ..." % a.data, file=sys.stderr, flush=True)
    one_epoch(a)
    listing, epoch = [], []
    for _ in range(a.repeats):
        ls, es, n = one_epoch(a)
        listing.append(ls)
        epoch.append(es)
        print("bench_data_keras: epoch %.3f s (listing %.3f s)" % (es, ls), file=sys.stderr, flush=True)
    row = {"impl": "keras", "threads": 1, "images": n, "skipped": 0, "seconds": statistics.median(epoch),
           "images_per_s": n / statistics.median(epoch), "runs_s": epoch, "listing_s": statistics.median(listing)}
    machine = "%s, %d cores" % (bc.cpu_model(), os.cpu_count() or 1)
    date = bc.utc_now()
    print("keras bench_data: one epoch of flow_from_directory(%s), %dx%d nearest, batch %d, rescale 1/255"
          % (a.data, a.image_size, a.image_size, a.batch))
    print("machine: %s; perf_counter, median of %d epoch(s) after 1 warm-up; %s" % (machine, a.repeats, date))
    print("%-8s %-8s %8s %8s %10s %12s" % ("impl", "threads", "images", "skipped", "seconds", "images/s"))
    print("%-8s %-8d %8d %8s %10.3f %12.1f" % ("keras", 1, n, "-", row["seconds"], row["images_per_s"]))
    print("listing (flow_from_directory, once per run): %.3f s" % row["listing_s"])
    if a.json:
        bc.write_json({"tool": "keras bench_data", "date": date, "machine": machine, "data": a.data,
                       "image_size": a.image_size, "batch": a.batch, "repeats": a.repeats,
                       "what": "one epoch of ImageDataGenerator(rescale=1/255).flow_from_directory batches",
                       "version": "keras-preprocessing %s, Pillow %s, Python %s"
                       % (keras_preprocessing.__version__, PIL.__version__, platform.python_version()),
                       "rows": [row]}, a.json)


if __name__ == "__main__":
    main()
