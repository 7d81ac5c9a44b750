#!/usr/bin/env python3
"""Runs apps/bench_data (our loader) and scripts/bench/bench_data_keras.py (Keras' loader) on the
same photo folder, one after the other, and prints one table: images/s of each and ours over
Keras'. Then the per-run view: the tutorial's fit decodes through Keras every epoch, while we
decode once into memory, so over --epochs epochs (30 in the tutorial) Keras spends its listing
plus epochs x one epoch, and we one load_directory. Standard library only (the Keras script
installs its own packages).

Usage: bench_data_compare.py [--data DIR] [--bench-data build/apps/bench_data] [--repeats 3]
                             [--epochs 30] [--image-size 150] [--json OUT] [--no-install]
DIR defaults to ../shared/data/dogs-vs-cats/train when present, else data/sample/train.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import bench_common as bc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))  # scripts/bench/ -> the repository


def default_data():
    shared = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "dogs-vs-cats", "train"))
    return shared if os.path.isdir(shared) else os.path.join(ROOT, "data", "sample", "train")


def find_bench_data(given):
    if given or os.environ.get("ACTS_BENCH_DATA"):
        return given or os.environ["ACTS_BENCH_DATA"]
    found = sorted(glob.glob(os.path.join(ROOT, "build*", "apps", "bench_data")), key=os.path.getmtime, reverse=True)
    if not found:
        sys.exit("bench_data_compare: no build*/apps/bench_data; build it (cmake --build build --target bench_data, "
                 "needs OpenCV) or pass --bench-data")
    return found[0]


def run(name, cmd, json_path):
    print("bench_data_compare: " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, stdout=sys.stderr)  # their tables go to stderr; stdout gets the comparison
    if r.returncode != 0:
        sys.exit("bench_data_compare: %s exited with %d" % (name, r.returncode))
    with open(json_path) as f:
        return json.load(f)


def compare(ours, keras, epochs):
    """The report text and its JSON rows."""
    k = keras["rows"][0]
    lines = ["data loading: %s, %d images, %dx%d; %s" % (ours["data"], k["images"], ours["image_size"],
                                                       ours["image_size"], ours["machine"]),
             "images/s: medians of %d; ours/keras > 1: ours is faster" % ours["repeats"],
             "%-34s %7s %8s %10s %11s %11s" % ("loader", "threads", "images", "seconds", "images/s", "ours/keras")]
    rows = []
    for o in ours["rows"]:
        ratio = o["images_per_s"] / k["images_per_s"]
        lines.append("%-34s %7d %8d %10.3f %11.1f %11.2f" % ("acts load_directory", o["threads"], o["images"],
                                                            o["seconds"], o["images_per_s"], ratio))
        rows.append({"impl": "acts", "threads": o["threads"], "images_per_s": o["images_per_s"], "ratio": ratio})
    lines.append("%-34s %7d %8d %10.3f %11.1f %11s" % ("keras flow_from_directory, 1 epoch", 1, k["images"],
                                                      k["seconds"], k["images_per_s"], "1.00"))
    keras_total = k["listing_s"] + epochs * k["seconds"]
    lines += ["", "loading time of a %d-epoch fit: keras re-decodes every epoch, ours decodes once" % epochs,
              "%-34s %7s %10s %14s" % ("loader", "threads", "seconds", "keras/ours"),
              "%-34s %7d %10.3f %14s" % ("keras: listing + %d x 1 epoch" % epochs, 1, keras_total, "1.00")]
    totals = []
    for o in ours["rows"]:
        lines.append("%-34s %7d %10.3f %14.1f" % ("acts: 1 x load_directory", o["threads"], o["seconds"],
                                                   keras_total / o["seconds"]))
        totals.append({"threads": o["threads"], "acts_s": o["seconds"], "keras_s": keras_total,
                       "ratio_keras_over_acts": keras_total / o["seconds"]})
    return "\n".join(lines) + "\n", {"images_per_s": rows, "epochs": epochs, "fit_loading": totals}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=default_data(), help="split folder with one sub-folder per class")
    ap.add_argument("--bench-data", help="the bench_data executable (default: newest build*/apps/bench_data)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30, help="epochs of the fit in the per-run view (tutorial: 30)")
    ap.add_argument("--image-size", type=int, default=150)
    ap.add_argument("--json", help="also write both reports and the ratios as JSON to this file")
    ap.add_argument("--no-install", action="store_true", help="the Keras side never pip-installs")
    a = ap.parse_args()
    common = ["--data", a.data, "--repeats", str(a.repeats), "--image-size", str(a.image_size)]
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        oj, kj = os.path.join(tmp, "acts.json"), os.path.join(tmp, "keras.json")
        ours = run("bench_data", [find_bench_data(a.bench_data)] + common + ["--json", oj], oj)
        keras = run("bench_data_keras.py", [sys.executable, os.path.join(HERE, "bench_data_keras.py")] + common + ["--json", kj] +
                    (["--no-install"] if a.no_install else []), kj)
    text, ratios = compare(ours, keras, a.epochs)
    sys.stdout.write(text)
    if a.json:
        bc.write_json({"acts": ours, "keras": keras, "ratios": ratios, "date": bc.utc_now()}, a.json)


if __name__ == "__main__":
    main()
