#!/usr/bin/env python3
"""Writes tests/fixtures/explain/: reference heatmaps and saliency maps of the tutorial CNN for
tests/explain/cam_reference_test.cpp, computed by tf-keras-vis 0.8 and by the book's Grad-CAM code
(Chollet, Deep Learning with Python §5.4.3, in its GradientTape form) on tf-keras (Keras 2, which
tf-keras-vis needs: TF_USE_LEGACY_KERAS=1), independently of our C++.

The model: models/tutorial.json built in Keras layer by layer, with the weights of the goldens'
formula (golden_formula.golden_param_arrays, the C++ twin is tests/cpu/golden_weights.h), and its
last layer made linear (tf-keras-vis' ReplaceToLinear) so that every score is the logit z:
class 1's score is z and class 0's is -z (runtime/explain/class_score.h). The photos: two of
data/sample/test (a cat, a dog), resized to 150x150 as our loader and Keras' load_img do (Pillow,
NEAREST), fed as x / 255.

Untrained weights make weak heatmaps: the Grad-CAM sum over channels is nearly constant in sign
over a photo, so one class's map is often (almost) empty. Of the 20 photos of data/sample/test,
cat.1500 is the only one whose conv2d_4 map has both signs (30% / 70% of positions), dog.1500 the
one with the most even split on conv2d_3 (49% / 51%); they are the two used. Some maps are still
empty or nearly (dog.1500's class 0 on conv2d_4, cat.1500's class 1 on conv2d_3, cat.1500's
Score-CAM class 0): they are compared all the same (our maps must be 0 there too).

Files ((N, K, h, w) float32 maps: N = 2 photos, K = 2 classes, class 0 then 1):
  x.npy                         (2, 150, 150, 3) uint8, the photos
  scores.npy                    (2, 2) the class scores -z, z
  book_gradcam_conv2d_4.npy     the book: mean over channels of mean-pooled gradient x A, ReLU, / max
  book_gradcam_conv2d_3.npy     the same on conv2d_3 (34x34)
  gradcam_conv2d_4.npy          tf-keras-vis Gradcam (sum over channels, ReLU, min-max)
  gradcampp_conv2d_4.npy        tf-keras-vis GradcamPlusPlus
  layercam_conv2d_4.npy         tf-keras-vis Layercam
  scorecam_conv2d_4.npy         tf-keras-vis Scorecam, all 128 channels (see score_cam())
  saliency.npy                  (2, 1, 150, 150) tf-keras-vis Saliency of class 1 (class 0's is the
                                same: |d(-z)/dx| = |dz/dx|; checked here)
  smoothgrad.npy                (2, 1, 150, 150) tf-keras-vis Saliency, smooth_samples=4,
                                smooth_noise=0.2, class 1, its noise drawn by our generator
                                (smoothgrad_normal of runtime/explain/saliency.h, seed 1)
  versions.json                 TensorFlow, tf-keras, tf-keras-vis, scipy versions

Deterministic: no random draw (TensorFlow on the CPU, one thread). Needs tensorflow-cpu, tf-keras
(the version of tensorflow, --no-deps), tf-keras-vis, scipy, pillow; installs what is missing.
Run: python3 scripts/reference/make_cam_goldens.py [--out tests/fixtures/explain]   (~2 minutes)
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras = tf-keras (Keras 2), what tf-keras-vis is written for
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
from pip_need import need  # noqa: E402

np = need("numpy")
need("PIL", "pillow")
need("scipy")
tf = need("tensorflow", "tensorflow-cpu")
need("tf_keras", "--no-deps", "tf-keras")
need("tf_keras_vis", "tf-keras-vis")
from golden_formula import golden_param_arrays  # noqa: E402
from make_keras_files import photos  # noqa: E402  (Pillow NEAREST, as our loader)

import tf_keras as keras  # noqa: E402
import tf_keras_vis  # noqa: E402
from tf_keras_vis import saliency as tkv_saliency  # noqa: E402
from tf_keras_vis.gradcam import Gradcam  # noqa: E402
from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus  # noqa: E402
from tf_keras_vis.layercam import Layercam  # noqa: E402
from tf_keras_vis.saliency import Saliency  # noqa: E402
from tf_keras_vis.scorecam import Scorecam  # noqa: E402
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear  # noqa: E402

PHOTOS = ["data/sample/test/cats/cat.1500.jpg", "data/sample/test/dogs/dog.1500.jpg"]
CLASSES = (0, 1)


def tutorial_model():
    """models/tutorial.json in Keras, the goldens' weights, linear head (logits)."""
    spec = json.load(open(os.path.join(ROOT, "models", "tutorial.json")))
    L = keras.layers
    layers = [L.InputLayer(input_shape=(150, 150, 3))]
    for layer in spec["config"]:
        c, kind = layer["config"], layer["class_name"]
        if kind == "Conv2D":
            layers.append(L.Conv2D(c["filters"], c["kernel_size"], activation=c["activation"], name=c["name"]))
        elif kind == "MaxPooling2D":
            layers.append(L.MaxPooling2D(c["pool_size"], name=c["name"]))
        elif kind == "Flatten":
            layers.append(L.Flatten(name=c["name"]))
        elif kind == "Dense":
            layers.append(L.Dense(c["units"], activation=c["activation"], name=c["name"]))
        else:
            raise SystemExit(f"make_cam_goldens: layer {kind} of models/tutorial.json not handled here")
    model = keras.Sequential(layers)
    model.set_weights(golden_param_arrays([tuple(w.shape) for w in model.weights]))
    ReplaceToLinear()(model)  # the score is the logit z, not sigmoid(z)
    return model


