#!/usr/bin/env python3
"""The book's second-edition model (Deep Learning with Python, 2nd ed., section 8.2: Input
180x180x3, data augmentation RandomFlip("horizontal"), RandomRotation(0.1), RandomZoom(0.2) as a
nested Sequential, Rescaling(1/255), Conv2D 32/64/128/256/256 with MaxPooling2D, Flatten,
Dropout(0.5), Dense(1, sigmoid)) as Keras 3 writes it:

  --json OUT      its model.to_json() (models/second_edition.json)
  --bn-json OUT   issue 21's second proof model (models/flowers_bn.json): Input 150x150x3,
                  Rescaling, Conv2D with strides 2, padding "same" and no bias, each followed by
                  BatchNormalization and a relu Activation, MaxPooling2D, GlobalAveragePooling2D,
                  Dropout, Dense(5, softmax) for the five flower classes
  --small OUT     a small model of the same kinds (Input 20x20x3, the same augmentation block,
                  Rescaling, Conv2D 4, MaxPooling2D, Flatten, Dropout, Dense 1), compiled as the
                  book does and saved as OUT/augmented.keras, with x.npy (2 images, uint8) and
                  out.npy (Keras' predict(x), inference: the augmentation is the identity)
                  (tests/fixtures/keras; a few KB)

Installs tensorflow-cpu with pip when it is missing; seconds."""
import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pip_need import need  # noqa: E402

need("tensorflow", "tensorflow-cpu")
import numpy as np  # noqa: E402
import keras  # noqa: E402

L = keras.layers


def augmentation():
    return keras.Sequential([L.RandomFlip("horizontal"), L.RandomRotation(0.1), L.RandomZoom(0.2)],
                            name="data_augmentation")


def second_edition():
    inputs = keras.Input(shape=(180, 180, 3))
    x = augmentation()(inputs)
    x = L.Rescaling(1. / 255)(x)
    for filters in (32, 64, 128, 256):
        x = L.Conv2D(filters=filters, kernel_size=3, activation="relu")(x)
        x = L.MaxPooling2D(pool_size=2)(x)
    x = L.Conv2D(filters=256, kernel_size=3, activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.5)(x)
    outputs = L.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def small():
    inputs = keras.Input(shape=(20, 20, 3))
    x = augmentation()(inputs)
    x = L.Rescaling(1. / 255)(x)
    x = L.Conv2D(4, 3, activation="relu")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.5)(x)
    outputs = L.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def flowers_bn():
    inputs = keras.Input(shape=(150, 150, 3))
    x = L.Rescaling(1. / 255)(inputs)
    for filters, strides in ((32, 2), (64, 1), (128, 2), (128, 1)):
        x = L.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
        if filters == 64:
            x = L.MaxPooling2D(2)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.3)(x)
    outputs = L.Dense(5, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--bn-json")
    ap.add_argument("--small")
    a = ap.parse_args()
    if a.json:
        model = second_edition()
        assert model.count_params() == 991041, model.count_params()  # the book's summary
        with open(a.json, "w") as f:
            f.write(model.to_json(indent=1) + "\n")
        print("wrote", a.json)
    if a.bn_json:
        keras.backend.clear_session()
        with open(a.bn_json, "w") as f:
            f.write(flowers_bn().to_json(indent=1) + "\n")
        print("wrote", a.bn_json)
    if a.small:
        keras.backend.clear_session()  # layer names from scratch: conv2d, not conv2d_5
        keras.utils.set_random_seed(4)
        model = small()
        model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
        x = np.random.default_rng(5).integers(0, 256, (2, 20, 20, 3), dtype=np.uint8)
        os.makedirs(a.small, exist_ok=True)
        model.save(os.path.join(a.small, "augmented.keras"))
        np.save(os.path.join(a.small, "augmented_x.npy"), x)
        np.save(os.path.join(a.small, "augmented_out.npy"), model.predict(x.astype(np.float32), verbose=0))
        print("wrote", a.small)


if __name__ == "__main__":
    main()
