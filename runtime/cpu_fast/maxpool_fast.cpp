// MaxPooling2D (square pool P, stride P, floor) with the channel loop innermost, so both passes
// vectorise over C; the reference loops take the max per channel across the window instead.
// Backward recomputes the argmax (cheaper than caching it): each gradient goes to the FIRST
// maximum of its window in row-major (i, j) order, the reference's tie rule, and the windows do
// not overlap, so it is a plain store.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "cpu_fast.h"

namespace acts::cpu_fast {

void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y) {
  const int OH = H / P, OW = W / P;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        float* out = y + ((size_t(n) * OH + oh) * OW + ow) * C;
        const float* first = x + ((size_t(n) * H + oh * P) * W + ow * P) * C;
        std::copy(first, first + C, out);
        for (int i = 0; i < P; ++i)
          for (int j = 0; j < P; ++j) {
            const float* in = first + (size_t(i) * W + j) * C;
            for (int c = 0; c < C; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
          }
      }
}

void maxpool_backward(const float* x, int N, int H, int W, int C, int P, const float* dy, float* dx) {
  const int OH = H / P, OW = W / P;
  std::fill(dx, dx + size_t(N) * H * W * C, 0.f);  // rows/cols cut by the floor get no gradient
#pragma omp parallel
  {
    std::vector<float> best(static_cast<size_t>(C));
    std::vector<int> at(static_cast<size_t>(C));  // window offset (i * P + j) of each channel's first maximum
#pragma omp for schedule(static)
    for (int n = 0; n < N; ++n)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow) {
          const float* first = x + ((size_t(n) * H + oh * P) * W + ow * P) * C;
          std::copy(first, first + C, best.begin());
          std::fill(at.begin(), at.end(), 0);
          for (int i = 0; i < P; ++i)
            for (int j = 0; j < P; ++j) {
              const float* in = first + (size_t(i) * W + j) * C;
              const int o = i * P + j;
              for (int c = 0; c < C; ++c) {
                const bool more = in[c] > best[c];  // strict: ties keep the earlier position
                best[c] = more ? in[c] : best[c];
                at[c] = more ? o : at[c];
              }
            }
          const float* g = dy + ((size_t(n) * OH + oh) * OW + ow) * C;
          float* d = dx + ((size_t(n) * H + oh * P) * W + ow * P) * C;
          for (int c = 0; c < C; ++c) d[(size_t(at[c] / P) * W + at[c] % P) * C + c] = g[c];
        }
  }
}

}  // namespace acts::cpu_fast
