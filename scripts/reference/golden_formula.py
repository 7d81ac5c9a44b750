"""The goldens' weights and inputs formula, shared by the golden scripts (see make_goldens.py's
docstring; tests/cpu/golden_weights.h is its C++ twin, keep the two identical):
  fmix32(h): h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13; h *= 0xC2B2AE35; h ^= h >> 16  (mod 2^32)
  u(stream, k) = fmix32((k + stream * 0x9E3779B9) mod 2^32) / 2^32
  parameters, stream 1, k = index in the flat parameter vector (Keras order and layouts):
    kernel: float32(limit * (2u - 1)), limit = sqrt(6 / (fan_in + fan_out));  bias: float32(0.1 * (2u - 1))"""
import math

import numpy as np


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


def golden_param_arrays(shapes):
    """The parameters of the formula for tensors of `shapes` (in the flat vector's order, Keras
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
