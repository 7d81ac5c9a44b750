#!/usr/bin/env python3
"""Writes tests/fixtures/ops/global_average_pooling2d.json: Keras' own results for a small model
with GlobalAveragePooling2D, for tests/ops/global_average_pooling2d_test.cpp.

Model (Keras 3, JAX backend): Input (12, 10, 3) -> Conv2D(5, 3, relu) -> GlobalAveragePooling2D
-> Dense(1, sigmoid); inputs stream 4. What is stored and how the weights are drawn: op_golden.py.

Run: python3 scripts/reference/ops/make_global_average_pooling2d_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("global_average_pooling2d"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((12, 10, 3)), L.Conv2D(5, 3, activation="relu", name="conv2d_1"),
                              L.GlobalAveragePooling2D(name="global_average_pooling2d_1"),
                              L.Dense(1, activation="sigmoid", name="dense_1")], name="sequential_1")
    write_golden(model, 4, a.out)


if __name__ == "__main__":
    main()
