#!/usr/bin/env python3
"""Writes tests/fixtures/adam/keras3_adam3.json: three Adam steps of real Keras 3 (its defaults:
learning_rate 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7, amsgrad False) on a small model, for
tests/cpu/adam_test.cpp (the CPU reference and fast path must land on the same parameters, m and v).

The model: 8x8x3 input, Conv2D(2, 3, relu), MaxPooling2D(2), Flatten, Dense(1, sigmoid); weights of
the goldens' formula (golden_formula.py, twin of tests/cpu/golden_weights.h); one batch of three
inputs u(6, k) with labels 0, 1, 1, used for all three steps; float32 throughout, the gradients
by GradientTape of BinaryCrossentropy's batch mean (what fit() would apply). Stored: the model JSON,
the labels (the weights and inputs are the formula's: the test makes them) and, after the steps, the weights, Adam's m and v (in the
Graph's flat parameter order, Keras layouts) and the iteration count. Also the model itself after
the steps, compiled with that Adam, as Keras 3 saves it (adam3.keras beside the JSON), for the
import of Adam's state (tests/keras/keras_files_test.cpp).

Run: python3 scripts/reference/make_adam_golden.py [--out FILE]   (installs tensorflow-cpu)
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pip_need import need  # noqa: E402

np = need("numpy")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
tf = need("tensorflow", "tensorflow-cpu")
from golden_formula import golden_param_list, uniform  # noqa: E402

SIZE, N, STEPS, INPUT_STREAM = 8, 3, 3, 6
LABELS = [0.0, 1.0, 1.0]


def flat(arrays):
    """float32 values as the shortest decimals that read back to the same float32 (9 digits)."""
    return [float("%.9g" % v) for a in arrays for v in np.asarray(a, dtype=np.float32).ravel()]


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "../../tests/fixtures/adam/keras3_adam3.json"))
    args = ap.parse_args()
    keras = tf.keras
    model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Conv2D(2, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    w0 = golden_param_list([tuple(v.shape) for v in model.weights])
    model.set_weights(w0)
    x = uniform(INPUT_STREAM, N * SIZE * SIZE * 3).astype(np.float32).reshape(N, SIZE, SIZE, 3)
    y = np.array(LABELS, dtype=np.float32).reshape(N, 1)
    opt = keras.optimizers.Adam()  # Keras 3's defaults
    loss_fn = keras.losses.BinaryCrossentropy()
    model.compile(optimizer=opt, loss=loss_fn)  # so that the .keras file carries the optimizer
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
    # Keras 3 interleaves the slots: momentum and velocity of each variable in turn.
    ms = [opt._momentums[i].numpy() for i in range(len(model.weights))]
    vs = [opt._velocities[i].numpy() for i in range(len(model.weights))]
    golden = {"keras": keras.__version__, "tensorflow": tf.__version__, "model_json": model.to_json(),
              "size": SIZE, "n": N, "steps": STEPS, "lr": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "input_stream": INPUT_STREAM, "y": LABELS, "w": flat(model.get_weights()), "m": flat(ms),
              "v": flat(vs), "iterations": int(opt.iterations.numpy())}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", args.out)
    keras_file = os.path.join(os.path.dirname(os.path.abspath(args.out)), "adam3.keras")
    model.save(keras_file)
    print("wrote", keras_file)


if __name__ == "__main__":
    main()
