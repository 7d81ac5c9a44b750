#!/usr/bin/env python3
"""Writes tests/fixtures/explain/filters/: filter patterns as the book computes them (Chollet, Deep
Learning with Python §5.4.2, its generate_pattern() loop on TensorFlow's GradientTape), for
tests/explain/filter_patterns_test.cpp.

The model (small, so the C++ CPU reference runs it in a second): input 32x32x3, conv2d_1
Conv2D(8, 3) relu, max_pooling2d_1, conv2d_2 Conv2D(16, 3) relu, flatten_1, dense_1 Dense(1)
sigmoid, as Keras builds it, in float64, with the goldens' generated weights (golden_formula.py;
the C++ twin is tests/cpu/golden_weights.h: stream 1, k = index in the flat parameter vector,
kernels float32(limit (2u - 1)), limit = sqrt(6 / (fan_in + fan_out)), biases float32(0.1 (2u - 1))).

Per case (a layer and its filters, see CASES) and filter, one image as the book:
  start  = float32(128 + 20 u(7, k)), k = the flat (filter's position in the case, h, w, c) index
           (the book's np.random.random() * 20 + 128, from the shared formula so both sides
           start from the same pixels)
  step s: loss = mean(layer_output[..., f]) of the model fed pixels x float32(1/255);
          grads = d loss / d pixels; grads /= sqrt(mean(grads^2)) + 1e-5; pixels += grads x 1
Saved (float32 NPY; the start is not saved, the test generates it): <case>_step{1,5,40}.npy
(F, 32, 32, 3) the pixels after that many steps; <case>_deprocessed.npy the book's
deprocess_image of step 40 before its x 255 (x -= mean; x /= std + 1e-5; x *= 0.1; x += 0.5;
clip [0, 1]); <case>_losses.npy (F, 41): the
loss before step 1, ..., after step 40. manifest.json lists the cases, filters and versions.

The same loop in float32 is run too, and its largest difference from float64 printed: what a
float32 implementation can be expected to reach (it grows with the steps where a ReLU flips).

Run: python3 scripts/reference/make_filter_goldens.py [--out tests/fixtures/explain/filters]
(tensorflow-cpu from pip when missing; CPU only, a few seconds)
"""
import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pip_need import need  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

SIZE = 32
RESCALE = 1.0 / 255.0  # used as float32(1/255), the value the C++ request holds
STEPS = 40
SAVED_STEPS = (1, 5, 40)
START_STREAM = 7
# (case name, layer, filters). With these weights conv2d_2's filter 0 is zero everywhere at the start:
# a dead ReLU filter has a zero gradient, divided by 0 + 1e-5 it stays zero, and the image never
# moves (the book's loop leaves it grey too); the others are active.
CASES = [("conv2d_2", "conv2d_2", [5, 9, 13, 0]), ("conv2d_1", "conv2d_1", [1, 6]),
         ("pool", "max_pooling2d_1", [7])]


def param_shapes():
    """[(name, shape)] in the Graph's flat order, Keras layouts."""
    flat = 13 * 13 * 16
    return [("conv2d_1/kernel", (3, 3, 3, 8)), ("conv2d_1/bias", (8,)), ("conv2d_2/kernel", (3, 3, 8, 16)),
            ("conv2d_2/bias", (16,)), ("dense_1/kernel", (flat, 1)), ("dense_1/bias", (1,))]


def golden_params(np, uniform):
    """{name: float32 array}: make_goldens.py's golden_params() formula for this model's shapes."""
    out, k = {}, 0
    for name, shape in param_shapes():
        count = math.prod(shape)
        u = uniform(1, count, k)
        if len(shape) > 1:
            receptive = math.prod(shape[:-2])
            limit = math.sqrt(6.0 / (receptive * shape[-2] + receptive * shape[-1]))
            w = limit * (2.0 * u - 1.0)
        else:
            w = 0.1 * (2.0 * u - 1.0)
        out[name] = w.astype(np.float32).reshape(shape)
        k += count
    return out


