#!/usr/bin/env python3
"""Writes tests/fixtures/ops/conv2d_padding.json: Keras' own results for a small model of Conv2D
layers with 'same' padding, strides and use_bias=False, for tests/ops/conv2d_test.cpp.

Model (Keras 3, JAX backend), input (9, 8, 3): non-square so that a swapped height and width
shows, and so that one layer sees an odd and an even size at once:
  conv2d_1  Conv2D(4, 3, same, relu)                 9x8 -> 9x8   padding 1/1, 1/1
  conv2d_2  Conv2D(4, 3, strides 2, same, relu)      9x8 -> 5x4   rows 1/1 (odd input), columns 0/1
                                                                   (even input: odd total, the extra after)
  conv2d_3  Conv2D(3, 2, same, use_bias=False)       5x4 -> 5x4   even kernel: 0/1 both ways, no bias
  conv2d_4  Conv2D(3, 5, same, relu)                 5x4 -> 5x4   padding 2/2, 2/2 (larger than half the input)
  conv2d_5  Conv2D(2, 3, strides (2, 2), valid)      5x4 -> 2x1   valid with a stride that drops a column
  Flatten, Dense(1, sigmoid); inputs stream 5. What is stored and how the weights are drawn: op_golden.py.

The same model, with the same weights, is also saved by Keras as tests/fixtures/keras/conv2d_padding.keras
(--keras FILE): the Keras file reader's test loads it (a layer without bias among layers with one).

Run: python3 scripts/reference/ops/make_conv2d_padding_golden.py [--out FILE] [--keras FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse
import os

from op_golden import ROOT, default_out, keras, write_golden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out("conv2d_padding"))
    ap.add_argument("--keras", default=os.path.join(ROOT, "tests", "fixtures", "keras", "conv2d_padding.keras"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([
        keras.Input((9, 8, 3)),
        L.Conv2D(4, 3, padding="same", activation="relu", name="conv2d_1"),
        L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv2d_2"),
        L.Conv2D(3, 2, padding="same", use_bias=False, name="conv2d_3"),
        L.Conv2D(3, 5, padding="same", activation="relu", name="conv2d_4"),
        L.Conv2D(2, 3, strides=(2, 2), padding="valid", name="conv2d_5"),
        L.Flatten(name="flatten_1"),
        L.Dense(1, activation="sigmoid", name="dense_1")], name="sequential_1")
    write_golden(model, 5, a.out)
    model.save(a.keras)  # with the golden's weights, which write_golden set
    print("wrote", a.keras)


if __name__ == "__main__":
    main()
