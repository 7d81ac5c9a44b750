#!/usr/bin/env python3
"""Writes tests/fixtures/ops/random_transform.json: Keras 3's random image layers (TensorFlow
backend: their warp is TensorFlow's ImageProjectiveTransformV3) in training mode, each with a
factor range of one value so that its transform is known, for tests/ops/random_transform_test.cpp.

Each case: the layer's Keras config, and its output for the same input (2, 7, 9, 2) floats in
[0, 1) (numpy seed 3). Cases cover every layer, every fill_mode (reflect, the default; wrap,
constant with a fill_value, nearest) and both interpolations. RandomFlip draws per image: its
cases store the flipped image, which the test compares with the images our draws flip.

Run: python3 scripts/reference/ops/make_random_transform_golden.py [--out FILE]
(installs tensorflow-cpu with pip when it is missing; seconds)."""
import argparse
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pip_need import need  # noqa: E402

need("tensorflow", "tensorflow-cpu")
import numpy as np  # noqa: E402
import keras  # noqa: E402


def cases():
    L = keras.layers
    return [
        ("rotation_reflect", L.RandomRotation((0.07, 0.07))),
        ("rotation_negative_nearest_interp", L.RandomRotation((-0.11, -0.11), interpolation="nearest")),
        ("rotation_wrap", L.RandomRotation((0.3, 0.3), fill_mode="wrap")),
        ("rotation_constant", L.RandomRotation((0.13, 0.13), fill_mode="constant", fill_value=0.25)),
        ("rotation_nearest", L.RandomRotation((-0.2, -0.2), fill_mode="nearest")),
        ("zoom_out", L.RandomZoom((0.35, 0.35))),
        ("zoom_in_width", L.RandomZoom((-0.3, -0.3), width_factor=(0.2, 0.2))),
        ("translation", L.RandomTranslation((0.25, 0.25), (-0.4, -0.4))),
        ("translation_constant", L.RandomTranslation((-0.15, -0.15), (0.3, 0.3), fill_mode="constant")),
        ("flip_horizontal", L.RandomFlip("horizontal")),
        ("flip_both", L.RandomFlip("horizontal_and_vertical")),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                   "tests", "fixtures", "ops", "random_transform.json"))
    a = ap.parse_args()
    x = np.random.default_rng(3).random((2, 7, 9, 2), dtype=np.float32)
    out = {"input_shape": list(x.shape), "input": [float("%.9g" % v) for v in x.ravel()], "keras": keras.__version__,
           "cases": []}
    for name, layer in cases():
        if isinstance(layer, keras.layers.RandomFlip):  # the flip itself, which the layer draws per image
            axes = (2,) if layer.mode == "horizontal" else (1, 2)
            y = np.flip(x, axis=axes)
            assert layer(x, training=False).numpy().tobytes() == x.tobytes()
        else:
            y = layer(x, training=True).numpy()
        model = keras.Sequential([keras.Input(x.shape[1:]), layer])
        out["cases"].append({"name": name, "model_json": model.to_json(),
                             "output": [float("%.9g" % v) for v in y.ravel()]})
    with open(a.out, "w") as f:
        json.dump(out, f)
    print("wrote", a.out, len(out["cases"]), "cases")


if __name__ == "__main__":
    main()
