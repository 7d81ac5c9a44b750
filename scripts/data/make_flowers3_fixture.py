#!/usr/bin/env python3
"""Writes tests/fixtures/flowers3/: a tiny three-class split of ../shared/data/flower-photos (daisy,
roses, tulips; 4 train, 2 validation and 1 test photo per class, the first by file name), each
photo resized to 32x32 (Pillow, bicubic) and saved as JPEG quality 90, with ATTRIBUTION.txt
holding the source's credit line of every photo kept (CC BY 2.0). For the multi-class app tests
(tests/apps/multiclass_app_test.cpp): about 30 KB in all.

Run: python3 scripts/data/make_flowers3_fixture.py [--src DIR] [--out DIR]   (needs Pillow)"""
import argparse
import os
import shutil

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNTS = {"train": 4, "validation": 2, "test": 1}
CLASSES = ("daisy", "roses", "tulips")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(ROOT, "..", "shared", "data", "flower-photos"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "flowers3"))
    a = ap.parse_args()
    credits = {}
    with open(os.path.join(a.src, "ATTRIBUTION.txt")) as f:
        for line in f:
            key = line.split(" ", 1)[0]
            if key.count("/") == 2:
                credits[key] = line.rstrip("\n")
    shutil.rmtree(a.out, ignore_errors=True)
    kept = []
    for split, count in COUNTS.items():
        for cls in CLASSES:
            os.makedirs(os.path.join(a.out, split, cls))
            for name in sorted(os.listdir(os.path.join(a.src, split, cls)))[:count]:
                img = Image.open(os.path.join(a.src, split, cls, name)).convert("RGB").resize((32, 32), Image.BICUBIC)
                img.save(os.path.join(a.out, split, cls, name), quality=90)
                kept.append(credits["%s/%s/%s" % (split, cls, name)])
    with open(os.path.join(a.out, "ATTRIBUTION.txt"), "w") as f:
        f.write("Photos from ../shared/data/flower-photos (TensorFlow's flower_photos), CC BY 2.0\n"
                "(https://creativecommons.org/licenses/by/2.0/), resized to 32x32 by "
                "scripts/data/make_flowers3_fixture.py. Credits:\n\n")
        f.write("\n".join(kept) + "\n")
    print("wrote", a.out, len(kept), "photos")


if __name__ == "__main__":
    main()
