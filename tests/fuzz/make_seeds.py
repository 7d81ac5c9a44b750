#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz corpora (tests/fuzz/corpus/<parser>/seed_*):
small valid files of every format each parser reads, and a few edge cases. libFuzzer's merges
add the inputs it found (named by their SHA-1) next to them. Standard library only.
Usage: python3 tests/fuzz/make_seeds.py"""
import io
import json
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ODD = os.path.join(ROOT, "tests", "fixtures", "odd_images")
KERAS = os.path.join(ROOT, "tests", "fixtures", "keras")


def put(parser, name, data):
    folder = os.path.join(HERE, "corpus", parser)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed_" + name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def odd(name):
    with open(os.path.join(ODD, name), "rb") as f:
        return f.read()


def layer(cls, **cfg):
    return {"class_name": cls, "config": cfg}


def model_json():
    small = [layer("Conv2D", name="c", batch_input_shape=[None, 8, 8, 3], filters=2, kernel_size=[3, 3],
                   strides=[1, 1], padding="valid", data_format="channels_last", dilation_rate=1,
                   activation="relu", use_bias=True),
             layer("MaxPooling2D", pool_size=[2, 2], strides=[2, 2], padding="valid"),
             layer("Dropout", rate=0.5), layer("Flatten"), layer("Dense", units=4),
             layer("Activation", activation="relu"), layer("Dense", units=1, activation="sigmoid")]
    put("model_json", "keras22.json", json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": small}}))
    put("model_json", "keras20.json", json.dumps({"class_name": "Sequential", "config": small}))
    keras3 = [layer("InputLayer", batch_shape=[None, 4, 4, 1]),
              layer("Flatten", name="f"),
              layer("Dense", name="d", units=1,
                    activation={"module": "keras.activations", "class_name": "function", "config": {"name": "sigmoid"}})]
    put("model_json", "keras3.json", json.dumps({"class_name": "Sequential", "config": {"layers": keras3}}))
    put("model_json", "bad_layer.json", json.dumps({"class_name": "Sequential", "config": [layer("LSTM", units=3)]}))
    put("model_json", "not_json.json", '{"class_name": "Sequential", "config": [')


def safetensors(meta, tensors, data):
    header = dict(tensors)
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + data


def checkpoint():
    model = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
        layer("Flatten", name="flatten_1", batch_input_shape=[None, 2, 2, 1]),
        layer("Dense", name="dense_1", units=1, activation="sigmoid")]}})
    params = struct.pack("<5f", 0.5, -0.25, 1.0, 2.0, 0.125)
    opt = struct.pack("<5f", 0.01, 0.02, 0.03, 0.04, 0.05)
    tensors = {"dense_1/kernel": {"dtype": "F32", "shape": [4, 1], "data_offsets": [0, 16]},
               "dense_1/bias": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]}}
    meta = {"format": "acts-checkpoint", "version": "1", "model_json": model, "epoch": "3",
            "crc32": str(zlib.crc32(params))}
    put("checkpoint", "params.safetensors", safetensors(meta, tensors, params))
    with_opt = dict(tensors)
    with_opt["optimizer/dense_1/kernel"] = {"dtype": "F32", "shape": [4, 1], "data_offsets": [20, 36]}
    with_opt["optimizer/dense_1/bias"] = {"dtype": "F32", "shape": [1], "data_offsets": [36, 40]}
    meta2 = dict(meta, crc32=str(zlib.crc32(opt, zlib.crc32(params))))
    put("checkpoint", "with_optimizer.safetensors", safetensors(meta2, with_opt, params + opt))
    put("checkpoint", "foreign.safetensors", safetensors({"format": "pt"}, {}, b""))
    put("checkpoint", "model_json_instead.safetensors", model)


def npy(descr, shape, data, version=1):
    dims = "(" + ",".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, dims)
    lenfmt = "<H" if version == 1 else "<I"
    pre = 6 + 2 + struct.calcsize(lenfmt)
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(lenfmt, len(h)) + h.encode() + data


def npys():
    put("npy", "f4_2x3.npy", npy("<f4", [2, 3], struct.pack("<6f", *range(6))))
    put("npy", "u1_4.npy", npy("|u1", [4], bytes([0, 1, 128, 255])))
    put("npy", "f4_0d.npy", npy("<f4", [], struct.pack("<f", 2.5)))
    put("npy", "i8_2_v2.npy", npy("<i8", [2], struct.pack("<2q", -1, 7), version=2))
    put("npy", "f8_1x1.npy", npy("<f8", [1, 1], struct.pack("<d", 0.5)))
    put("npy", "b1_empty.npy", npy("|b1", [0, 3], b""))
    put("npy", "i4_truncated.npy", npy("<i4", [3], struct.pack("<2i", 1, 2)))
    put("npy", "fortran.npy", npy("<f4", [1], b"\0\0\0\0").replace(b"False", b"True "))


IMAGES = ["gray.jpg", "exif_rotated.jpg", "cmyk.jpg", "gray.png", "palette_trns.png", "gray16.png", "la.png",
          "rgb.bmp", "rgb.ppm", "rgb.tif"]


def png_header(w, h):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def images():
    for name in IMAGES:
        put("image_header", name, odd(name))
        put("image_decode", name, b"\x00" + odd(name))  # options byte 0: nearest, 1x1
    jpg = odd("gray.jpg")
    put("image_header", "truncated.jpg", jpg[: len(jpg) // 2])
    put("image_decode", "truncated.jpg", b"\x04" + jpg[: len(jpg) // 2])  # bilinear, 2x2
    put("image_decode", "rgb_area.png", b"\x20" + odd("gray.png"))        # area, 11x11
    put("image_header", "png_huge.png", png_header(100000, 3))
    put("image_decode", "png_huge.png", b"\x00" + png_header(100000, 3))
    put("image_header", "bmp_core.bmp", b"BM" + b"\0" * 12 + struct.pack("<IHH", 12, 7, 5) + b"\0" * 8)
    put("image_header", "pgm_comment.pgm", b"P5\n# a comment\n 12 34\n255\n")
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 2) + \
        struct.pack(">HHII", 256, 4, 1, 640) + struct.pack(">HHIHH", 257, 3, 1, 480, 0)
    put("image_header", "tiff_be.tif", tiff)


def listing():
    put("listing", "two_classes", "\x01cats/\ndogs/\ncats/a.jpg\ncats/b.PNG\ndogs/sub/c.jpeg\ndogs/d.txt\n")
    put("listing", "symlinked_class", "\x01cats/\ncats/a.jpg\n@dogs\nx/\nx/skipped.bmp\n@cats/link\n")
    put("listing", "empty_class", "\x01cats/\ndogs/\ncats/a.tif\n")
    put("listing", "three_classes", "\x02a/\nb/\nc/\na/1.ppm\nb/2.tiff\nc/3.bmp\nstray.jpg\n")
    put("listing", "no_classes", "\x00only_a_file.jpg\n")


def keras_fixture(name):
    with open(os.path.join(KERAS, name), "rb") as f:
        return f.read()


def stored_zip(entries, compression=zipfile.ZIP_STORED):
    """A zip of (name, bytes), with a fixed date so that the seeds are the same on every run."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, compress_type=compression)
    return out.getvalue()


def keras_files():
    """Keras' own files (full models: the harness passes no --config) and archives around them."""
    for name in ("k3.keras", "k2.h5", "k3_legacy.h5", "k2_0_8.h5"):
        put("keras_file", name, keras_fixture(name))
    with zipfile.ZipFile(os.path.join(KERAS, "k3.keras")) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    weights = dict(entries)["model.weights.h5"]
    put("keras_file", "k3_deflated.keras", stored_zip(entries, zipfile.ZIP_DEFLATED))
    put("keras_file", "k3_sharded.keras",
        stored_zip([e for e in entries if e[0] != "model.weights.h5"] +
                   [("model.weights.json", b'{"weight_map": {}}'), ("model_00000.weights.h5", weights)]))
    put("keras_file", "k3_no_weights.keras", stored_zip([e for e in entries if e[0] != "model.weights.h5"]))
    put("keras_file", "k3_weights_not_hdf5.keras",
        stored_zip([e for e in entries if e[0] != "model.weights.h5"] + [("model.weights.h5", b"not hdf5")]))
    put("keras_file", "k3_weights_only.h5", keras_fixture("k3.weights.h5"))


if __name__ == "__main__":
    model_json()
    checkpoint()
    npys()
    images()
    listing()
    keras_files()
