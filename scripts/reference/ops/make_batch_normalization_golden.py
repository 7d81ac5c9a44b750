#!/usr/bin/env python3
"""Writes tests/fixtures/ops/batch_normalization.json: Keras' own results for a small model with
three BatchNormalization layers, for tests/ops/batch_normalization_test.cpp.

Model (Keras 3, JAX backend): Input (5, 7, 2) -> Conv2D(3, 3, relu) -> BatchNormalization()
(defaults: momentum 0.99, epsilon 1e-3) -> Conv2D(3, 3) -> BatchNormalization(scale=False,
momentum 0.9, epsilon 0.01) -> Flatten -> Dense(4) -> BatchNormalization(center=False, momentum
0.8, epsilon 0.1) -> Dense(1, sigmoid); inputs stream 7. Keras' training mode (batch statistics):
the outputs, loss and gradients of one training forward, the moving statistics after it, and the
inference-mode outputs of the BatchNormalization layers and the last (op_golden.py, training=True).

Run: python3 scripts/reference/ops/make_batch_normalization_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("batch_normalization"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([
        keras.Input((5, 7, 2)),
        L.Conv2D(3, 3, activation="relu", name="conv2d_1"),
        L.BatchNormalization(name="batch_normalization_1"),
        L.Conv2D(3, 3, name="conv2d_2"),
        L.BatchNormalization(scale=False, momentum=0.9, epsilon=0.01, name="batch_normalization_2"),
        L.Flatten(name="flatten_1"),
        L.Dense(4, name="dense_1"),
        L.BatchNormalization(center=False, momentum=0.8, epsilon=0.1, name="batch_normalization_3"),
        L.Dense(1, activation="sigmoid", name="dense_2")], name="sequential_1")
    write_golden(model, 7, a.out, training=True)


if __name__ == "__main__":
    main()
