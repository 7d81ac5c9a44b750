#!/usr/bin/env python3
"""Keras' own files and outputs, for the tests of runtime/keras (reading and writing .h5/.keras).

  --small OUT (default tests/fixtures/keras): the committed fixtures, small enough for CI
      (about 300 KB). A small model of the tutorial's layer types (24x24x3 input, Conv2D 4 and 8,
      MaxPooling2D, Flatten, Dropout, Dense 16 relu, Dense 1 sigmoid), trained 2 RMSprop steps so
      every file carries optimizer state:
        k3.keras, k3_legacy.h5, k3.weights.h5 + k3.json   Keras 3 (keras.saving), one model
        k2.h5, k2_weights.h5 + k2.json                    Keras 2 (tf-keras, TF_USE_LEGACY_KERAS)
        k2_0_8.h5    the k2 model's weights as Keras 2.0.8 (the book's) wrote files, by h5py:
                     fixed-length strings, conv2d_1-style names, a list model config, "lr"
        x.npy        3 photos of data/sample/test, resized to 24x24 (PIL, nearest), uint8
        {k3,k2}_out/<layer>.npy   Keras' output of every layer for x / 255 (float32)
        versions.json  the Keras, tf-keras, TensorFlow and h5py versions
  --tutorial DATA OUT: the book's model trained one epoch (100 steps of 20) on DATA/train as
      Keras 3 sees it (rescale 1/255), saved as .keras, Keras 3 legacy .h5 and (tf-keras) Keras 2
      .h5, with every layer's output for the first three photos of DATA/test (150x150, nearest)
      in OUT/out/<layer>.npy and the photos in OUT/x.npy. About 40 MB: not committed;
      tests/keras/keras_tutorial_test.py runs it where TensorFlow is installed.

Needs tensorflow-cpu, keras 3, tf-keras (pip install --no-deps tf-keras, the version of
tensorflow), h5py, numpy, pillow; it installs what is missing with pip.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pip_need import need  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def photos(paths, size):
    from PIL import Image
    import numpy as np
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.NEAREST)) for p in paths])


def small_layers(L):
    return [L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(8, 3, activation="relu"),
            L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5), L.Dense(16, activation="relu"),
            L.Dense(1, activation="sigmoid")]


def tutorial_layers(L):
    return [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
            L.MaxPooling2D(2), L.Conv2D(128, 3, activation="relu"), L.MaxPooling2D(2),
            L.Conv2D(128, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(512, activation="relu"),
            L.Dense(1, activation="sigmoid")]


def layer_outputs(keras, model, x, out_dir):
    """Every layer's output for x (uint8) / 255, as OUT_DIR/<layer name>.npy."""
    import numpy as np
    probe = keras.Model(inputs=model.inputs, outputs=[l.output for l in model.layers])
    outs = probe.predict(x.astype("float32") / 255.0, verbose=0)
    os.makedirs(out_dir, exist_ok=True)
    for layer, y in zip(model.layers, outs):
        np.save(os.path.join(out_dir, layer.name + ".npy"), np.asarray(y, dtype=np.float32))


def keras2_child(args):
    """Runs in a process of its own: TF_USE_LEGACY_KERAS must be set before TensorFlow loads."""
    import numpy as np
    import tf_keras as keras
    spec = json.load(open(args.keras2_child))
    x = np.load(spec["x"])
    keras.utils.set_random_seed(1)  # reproducible weights and dropout, as the Keras 3 side
    L = keras.layers
    layers = small_layers(L) if spec["kind"] == "small" else tutorial_layers(L)
    model = keras.Sequential([L.InputLayer(input_shape=x.shape[1:])] + layers)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), metrics=["acc"])
    if spec.get("weights"):  # the Keras 3 model's trained weights
        w = np.load(spec["weights"])
        model.set_weights([w[f"arr_{i}"] for i in range(len(w.files))])
    else:
        rng = np.random.default_rng(2)
        model.fit(rng.random((4,) + x.shape[1:], dtype=np.float32), np.array([0, 1, 1, 0]), batch_size=2, epochs=1,
                  verbose=0)
    model.save(spec["h5"], save_format="h5")
    if spec.get("weights_h5"):
        model.save_weights(spec["weights_h5"], save_format="h5")
        open(spec["json"], "w").write(model.to_json())
    if spec.get("out"):
        layer_outputs(keras, model, x, spec["out"])
    json.dump({"tf_keras": keras.__version__}, open(spec["done"], "w"))


