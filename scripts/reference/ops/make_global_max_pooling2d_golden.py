#!/usr/bin/env python3
"""Writes tests/fixtures/ops/global_max_pooling2d.json: Keras' own results for a small model with
GlobalMaxPooling2D, for tests/ops/global_max_pooling2d_test.cpp.

Model (Keras 3, JAX backend): Input (7, 9, 2) -> Conv2D(3, 2) -> GlobalMaxPooling2D -> Dense(1,
sigmoid); inputs stream 8. The convolution is linear (no relu), so no channel holds two equal
maxima. What is stored and how the weights are drawn: op_golden.py.

Run: python3 scripts/reference/ops/make_global_max_pooling2d_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("global_max_pooling2d"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((7, 9, 2)), L.Conv2D(3, 2, name="conv2d_1"),
                              L.GlobalMaxPooling2D(name="global_max_pooling2d_1"),
                              L.Dense(1, activation="sigmoid", name="dense_1")], name="sequential_1")
    write_golden(model, 8, a.out)


if __name__ == "__main__":
    main()
