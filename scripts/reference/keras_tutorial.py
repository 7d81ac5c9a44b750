#!/usr/bin/env python3
"""The Keras tutorial's training run itself (Chollet, Deep Learning with Python, listings 5.5-5.8:
the cats-vs-dogs convnet trained from scratch), in Keras 3 on TensorFlow, writing its history in
train_gpu's history.csv format so that the two runs can be set side by side
(scripts/reference/compare_histories.py): the reference for "the same results as Keras".

As the book: ImageDataGenerator(rescale=1./255).flow_from_directory(target_size=(150, 150),
batch_size=20, class_mode='binary') for train/ and validation/ (keras-preprocessing's, which
Keras 3 no longer ships), the Sequential model, RMSprop(learning_rate=1e-4), binary
cross-entropy, accuracy, fit(steps_per_epoch=100, epochs=30, validation_steps=50).

Keras 3 changed RMSprop's update from Keras 2's lr g / (sqrt(a) + eps), the book's and
train_gpu's default, to lr g / sqrt(a + eps): with eps = 1e-7 a floor of 3.2e-4 under the
denominator. To compare like with like, --rmsprop keras2 runs Keras 2's rule here (a subclass
overriding the update), or train_gpu --rmsprop keras3 runs Keras 3's there.

Usage: keras_tutorial.py --data DIR --out history.csv [--epochs 30] [--steps-per-epoch 100]
                         [--validation-steps 50] [--seed 1] [--rmsprop keras3|keras2]
Needs tensorflow(-cpu), keras-preprocessing, Pillow, scipy: pip-installed when missing.
"""
import argparse
import csv
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
NEEDS = {"tensorflow": "tensorflow-cpu", "keras_preprocessing": "keras-preprocessing==1.1.2", "PIL": "pillow",
         "scipy": "scipy"}


def ensure_packages():
    missing = []
    for module, package in NEEDS.items():
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        print("keras_tutorial: pip install " + " ".join(missing), file=sys.stderr, flush=True)
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet"] + missing)
        if r.returncode != 0:
            sys.exit("keras_tutorial: could not install %s; install them by hand: %s -m pip install %s"
                     % (", ".join(missing), sys.executable, " ".join(missing)))


class HistoryCsv:
    """train_gpu's history.csv columns, one row per epoch, flushed as the run goes."""

    def __init__(self, path):
        self.f = open(path, "w", newline="")
        self.w = csv.writer(self.f)
        self.w.writerow(["epoch", "loss", "acc", "val_loss", "val_acc", "seconds"])

    def row(self, epoch, logs, seconds):
        self.w.writerow([epoch, "%.6f" % logs["loss"], "%.6f" % logs["accuracy"], "%.6f" % logs["val_loss"],
                         "%.6f" % logs["val_accuracy"], "%.3f" % seconds])
        self.f.flush()


def fit_writing_history(keras, model, out, who, **fit_args):
    """model.fit(**fit_args, verbose=2) with a history.csv row written as each epoch ends (its
    seconds included); says at the end how long the whole fit took."""
    history = HistoryCsv(out)
    started = [time.perf_counter()]

    class Rows(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started[0] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            history.row(epoch + 1, logs, time.perf_counter() - started[0])

    t0 = time.perf_counter()
    model.fit(callbacks=[Rows()], verbose=2, **fit_args)
    print("%s: %d epochs in %.1f s; history in %s" % (who, fit_args["epochs"], time.perf_counter() - t0, out))


def rmsprop(keras, rule):
    """RMSprop(learning_rate=1e-4) with Keras 3's update, or with Keras 2's: the same accumulator,
    w -= lr g / (sqrt(a) + eps) instead of lr g / sqrt(a + eps)."""
    if rule == "keras3":
        return keras.optimizers.RMSprop(learning_rate=1e-4)
    ops = keras.ops

    class Keras2RMSprop(keras.optimizers.RMSprop):
        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            gradient = ops.cast(gradient, variable.dtype)
            velocity = self._velocities[self._get_variable_index(variable)]
            self.assign(velocity, ops.add(ops.multiply(self.rho, velocity),
                                          ops.multiply(1 - self.rho, ops.square(gradient))))
            self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient),
                                                 ops.add(ops.sqrt(velocity), self.epsilon)))

    return Keras2RMSprop(learning_rate=1e-4)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder with train/ and validation/, one sub-folder per class")
    ap.add_argument("--out", required=True, help="history.csv to write")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--steps-per-epoch", type=int, default=100)
    ap.add_argument("--validation-steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rmsprop", choices=("keras3", "keras2"), default="keras3",
                    help="RMSprop's update rule: Keras 3's (this Keras) or Keras 2's (the book's, train_gpu's default)")
    a = ap.parse_args()
    for split in ("train", "validation"):
        if not os.path.isdir(os.path.join(a.data, split)):
            sys.exit("keras_tutorial: %s: no %s/ folder; give --data the folder holding train/ and validation/"
                     % (a.data, split))
    ensure_packages()
    import keras
    from keras_preprocessing.image import ImageDataGenerator

    keras.utils.set_random_seed(a.seed)
    gen = ImageDataGenerator(rescale=1.0 / 255)
    flows = [gen.flow_from_directory(os.path.join(a.data, split), target_size=(150, 150), batch_size=20,
                                     class_mode="binary", seed=a.seed) for split in ("train", "validation")]

    def batches(it):  # keras-preprocessing's iterator as the Python generator Keras 3's fit() takes
        while True:
            x, y = next(it)
            yield x, y

    L = keras.layers
    model = keras.Sequential([keras.Input((150, 150, 3))] +
                             [layer for f in (32, 64, 128, 128) for layer in
                              (L.Conv2D(f, 3, activation="relu"), L.MaxPooling2D(2))] +
                             [L.Flatten(), L.Dense(512, activation="relu"), L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=rmsprop(keras, a.rmsprop), metrics=["accuracy"])
    fit_writing_history(keras, model, a.out, "keras_tutorial", x=batches(flows[0]), steps_per_epoch=a.steps_per_epoch,
                        epochs=a.epochs, validation_data=batches(flows[1]), validation_steps=a.validation_steps)


if __name__ == "__main__":
    main()
