#!/usr/bin/env python3
"""Records what Keras' data pipeline (keras_preprocessing + Pillow + scipy) produces, for the
C++ data tests (tests/data_*_test.cpp) to match:

  tests/fixtures/photos/{cats,dogs}/   3 + 3 real photos copied from ../shared (Dogs vs. Cats)
  tests/fixtures/odd_images/           small odd files made here: grayscale, RGBA, LA, palette,
                                   16-bit, CMYK, EXIF-rotated, BMP, PPM, TIFF, a larger JPEG
  tests/fixtures/data_golden/
    photos.json, photos_150.npy    flow_from_directory(target_size=(150, 150), class_mode='binary',
                                   shuffle=False, rescale=1/255): file order, labels,
                                   class_indices, the "Found" line, pixels (uint8; the float
                                   batch is checked here to be exactly uint8 * float32(1/255))
    odd.json, odd_29x41.npy        load_img(f, target_size=(29, 41)) of every odd image
    gray16_values.npy              the 16-bit samples of odd_images/gray16.png
    pil_nearest_{pairs,index}.npy  the source index Pillow's NEAREST resize picks, per (src, dst)
    augment.json, augment_{in,out}.npy   ImageDataGenerator.apply_transform for fixed parameters
    iterator.json                  Iterator(n, batch, shuffle, seed) index sequences

Run from the repository root:
  python3 -m venv /tmp/kp && /tmp/kp/bin/pip install keras-preprocessing==1.1.2 pillow==13.0.0 \
      numpy==2.4.6 scipy==1.17.1
  /tmp/kp/bin/python scripts/reference/make_data_golden.py [--shared ../shared/data/dogs-vs-cats]
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np
import PIL
import scipy
from PIL import Image
import keras_preprocessing
from keras_preprocessing.image import ImageDataGenerator, Iterator, load_img

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))  # this file is in scripts/X/
DATA = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(DATA, "data_golden")
# cat.10 sorts between cat.1 and cat.2, as Python (and Keras) sort names.
PHOTOS = {"cats": ["cat.1.jpg", "cat.10.jpg", "cat.2.jpg"], "dogs": ["dog.0.jpg", "dog.11.jpg", "dog.3.jpg"]}


def write_png16_rgb(path, a):
    """16-bit RGB PNG (Pillow cannot write one): IHDR, one zlib IDAT, filter 0 rows."""
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def photos(shared):
    dst = os.path.join(DATA, "photos")
    shutil.rmtree(dst, ignore_errors=True)
    for cls, names in PHOTOS.items():
        os.makedirs(os.path.join(dst, cls))
        for n in names:
            shutil.copy(os.path.join(shared, "train", cls, n), os.path.join(dst, cls, n))
    gen = ImageDataGenerator(rescale=1.0 / 255)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        it = gen.flow_from_directory(dst, target_size=(150, 150), class_mode="binary", batch_size=6, shuffle=False)
    x, y = next(it)
    u8 = np.stack([np.asarray(load_img(os.path.join(dst, f), target_size=(150, 150))) for f in it.filenames])
    assert x.dtype == np.float32 and np.array_equal(x, u8.astype(np.float32) * np.float32(1.0 / 255)), "rescale"
    np.save(os.path.join(OUT, "photos_150.npy"), u8)
    json.dump({"found": out.getvalue().strip(), "filenames": it.filenames, "labels": y.tolist(),
               "class_indices": it.class_indices}, open(os.path.join(OUT, "photos.json"), "w"), indent=1)


def odd_images():
    dst = os.path.join(DATA, "odd_images")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (23, 37), dtype=np.uint8)
    p = lambda n: os.path.join(dst, n)
    Image.fromarray(rgb[..., 0]).save(p("gray.png"))
    Image.fromarray(np.dstack([rgb, alpha])).save(p("rgba.png"))
    Image.fromarray(np.dstack([rgb[..., 1], alpha]), "LA").save(p("la.png"))
    pal = Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.save(p("palette.png"))
    pal.save(p("palette_trns.png"), transparency=3)
    gray16 = rng.integers(0, 65536, (23, 37)).astype(np.uint16)
    Image.fromarray(gray16).save(p("gray16.png"))
    np.save(os.path.join(OUT, "gray16_values.npy"), gray16.astype(np.int32))  # PIL clips them (see dataset.h)
    write_png16_rgb(p("rgb16.png"), rng.integers(0, 65536, (23, 37, 3)).astype(np.uint16))
    Image.fromarray(rgb).convert("CMYK").save(p("cmyk.jpg"), quality=95)
    Image.fromarray(rgb[..., 2]).save(p("gray.jpg"), quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90": PIL (and so Keras) ignores it
    Image.fromarray(rgb).save(p("exif_rotated.jpg"), quality=95, exif=exif)
    Image.fromarray(rgb).save(p("rgb.bmp"))
    Image.fromarray(rgb).save(p("rgb.ppm"))
    Image.fromarray(rgb).save(p("rgb.tif"))
    Image.fromarray(rgb).save(p("upper_case.PNG"))
    big = np.asarray(Image.fromarray(rgb).resize((301, 211), Image.BILINEAR))
    Image.fromarray(big).save(p("big.jpg"), quality=90)
    names = sorted(os.listdir(dst))
    # Where this project deliberately or unavoidably differs from PIL (see runtime/data/dataset.h).
    tol = {"gray16.png": None, "cmyk.jpg": 1}
    x = np.stack([np.asarray(load_img(p(n), target_size=(29, 41))) for n in names])
    np.save(os.path.join(OUT, "odd_29x41.npy"), x)
    json.dump({"names": names, "modes": [Image.open(p(n)).mode for n in names],
               "tolerance": [tol.get(n, 0) for n in names]}, open(os.path.join(OUT, "odd.json"), "w"), indent=1)


def pil_nearest():
    srcs = [1, 2, 3, 7, 37, 149, 150, 199, 200, 201, 255, 256, 300, 333, 401, 640, 1023]
    dsts = [1, 2, 5, 29, 41, 53, 64, 97, 128, 149, 150, 151, 224, 299]
    pairs, index = [], []
    for s in srcs:
        line = Image.fromarray(np.arange(s, dtype=np.int32)[None, :], "I")
        for d in dsts:
            pairs.append((s, d))
            index.extend(np.asarray(line.resize((d, 1), Image.NEAREST))[0].tolist())
    np.save(os.path.join(OUT, "pil_nearest_pairs.npy"), np.array(pairs, np.int32))
    np.save(os.path.join(OUT, "pil_nearest_index.npy"), np.array(index, np.int32))


def augment():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    base = {"theta": 0, "tx": 0, "ty": 0, "shear": 0, "zx": 1, "zy": 1, "flip_horizontal": False}
    cases = [{}, {"theta": 40}, {"theta": -40}, {"tx": 2.6}, {"ty": -3.4}, {"shear": 0.2}, {"shear": 20},
             {"zx": 0.8, "zy": 1.2}, {"flip_horizontal": True},
             {"theta": 17, "tx": -1.5, "ty": 2.25, "shear": -8, "zx": 1.1, "zy": 0.9, "flip_horizontal": True}]
    gen = ImageDataGenerator(fill_mode="nearest")
    params, outs = [], []
    for c in cases:
        p = dict(base, **c)
        params.append(p)
        outs.append(gen.apply_transform(x.astype(np.float32), p).astype(np.float32))
    np.save(os.path.join(OUT, "augment_in.npy"), x)
    np.save(os.path.join(OUT, "augment_out.npy"), np.stack(outs))
    json.dump({"params": params}, open(os.path.join(OUT, "augment.json"), "w"), indent=1)


def iterator():
    cases = []
    for n, b, shuffle, seed, k in [(7, 3, True, 5, 12), (10, 5, True, 123, 8), (6, 6, True, 1, 4),
                                   (7, 3, False, 5, 6), (2000, 20, True, 42, 3)]:
        it = Iterator(n, b, shuffle, seed)
        cases.append({"n": n, "batch": b, "shuffle": shuffle, "seed": seed,
                      "batches": [next(it.index_generator).tolist() for _ in range(k)]})
    json.dump({"cases": cases}, open(os.path.join(OUT, "iterator.json"), "w"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data", "dogs-vs-cats"))
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.shared, "train")):
        sys.exit(f"{a.shared}: no train/ folder; pass --shared DIR holding train/cats, train/dogs")
    os.makedirs(OUT, exist_ok=True)
    photos(a.shared)
    odd_images()
    pil_nearest()
    augment()
    iterator()
    json.dump({"keras_preprocessing": keras_preprocessing.__version__, "pillow": PIL.__version__,
               "numpy": np.__version__, "scipy": scipy.__version__},
              open(os.path.join(OUT, "versions.json"), "w"), indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
