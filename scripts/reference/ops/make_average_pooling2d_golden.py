#!/usr/bin/env python3
"""Writes tests/fixtures/ops/average_pooling2d.json: Keras' own results for a small model with
three AveragePooling2D layers of different windows, for tests/ops/average_pooling2d_test.cpp.

Model (Keras 3, JAX backend): Input (12, 13, 2) -> Conv2D(3, 2, relu) -> AveragePooling2D(3,
strides 2, 'same') [odd sizes, overlapping windows, padding before and after: the windows at the
border average fewer elements] -> AveragePooling2D(3, strides 2, 'valid') -> AveragePooling2D(2,
strides 1, 'same') [padding after only] -> Flatten -> Dense(1, sigmoid); inputs stream 7. What is
stored and how the weights are drawn: op_golden.py.

Run: python3 scripts/reference/ops/make_average_pooling2d_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("average_pooling2d"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((12, 13, 2)), L.Conv2D(3, 2, activation="relu", name="conv2d_1"),
                              L.AveragePooling2D(3, strides=2, padding="same", name="average_pooling2d_1"),
                              L.AveragePooling2D(3, strides=2, name="average_pooling2d_2"),
                              L.AveragePooling2D(2, strides=1, padding="same", name="average_pooling2d_3"),
                              L.Flatten(name="flatten_1"), L.Dense(1, activation="sigmoid", name="dense_1")],
                             name="sequential_1")
    write_golden(model, 7, a.out)


if __name__ == "__main__":
    main()
