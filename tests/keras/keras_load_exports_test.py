#!/usr/bin/env python3
"""Keras 3 loads what `train_gpu --export` writes, and gets Keras' own outputs from it.

Usage: keras_load_exports_test.py TRAIN_GPU DUMP_ACTS

The committed fixtures (tests/fixtures/keras: k3.keras from Keras 3, k2.h5 from tf-keras, k2_0_8.h5
in Keras 2.0.8's layout) are exported to .keras, .h5 and .weights.h5; keras.models.load_model
(load_weights into k3.json's model for .weights.h5) predicts on x.npy / 255 and must give the
golden last layer, and dump_acts on each export must give every golden layer. Last, a model
trained here (a short train_gpu run) loads from its run's model.keras and predicts what we do. Light enough for
CI: Keras 3 on JAX (KERAS_BACKEND=jax), h5py and numpy, no TensorFlow; the interpreter is
ACTS_KERAS_PYTHON (default python3), skipped (77) without those packages."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_check as kc  # noqa: E402

# Each fixture, its stem in the exports' names and the folder of Keras' outputs for it.
SOURCES = [("k3.keras", "k3", "k3_out"), ("k2.h5", "k2", "k2_out"), ("k2_0_8.h5", "k2_0_8", "k2_out")]
EXPORTS = [".keras", ".h5", ".weights.h5"]


def golden_layers(golden_dir):
    """The golden layers in model order: the names of the JSON the outputs came from."""
    import json
    spec = json.load(open(os.path.join(kc.FIXTURES, golden_dir[:2] + ".json")))
    return [l["config"]["name"] for l in spec["config"]["layers"] if l["class_name"] != "InputLayer"]


def keras_model(keras, path):
    """The export as Keras 3 loads it: load_model, or load_weights into k3.json's architecture."""
    if path.endswith(".weights.h5"):
        model = keras.models.model_from_json(open(os.path.join(kc.FIXTURES, "k3.json")).read())
        model.load_weights(path)
        return model
    return keras.models.load_model(path)


def check_export(t, tools, keras, np, src, golden_dir, path, tmp):
    train_gpu, dump_acts = tools
    name = os.path.basename(path)
    r = kc.run([train_gpu, "--model", os.path.join(kc.FIXTURES, src), "--export", path], cwd=tmp)
    if not t.check(r.returncode == 0 and os.path.isfile(path),
                   f"train_gpu --export {name}: exit {r.returncode}: {kc.last_line(r.stderr)}"):
        return
    x = np.load(os.path.join(kc.FIXTURES, "x.npy"))
    goldens = golden_layers(golden_dir)
    try:
        model = keras_model(keras, path)
        pred = model.predict(x.astype("float32") / 255.0, verbose=0)
    except Exception as e:  # Keras refusing our file is the failure this test is for
        t.fail(f"Keras 3 cannot load {name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return
    last = np.load(os.path.join(kc.FIXTURES, golden_dir, goldens[-1] + ".npy"))
    t.compare(name + " (Keras 3)", goldens[-1], pred, last)
    # dump_acts names the layers as the export does (k2_0_8's conv2d_1, ...): pair them by order.
    ours = [l.name for l in model.layers]
    if not t.check(len(ours) == len(goldens), f"{name}: layers {ours}, golden {goldens}"):
        return
    out = os.path.join(tmp, "dump_" + name.replace(".", "_"))
    cmd = [dump_acts, "--model", path, "--image", os.path.join(kc.FIXTURES, "x.npy"), "--all", "--out", out,
           "--device", "cpu"]
    if path.endswith(".weights.h5"):
        cmd[3:3] = ["--config", os.path.join(kc.FIXTURES, "k3.json")]
    r = kc.run(cmd, cwd=tmp)
    if not t.check(r.returncode == 0, f"dump_acts --model {name}: exit {r.returncode}: {kc.last_line(r.stderr)}"):
        return
    for layer, golden in zip(ours, goldens):
        got = os.path.join(out, layer + ".npy")
        if t.check(os.path.isfile(got), f"dump_acts --model {name}: wrote no {layer}.npy"):
            shown = layer if layer == golden else f"{layer} (golden {golden})"
            t.compare(name + " (dump_acts)", shown, np.load(got),
                      np.load(os.path.join(kc.FIXTURES, golden_dir, golden + ".npy")))


def check_trained_here(t, tools, keras, np, tmp):
    """A model train_gpu trained (k3.json's architecture, fresh weights, a short run on the bundled
    sample) goes back to Keras through the run's model.keras and predicts what dump_acts predicts."""
    train_gpu, dump_acts = tools
    run_dir = os.path.join(tmp, "run")
    sample = os.path.join(kc.FIXTURES, "..", "..", "..", "data", "sample")
    r = kc.run([train_gpu, "--data", sample, "--model", os.path.join(kc.FIXTURES, "k3.json"), "--epochs", "1",
                "--steps-per-epoch", "2", "--validation-steps", "1", "--batch-size", "4", "--device", "cpu",
                "--out", run_dir], cwd=tmp)
    path = os.path.join(run_dir, "model.keras")
    if not t.check(r.returncode == 0 and os.path.isfile(path),
                   f"train_gpu on the sample: exit {r.returncode}, model.keras: {os.path.isfile(path)}: "
                   f"{kc.last_line(r.stderr)}"):
        return
    x = np.load(os.path.join(kc.FIXTURES, "x.npy"))
    pred = keras.models.load_model(path).predict(x.astype("float32") / 255.0, verbose=0)
    out = os.path.join(tmp, "dump_run")
    r = kc.run([dump_acts, "--model", run_dir, "--image", os.path.join(kc.FIXTURES, "x.npy"), "--layer", "dense_1",
                "--out", out, "--device", "cpu"], cwd=tmp)
    if t.check(r.returncode == 0, f"dump_acts --model {run_dir}: exit {r.returncode}: {kc.last_line(r.stderr)}"):
        t.compare("trained here: model.keras (Keras 3)", "dense_1", pred, np.load(os.path.join(out, "dense_1.npy")))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: keras_load_exports_test.py TRAIN_GPU DUMP_ACTS")
    kc.in_keras_python()
    os.environ["KERAS_BACKEND"] = "jax"  # before Keras loads: no TensorFlow needed
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    kc.need(["numpy", "h5py", "jax", "keras"], "pip install keras jax h5py numpy (scripts/test.sh does)")
    import keras
    import numpy as np
    if int(keras.__version__.split(".")[0]) < 3:
        kc.skip(f"{sys.executable} has Keras {keras.__version__}; this test loads with Keras 3 (pip install keras)")
    print(f"Keras {keras.__version__} on {keras.backend.backend()}, {sys.executable}")
    t = kc.Table()
    with tempfile.TemporaryDirectory(prefix="keras_load_exports_") as tmp:
        for src, stem, golden_dir in SOURCES:
            for ext in EXPORTS:
                check_export(t, sys.argv[1:3], keras, np, src, golden_dir, os.path.join(tmp, stem + ext), tmp)
        check_trained_here(t, sys.argv[1:3], keras, np, tmp)
    sys.exit(t.finish())


if __name__ == "__main__":
    main()
