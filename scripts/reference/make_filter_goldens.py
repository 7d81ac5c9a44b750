#!/usr/bin/env python3
"""Writes tests/fixtures/explain/filters/: filter patterns as the book computes them (Chollet, Deep
Learning with Python §5.4.2, its generate_pattern() loop on TensorFlow's GradientTape), for
tests/explain/filter_patterns_test.cpp.

Two models (MODELS), as Keras builds them, in float64, with the goldens' generated weights
(golden_formula.py; the C++ twin is tests/cpu/golden_weights.h: stream 1, k = index in the flat
parameter vector, kernels float32(limit (2u - 1)), limit = sqrt(6 / (fan_in + fan_out)), biases
float32(0.1 (2u - 1))):
  small       input 32x32x3, conv2d_1 Conv2D(8, 3) relu, max_pooling2d_1, conv2d_2 Conv2D(16, 3)
              relu, flatten_1, dense_1 Dense(1) sigmoid (the C++ CPU reference runs it in a second)
  tutorial48  the book's model (make_goldens.py's LAYERS) at a 48x48 input

Per case (a model, a layer and its filters, see CASES) and filter, one image as the book:
  start  = float32(128 + 20 u(7, k)), k = the flat (filter's position in the case, h, w, c) index
           (the book's np.random.random() * 20 + 128, from the shared formula so both sides
           start from the same pixels)
  step s: loss = mean(layer_output[..., f]) of the model fed pixels x float32(1/255);
          grads = d loss / d pixels; grads /= sqrt(mean(grads^2)) + 1e-5; pixels += grads x 1
Saved (float32 NPY; the start is not saved, the test generates it): <case>_step{1,5,39,40}.npy
(F, H, W, 3) the pixels after that many steps; <case>_deprocessed.npy the book's deprocess_image
of step 40 before its x 255 (x -= mean; x /= std + 1e-5; x *= 0.1; x += 0.5; clip [0, 1]);
<case>_losses.npy (F, 41): the loss before step 1, ..., after step 40. manifest.json lists the
models, cases, filters and versions.

The same loop in float32 is run too, and its largest difference from float64 printed: what a
float32 implementation can be expected to reach. On the small model 3e-4 pixels after 40 steps;
on tutorial48's conv2d_4 4 pixels: by step 5 float32 rounding has sent the gradient down another
branch at a max-pooling or ReLU switch (at step 39 the closest conv2d_2 max-pooling window holds
two values 4 float32 ulps apart) and the trajectories part; hence step 39 is saved too, one step
from it being the book's step again.

Run: python3 scripts/reference/make_filter_goldens.py [--out tests/fixtures/explain/filters]
(tensorflow-cpu from pip when missing; CPU only, under a minute)
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pip_need import need  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

RESCALE = 1.0 / 255.0  # used as float32(1/255), the value the C++ request holds
STEPS = 40
SAVED_STEPS = (1, 5, 39, 40)
START_STREAM = 7
# The models: (input size, [(layer name, kind, filters / units)]). "small" is the two-conv model;
# "tutorial48" the book's model (make_goldens.py's LAYERS) at a 48x48 input, 4 convolutions deep.
SMALL = [("conv2d_1", "conv", 8), ("max_pooling2d_1", "pool", 0), ("conv2d_2", "conv", 16),
         ("flatten_1", "flatten", 0), ("dense_1", "dense", 1)]
TUTORIAL = [("conv2d_1", "conv", 32), ("max_pooling2d_1", "pool", 0), ("conv2d_2", "conv", 64),
            ("max_pooling2d_2", "pool", 0), ("conv2d_3", "conv", 128), ("max_pooling2d_3", "pool", 0),
            ("conv2d_4", "conv", 128), ("max_pooling2d_4", "pool", 0), ("flatten_1", "flatten", 0),
            ("dense_1", "dense", 512), ("dense_2", "dense", 1)]
MODELS = {"small": (32, SMALL), "tutorial48": (48, TUTORIAL)}
# (case name, model, layer, filters). With these weights the small model's conv2d_2 filter 0 is
# zero everywhere at the start: a dead ReLU filter has a zero gradient, divided by 0 + 1e-5 it
# stays zero, and the image never moves (the book's loop leaves it grey too); the others are active.
CASES = [("conv2d_2", "small", "conv2d_2", [5, 9, 13, 0]), ("conv2d_1", "small", "conv2d_1", [1, 6]),
         ("pool", "small", "max_pooling2d_1", [7]),
         # The tutorial's deepest convolution (filter 5's ReLU partly off at the start): rounding decides
         # max-pooling and ReLU switches there, and float32 trajectories part from float64's within 40 steps.
         ("tutorial48_conv2d_4", "tutorial48", "conv2d_4", [5, 7])]


def golden_params(model):
    """{name: float32 array}: the goldens' parameter formula (golden_formula.py) for this model's shapes."""
    from golden_formula import golden_param_list, param_shapes
    shapes = param_shapes(*MODELS[model])
    return {name: w for (name, _), w in zip(shapes, golden_param_list([s for _, s in shapes]))}


def build_model(keras, np, uniform, model, dtype):
    L = keras.layers
    size, spec = MODELS[model]
    layers = [keras.Input((size, size, 3), dtype=dtype)]
    for name, kind, n in spec:
        if kind == "conv":
            layers.append(L.Conv2D(n, 3, activation="relu", name=name, dtype=dtype))
        elif kind == "pool":
            layers.append(L.MaxPooling2D(2, name=name, dtype=dtype))
        elif kind == "flatten":
            layers.append(L.Flatten(name=name, dtype=dtype))
        else:
            layers.append(L.Dense(n, activation="sigmoid" if n == 1 else "relu", name=name, dtype=dtype))
    m = keras.Sequential(layers)
    params = golden_params(model)
    for layer in m.layers:
        if layer.weights:
            layer.set_weights([params[layer.name + "/kernel"], params[layer.name + "/bias"]])
    return m


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

    os.makedirs(args.out, exist_ok=True)
    manifest = {"models": {k: {"size": v[0], "layers": [n for n, _, _ in v[1]]} for k, v in MODELS.items()},
                "steps": STEPS, "saved_steps": list(SAVED_STEPS), "rescale": "float32(1/255)",
                "start_stream": START_STREAM, "cases": [],
                "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}}
    for name, model, layer, filters in CASES:
        size = MODELS[model][0]
        models = {dt: build_model(keras, np, uniform, model, dt) for dt in ("float64", "float32")}
        image = size * size * 3
        start = (128.0 + 20.0 * uniform(START_STREAM, len(filters) * image)).astype(np.float32)
        start = start.reshape(len(filters), size, size, 3)
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
        manifest["cases"].append({"name": name, "model": model, "layer": layer, "filters": filters})
    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
