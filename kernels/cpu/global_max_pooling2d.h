// CPU reference: GlobalMaxPooling2D, channels_last.
//   forward:  x (N, H, W, C) -> y (N, C), y[n, c] = max over (h, w) of x[n, h, w, c]
//   backward: dy (N, C) -> dx (N, H, W, C): dy[n, c] to the FIRST maximum of (n, c) in row-major
//   (h, w) order (TensorFlow's rule for ties), 0 elsewhere.
#pragma once
#include <algorithm>
#include <cstddef>

namespace acts::cpu {

// The pixel index p (h W + w) of the first maximum of (n, c); the first pixel if all are NaN.
template <typename T>
size_t global_max_pooling2d_argmax(const T* x, int n, int H, int W, int C, int c) {
  const size_t hw = size_t(H) * W;
  const T* xn = x + size_t(n) * hw * C + c;
  size_t best = 0;
  for (size_t p = 1; p < hw; ++p)
    if (xn[p * C] > xn[best * C]) best = p;
  return best;
}

template <typename T>
void global_max_pooling2d_forward(const T* x, int N, int H, int W, int C, T* y) {
  const size_t hw = size_t(H) * W;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      y[size_t(n) * C + c] = x[(size_t(n) * hw + global_max_pooling2d_argmax(x, n, H, W, C, c)) * C + c];
}

template <typename T>
void global_max_pooling2d_backward(const T* x, int N, int H, int W, int C, const T* dy, T* dx) {
  const size_t hw = size_t(H) * W;
  std::fill(dx, dx + size_t(N) * hw * C, T(0));
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      dx[(size_t(n) * hw + global_max_pooling2d_argmax(x, n, H, W, C, c)) * C + c] = dy[size_t(n) * C + c];
}

}  // namespace acts::cpu
