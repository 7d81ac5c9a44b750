#!/usr/bin/env python3
"""Keras' side of a run of a model JSON (train_gpu --model FILE.json), as current Keras users train
one: keras.utils.image_dataset_from_directory (batches of 32, shuffled, bilinear resize to the
model's input size) for train/ and validation/, one full pass of each per epoch, the loss chosen by
the last layer (one sigmoid unit: binary cross-entropy of 0/1 labels; a softmax: sparse categorical
cross-entropy of the class indices), accuracy, and Adam or RMSprop (Keras 3's rules and defaults)
at the given learning rate. Writes train_gpu's history.csv columns
(scripts/reference/compare_histories.py sets the two side by side).

train_gpu's counterpart:
  train_gpu --model FILE.json --data DIR --input-pipeline image_dataset_from_directory \
            --optimizer adam --lr 1e-3 --epochs 30 --seed S          (RMSprop: --rmsprop keras3)

Usage: keras_model_run.py --model FILE.json --data DIR --out history.csv [--optimizer adam|rmsprop]
                          [--lr 1e-3] [--epochs 30] [--seed 1]
Needs tensorflow(-cpu): pip-installed when missing.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pip_need import need  # noqa: E402  (scripts/reference)
from keras_tutorial import fit_writing_history  # noqa: E402  (history.csv in train_gpu's columns)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="Keras model JSON (model.to_json())")
    ap.add_argument("--data", required=True, help="folder with train/ and validation/, one sub-folder per class")
    ap.add_argument("--out", required=True, help="history.csv to write")
    ap.add_argument("--optimizer", choices=("adam", "rmsprop"), default="rmsprop")
    ap.add_argument("--lr", type=float, default=1e-3, help="learning rate (Keras 3's default for both: 1e-3)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    for split in ("train", "validation"):
        if not os.path.isdir(os.path.join(a.data, split)):
            sys.exit("keras_model_run: %s: no %s/ folder; give --data the folder holding train/ and validation/"
                     % (a.data, split))
    try:
        with open(a.model) as f:
            model_json = f.read()
        json.loads(model_json)
    except (OSError, ValueError) as e:
        sys.exit("keras_model_run: %s: %s; give --model a Keras model JSON" % (a.model, e))
    need("tensorflow", "tensorflow-cpu")
    import keras

    keras.utils.set_random_seed(a.seed)
    model = keras.models.model_from_json(model_json)
    height, width = model.inputs[0].shape[1:3]
    binary = model.outputs[0].shape[-1] == 1
    data = [keras.utils.image_dataset_from_directory(
        os.path.join(a.data, split), image_size=(height, width), batch_size=32, seed=a.seed,
        label_mode="binary" if binary else "int") for split in ("train", "validation")]
    opt = (keras.optimizers.Adam if a.optimizer == "adam" else keras.optimizers.RMSprop)(learning_rate=a.lr)
    model.compile(optimizer=opt, loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    fit_writing_history(keras, model, a.out, "keras_model_run", x=data[0], epochs=a.epochs, validation_data=data[1])


if __name__ == "__main__":
    main()
