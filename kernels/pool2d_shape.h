// The geometry of a 2-D pooling window (MaxPooling2D, AveragePooling2D), shared by the CPU
// reference, the fast path and the CUDA kernels: square pool k, square stride s, and Keras'
// (TensorFlow's) valid/same padding from runtime/core/window.h. Padded positions are not
// elements: max pooling never picks them (-inf padding), average pooling does not count them.
#pragma once
#include "runtime/core/window.h"

namespace acts {

struct Pool2dShape {
  int N = 0, H = 0, W = 0, C = 0;  // input (N, H, W, C), channels_last
  int k = 2, s = 2;                // pool and stride
  int OH = 0, OW = 0;              // output rows and columns
  int pad_top = 0, pad_left = 0;   // window (oh, ow) starts at (oh s - pad_top, ow s - pad_left)
};

inline Pool2dShape pool2d_shape(Padding p, int N, int H, int W, int C, int k, int s) {
  const Window1d rows = window_1d(p, H, k, s), cols = window_1d(p, W, k, s);
  Pool2dShape g;
  g.N = N, g.H = H, g.W = W, g.C = C, g.k = k, g.s = s;
  g.OH = rows.out > 0 ? rows.out : 0;
  g.OW = cols.out > 0 ? cols.out : 0;
  g.pad_top = rows.pad_before, g.pad_left = cols.pad_before;
  return g;
}

}  // namespace acts
