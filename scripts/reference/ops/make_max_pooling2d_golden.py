#!/usr/bin/env python3
"""Writes tests/fixtures/ops/max_pooling2d.json: Keras' own results for a small model with three
MaxPooling2D layers of different windows, for tests/ops/max_pooling2d_test.cpp.

Model (Keras 3, JAX backend): Input (12, 13, 2) -> Conv2D(3, 2) -> MaxPooling2D(3, strides 2,
'same') [odd sizes, overlapping windows, padding before and after] -> Conv2D(3, 1) ->
MaxPooling2D(3, strides 2, 'valid') -> Conv2D(3, 1) -> MaxPooling2D(2) [strides None] -> Flatten
-> Dense(1, sigmoid); inputs stream 6. The convolutions are linear (no relu), and a 1x1 one sits
between the pools, so no window holds two equal maxima (ties would test the tie rule of JAX's
gradient, not ours). What is stored and how the weights are drawn: op_golden.py.

Run: python3 scripts/reference/ops/make_max_pooling2d_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("max_pooling2d"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((12, 13, 2)), L.Conv2D(3, 2, name="conv2d_1"),
                              L.MaxPooling2D(3, strides=2, padding="same", name="max_pooling2d_1"),
                              L.Conv2D(3, 1, name="conv2d_2"),
                              L.MaxPooling2D(3, strides=2, name="max_pooling2d_2"),
                              L.Conv2D(3, 1, name="conv2d_3"), L.MaxPooling2D(2, name="max_pooling2d_3"),
                              L.Flatten(name="flatten_1"), L.Dense(1, activation="sigmoid", name="dense_1")],
                             name="sequential_1")
    write_golden(model, 6, a.out)


if __name__ == "__main__":
    main()