def score(cls):
    """tf-keras-vis score of class cls from the (N, 1) logits: z or -z."""
    return lambda out: out[:, 0] if cls == 1 else -out[:, 0]


def book_gradcam(model, x, layer):
    """Chollet §5.4.3 with GradientTape (the book's 2nd edition form), one image at a time:
    pooled_grads = mean of the gradient over (batch, rows, cols); heatmap = mean over channels of
    A x pooled_grads; np.maximum(heatmap, 0); heatmap /= np.max(heatmap)."""
    grad_model = keras.Model(model.inputs, [model.get_layer(layer).output, model.output])
    maps = []
    for img in x:
        per_class = []
        for cls in CLASSES:
            with tf.GradientTape() as tape:
                conv_out, preds = grad_model(img[None])
                class_channel = preds[:, 0] if cls == 1 else -preds[:, 0]
            grads = tape.gradient(class_channel, conv_out)
            pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2)).numpy()
            a = conv_out.numpy()[0]
            for i in range(pooled_grads.shape[-1]):
                a[:, :, i] *= pooled_grads[i]
            heatmap = np.maximum(np.mean(a, axis=-1), 0)
            # The book divides by the maximum unguarded: a map without a positive value would be 0 / 0
            # (NaN). Ours is all 0 then (runtime/explain/cam.h), as stored here.
            top = np.max(heatmap)
            heatmap = heatmap / top if top > 0 else np.zeros_like(heatmap)
            per_class.append(heatmap)
        maps.append(per_class)
    return np.array(maps, dtype=np.float32)


def tkv_cam(method, model, x, layer):
    """tf-keras-vis' map at the layer's resolution (expand_cam=False), normalised as it does."""
    return np.stack([np.asarray(method(score(c), x, penultimate_layer=layer, seek_penultimate_conv_layer=False,
                                           expand_cam=False)) for c in CLASSES],
                    axis=1).astype(np.float32)


def score_cam(model, x, layer):
    """tf-keras-vis' Scorecam with every channel. It weighs each channel by score(softmax(model
    output)), which over one logit is always 1; so it runs on a model whose outputs are (0, z):
    their softmax is (1 - sigmoid(z), sigmoid(z)), and log p1 - log p0 gives back z (class 1), its
    negative -z (class 0). The masks, batches, weighted sum, ReLU and normalisation are its own."""
    z = model.output
    two = keras.layers.Concatenate(name="zero_and_logit")([keras.layers.Lambda(tf.zeros_like)(z), z])
    wrapped = keras.Model(model.inputs, two)
    method = Scorecam(wrapped, clone=False)
    maps = []
    for cls in CLASSES:
        logit = (lambda p: tf.math.log(p[:, 1]) - tf.math.log(p[:, 0])) if cls == 1 else \
                (lambda p: tf.math.log(p[:, 0]) - tf.math.log(p[:, 1]))
        maps.append(np.asarray(method(logit, x, penultimate_layer=layer, seek_penultimate_conv_layer=False,
                                      expand_cam=False, batch_size=32)))
    return np.stack(maps, axis=1).astype(np.float32)


