"""The goldens' weights and inputs formula, shared by the golden scripts (see make_goldens.py's
docstring; tests/cpu/golden_weights.h is its C++ twin, keep the two identical):
  fmix32(h): h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13; h *= 0xC2B2AE35; h ^= h >> 16  (mod 2^32)
  u(stream, k) = fmix32((k + stream * 0x9E3779B9) mod 2^32) / 2^32
  parameters, stream 1, k = index in the flat parameter vector (Keras order and layouts):
    kernel: float32(limit * (2u - 1)), limit = sqrt(6 / (fan_in + fan_out));  bias: float32(0.1 * (2u - 1))
and how they store a golden tensor (store(): a subsample plus float64 sums of the whole; the C++
side that checks it is tests/golden_store.h)."""
import math
import os

import numpy as np

# Per-sample layers of the tutorial model at image size `size`: (keras name, kind, filters/units)
LAYERS = [("conv2d_1", "conv", 32), ("max_pooling2d_1", "pool", 0), ("conv2d_2", "conv", 64),
          ("max_pooling2d_2", "pool", 0), ("conv2d_3", "conv", 128), ("max_pooling2d_3", "pool", 0),
          ("conv2d_4", "conv", 128), ("max_pooling2d_4", "pool", 0), ("flatten_1", "flatten", 0),
          ("dense_1", "dense", 512), ("dense_2", "dense", 1)]
SAMPLE_ABOVE = 16_384  # elements; bigger tensors are stored as flat[::stride] plus checksums()
TARGET_SAMPLES = 8_192
CHECKSUM_STREAM = 4  # u(4, k) weighs the position-weighted checksum


def uniform(stream, count, start=0):
    """u(stream, k) for k in [start, start + count), float64."""
    with np.errstate(over="ignore"):
        h = (np.arange(start, start + count, dtype=np.uint64) + np.uint64(stream * 0x9E3779B9)) & np.uint64(0xFFFFFFFF)
        h = h.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    return h.astype(np.float64) / 4294967296.0


def param_shapes(size, layers=LAYERS):
    """[(name, shape)] in the Graph's flat order, Keras layouts, of a model of `layers` (the
    tutorial's by default) at image size `size`."""
    shapes, h, c = [], size, 3
    for name, kind, n in layers:
        if kind == "conv":
            shapes += [(name + "/kernel", (3, 3, c, n)), (name + "/bias", (n,))]
            h, c = h - 2, n
        elif kind == "pool":
            h //= 2
        elif kind == "flatten":
            c = h * h * c
        else:
            shapes += [(name + "/kernel", (c, n)), (name + "/bias", (n,))]
            c = n
    return shapes


def golden_param_list(shapes):
    """The formula's parameters for tensors of `shapes` (in the flat vector's order, Keras
    layouts), as float32 numpy arrays."""
    out, k = [], 0
    for shape in shapes:
        count = math.prod(shape)
        u = uniform(1, count, k)
        if len(shape) > 1:
            receptive = math.prod(shape[:-2])
            limit = math.sqrt(6.0 / (receptive * shape[-2] + receptive * shape[-1]))
            w = limit * (2.0 * u - 1.0)
        else:
            w = 0.1 * (2.0 * u - 1.0)
        out.append(w.astype(np.float32).reshape(shape))
        k += count
    return out


def golden_param_arrays(size):
    """{name: float64 array} holding the float32-rounded weights of the formula for the tutorial
    model at image size `size`, Keras layouts."""
    shapes = param_shapes(size)
    return {name: w.astype(np.float64) for (name, _), w in zip(shapes, golden_param_list([s for _, s in shapes]))}


def golden_input_array(stream, n, size):
    """(n, size, size, 3) float64 holding float32(u(stream, k)), k the flat NHWC index."""
    return uniform(stream, n * size * size * 3).astype(np.float32).astype(np.float64).reshape(n, size, size, 3)


def save(out, fname, array):
    np.save(os.path.join(out, fname), np.ascontiguousarray(array, dtype=np.float32))
    return fname


def sample_stride(shape, rows_too):
    """1, or the odd stride giving about TARGET_SAMPLES of flat[::stride]: coprime with the last
    dimension (every channel / column is hit) and, with rows_too, below it (every row is hit)."""
    n = math.prod(shape)
    if n <= SAMPLE_ABOVE:
        return 1
    stride = -(-n // TARGET_SAMPLES) | 1
    assert math.gcd(stride, shape[-1]) == 1 and (not rows_too or stride < shape[-1]), (shape, stride)
    return stride


def checksums(flat, skip=None):
    """float64 sum, sum of |v|, sum of u(4, k) v[k] and max |v| of the whole flat tensor, less `skip`."""
    w = uniform(CHECKSUM_STREAM, flat.size)
    if skip is not None:
        flat, w = flat[~skip], w[~skip]
    return {"sum": float(flat.sum()), "abs": float(np.abs(flat).sum()), "weighted": float((w * flat).sum()),
            "max_abs": float(np.abs(flat).max(initial=0.0))}


def store(out, fname, flat, shape, rows, rows_too, skip=None):
    """The manifest entry of one tensor (flat float64, `shape`): the file of flat[::stride], the
    stride, checksums() and, when subsampled, its line sums: with the tensor viewed as (rows, -1)
    and as (-1, last dim), [row sums, row sums of |v|, column sums, column sums of |v|] (float64;
    `skip` elements count as 0), which pin each row and column of the elements the file skips."""
    stride = sample_stride(shape, rows_too)
    entry = {"file": save(out, fname + ".npy", flat[::stride]), "stride": stride,
             "checksums": checksums(flat, skip)}
    if stride > 1:
        v = flat if skip is None else np.where(skip, 0.0, flat)
        r, c = v.reshape(rows, -1), v.reshape(-1, shape[-1])
        lines = np.concatenate([r.sum(1), np.abs(r).sum(1), c.sum(0), np.abs(c).sum(0)])
        # float64: float32 would round a line sum by more than the test allows
        np.save(os.path.join(out, fname + "_lines.npy"), lines)
        entry["lines"] = {"file": fname + "_lines.npy", "rows": rows, "cols": shape[-1]}
    return entry
