#!/usr/bin/env python3
"""Writes tests/fixtures/ops/rescaling.json: Keras' own results for a small model with Rescaling,
for tests/ops/rescaling_test.cpp.

Model (Keras 3, JAX backend): Input (9, 7, 3) -> Rescaling(scale 2.5, offset -1) -> Conv2D(4, 3,
relu) -> Flatten -> Dense(1, sigmoid); inputs stream 5. What is stored and how the weights are
drawn: op_golden.py.

Run: python3 scripts/reference/ops/make_rescaling_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse

from op_golden import default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("rescaling"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((9, 7, 3)), L.Rescaling(2.5, offset=-1.0, name="rescaling_1"),
                              L.Conv2D(4, 3, activation="relu", name="conv2d_1"), L.Flatten(name="flatten_1"),
                              L.Dense(1, activation="sigmoid", name="dense_1")], name="sequential_1")
    write_golden(model, 5, a.out)


if __name__ == "__main__":
    main()
