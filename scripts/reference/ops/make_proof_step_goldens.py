#!/usr/bin/env python3
"""Writes tests/fixtures/ops/proof_step_second_edition.json and proof_step_flowers_bn.json: Keras'
own first training step of issue 21's two proof models at their full size, for
tests/ops/proof_step_test.cpp (same weights, same batch, same optimizer: the parameters after one
step).

  second_edition  models/second_edition.json (180x180x3, Rescaling, Conv2D 32-256, Dense(1,
                  sigmoid); 991,041 parameters), binary cross-entropy of labels 1 0 1, Keras 3's
                  RMSprop(learning_rate=1e-3)
  flowers_bn      models/flowers_bn.json (150x150x3, strided same-padded Conv2D without bias,
                  BatchNormalization in training mode, GlobalAveragePooling2D, Dense(5, softmax);
                  242,533 parameters), sparse categorical cross-entropy of 2 0 1, Keras 3's
                  Adam(learning_rate=1e-3)

Inputs: stream 7 (second_edition), 8 (flowers_bn). Both models' random layers (RandomFlip/Rotation/Zoom) and Dropout are left out: they draw from
each side's own random generator, so no two implementations take the same step through them
(their own tests check them). What remains is every parameter and every deterministic layer.

A million floats per model would not fit the test data's budget, so the golden keeps, per tensor,
its L2 norm and 16 elements at evenly spaced indices, k (n - 1) // 15 for k = 0..15 (all of a
smaller tensor): of every layer's output, of every gradient, of every parameter after the step and
of the moving statistics after the training forward; of the step itself (after minus before) the
norm alone. Weights and inputs are
op_golden.py's formula (inputs times 255: pixels, as the models' Rescaling expects), batch 3.

Run: python3 scripts/reference/ops/make_proof_step_goldens.py [--out-dir DIR]
(installs keras and jax[cpu] with pip when they are missing; CPU only, about a minute)."""
import argparse
import json
import os

from op_golden import ROOT, floats, golden_params, jax, keras, np, uniform

SAMPLES = 16
RANDOM_LAYERS = ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "Dropout")


def deterministic(model):
    """The model as a Sequential of its layers that draw no random numbers (a nested Sequential
    of random layers goes as a whole), each rebuilt from its config under its own name."""
    keep = []
    for layer in model.layers:
        inner = layer.layers if isinstance(layer, keras.Sequential) else [layer]
        keep += [l for l in inner if type(l).__name__ not in RANDOM_LAYERS and not isinstance(l, keras.layers.InputLayer)]
    inputs = keras.Input(tuple(model.inputs[0].shape[1:]), name="input_layer")
    return keras.Sequential([inputs] + [type(l).from_config(l.get_config()) for l in keep], name=model.name)


def summary(a):
    """L2 norm and SAMPLES evenly spaced elements (index k (n - 1) // (SAMPLES - 1); all when n <= SAMPLES)."""
    a = np.asarray(a, np.float64).ravel()
    n = a.size
    idx = list(range(n)) if n <= SAMPLES else [k * (n - 1) // (SAMPLES - 1) for k in range(SAMPLES)]
    return {"n": n, "l2": float("%.9g" % np.sqrt(np.sum(a * a))), "value": floats(a[idx])}


def golden(model_path, optimizer, stream, out):
    with open(os.path.join(ROOT, model_path)) as f:
        model = deterministic(keras.models.model_from_json(f.read()))
    model.set_weights(golden_params(model))
    n, scale = 3, np.float32(255)
    shape = tuple(model.inputs[0].shape[1:])
    x = (uniform(stream, n * int(np.prod(shape))).astype(np.float32) * scale).reshape((n,) + shape)
    softmax_head = model.outputs[0].shape[-1] > 1
    y = np.array([2, 0, 1] if softmax_head else [1, 0, 1], np.float32).reshape(n, 1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy() if softmax_head else keras.losses.BinaryCrossentropy()

    probe = keras.Model(model.inputs, [l.output for l in model.layers])
    outs, state_after = probe.stateless_call([v.value for v in probe.trainable_variables],
                                             [v.value for v in probe.non_trainable_variables], x, training=True)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss_of(tv):
        pred, _ = model.stateless_call(tv, non_trainable, x, training=True)
        return loss_fn(y, pred)

    loss, grads = jax.value_and_grad(loss_of)(trainable)
    before = [np.asarray(v.numpy(), np.float64) for v in model.trainable_variables]
    opt = optimizer["make"]()
    opt.apply_gradients(zip(grads, model.trainable_variables))
    g = {
        "keras_version": keras.__version__, "backend": keras.backend.backend(), "source_model": model_path,
        "model_json": model.to_json(), "input_shape": list(x.shape), "input_stream": stream,
        "input_scale": float(scale), "labels": y.ravel().tolist(), "loss": float(loss),
        "optimizer": optimizer["config"],
        "outputs": {l.name: summary(o) for l, o in zip(model.layers, outs)},
        "grads": {v.path: summary(gr) for v, gr in zip(model.trainable_variables, grads)},
        "after_step": {v.path: summary(v.numpy()) for v in model.trainable_variables},
        "step_l2": {v.path: float("%.9g" % np.linalg.norm(np.asarray(v.numpy(), np.float64) - b))
                    for v, b in zip(model.trainable_variables, before)},
        "state_after": {v.path: summary(a) for v, a in zip(probe.non_trainable_variables, state_after)},
    }
    with open(out, "w") as f:
        json.dump(g, f)
        f.write("\n")
    print("wrote %s (Keras %s, %s; %d parameters)" % (out, keras.__version__, keras.backend.backend(),
                                                       model.count_params()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests", "fixtures", "ops"))
    # Stream 8: a batch with no relu input within float32 rounding of 0 (proof_step_test.cpp says why).
    ap.add_argument("--flowers-bn-stream", type=int, default=8, help="input stream of the flowers_bn batch")
    a = ap.parse_args()
    golden("models/second_edition.json",
           {"make": lambda: keras.optimizers.RMSprop(learning_rate=1e-3),
            "config": {"name": "rmsprop", "learning_rate": 1e-3, "rho": 0.9, "epsilon": 1e-7}}, 7,
           os.path.join(a.out_dir, "proof_step_second_edition.json"))
    golden("models/flowers_bn.json",
           {"make": lambda: keras.optimizers.Adam(learning_rate=1e-3),
            "config": {"name": "adam", "learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}},
           a.flowers_bn_stream, os.path.join(a.out_dir, "proof_step_flowers_bn.json"))


if __name__ == "__main__":
    main()
