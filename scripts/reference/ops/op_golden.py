"""What every op golden script shares (scripts/reference/ops/make_<op>_golden.py): Keras 3 on JAX
set up, the weights and inputs of the shared formula (scripts/reference/make_goldens.py; its C++
twin is tests/cpu/golden_weights.h), and the golden JSON for tests/ops/<op>_test.cpp: the model
JSON, every layer's output, the loss (binary cross-entropy of labels 1 0 1; for a softmax head,
sparse categorical cross-entropy of the class indices 2 0 1) and its gradient with respect to
every parameter tensor (jax.grad of Keras' own loss through model.stateless_call); optionally the
parameters after one step of Keras' own RMSprop (Keras 3 defaults: rho 0.9, epsilon 1e-7 under the
root) on those gradients.

Parameters: stream 1 in Keras' flat order, kernels Glorot-bounded, biases 0.1 (2u - 1), tensors
whose Keras initial value is one (BatchNormalization's gamma and moving_variance) 1 + 0.1 (2u - 1);
inputs: float32(u) of the given stream, batch 3. With training=True (BatchNormalization) the
outputs, loss and gradients are Keras' training-mode ones, "state_after" holds the non-trainable
tensors after that training forward and "inference_outputs" the inference-mode outputs (before
the update) of the BatchNormalization layers and the last layer. Installs keras and jax[cpu] with pip when missing."""
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

from golden_formula import uniform  # noqa: E402  (scripts/reference)


def golden_params(model):
    """Keras' flat parameter order; kernels Glorot-bounded, biases 0.1 (2u - 1), ones-initialised
    tensors 1 + 0.1 (2u - 1)."""
    weights, offset = [], 0
    for w in model.weights:
        ones = w.path.endswith("/gamma") or w.path.endswith("/moving_variance")
        shape = tuple(w.shape)
        u = uniform(1, int(np.prod(shape)), offset)
        if len(shape) >= 2:
            receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
            limit = np.sqrt(6.0 / (receptive * shape[-2] + receptive * shape[-1]))
            v = (limit * (2 * u - 1)).astype(np.float32)
        else:
            v = ((1.0 if ones else 0.0) + 0.1 * (2 * u - 1)).astype(np.float32)
        weights.append(v.reshape(shape))
        offset += int(np.prod(shape))
    return weights


def floats(a):
    """float32 values, each written with the 9 digits that identify it (half the size of repr)."""
    return [float("%.9g" % v) for v in np.asarray(a, np.float64).ravel()]


def default_out(op):
    return os.path.join(ROOT, "tests", "fixtures", "ops", op + ".json")


def write_golden(model, input_stream, out, training=False, rmsprop_lr=None):
    """The golden of `model` (its input shape per sample; batch 3, labels 1 0 1, or the class
    indices 2 0 1 for a model whose last layer has several units: a softmax head) into `out`;
    training: Keras' training mode (batch statistics), with the state after it; with
    `rmsprop_lr`, also the parameters after one RMSprop step of that learning rate."""
    model.set_weights(golden_params(model))
    n = 3
    shape = tuple(model.inputs[0].shape[1:])
    x = uniform(input_stream, n * int(np.prod(shape))).astype(np.float32).reshape((n,) + shape)
    softmax_head = model.outputs[0].shape[-1] > 1
    y = np.array([2, 0, 1] if softmax_head else [1, 0, 1], np.float32).reshape(n, 1)

    probe = keras.Model(model.inputs, [l.output for l in model.layers])
    loss_fn = keras.losses.SparseCategoricalCrossentropy() if softmax_head else keras.losses.BinaryCrossentropy()
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    # Stateless calls: a training call must not move the state the other calls start from.
    outs, state_after = probe.stateless_call([v.value for v in probe.trainable_variables],
                                             [v.value for v in probe.non_trainable_variables], x, training=training)
    outs = [np.asarray(o) for o in outs]

    def loss_of(tv):
        pred, _ = model.stateless_call(tv, non_trainable, x, training=training)
        return loss_fn(y, pred)

    loss, grads = jax.value_and_grad(loss_of)(trainable)
    golden = {
        "keras_version": keras.__version__, "backend": keras.backend.backend(),
        "model_json": model.to_json(), "input_shape": list(x.shape), "input_stream": input_stream,
        "labels": y.ravel().tolist(),
        "outputs": {l.name: floats(o) for l, o in zip(model.layers, outs)},
        "loss": float(loss),
        "grads": {v.path: floats(g) for v, g in zip(model.trainable_variables, grads)},
    }
    if training:
        golden["training"] = True
        golden["state_after"] = {v.path: floats(a) for v, a in zip(probe.non_trainable_variables, state_after)}
        golden["inference_outputs"] = {l.name: floats(o) for l, o in zip(model.layers, probe(x, training=False))
                                       if isinstance(l, keras.layers.BatchNormalization) or l is model.layers[-1]}
    if softmax_head:  # categorical cross-entropy of the one-hot labels is the same loss
        onehot = np.eye(int(model.outputs[0].shape[-1]), dtype=np.float32)[y.ravel().astype(int)]
        cce = float(keras.losses.CategoricalCrossentropy()(onehot, model(x)))
        assert abs(cce - float(loss)) < 1e-6, (cce, float(loss))
        golden["categorical_loss"] = cce
    if rmsprop_lr is not None:
        opt = keras.optimizers.RMSprop(learning_rate=rmsprop_lr)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        golden["rmsprop"] = {"learning_rate": rmsprop_lr, "rho": 0.9, "epsilon": 1e-7,
                             "after_step": {v.path: floats(v.numpy()) for v in model.trainable_variables}}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(golden, f)
        f.write("\n")
    print("wrote", out, "(Keras %s, %s)" % (keras.__version__, keras.backend.backend()))
