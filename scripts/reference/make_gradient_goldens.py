#!/usr/bin/env python3
"""Writes tests/fixtures/explain/gradients/: gradients of per-image scalars of the tutorial model
with respect to earlier layers' outputs and the input, by TensorFlow's GradientTape, for
tests/explain/gradient_golden_test.cpp (Backend::gradient on both CPU paths).

The model is the tutorial's (150x150x3, Keras layers), in float64 so that the golden's own
rounding is negligible beside float32's, with the weights of the goldens' formula (golden_formula.py,
twin of tests/cpu/golden_weights.h) and two inputs u(5, k). Each case is one scalar per image,
the gradient of their sum taken with respect to the listed tensors (the images are independent,
so image i's row is d scalar_i / d its tensor):
  class_score:  the logit z of dense_2 (class 1's score; class 0's is -z); wrt the input,
                conv2d_4 and conv2d_2 (their outputs after relu, as Keras' layer.output)
  channel_mean: the mean over positions of conv2d_3's channel 7 (image 0) and 90 (image 1),
                after relu; wrt the input and max_pooling2d_1
  pre_element:  element 33 (image 0) and 400 (image 1) of dense_1 before its relu; wrt
                max_pooling2d_4 and conv2d_1
Tensors are stored as golden_formula.store() does (a subsample plus float64 sums of the whole).

Run: python3 scripts/reference/make_gradient_goldens.py [--out DIR]   (installs tensorflow-cpu)
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pip_need import need  # noqa: E402

np = need("numpy")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
tf = need("tensorflow", "tensorflow-cpu")
from golden_formula import LAYERS, golden_input_array, golden_param_arrays, store  # noqa: E402

SIZE, N, INPUT_STREAM = 150, 2, 5
CASES = [
    {"name": "class_score", "layer": "dense_2", "kind": "element", "pre_activation": True, "target": [0, 0],
     "wrt": ["", "conv2d_4", "conv2d_2"]},
    {"name": "channel_mean", "layer": "conv2d_3", "kind": "channel_mean", "pre_activation": False,
     "target": [7, 90], "wrt": ["", "max_pooling2d_1"]},
    {"name": "pre_element", "layer": "dense_1", "kind": "element", "pre_activation": True, "target": [33, 400],
     "wrt": ["max_pooling2d_4", "conv2d_1"]},
]


def layers(dtype):
    """The tutorial's layers with the formula's weights; Conv2D/Dense without activation, so that
    the tape sees the output both before and after it."""
    keras = tf.keras
    w = golden_param_arrays(SIZE)
    out = []
    for name, kind, n in LAYERS:
        if kind == "conv":
            layer = keras.layers.Conv2D(n, 3, dtype=dtype)
            layer.build((None, None, None, w[name + "/kernel"].shape[2]))
        elif kind == "pool":
            layer = keras.layers.MaxPooling2D(2, dtype=dtype)
        elif kind == "flatten":
            layer = keras.layers.Flatten(dtype=dtype)
        else:
            layer = keras.layers.Dense(n, dtype=dtype)
            layer.build((None, w[name + "/kernel"].shape[0]))
        if kind in ("conv", "dense"):
            layer.set_weights([w[name + "/kernel"], w[name + "/bias"]])
        out.append((name, kind, layer))
    return out


def run_case(case, model, x):
    """{wrt name: d (sum of the case's scalars) / d that tensor} as float64 arrays."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        seen = {"": x}
        h = x
        scalar = None
        for name, kind, layer in model:
            pre = layer(h)
            h = tf.nn.relu(pre) if kind == "conv" or (kind == "dense" and name != "dense_2") else pre
            seen[name] = h
            if name == case["layer"]:
                at = pre if case["pre_activation"] else h
                if case["kind"] == "element":
                    flat = tf.reshape(at, (N, -1))
                    scalar = tf.gather(flat, case["target"], axis=1, batch_dims=1)
                else:
                    scalar = tf.stack([tf.reduce_mean(at[i, ..., c]) for i, c in enumerate(case["target"])])
                total = tf.reduce_sum(scalar)
                break
    grads = tape.gradient(total, [seen[name] for name in case["wrt"]])
    return {name: g.numpy() for name, g in zip(case["wrt"], grads)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures",
                                                  "explain", "gradients"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for n in os.listdir(args.out):  # no stale files of an earlier layout
        if n.endswith(".npy") or n == "manifest.json":
            os.remove(os.path.join(args.out, n))
    x = golden_input_array(INPUT_STREAM, N, SIZE)
    model64, model32 = layers("float64"), layers("float32")
    cases = []
    for case in CASES:
        ref = run_case(case, model64, tf.constant(x, tf.float64))
        f32 = run_case(case, model32, tf.constant(x, tf.float32))
        wrt = []
        for name in case["wrt"]:
            g = ref[name]
            err = np.abs(f32[name] - g).max() / np.abs(g).max()
            rows = g.shape[0] * g.shape[1] if g.ndim == 4 else g.shape[0]  # image rows / images
            label = name or "input"
            entry = store(args.out, f"{case['name']}__{label}", g.reshape(-1), list(g.shape), rows, rows_too=False)
            wrt.append(dict(layer=name, shape=list(g.shape), **entry))
            print(f"{case['name']:13s} d/d {label:16s} {list(g.shape)} stride {entry['stride']}  max|g| "
                  f"{np.abs(g).max():.3e}  TF float32 max err / max|g| {err:.1e}")
        cases.append({k: case[k] for k in ("name", "layer", "kind", "pre_activation", "target")} | {"wrt": wrt})
    manifest = {"generator": "scripts/reference/make_gradient_goldens.py (TensorFlow " + tf.__version__ +
                             " GradientTape, float64)",
                "image_size": SIZE, "batch": N, "input_stream": INPUT_STREAM, "cases": cases}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"wrote {args.out}: {total / 1e3:.0f} KB")


if __name__ == "__main__":
    main()
