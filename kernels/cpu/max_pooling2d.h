// CPU reference: MaxPooling2D, square pool P, stride P, valid (floor) padding, channels_last.
//   x (N, H, W, C) -> y (N, H/P, W/P, C). Backward routes each gradient to the first maximum
//   in row-major window order (ties are measure-zero with real data).
#pragma once
#include <algorithm>
#include <cstddef>

namespace acts::cpu {

template <typename T>
void maxpool_forward(const T* x, int N, int H, int W, int C, int P, T* y) {
  const int OH = H / P, OW = W / P;
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow)
        for (int c = 0; c < C; ++c) {
          T m = x[((size_t(n) * H + oh * P) * W + ow * P) * C + c];
          for (int i = 0; i < P; ++i)
            for (int j = 0; j < P; ++j) m = std::max(m, x[((size_t(n) * H + oh * P + i) * W + ow * P + j) * C + c]);
          y[((size_t(n) * OH + oh) * OW + ow) * C + c] = m;
        }
}

template <typename T>
void maxpool_backward(const T* x, int N, int H, int W, int C, int P, const T* dy, T* dx) {
  const int OH = H / P, OW = W / P;
  std::fill(dx, dx + size_t(N) * H * W * C, T(0));  // rows/cols cut by the floor get no gradient
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow)
        for (int c = 0; c < C; ++c) {
          size_t best = ((size_t(n) * H + oh * P) * W + ow * P) * C + c;
          for (int i = 0; i < P; ++i)
            for (int j = 0; j < P; ++j) {
              const size_t at = ((size_t(n) * H + oh * P + i) * W + ow * P + j) * C + c;
              if (x[at] > x[best]) best = at;
            }
          dx[best] += dy[((size_t(n) * OH + oh) * OW + ow) * C + c];
        }
}

}  // namespace acts::cpu
