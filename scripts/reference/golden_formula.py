"""The goldens' weights and inputs formula, shared by the golden scripts (see make_goldens.py's
docstring; tests/cpu/golden_weights.h is its C++ twin, keep the two identical):
  fmix32(h): h ^= h >> 16; h *= 0x85EBCA6B; h ^= h >> 13; h *= 0xC2B2AE35; h ^= h >> 16  (mod 2^32)
  u(stream, k) = fmix32((k + stream * 0x9E3779B9) mod 2^32) / 2^32"""
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
