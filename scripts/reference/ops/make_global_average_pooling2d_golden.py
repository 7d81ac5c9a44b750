#!/usr/bin/env python3
"""Writes tests/fixtures/ops/global_average_pooling2d.json: Keras' own results for a small model
with GlobalAveragePooling2D, for tests/ops/global_average_pooling2d_test.cpp.

Model (Keras 3, JAX backend): Input (12, 10, 3) -> Conv2D(5, 3, relu) -> GlobalAveragePooling2D
-> Dense(1, sigmoid). Weights and inputs follow the formula of scripts/reference/make_goldens.py
(tests/cpu/golden_weights.h is its C++ twin): parameters stream 1 in Keras' flat order, inputs
stream 4, batch 3, labels 1 0 1. Stored: model.to_json(), the inputs' shape, every layer's output,
the binary cross-entropy and its gradient with respect to every parameter tensor (jax.grad of
Keras' own loss through model.stateless_call).

Run: python3 scripts/reference/ops/make_global_average_pooling2d_golden.py [--out FILE]
(installs keras and jax[cpu] with pip when they are missing; CPU only, seconds)."""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "0")


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pip_need import need  # noqa: E402  (scripts/reference)

np = need("numpy", "numpy")
need("jax", "jax[cpu]")
keras = need("keras", "keras")
import jax  # noqa: E402  (installed just above)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from golden_formula import uniform  # noqa: E402  (scripts/reference)


def golden_params(model):
    """Keras' flat parameter order; kernels Glorot-bounded, biases 0.1 (2u - 1)."""
    weights, offset = [], 0
    for w in model.weights:
        shape = tuple(w.shape)
        u = uniform(1, int(np.prod(shape)), offset)
        if len(shape) >= 2:
            receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
            limit = np.sqrt(6.0 / (receptive * shape[-2] + receptive * shape[-1]))
            v = (limit * (2 * u - 1)).astype(np.float32)
        else:
            v = (0.1 * (2 * u - 1)).astype(np.float32)
        weights.append(v.reshape(shape))
        offset += int(np.prod(shape))
    return weights


def floats(a):
    """float32 values, each written with the 9 digits that identify it (half the size of repr)."""
    return [float("%.9g" % v) for v in np.asarray(a, np.float64).ravel()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "ops", "global_average_pooling2d.json"))
    a = ap.parse_args()
    L = keras.layers
    model = keras.Sequential([keras.Input((12, 10, 3)), L.Conv2D(5, 3, activation="relu", name="conv2d_1"),
                              L.GlobalAveragePooling2D(name="global_average_pooling2d_1"),
                              L.Dense(1, activation="sigmoid", name="dense_1")], name="sequential_1")
    model.set_weights(golden_params(model))
    n = 3
    x = uniform(4, n * 12 * 10 * 3).astype(np.float32).reshape(n, 12, 10, 3)
    y = np.array([1, 0, 1], np.float32).reshape(n, 1)

    probe = keras.Model(model.inputs, [l.output for l in model.layers])
    outs = [np.asarray(o) for o in probe(x)]

    bce = keras.losses.BinaryCrossentropy()
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss_of(tv):
        pred, _ = model.stateless_call(tv, non_trainable, x)
        return bce(y, pred)

    loss, grads = jax.value_and_grad(loss_of)(trainable)
    golden = {
        "keras_version": keras.__version__, "backend": keras.backend.backend(),
        "model_json": model.to_json(), "input_shape": list(x.shape), "input_stream": 4,
        "labels": y.ravel().tolist(),
        "outputs": {l.name: floats(o) for l, o in zip(model.layers, outs)},
        "loss": float(loss),
        "grads": {v.path: floats(g) for v, g in zip(model.trainable_variables, grads)},
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(golden, f)
        f.write("\n")
    print("wrote", a.out, "(Keras %s, %s)" % (keras.__version__, keras.backend.backend()))


if __name__ == "__main__":
    main()
