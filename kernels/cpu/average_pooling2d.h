// CPU reference: AveragePooling2D, channels_last, square pool k, square stride s, Keras' valid/same
// padding (kernels/pool2d_shape.h). x (N, H, W, C) -> y (N, OH, OW, C).
//   y = the sum of the window's real elements / their number: with 'same', TensorFlow divides by
//   the count of non-padded elements of each window, not by k * k. Sums in row-major (i, j) order.
//   Backward: each window's dy / count goes to each of its real elements; overlapping windows
//   accumulate, in (oh, ow) order.
#pragma once
#include <algorithm>
#include <cstddef>

#include "kernels/pool2d_shape.h"

namespace acts::cpu {

template <typename T>
void average_pooling2d_forward(const T* x, const Pool2dShape& g, T* y) {
  for (int n = 0; n < g.N; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        const int h0 = oh * g.s - g.pad_top, w0 = ow * g.s - g.pad_left;
        const int i0 = std::max(0, -h0), i1 = std::min(g.k, g.H - h0);
        const int j0 = std::max(0, -w0), j1 = std::min(g.k, g.W - w0);
        const T count = T((i1 - i0) * (j1 - j0));
        for (int c = 0; c < g.C; ++c) {
          T sum = 0;
          for (int i = i0; i < i1; ++i)
            for (int j = j0; j < j1; ++j) sum += x[((size_t(n) * g.H + h0 + i) * g.W + w0 + j) * g.C + c];
          y[((size_t(n) * g.OH + oh) * g.OW + ow) * g.C + c] = sum / count;
        }
      }
}

template <typename T>
void average_pooling2d_backward(const Pool2dShape& g, const T* dy, T* dx) {
  std::fill(dx, dx + size_t(g.N) * g.H * g.W * g.C, T(0));
  for (int n = 0; n < g.N; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        const int h0 = oh * g.s - g.pad_top, w0 = ow * g.s - g.pad_left;
        const int i0 = std::max(0, -h0), i1 = std::min(g.k, g.H - h0);
        const int j0 = std::max(0, -w0), j1 = std::min(g.k, g.W - w0);
        const T count = T((i1 - i0) * (j1 - j0));
        for (int c = 0; c < g.C; ++c) {
          const T share = dy[((size_t(n) * g.OH + oh) * g.OW + ow) * g.C + c] / count;
          for (int i = i0; i < i1; ++i)
            for (int j = j0; j < j1; ++j) dx[((size_t(n) * g.H + h0 + i) * g.W + w0 + j) * g.C + c] += share;
        }
      }
}

}  // namespace acts::cpu
