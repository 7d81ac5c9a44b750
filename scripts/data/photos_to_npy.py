#!/usr/bin/env python3
"""Turns photo folders into x.npy / y.npy for builds without OpenCV (train_gpu and dump_acts
read them through load_split, e.g. on a GPU machine built with -DACTS_WITH_OPENCV=OFF).

  scripts/data/photos_to_npy.py dogs-vs-cats dogs-vs-cats-npy          # train/ validation/ test/
  scripts/data/photos_to_npy.py dogs-vs-cats/train train-npy --size 150

SRC is one split (class sub-folders, as Keras' flow_from_directory wants) or a folder of splits
(train/, validation/, test/). Each split becomes OUT[/split]/x.npy (N, H, W, 3) uint8, y.npy (N)
float32 labels and classes.txt, with Keras' semantics: classes = sorted sub-folders, files with
png/jpg/jpeg/bmp/ppm/tif/tiff endings sorted by folder then name, PIL .convert('RGB'), NEAREST
resize (what keras_preprocessing's load_img does). Needs numpy and Pillow.
"""
import argparse
import os
import sys

try:
    import numpy as np
    from PIL import Image
except ImportError as e:
    sys.exit(f"photos_to_npy: {e.name} is missing; pip install numpy pillow")

EXTS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")  # Keras' white list (bare suffixes)


def die(msg):
    sys.exit(f"photos_to_npy: {msg}")


def list_split(d):
    """Keras' DirectoryIterator listing: (classes, [(relative path, label)])."""
    classes = sorted(c for c in os.listdir(d) if os.path.isdir(os.path.join(d, c)))
    if len(classes) < 2:
        die(f"{d}: found {len(classes)} class folders ({', '.join(classes)}); give 2 or more, one per class")
    files = []
    for label, c in enumerate(classes):
        n = 0
        for root, _, names in sorted(os.walk(os.path.join(d, c)), key=lambda w: w[0]):
            for name in sorted(names):
                if name.lower().endswith(EXTS):
                    files.append((os.path.relpath(os.path.join(root, name), d), label))
                    n += 1
        if n == 0:
            die(f"{os.path.join(d, c)}: class folder has no images")
    return classes, files


def convert(src, out, h, w):
    classes, files = list_split(src)
    x = np.empty((len(files), h, w, 3), np.uint8)
    y = np.empty(len(files), np.float32)
    kept = 0
    for rel, label in files:
        try:
            with Image.open(os.path.join(src, rel)) as im:
                im = im.convert("RGB")
                if im.size != (w, h):
                    im = im.resize((w, h), Image.NEAREST)
                x[kept] = np.asarray(im)
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            print(f"warning: {os.path.join(src, rel)}: skipped: {e}", file=sys.stderr)
            continue
        y[kept] = label
        kept += 1
    os.makedirs(out, exist_ok=True)
    for name, arr in (("x.npy", x[:kept]), ("y.npy", y[:kept])):
        np.save(os.path.join(out, name + ".tmp.npy"), arr)  # then rename: never a half-written file
        os.replace(os.path.join(out, name + ".tmp.npy"), os.path.join(out, name))
    with open(os.path.join(out, "classes.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    print(f"{out}: {kept} images of {h}x{w} ({len(files) - kept} skipped), classes {', '.join(classes)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, nargs="+", default=[150], metavar=("H", "W"),
                    help="target height [width] (default 150, the tutorial's)")
    a = ap.parse_args()
    if len(a.size) > 2 or min(a.size) < 1:
        die("--size takes H or H W, positive")
    h, w = a.size[0], a.size[-1]
    if not os.path.isdir(a.src):
        die(f"{a.src}: no such folder")
    splits = [s for s in ("train", "validation", "test") if os.path.isdir(os.path.join(a.src, s))]
    if splits:
        for s in splits:
            convert(os.path.join(a.src, s), os.path.join(a.out, s), h, w)
    else:
        convert(a.src, a.out, h, w)


if __name__ == "__main__":
    main()
