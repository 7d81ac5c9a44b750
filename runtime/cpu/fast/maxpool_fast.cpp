// MaxPooling2D (square pool P, stride P, floor) with the channel loop innermost, so both passes
// vectorise over C; the reference loops take the max per channel across the window instead.
// Backward finds each window's argmax as the first element equal to the forward output y (no
// argmax cache needed): the FIRST maximum in row-major (i, j) order, the reference's tie rule.
// Windows do not overlap, so every dx element is written exactly once, without a zero fill.
// With `relu` (the pooled input is a relu's output, CpuBackend's fused conv relu) the relu's
// derivative is applied here too: a window passes its gradient only if its max is > 0, which is
// exactly relu_backward on dx afterwards (dx is non-zero only at the max), without that pass over
// the whole input (the GPU backend does the same).
// Output rows (image, oh) are split across the pool's threads (thread_pool.h); each writes only
// its own input rows, so the split changes nothing. The loops live in plain functions taking
// their sizes by value: inside a lambda the bound C is read through the closure, which the int
// stores to `found` might alias, and GCC then does not vectorise the channel loop (measured:
// backward 4-6x slower).
#include <algorithm>
#include <cstddef>
#include <vector>

#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts::cpu_fast {
namespace {

// Output rows per task: at least ~64 KiB of input each.
size_t grain_rows(int W, int C, int P) { return std::max<size_t>(1, (size_t(1) << 14) / (size_t(W) * C * P)); }

// Output rows [r0, r1) of r = (image, oh).
void forward_rows(const float* x, int H, int W, int C, int P, float* y, size_t r0, size_t r1) {
  const int OH = H / P, OW = W / P;
  for (size_t r = r0; r < r1; ++r) {
    const size_t n = r / OH, oh = r % OH;
    for (int ow = 0; ow < OW; ++ow) {
      float* out = y + (r * OW + ow) * C;
      const float* first = x + ((n * H + oh * P) * W + size_t(ow) * P) * C;
      std::copy(first, first + C, out);
      for (int i = 0; i < P; ++i)
        for (int j = 0; j < P; ++j) {
          const float* in = first + (size_t(i) * W + j) * C;
          for (int c = 0; c < C; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
        }
    }
  }
}

// Output rows [r0, r1): their windows' dx, and the input rows below and right of them that no
// window covers.
void backward_rows(const float* x, const float* y, int H, int W, int C, int P, const float* dy, bool relu,
                   float* dx, size_t r0, size_t r1) {
  const int OH = H / P, OW = W / P;
  std::vector<int> found_buf(static_cast<size_t>(C));  // int, not char: a char* may alias the floats
  std::vector<float> relu_dy(relu ? static_cast<size_t>(C) : 0);
  int* __restrict found = found_buf.data();
  for (size_t r = r0; r < r1; ++r) {
    const size_t n = r / OH, oh = r % OH;
    // Columns cut by the floor get no gradient; nor do the rows below the last window.
    for (size_t h = oh * P; h < (oh + 1 == size_t(OH) ? size_t(H) : (oh + 1) * P); ++h) {
      float* row = dx + (n * H + h) * W * C;
      if (h >= size_t(OH) * P) std::fill(row, row + size_t(W) * C, 0.f);
      else std::fill(row + size_t(OW) * P * C, row + size_t(W) * C, 0.f);
    }
    for (int ow = 0; ow < OW; ++ow) {
      const size_t first = ((n * H + oh * P) * W + size_t(ow) * P) * C;
      const float* __restrict m = y + (r * OW + ow) * C;
      const float* __restrict g = dy + (r * OW + ow) * C;
      if (relu) {  // relu's derivative at the max, which is where the gradient goes
        float* __restrict masked = relu_dy.data();
        for (int c = 0; c < C; ++c) masked[c] = m[c] > 0.f ? g[c] : 0.f;
        g = masked;
      }
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
}

}  // namespace

void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y) {
  parallel_ranges(size_t(N) * (H / P), grain_rows(W, C, P),
                  [=](size_t r0, size_t r1) { forward_rows(x, H, W, C, P, y, r0, r1); });
}

void maxpool_backward(const float* x, const float* y, int N, int H, int W, int C, int P, const float* dy, bool relu,
                      float* dx) {
  if (H / P == 0) {  // no window at all: no gradient anywhere
    std::fill(dx, dx + size_t(N) * H * W * C, 0.f);
    return;
  }
  parallel_ranges(size_t(N) * (H / P), grain_rows(W, C, P),
                  [=](size_t r0, size_t r1) { backward_rows(x, y, H, W, C, P, dy, relu, dx, r0, r1); });
}

}  // namespace acts::cpu_fast
