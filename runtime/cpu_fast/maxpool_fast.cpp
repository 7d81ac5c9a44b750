// MaxPooling2D (square pool P, stride P, floor) with the channel loop innermost, so both passes
// vectorise over C; the reference loops take the max per channel across the window instead.
// Backward finds each window's argmax as the first element equal to the forward output y (no
// argmax cache needed): the FIRST maximum in row-major (i, j) order, the reference's tie rule.
// Windows do not overlap, so every dx element is written exactly once, without a zero fill.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "cpu_fast.h"

namespace acts::cpu_fast {

void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y) {
  const int OH = H / P, OW = W / P;
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

void maxpool_backward(const float* x, const float* y, int N, int H, int W, int C, int P, const float* dy,
                      float* dx) {
  const int OH = H / P, OW = W / P;
  // Rows and columns cut by the floor get no gradient; every other dx element is written once below.
  for (int n = 0; n < N; ++n)
    for (int h = 0; h < H; ++h) {
      float* row = dx + (size_t(n) * H + h) * W * C;
      if (h >= OH * P) std::fill(row, row + size_t(W) * C, 0.f);
      else std::fill(row + size_t(OW) * P * C, row + size_t(W) * C, 0.f);
    }
  std::vector<int> found_buf(static_cast<size_t>(C));  // int, not char: a char* may alias the floats
  int* __restrict found = found_buf.data();
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        const size_t first = ((size_t(n) * H + oh * P) * W + ow * P) * C;
        const float* __restrict m = y + ((size_t(n) * OH + oh) * OW + ow) * C;
        const float* __restrict g = dy + ((size_t(n) * OH + oh) * OW + ow) * C;
        std::fill(found, found + C, 0);
        for (int i = 0; i < P; ++i)
          for (int j = 0; j < P; ++j) {
            const float* __restrict in = x + first + (size_t(i) * W + j) * C;
            float* __restrict d = dx + first + (size_t(i) * W + j) * C;
            for (int c = 0; c < C; ++c) {  // the first element equal to the window's max takes it
              const float gc = g[c];  // loaded unconditionally, so the select below vectorises
              const int hit = (found[c] == 0) & (in[c] == m[c]);
              d[c] = hit ? gc : 0.f;
              found[c] |= hit;
            }
          }
        // A NaN max equals nothing; the reference then routes the gradient to the window's first element.
        float* d0 = dx + first;
        for (int c = 0; c < C; ++c) {
          const float gc = g[c];
          d0[c] = found[c] ? d0[c] : gc;
        }
      }
}

}  // namespace acts::cpu_fast
