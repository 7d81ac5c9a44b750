#!/usr/bin/env python3
"""The book's model as Keras trains and saves it, through our reader and writer (ctest -L keras_full).

Usage: keras_tutorial_test.py TRAIN_GPU DUMP_ACTS DATA

scripts/reference/make_keras_files.py --tutorial DATA TMP trains the tutorial model one epoch in
Keras 3 and saves tutorial.keras, tutorial_k3_legacy.h5 and (tf-keras) tutorial_k2.h5 with Keras'
output of every layer for three test photos (TMP/x.npy, TMP/out/<layer>.npy). Then:
  1. dump_acts --all on each of the three files gives every layer Keras gave, under the Keras 3
     model's layer names;
  2. train_gpu --export of tutorial.keras to .h5 and .keras: Keras 3 and tf-keras
     (TF_USE_LEGACY_KERAS=1, a process of its own) load both and predict Keras' last layer.
Rule: max |ours - Keras| <= 1e-5 * max(1, max |Keras|). Needs TensorFlow, tf-keras, h5py, numpy
and Pillow in ACTS_KERAS_PYTHON (default python3) and the photos in DATA; skipped (77) otherwise.
Takes minutes (the epoch)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_check as kc  # noqa: E402

MAKE = os.path.join(kc.ROOT, "scripts", "reference", "make_keras_files.py")
FILES = ["tutorial.keras", "tutorial_k3_legacy.h5", "tutorial_k2.h5"]


def tf_keras_predict(x_path, out_dir, models):
    """In the tf-keras process: each model's prediction for x / 255 as OUT_DIR/<file>.npy, or the
    error as OUT_DIR/<file>.error."""
    import numpy as np
    import tf_keras
    x = np.load(x_path).astype("float32") / 255.0
    for path in models:
        name = os.path.basename(path)
        try:
            pred = tf_keras.models.load_model(path).predict(x, verbose=0)
            np.save(os.path.join(out_dir, name + ".npy"), np.asarray(pred, dtype=np.float32))
        except Exception as e:  # the parent reports it as a failure
            open(os.path.join(out_dir, name + ".error"), "w").write(f"{type(e).__name__}: {e}".splitlines()[0])


def keras3_layers(path):
    """The layer names of a Keras 3 .keras file, in model order (its config.json)."""
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    return [l["config"]["name"] for l in config["config"]["layers"] if l["class_name"] != "InputLayer"]


def check_dumps(t, dump_acts, tmp, names, np):
    """dump_acts --all on the three files: every layer of Keras' output, by its Keras 3 name."""
    for f in FILES:
        out = os.path.join(tmp, "dump_" + f.replace(".", "_"))
        r = kc.run([dump_acts, "--model", os.path.join(tmp, f), "--image", os.path.join(tmp, "x.npy"), "--all",
                    "--out", out, "--device", "cpu"], cwd=tmp)
        if not t.check(r.returncode == 0, f"dump_acts --model {f}: exit {r.returncode}: {kc.last_line(r.stderr)}"):
            continue
        dumped = sorted(n[:-4] for n in os.listdir(out) if n.endswith(".npy"))
        if not t.check(dumped == sorted(names), f"{f}: dump_acts wrote layers {dumped}, Keras 3's are {names}"):
            continue
        for layer in names:
            t.compare(f, layer, np.load(os.path.join(out, layer + ".npy")),
                      np.load(os.path.join(tmp, "out", layer + ".npy")))


def check_exports(t, train_gpu, tmp, last, np):
    """train_gpu --export of tutorial.keras to .h5 and .keras; Keras 3 and tf-keras predict from both."""
    import keras
    exports = []
    for ext in (".h5", ".keras"):
        path = os.path.join(tmp, "exported" + ext)
        r = kc.run([train_gpu, "--model", os.path.join(tmp, "tutorial.keras"), "--export", path], cwd=tmp)
        if t.check(r.returncode == 0 and os.path.isfile(path),
                   f"train_gpu --export {os.path.basename(path)}: exit {r.returncode}: {kc.last_line(r.stderr)}"):
            exports.append(path)
    x = np.load(os.path.join(tmp, "x.npy")).astype("float32") / 255.0
    golden = np.load(os.path.join(tmp, "out", last + ".npy"))
    for path in exports:
        name = os.path.basename(path)
        try:
            pred = keras.models.load_model(path).predict(x, verbose=0)
        except Exception as e:  # Keras refusing our file is the failure this test is for
            t.fail(f"Keras 3 cannot load {name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            continue
        t.compare(name + " (Keras 3)", last, pred, golden)
    preds = os.path.join(tmp, "tf_keras_predictions")
    os.makedirs(preds, exist_ok=True)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    r = kc.run([sys.executable, os.path.abspath(__file__), "--tf-keras-predict", os.path.join(tmp, "x.npy"), preds,
                *exports], env=env)
    t.check(r.returncode == 0, f"the tf-keras process: exit {r.returncode}: {kc.last_line(r.stderr)}")
    for path in exports:
        name = os.path.basename(path)
        got = os.path.join(preds, name + ".npy")
        if os.path.isfile(got):
            t.compare(name + " (tf-keras)", last, np.load(got), golden)
        elif os.path.isfile(got[:-4] + ".error"):
            t.fail(f"tf-keras cannot load {name}: {open(got[:-4] + '.error').read()}")


def main():
    if sys.argv[1:2] == ["--tf-keras-predict"]:
        tf_keras_predict(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    if len(sys.argv) != 4:
        sys.exit("usage: keras_tutorial_test.py TRAIN_GPU DUMP_ACTS DATA")
    train_gpu, dump_acts, data = sys.argv[1:4]
    if not (os.path.isdir(os.path.join(data, "train")) and os.path.isdir(os.path.join(data, "test"))):
        kc.skip(f"no photos at {data} (train/, test/); configure with -DACTS_SHARED_DATA=<the dogs-vs-cats split>")
    kc.in_keras_python()
    os.environ["KERAS_BACKEND"] = "tensorflow"  # make_keras_files.py feeds Keras a tf.data pipeline
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    kc.need(["numpy", "h5py", "PIL", "tensorflow", "tf_keras", "keras"],
            "pip install tensorflow-cpu tf-keras h5py pillow (scripts/reference/make_keras_files.py's list)")
    import numpy as np
    start = time.monotonic()
    t = kc.Table()
    with tempfile.TemporaryDirectory(prefix="keras_tutorial_") as tmp:
        print(f"$ {sys.executable} {MAKE} --tutorial {data} {tmp}")
        sys.stdout.flush()
        if subprocess.run([sys.executable, MAKE, "--tutorial", data, tmp]).returncode != 0:
            t.fail("make_keras_files.py --tutorial failed (its output is above)")
            sys.exit(t.finish())
        trained = time.monotonic()
        names = keras3_layers(os.path.join(tmp, "tutorial.keras"))
        check_dumps(t, dump_acts, tmp, names, np)
        check_exports(t, train_gpu, tmp, names[-1], np)
        print(f"wall time: {time.monotonic() - start:.0f} s ({trained - start:.0f} s making Keras' files)")
    sys.exit(t.finish())


if __name__ == "__main__":
    main()
