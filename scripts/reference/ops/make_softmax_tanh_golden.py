#!/usr/bin/env python3
"""Writes tests/fixtures/ops/softmax_tanh.json: Keras' own results for a small model with the tanh
and softmax activations, as `activation=` and as Activation layers, and a softmax head trained
with sparse categorical cross-entropy, for tests/ops/activation_test.cpp.

Model (Keras 3, JAX backend): Input (7, 9, 3) -> Conv2D(4, 3, tanh) -> Conv2D(3, 3, softmax: over
the channels) -> Flatten -> Dense(6) -> Activation(tanh) -> Activation(softmax) -> Dense(3,
softmax); labels: the class indices 2 0 1; inputs stream 6. What is stored and how the weights are
drawn: op_golden.py.

Run: python3 scripts/reference/ops/make_softmax_tanh_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("softmax_tanh"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((7, 9, 3)), L.Conv2D(4, 3, activation="tanh", name="conv2d_1"),
                              L.Conv2D(3, 3, activation="softmax", name="conv2d_2"), L.Flatten(name="flatten_1"),
                              L.Dense(6, name="dense_1"), L.Activation("tanh", name="activation_1"),
                              L.Activation("softmax", name="activation_2"),
                              L.Dense(3, activation="softmax", name="dense_2")], name="sequential_1")
    write_golden(model, 6, a.out)


if __name__ == "__main__":
    main()
