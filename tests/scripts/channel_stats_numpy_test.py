#!/usr/bin/env python3
"""train_gpu's channel statistics (issue 22) against NumPy on dumped activations: a short run on
the sample photos keeps its epoch-1 weights (--keep-every 1); dump_acts writes every layer's
output for the run's own probe photos (stats/index.json names them) under those weights; NumPy's
mean, std, fraction of zeros and max per channel of each dumped layer must equal the run's record
of epoch 1 (stats/<layer>.npy), and its dead channels must be those NumPy finds zero everywhere.
Exit 77 (skipped, the reason printed) without numpy.

  channel_stats_numpy_test.py TRAIN_GPU DUMP_ACTS SAMPLE_DIR WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

SKIP = 77


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("FAIL: exit %d: %s\n%s" % (r.returncode, " ".join(cmd), r.stdout))


def main():
    try:
        import numpy as np
    except ImportError:
        print("SKIPPED: numpy is not installed (python3 -m pip install numpy): the statistics were NOT checked")
        return SKIP
    train_gpu, dump_acts, sample, work = sys.argv[1:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run_dir, dump_dir = os.path.join(work, "run"), os.path.join(work, "dump")
    run([train_gpu, "--data", sample, "--out", run_dir, "--image-size", "48", "--epochs", "1", "--steps-per-epoch",
         "2", "--batch-size", "4", "--validation-steps", "1", "--keep-every", "1", "--stats-probe", "12", "--device",
         "cpu", "--seed", "3"])
    with open(os.path.join(run_dir, "stats", "index.json")) as f:
        index = json.load(f)
    assert index["probe"]["split"] == "validation", index["probe"]
    photos = [os.path.join(sample, "validation", p) for p in index["probe"]["images"]]
    assert len(photos) == 12, photos
    epoch1 = [r for r in index["records"]].index({"epoch": 1, "step": 2})
    layers = [l["name"] for l in index["layers"]]
    run([dump_acts, "--model", os.path.join(run_dir, "epochs", "epoch_001.safetensors"), "--device", "cpu",
         "--layer", ",".join(layers), "--out", dump_dir, "--image"] + photos)
    fields = index["fields"]
    bad = 0
    for entry in index["layers"]:
        name = entry["name"]
        acts = np.load(os.path.join(dump_dir, name + ".npy")).astype(np.float64)
        rows = acts.reshape(-1, acts.shape[-1])  # every photo and position of a channel: one column
        want = {"mean": rows.mean(0), "std": rows.std(0), "zero_fraction": (rows == 0).mean(0), "max": rows.max(0)}
        got = np.load(os.path.join(run_dir, "stats", name + ".npy"))[epoch1]
        for k, v in want.items():
            g = got[:, fields.index(k)].astype(np.float64)
            tol = 1e-5 * np.maximum(1.0, np.abs(v)) if k != "std" else 1e-4 * np.maximum(1e-3, v) + 1e-6
            off = np.abs(g - v) > tol
            if off.any():
                i = int(np.argmax(np.abs(g - v) - tol))
                print("FAIL: %s %s: %d of %d channels differ; channel %d: stats %r, numpy %r"
                      % (name, k, int(off.sum()), len(v), i, g[i], v[i]))
                bad += 1
        dead = int((rows == 0).all(0).sum())
        if entry["dead"][epoch1] != dead:
            print("FAIL: %s: %d dead channels recorded, numpy finds %d" % (name, entry["dead"][epoch1], dead))
            bad += 1
    print("%d layers checked against numpy, %d problems" % (len(layers), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
