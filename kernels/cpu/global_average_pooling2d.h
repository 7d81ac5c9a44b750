// CPU reference: GlobalAveragePooling2D, channels_last.
//   forward:  x (N, H, W, C) -> y (N, C), y[n, c] = mean over (h, w) of x[n, h, w, c]
//   backward: dy (N, C) -> dx (N, H, W, C), dx[n, h, w, c] = dy[n, c] / (H W)
// Sums are taken in double, so the reference is the exact mean rounded once.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

namespace acts::cpu {

template <typename T>
void global_average_pooling2d_forward(const T* x, int N, int H, int W, int C, T* y) {
  const size_t hw = size_t(H) * W;
  std::vector<double> sum(static_cast<size_t>(C), 0.0);
  for (int n = 0; n < N; ++n) {
    std::fill(sum.begin(), sum.end(), 0.0);
    const T* xn = x + size_t(n) * hw * C;
    for (size_t p = 0; p < hw; ++p)
      for (int c = 0; c < C; ++c) sum[size_t(c)] += double(xn[p * C + c]);
    for (int c = 0; c < C; ++c) y[size_t(n) * C + c] = T(sum[size_t(c)] / double(hw));
  }
}

template <typename T>
void global_average_pooling2d_backward(const T* dy, int N, int H, int W, int C, T* dx) {
  const size_t hw = size_t(H) * W;
  for (int n = 0; n < N; ++n)
    for (size_t p = 0; p < hw; ++p)
      for (int c = 0; c < C; ++c) dx[(size_t(n) * hw + p) * C + c] = T(double(dy[size_t(n) * C + c]) / double(hw));
}

}  // namespace acts::cpu