def smoothgrad_noise(seed, shape):
    """runtime/explain/saliency.h's smoothgrad_normal(seed, index) for index = 0 .. prod(shape) - 1:
    splitmix64 counters, Box-Muller."""
    mask = (1 << 64) - 1

    def splitmix(z):
        with np.errstate(over="ignore"):
            z = z + np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

    def unit(counter):
        base = np.uint64((seed * 0xD1B54A32D192ED03) & mask)
        with np.errstate(over="ignore"):
            return (splitmix(base + counter) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53

    index = np.arange(int(np.prod(shape)), dtype=np.uint64)
    u1, u2 = unit(np.uint64(2) * index), unit(np.uint64(2) * index + np.uint64(1))
    return (np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)).reshape(shape)


def smoothgrad(model, x, samples, noise, seed):
    """tf-keras-vis' Saliency with smooth_samples, its np.random.normal(0, sigma, shape) replaced by
    sigma x our generator's normals (shape (samples, N, H, W, C), C order: index (s N + i) E + e)."""
    real_normal = tkv_saliency.np.random.normal

    def ours(loc, sigma, shape):
        assert loc == 0.0
        return np.asarray(sigma) * smoothgrad_noise(seed, shape)

    tkv_saliency.np.random.normal = ours
    try:
        return np.asarray(Saliency(model, clone=False)(score(1), x, smooth_samples=samples, smooth_noise=noise))
    finally:
        tkv_saliency.np.random.normal = real_normal


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "explain"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    pixels = photos([os.path.join(ROOT, p) for p in PHOTOS], 150)  # (2, 150, 150, 3) uint8
    x = pixels.astype(np.float32) / 255.0
    model = tutorial_model()
    z = model.predict(x, verbose=0)[:, 0]
    out = {"x": pixels, "scores": np.stack([-z, z], axis=1).astype(np.float32)}
    out["book_gradcam_conv2d_4"] = book_gradcam(model, x, "conv2d_4")
    out["book_gradcam_conv2d_3"] = book_gradcam(model, x, "conv2d_3")
    out["gradcam_conv2d_4"] = tkv_cam(Gradcam(model, clone=False), model, x, "conv2d_4")
    out["gradcampp_conv2d_4"] = tkv_cam(GradcamPlusPlus(model, clone=False), model, x, "conv2d_4")
    out["layercam_conv2d_4"] = tkv_cam(Layercam(model, clone=False), model, x, "conv2d_4")
    out["scorecam_conv2d_4"] = score_cam(model, x, "conv2d_4")
    sal = [np.asarray(Saliency(model, clone=False)(score(c), x)) for c in CLASSES]
    assert np.array_equal(sal[0], sal[1]), "saliency of -z and of z must be the same map"
    out["saliency"] = sal[1][:, None].astype(np.float32)
    out["smoothgrad"] = smoothgrad(model, x, 4, 0.2, 1)[:, None].astype(np.float32)

    print(f"logits z: {z}")
    for name, a in out.items():
        np.save(os.path.join(args.out, name + ".npy"), a)
        if a.dtype == np.float32 and a.ndim == 4:
            flat = a.reshape(a.shape[0] * a.shape[1], -1)
            print(f"{name:24s} {a.shape}  per map: max {np.round(flat.max(1), 3)}  "
                  f"nonzero {np.round((flat > 0).mean(1), 2)}")
    import scipy
    versions = {"tensorflow": tf.__version__, "tf_keras": keras.__version__, "scipy": scipy.__version__,
                "tf_keras_vis": getattr(tf_keras_vis, "__version__", "?"), "numpy": np.__version__}
    json.dump(versions, open(os.path.join(args.out, "versions.json"), "w"), indent=1)
    print(versions)


if __name__ == "__main__":
    main()