def run_keras2(spec, out):
    path = os.path.join(out, "keras2_job.json")
    spec["done"] = os.path.join(out, "keras2_done.json")
    json.dump(spec, open(path, "w"))
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    subprocess.check_call([sys.executable, os.path.abspath(__file__), "--keras2-child", path], env=env)
    versions = json.load(open(spec["done"]))
    os.remove(path)
    os.remove(spec["done"])
    return versions


def keras_2_0_8_file(k2_h5, path, rng):
    """The k2 model's weights in the layout Keras 2.0.8 wrote (the book's era), by h5py."""
    import h5py
    import numpy as np
    with h5py.File(k2_h5, "r") as src:
        cfg = json.loads(src.attrs["model_config"])
        names = [n.decode() if isinstance(n, bytes) else n for n in src["model_weights"].attrs["layer_names"]]
        weights = {}
        for n in names:
            g = src["model_weights"][n]
            weights[n] = [np.array(g[w]) for w in g.attrs["weight_names"]]
    counters, layers, renamed = {}, [], {}
    prefix = {"Conv2D": "conv2d", "MaxPooling2D": "max_pooling2d", "Flatten": "flatten", "Dropout": "dropout",
              "Dense": "dense"}
    shape = None
    for l in cfg["config"]["layers"]:
        if l["class_name"] == "InputLayer":
            shape = l["config"]["batch_input_shape"]
            continue
        p = prefix[l["class_name"]]
        counters[p] = counters.get(p, 0) + 1
        new = f"{p}_{counters[p]}"
        renamed[l["config"]["name"]] = new
        c = {k: v for k, v in l["config"].items() if k in ("trainable", "filters", "kernel_size", "strides", "padding",
                                                        "data_format", "dilation_rate", "activation", "use_bias",
                                                        "pool_size", "rate", "units")}
        c["name"] = new
        if not layers:
            c["batch_input_shape"] = shape
            c["dtype"] = "float32"
        layers.append({"class_name": l["class_name"], "config": c})
    order = [renamed[n] for n in names if n in renamed]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_("2.0.8")
        f.attrs["backend"] = np.bytes_("tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps({"class_name": "Sequential", "config": layers}))
        f.attrs["training_config"] = np.bytes_(json.dumps({
            "optimizer_config": {"class_name": "RMSprop", "config": {"lr": 1e-4, "rho": 0.9, "epsilon": 1e-08,
                                                                     "decay": 0.0}},
            "loss": "binary_crossentropy", "metrics": ["acc"], "sample_weight_mode": None, "loss_weights": None}))
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([n.encode() for n in order], dtype="S")
        mw.attrs["backend"] = np.bytes_("tensorflow")
        mw.attrs["keras_version"] = np.bytes_("2.0.8")
        accumulators = []
        for old, new in zip([n for n in names if n in renamed], order):
            g = mw.create_group(new)
            wn = [f"{new}/kernel:0".encode(), f"{new}/bias:0".encode()] if weights[old] else []
            g.attrs["weight_names"] = np.array(wn, dtype="S") if wn else np.array([])
            for w_name, value in zip(wn, weights[old]):
                g.create_dataset(w_name.decode(), data=value)
                accumulators.append(rng.random(value.shape).astype(np.float32) * 1e-3)
        ow = f.create_group("optimizer_weights")
        on = [f"training/RMSprop/Variable_{i}:0".encode() if i else b"training/RMSprop/Variable:0"
              for i in range(len(accumulators))]
        ow.attrs["weight_names"] = np.array(on, dtype="S")
        for n, a in zip(on, accumulators):
            ow.create_dataset(n.decode(), data=a)
        np.save(path[:-3] + "_accumulators.npy", np.concatenate([a.ravel() for a in accumulators]))


def python_stack():
    """numpy, tensorflow and keras, with h5py, pillow and tf-keras (its version of TensorFlow's)."""
    np = need("numpy", "numpy")
    need("h5py", "h5py")
    need("PIL", "pillow")
    tf = need("tensorflow", "tensorflow-cpu")
    keras = need("keras", "keras")
    need("tf_keras", "--no-deps", "tf-keras")
    return np, tf, keras


def make_small(out):
    np, tf, keras = python_stack()
    import h5py
    os.makedirs(out, exist_ok=True)
    x = photos(sorted(glob.glob(os.path.join(ROOT, "data/sample/test/*/*.jpg")))[:3], 24)
    np.save(os.path.join(out, "x.npy"), x)
    keras.utils.set_random_seed(1)
    L = keras.layers
    m = keras.Sequential([keras.Input(x.shape[1:])] + small_layers(L))
    m.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), metrics=["acc"])
    rng = np.random.default_rng(1)
    m.fit(rng.random((4,) + x.shape[1:], dtype=np.float32), np.array([0, 1, 1, 0]), batch_size=2, epochs=1, verbose=0)
    m.save(os.path.join(out, "k3.keras"))
    m.save(os.path.join(out, "k3_legacy.h5"))
    m.save_weights(os.path.join(out, "k3.weights.h5"))
    open(os.path.join(out, "k3.json"), "w").write(m.to_json())
    layer_outputs(keras, m, x, os.path.join(out, "k3_out"))
    v = run_keras2({"kind": "small", "x": os.path.join(out, "x.npy"), "h5": os.path.join(out, "k2.h5"),
                    "weights_h5": os.path.join(out, "k2_weights.h5"), "json": os.path.join(out, "k2.json"),
                    "out": os.path.join(out, "k2_out")}, out)
    keras_2_0_8_file(os.path.join(out, "k2.h5"), os.path.join(out, "k2_0_8.h5"), np.random.default_rng(3))
    versions = {"keras": keras.__version__, "tf_keras": v["tf_keras"], "tensorflow": tf.__version__,
                "h5py": h5py.__version__, "numpy": np.__version__}
    json.dump(versions, open(os.path.join(out, "versions.json"), "w"), indent=1)
    print("wrote", out, versions)


