#!/usr/bin/env python3
"""The Keras tutorial CNN in Keras itself (Keras 3 on TensorFlow), timed in the cases apps/bench
times for this toolkit (same rows, batch sizes, schedule, warm-ups and repeats:
bench_common.plan), printing the same table and JSON, so scripts/bench/bench_compare.py --peers keras
can divide row by row. PyTorch is the peer on the GPU machine (it has no TensorFlow); Keras is
the tutorial's own stack, the one a user of this toolkit would otherwise run, here on the CPU.

Setup, as a Keras user runs the tutorial: the Sequential model (Rescaling(1/255) in front, so the
uint8 batches are rescaled inside the step as our backend does), binary cross-entropy on the
sigmoid, RMSprop(learning_rate=1e-4), accuracy; `model.compile()`'s defaults (jit_compile='auto':
the table's backend line says what it resolved to; --jit on|off forces it). A training step is
`train_on_batch`, a validation step `test_on_batch` (the compiled functions `fit()` and
`evaluate()` run, without the tf.data input pipeline), dump_acts' work `predict_on_batch` of a
model returning the 11 layer outputs as numpy arrays. Timing: time.perf_counter around calls
that return host values (every step ends synchronised).

Usage: bench_keras.py [--device auto|cpu] [--json FILE] [--quick] [--full] [--rows train_b20,...]
                      [--repeats N] [--jit auto|on|off] [--no-install] [--precision fp32|bf16] [--scaling]
Installs tensorflow-cpu with pip when TensorFlow is missing (unless --no-install).
"""
import argparse
import os
import subprocess
import sys
import time

import bench_common as bc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not our table


def import_keras(allow_install):
    """(tensorflow, keras), or (None, None) and why; pip-installs tensorflow-cpu only when missing."""
    def load():
        import tensorflow as tf
        import keras
        return tf, keras
    try:
        return load() + ("",)
    except ImportError as e:
        why = "tensorflow/keras not importable (%s)" % e
    if not allow_install:
        return None, None, why
    print("bench_keras: pip install tensorflow-cpu", file=sys.stderr, flush=True)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "20",
                        "tensorflow-cpu"], capture_output=True, text=True)
    try:
        return load() + ("",)
    except ImportError:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, None, why + "; pip install tensorflow-cpu failed: " + tail[0][:200]


