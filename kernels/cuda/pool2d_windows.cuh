// Device helpers for the 2-D pooling kernels (max_pooling2d.cu, average_pooling2d.cu): the real
// (non-padded) part of a window, and the windows that contain an input position.
#pragma once
#include "kernels/pool2d_shape.h"

namespace acts::gpu {

// Window `o` along an axis of `in` positions starting at o s - pad: its real offsets [lo, hi).
struct Span {
  int start, lo, hi;
};
__device__ inline Span window_span(int o, int s, int pad, int k, int in) {
  const int start = o * s - pad;
  return {start, start < 0 ? -start : 0, k < in - start ? k : in - start};
}

// The windows along an axis that contain position p: [first, last], empty when first > last.
__device__ inline void windows_of(int p, int s, int pad, int k, int out, int& first, int& last) {
  const int q = p + pad;  // window o covers q when o s <= q <= o s + k - 1
  first = q - k + 1 <= 0 ? 0 : (q - k + s) / s;
  last = q / s < out - 1 ? q / s : out - 1;
}

}  // namespace acts::gpu
