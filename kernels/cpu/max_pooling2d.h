// CPU reference: MaxPooling2D, channels_last, square pool k, square stride s, Keras' valid/same
// padding (kernels/pool2d_shape.h). x (N, H, W, C) -> y (N, OH, OW, C).
//   A window's max is taken over its real elements only (padding is -inf: it never wins).
//   Backward routes each window's gradient to the FIRST maximum of the window in row-major (i, j)
//   order, as TensorFlow's MaxPoolGrad does; when windows overlap, an element that is the max of
//   several windows accumulates their gradients, in (oh, ow) order. Elements no window picks get 0.
#pragma once
#include <algorithm>
#include <cstddef>

#include "kernels/pool2d_shape.h"

namespace acts::cpu {

// The index into x of window (n, oh, ow, c)'s first maximum (its first real element when the
// window holds NaN only, as std::max keeps the first operand).
template <typename T>
size_t maxpool_argmax(const T* x, const Pool2dShape& g, int n, int oh, int ow, int c) {
  const int h0 = oh * g.s - g.pad_top, w0 = ow * g.s - g.pad_left;
  const int i0 = std::max(0, -h0), i1 = std::min(g.k, g.H - h0), j0 = std::max(0, -w0), j1 = std::min(g.k, g.W - w0);
  size_t best = ((size_t(n) * g.H + h0 + i0) * g.W + w0 + j0) * g.C + c;
  for (int i = i0; i < i1; ++i)
    for (int j = j0; j < j1; ++j) {
      const size_t at = ((size_t(n) * g.H + h0 + i) * g.W + w0 + j) * g.C + c;
      if (x[at] > x[best]) best = at;
    }
  return best;
}

template <typename T>
void maxpool_forward(const T* x, const Pool2dShape& g, T* y) {
  for (int n = 0; n < g.N; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow)
        for (int c = 0; c < g.C; ++c)
          y[((size_t(n) * g.OH + oh) * g.OW + ow) * g.C + c] = x[maxpool_argmax(x, g, n, oh, ow, c)];
}

template <typename T>
void maxpool_backward(const T* x, const Pool2dShape& g, const T* dy, T* dx) {
  std::fill(dx, dx + size_t(g.N) * g.H * g.W * g.C, T(0));
  for (int n = 0; n < g.N; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow)
        for (int c = 0; c < g.C; ++c)
          dx[maxpool_argmax(x, g, n, oh, ow, c)] += dy[((size_t(n) * g.OH + oh) * g.OW + ow) * g.C + c];
}

// The tutorial's case: pool P, stride P, 'valid' (floor).
template <typename T>
void maxpool_forward(const T* x, int N, int H, int W, int C, int P, T* y) {
  maxpool_forward(x, pool2d_shape(Padding::Valid, N, H, W, C, P, P), y);
}

template <typename T>
void maxpool_backward(const T* x, int N, int H, int W, int C, int P, const T* dy, T* dx) {
  maxpool_backward(x, pool2d_shape(Padding::Valid, N, H, W, C, P, P), dy, dx);
}

}  // namespace acts::cpu