def make_model(keras, jit, size=150, precision="fp32"):
    """The tutorial's model (Chollet 5.2) with the host-side rescale moved into the model, at
    size x size; bf16: under Keras' mixed_bfloat16 policy (bf16 layers, float32 variables)."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    L = keras.layers
    layers = [keras.Input((size, size, 3)), L.Rescaling(1.0 / 255)]
    for filters in (32, 64, 128, 128):
        layers += [L.Conv2D(filters, 3, activation="relu"), L.MaxPooling2D(2)]
    layers += [L.Flatten(), L.Dense(512, activation="relu"), L.Dense(1, activation="sigmoid")]
    keras.utils.set_random_seed(1)
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), loss="binary_crossentropy",
                  metrics=["accuracy"], jit_compile={"auto": "auto", "on": True, "off": False}[jit])
    # The 11 outputs dump_acts writes: every layer after the rescale.
    dump = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    return model, dump


class Pool:
    """Random uint8 images (count, size, size, 3) and 0/1 labels in host memory."""

    def __init__(self, np, count, seed, size=150):
        rng = np.random.default_rng(seed)
        self.x = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
        self.y = rng.integers(0, 2, (count, 1)).astype(np.float32)
        self.count = count

    def batch(self, first, n):
        at = 0 if first % self.count + n > self.count else first % self.count
        return self.x[at:at + n], self.y[at:at + n]


def step_fn(model, kind):
    return model.train_on_batch if kind == "train" else model.test_on_batch


def time_steps(r, np, model, kind, batch, p, size=150):
    pool, step, nxt = Pool(np, 4 * batch, 7, size), step_fn(model, kind), [0]

    def one():
        step(*pool.batch(nxt[0], batch))
        nxt[0] += batch
    for _ in range(p["warmup"]):
        one()
    ms = []
    for _ in range(p["repeats"]):
        t = time.perf_counter()
        for _ in range(p["per_repeat"]):
            one()
        ms.append((time.perf_counter() - t) * 1e3 / p["per_repeat"])
    bc.finish_row(r, ms, p["repeats"] * p["per_repeat"])


def time_dump(r, np, dump, images, batch, p):
    batch = min(images, batch)
    pool = Pool(np, max(images, batch), 11)

    def run():
        for i in range(0, images, batch):
            acts = dump.predict_on_batch(pool.batch(i, min(batch, images - i))[0])
            assert len(acts) == 11
    for _ in range(p["warmup"]):  # whole runs: the last, partial batch has its own shape
        run()
    ms = []
    for _ in range(p["repeats"]):
        t = time.perf_counter()
        run()
        ms.append((time.perf_counter() - t) * 1e3)
    bc.finish_row(r, ms, p["repeats"])


def time_schedule(r, np, model, sc):
    b = sc["batch"]
    train, val = Pool(np, sc["train_steps"] * b, 13), Pool(np, sc["val_steps"] * b, 17)
    for i in range(3):
        model.train_on_batch(*train.batch(i * b, b))
    model.test_on_batch(*val.batch(0, b))
    t = time.perf_counter()
    for _ in range(sc["epochs"]):
        model.reset_metrics()
        for i in range(sc["train_steps"]):
            model.train_on_batch(*train.batch(i * b, b))
        model.reset_metrics()
        for i in range(sc["val_steps"]):
            model.test_on_batch(*val.batch(i * b, b))
    bc.finish_row(r, [(time.perf_counter() - t) * 1e3], 1)


def describe(tf, keras, model, gpu):
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1 (default)")
    where = "GPU" if gpu else "CPU (%d cores, oneDNN opts %s)" % (os.cpu_count(), onednn)
    return "keras %s, tensorflow %s %s, jit_compile=%s, dtype policy %s" % (
        keras.__version__, tf.__version__, where, getattr(model, "jit_compile", "?"),
        keras.mixed_precision.global_policy().name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bc.add_common_args(ap, "TensorFlow")
    ap.add_argument("--jit", default="auto", choices=["auto", "on", "off"], help="compile(jit_compile=...)")
    ap.add_argument("--tf32", action="store_true", help="accepted for bench_compare; TensorFlow decides TF32 itself")
    ap.add_argument("--variants", default="", help="accepted for bench_compare; Keras has one mode here")
    a = ap.parse_args()

    tf, keras, why = import_keras(not a.no_install)
    gpu = tf is not None and a.device != "cpu" and bool(tf.config.list_physical_devices("GPU"))
    if tf is not None and not gpu:
        tf.config.set_visible_devices([], "GPU")
        if a.device == "cuda":
            why = "no usable GPU: TensorFlow lists none"
    on_gpu = a.device == "cuda" or gpu
    s = bc.plan(on_gpu, a.quick, a.full, a.repeats)
    model = dump = None
    if not why:
        import numpy as np
        model, dump = make_model(keras, a.jit, precision=a.precision)
    rows_wanted = set(a.rows.split(",")) if a.rows else set(bc.ROW_IDS)
    rep = {"tool": "keras bench", "device": "cuda" if on_gpu else "cpu (%s)" % bc.cpu_model(),
           "backend": describe(tf, keras, model, gpu) if model is not None else "keras (not run)",
           "clock": "time.perf_counter around calls returning host values", "version": sys.version.split()[0],
           "date": bc.utc_now(), "settings": dict(s, jit=a.jit, quick=a.quick, full=a.full, precision=a.precision),
           "flop_per_image": {"forward": bc.FORWARD_FLOP, "train": bc.TRAIN_FLOP}, "rows": []}

    def time_row(r):
        if r["id"] in ("train_b20", "train_b256", "eval_b20"):
            time_steps(r, np, model, "eval" if r["id"] == "eval_b20" else "train", r["batch"], s[r["id"]])
        elif r["id"] == "schedule":
            time_schedule(r, np, model, s["schedule"])
        else:
            time_dump(r, np, dump, r["images"], s["dump_batch"], s[r["id"]])
    if a.scaling:
        bc.run_scaling(rep, s, "keras", a.rows, why, model, lambda size: make_model(keras, a.jit, size, a.precision)[0],
                       lambda r, m, sp: time_steps(r, np, m, "train", r["batch"], sp, r["size"]), "bench_keras",
                       on_gpu, a.quick, a.repeats)
    else:
        bc.run_rows(rep, s, "keras", rows_wanted, why, time_row, "bench_keras")
    sys.stdout.write(bc.table(rep))
    if a.json:
        bc.write_json(rep, a.json)


if __name__ == "__main__":
    main()
