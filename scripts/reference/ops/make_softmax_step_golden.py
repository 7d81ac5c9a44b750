#!/usr/bin/env python3
"""Writes tests/fixtures/ops/softmax_step.json: Keras' own first training step of a small
multi-class convnet, for the first-step check of tests/ops/activation_test.cpp (same weights, same
batch, Keras' RMSprop: the parameters after one step).

Model (Keras 3, JAX backend): Input (10, 10, 3) -> Conv2D(4, 3, relu) -> MaxPooling2D ->
Conv2D(6, 3, relu) -> Flatten -> Dense(8, relu) -> Dense(5, softmax); sparse categorical
cross-entropy of the class indices 2 0 1 (categorical cross-entropy of their one-hot rows checked
equal); RMSprop(learning_rate=1e-3), Keras 3's defaults otherwise; inputs stream 7. What is stored
and how the weights are drawn: op_golden.py.

Run: python3 scripts/reference/ops/make_softmax_step_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("softmax_step"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((10, 10, 3)), L.Conv2D(4, 3, activation="relu", name="conv2d_1"),
                              L.MaxPooling2D(name="max_pooling2d_1"),
                              L.Conv2D(6, 3, activation="relu", name="conv2d_2"), L.Flatten(name="flatten_1"),
                              L.Dense(8, activation="relu", name="dense_1"),
                              L.Dense(5, activation="softmax", name="dense_2")], name="sequential_1")
    write_golden(model, 7, a.out, rmsprop_lr=1e-3)


if __name__ == "__main__":
    main()
