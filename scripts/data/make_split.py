#!/usr/bin/env python3
"""Builds the Keras tutorial's Dogs vs. Cats split from Kaggle's download:

  OUT/train/{cats,dogs}       cat.0 - cat.999      dog.0 - dog.999       (1000 + 1000)
  OUT/validation/{cats,dogs}  cat.1000 - cat.1499  dog.1000 - dog.1499   (500 + 500)
  OUT/test/{cats,dogs}        cat.1500 - cat.1999  dog.1500 - dog.1999   (500 + 500)

SOURCE is what users download from Kaggle's "Dogs vs. Cats" competition: train.zip (members
train/cat.0.jpg ...), the whole competition zip holding train.zip, or an unpacked folder of
cat.N.jpg / dog.N.jpg files. Only the standard library is needed.

  scripts/data/make_split.py ~/Downloads/train.zip dogs-vs-cats
  build/apps/train_gpu --data dogs-vs-cats
"""
import argparse
import io
import os
import shutil
import sys
import zipfile

SPLITS = [("train", 0, 1000), ("validation", 1000, 1500), ("test", 1500, 2000)]
CLASSES = [("cats", "cat"), ("dogs", "dog")]


def die(msg):
    sys.exit(f"make_split: {msg}")


class Source:
    """Reads cat.N.jpg / dog.N.jpg by name from a zip (nested or not) or a folder."""

    def __init__(self, path):
        if os.path.isdir(path):
            self.names = {n: os.path.join(path, n) for n in os.listdir(path)}
            if "train" in self.names and os.path.isdir(self.names["train"]) and "cat.0.jpg" not in self.names:
                sub = self.names["train"]
                self.names = {n: os.path.join(sub, n) for n in os.listdir(sub)}
            self.zip = None
            return
        if not os.path.exists(path):
            die(f"{path}: no such file; give Kaggle's train.zip (or the folder it unpacks to)")
        try:
            z = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            die(f"{path}: not a zip file (incomplete download?); download train.zip again from Kaggle")
        inner = [n for n in z.namelist() if os.path.basename(n) == "train.zip"]
        if inner and not any(os.path.basename(n) == "cat.0.jpg" for n in z.namelist()):
            z = zipfile.ZipFile(io.BytesIO(z.read(inner[0])))  # the competition zip holds train.zip
        self.zip = z
        self.names = {os.path.basename(n): n for n in z.namelist() if not n.endswith("/")}

    def copy(self, name, dst):
        if name not in self.names:
            die(f"{name} is not in the source; it should hold Kaggle's 25,000 training photos "
                "(cat.0.jpg ... dog.12499.jpg)")
        if self.zip is None:
            shutil.copyfile(self.names[name], dst)
        else:
            with self.zip.open(self.names[name]) as src, open(dst, "wb") as out:
                shutil.copyfileobj(src, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("source", help="Kaggle's train.zip, the competition zip, or an unpacked folder")
    ap.add_argument("out", help="folder to create (train/, validation/, test/ inside)")
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    a = ap.parse_args()
    occupied = os.path.exists(a.out) and (not os.path.isdir(a.out) or os.listdir(a.out))
    if occupied and not a.force:
        die(f"{a.out} already exists; remove it or pass --force")
    src = Source(a.source)
    # Build next to OUT and rename at the end, so an error never leaves a half-made split.
    tmp = a.out.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for split, lo, hi in SPLITS:
            for folder, prefix in CLASSES:
                d = os.path.join(tmp, split, folder)
                os.makedirs(d)
                for i in range(lo, hi):
                    name = f"{prefix}.{i}.jpg"
                    src.copy(name, os.path.join(d, name))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    elif os.path.exists(a.out):
        os.remove(a.out)
    os.rename(tmp, a.out)
    for split, lo, hi in SPLITS:
        print(f"{os.path.join(a.out, split)}: {hi - lo} cats + {hi - lo} dogs")


if __name__ == "__main__":
    main()