def make_tutorial(data, out):
    np, tf, keras = python_stack()
    os.makedirs(out, exist_ok=True)
    x = photos(sorted(glob.glob(os.path.join(data, "test/*/*.jpg")))[:3], 150)
    np.save(os.path.join(out, "x.npy"), x)
    keras.utils.set_random_seed(1)
    train = keras.utils.image_dataset_from_directory(os.path.join(data, "train"), image_size=(150, 150),
                                                     batch_size=20, label_mode="binary",
                                                     interpolation="nearest", seed=1)
    # With nearest interpolation the batches stay uint8 (Keras 3.15): cast before the rescale.
    train = train.map(lambda a, b: (tf.cast(a, "float32") / 255.0, b)).repeat()
    L = keras.layers
    m = keras.Sequential([keras.Input((150, 150, 3))] + tutorial_layers(L))
    m.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), metrics=["acc"])
    m.fit(train, steps_per_epoch=100, epochs=1, verbose=2)
    m.save(os.path.join(out, "tutorial.keras"))
    m.save(os.path.join(out, "tutorial_k3_legacy.h5"))
    layer_outputs(keras, m, x, os.path.join(out, "out"))
    np.savez(os.path.join(out, "weights.npz"), *m.get_weights())
    v = run_keras2({"kind": "tutorial", "x": os.path.join(out, "x.npy"), "h5": os.path.join(out, "tutorial_k2.h5"),
                    "weights": os.path.join(out, "weights.npz")}, out)
    os.remove(os.path.join(out, "weights.npz"))
    versions = {"keras": keras.__version__, "tf_keras": v["tf_keras"], "tensorflow": tf.__version__}
    json.dump(versions, open(os.path.join(out, "versions.json"), "w"), indent=1)
    print("wrote", out, versions)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", metavar="OUT", nargs="?", const=os.path.join(ROOT, "tests/fixtures/keras"))
    ap.add_argument("--tutorial", nargs=2, metavar=("DATA", "OUT"))
    ap.add_argument("--keras2-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.keras2_child:
        keras2_child(a)
    elif a.tutorial:
        make_tutorial(*a.tutorial)
    else:
        make_small(a.small or os.path.join(ROOT, "tests/fixtures/keras"))


if __name__ == "__main__":
    main()