def build_model(keras, params, dtype):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((SIZE, SIZE, 3), dtype=dtype),
        L.Conv2D(8, 3, activation="relu", name="conv2d_1", dtype=dtype),
        L.MaxPooling2D(2, name="max_pooling2d_1", dtype=dtype),
        L.Conv2D(16, 3, activation="relu", name="conv2d_2", dtype=dtype),
        L.Flatten(name="flatten_1", dtype=dtype),
        L.Dense(1, activation="sigmoid", name="dense_1", dtype=dtype)])
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([params[layer.name + "/kernel"], params[layer.name + "/bias"]])
    return model


def generate_pattern(tf, np, model, layer, f, start, dtype):
    """The book's loop for one filter: (pixels after each step in SAVED_STEPS, losses (STEPS + 1))."""
    feature = model_feature(model, layer)
    rescale = tf.constant(np.float32(RESCALE), dtype=dtype)
    img = tf.constant(start[None].astype(dtype))
    saved, losses = {}, []

    def loss_of(x):
        return tf.reduce_mean(feature(x * rescale)[..., f])

    for s in range(1, STEPS + 1):
        with tf.GradientTape() as tape:
            tape.watch(img)
            loss = loss_of(img)
        grads = tape.gradient(loss, img)
        grads /= tf.sqrt(tf.reduce_mean(tf.square(grads))) + 1e-5
        img = img + grads * 1.0
        losses.append(float(loss))
        if s in SAVED_STEPS:
            saved[s] = img.numpy()[0]
    losses.append(float(loss_of(img)))
    return saved, np.array(losses)


_features = {}


def model_feature(model, layer):
    import keras
    key = (id(model), layer)
    if key not in _features:
        _features[key] = keras.Model(model.inputs[0], model.get_layer(layer).output)
    return _features[key]


def deprocess(np, x):
    """The book's deprocess_image before its x 255 / uint8, in float64."""
    x = x.astype(np.float64)
    x = x - x.mean()
    x /= (x.std() + 1e-5)
    x *= 0.1
    x += 0.5
    return np.clip(x, 0, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "explain", "filters"))
    args = ap.parse_args()
    np = need("numpy")
    tf = need("tensorflow", "tensorflow-cpu")
    import keras
    from golden_formula import uniform

    params = golden_params(np, uniform)
    models = {dt: build_model(keras, params, dt) for dt in ("float64", "float32")}
    os.makedirs(args.out, exist_ok=True)
    manifest = {"size": SIZE, "steps": STEPS, "saved_steps": list(SAVED_STEPS), "rescale": "float32(1/255)",
                "start_stream": START_STREAM, "cases": [],
                "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}}
    image = SIZE * SIZE * 3
    for name, layer, filters in CASES:
        start = (128.0 + 20.0 * uniform(START_STREAM, len(filters) * image)).astype(np.float32)
        start = start.reshape(len(filters), SIZE, SIZE, 3)
        got = {dt: [generate_pattern(tf, np, models[dt], layer, f, start[i], dt) for i, f in enumerate(filters)]
               for dt in models}
        for s in SAVED_STEPS:
            ref = np.stack([saved[s] for saved, _ in got["float64"]])
            f32 = np.stack([saved[s] for saved, _ in got["float32"]])
            np.save(os.path.join(args.out, "%s_step%d.npy" % (name, s)), ref.astype(np.float32))
            print("%s step %2d: |float32 - float64| max %.3g pixels" % (name, s, np.abs(f32 - ref).max()))
        final = np.stack([saved[STEPS] for saved, _ in got["float64"]])
        np.save(os.path.join(args.out, name + "_deprocessed.npy"),
                np.stack([deprocess(np, x) for x in final]).astype(np.float32))
        losses = np.stack([l for _, l in got["float64"]])
        np.save(os.path.join(args.out, name + "_losses.npy"), losses.astype(np.float32))
        for f, l in zip(filters, losses):
            print("%s filter %2d: loss %.6g -> %.6g" % (name, f, l[0], l[-1]))
        manifest["cases"].append({"name": name, "layer": layer, "filters": filters})
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
