// MaxPooling2D (square pool P, stride P, floor) with the channel loop innermost, so both passes
// vectorise over C; the reference loops take the max per channel across the window instead.
// Backward finds each window's argmax as the first element equal to the forward output y (no
// argmax cache needed): the FIRST maximum in row-major (i, j) order, the reference's tie rule.
// Windows do not overlap, so every dx element is written exactly once, without a zero fill.
// With `relu` (the pooled input is a relu's output, CpuBackend's fused conv relu) the relu's
// derivative is applied here too: a window passes its gradient only if its max is > 0, which is
// exactly relu_backward on dx afterwards (dx is non-zero only at the max), without that pass over
// the whole input (the GPU backend does the same).
// A training forward may also record each window's argmax and sign (a byte per output, the
// `ws` calls): the backward then reads that and dy instead of x and y, 4x less than x.
// Any other pool, stride or padding (overlapping windows, 'same') takes the general loops below:
// the same vectorised channel loop, its backward one image per task, accumulating.
// Output rows (image, oh) are split across the pool's threads (thread_pool.h); each writes only
// its own input rows, so the split changes nothing. The loops live in plain functions taking
// their sizes by value: inside a lambda the bound C is read through the closure, which the int
// stores to `found` might alias, and GCC then does not vectorise the channel loop (measured:
// backward 4-6x slower).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/core/errors.h"
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

// forward_rows() that also records each output's window position i * P + j of its first maximum
// (a strict > only moves past ties; a NaN first element stays the max, at 0, as backward_rows()
// routes it) and, in bit 7, whether that max is > 0. Kept in ints while the window is scanned,
// so the channel loop's selects are all 32-bit and vectorise (with bytes they did not: 7x slower).
void forward_rows_ws(const float* x, int H, int W, int C, int P, float* y, uint8_t* ws, size_t r0, size_t r1) {
  const int OH = H / P, OW = W / P;
  std::vector<int> where_buf(static_cast<size_t>(C));
  int* __restrict where = where_buf.data();
  for (size_t r = r0; r < r1; ++r) {
    const size_t n = r / OH, oh = r % OH;
    for (int ow = 0; ow < OW; ++ow) {
      float* __restrict out = y + (r * OW + ow) * C;
      const float* first = x + ((n * H + oh * P) * W + size_t(ow) * P) * C;
      std::copy(first, first + C, out);
      std::fill(where, where + C, 0);
      for (int i = 0; i < P; ++i)
        for (int j = i == 0 ? 1 : 0; j < P; ++j) {
          const float* __restrict in = first + (size_t(i) * W + j) * C;
          const int k = i * P + j;
          for (int c = 0; c < C; ++c) {  // as masks: a select on `where` was not if-converted
            const float v = in[c], o = out[c];
            const int more = -int(v > o);
            out[c] = v > o ? v : o;
            where[c] = (where[c] & ~more) | (k & more);
          }
        }
      uint8_t* __restrict at = ws + (r * OW + ow) * C;
      for (int c = 0; c < C; ++c) at[c] = uint8_t(where[c] | (out[c] > 0.f ? 0x80 : 0));
    }
  }
}

// Of output row oh of image n, the input that no window covers gets no gradient: the columns cut
// by the floor and, below the last output row, the rows cut by it.
void zero_uncovered(float* dx, size_t n, size_t oh, int H, int W, int C, int P) {
  const int OH = H / P, OW = W / P;
  for (size_t h = oh * P; h < (oh + 1 == size_t(OH) ? size_t(H) : (oh + 1) * P); ++h) {
    float* row = dx + (n * H + h) * W * C;
    if (h >= size_t(OH) * P) std::fill(row, row + size_t(W) * C, 0.f);
    else std::fill(row + size_t(OW) * P * C, row + size_t(W) * C, 0.f);
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
    zero_uncovered(dx, n, oh, H, W, C, P);
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

// backward_rows() from forward_rows_ws()'s record instead of x and y (widened to ints per window,
// as there).
void backward_rows_ws(const uint8_t* ws, int H, int W, int C, int P, const float* dy, bool relu, float* dx, size_t r0,
                      size_t r1) {
  const int OH = H / P, OW = W / P;
  const int mask = relu ? 0xFF : 0x7F;  // with relu, the positive bit must be set too
  std::vector<int> where_buf(static_cast<size_t>(C));
  int* __restrict where = where_buf.data();
  for (size_t r = r0; r < r1; ++r) {
    const size_t n = r / OH, oh = r % OH;
    zero_uncovered(dx, n, oh, H, W, C, P);
    for (int ow = 0; ow < OW; ++ow) {
      const size_t first = ((n * H + oh * P) * W + size_t(ow) * P) * C;
      const uint8_t* __restrict at = ws + (r * OW + ow) * C;
      const float* __restrict g = dy + (r * OW + ow) * C;
      for (int c = 0; c < C; ++c) where[c] = at[c] & mask;
      for (int i = 0; i < P; ++i)
        for (int j = 0; j < P; ++j) {
          float* __restrict d = dx + first + (size_t(i) * W + j) * C;
          const int want = (i * P + j) | (relu ? 0x80 : 0);
          for (int c = 0; c < C; ++c) {
            const float gc = g[c];  // loaded unconditionally, so the select vectorises
            d[c] = where[c] == want ? gc : 0.f;
          }
        }
    }
  }
}

// Runs rows(r0, r1) over the N * (H / P) output rows, across the pool; with no window at all, no
// gradient anywhere.
template <typename Rows>
void backward_over_rows(int N, int H, int W, int C, int P, float* dx, Rows rows) {
  if (H / P == 0) {
    std::fill(dx, dx + size_t(N) * H * W * C, 0.f);
    return;
  }
  parallel_ranges(size_t(N) * (H / P), grain_rows(W, C, P), rows);
}

// The general case, any pool, stride and padding: output rows [r0, r1) of r = (image, oh).
void general_forward_rows(const float* x, const Pool2dShape& g, float* y, size_t r0, size_t r1) {
  const int C = g.C;
  for (size_t r = r0; r < r1; ++r) {
    const size_t n = r / g.OH;
    const int h0 = int(r % g.OH) * g.s - g.pad_top;
    const int i0 = std::max(0, -h0), i1 = std::min(g.k, g.H - h0);
    for (int ow = 0; ow < g.OW; ++ow) {
      const int w0 = ow * g.s - g.pad_left;
      const int j0 = std::max(0, -w0), j1 = std::min(g.k, g.W - w0);
      float* __restrict out = y + (r * g.OW + ow) * C;
      const float* first = x + ((n * g.H + size_t(h0 + i0)) * g.W + size_t(w0 + j0)) * C;  // first real element
      std::copy(first, first + C, out);
      for (int i = i0; i < i1; ++i)
        for (int j = j0; j < j1; ++j) {
          const float* __restrict in = first + (size_t(i - i0) * g.W + size_t(j - j0)) * C;
          for (int c = 0; c < C; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
        }
    }
  }
}

// The general backward of images [n0, n1): each image's dx zeroed, then every window's gradient
// added at its first maximum, windows in (oh, ow) order as in the reference (so the sums where
// windows overlap are the reference's, bit for bit). Images do not share dx: no races.
void general_backward_images(const float* x, const float* y, const Pool2dShape& g, const float* dy, bool relu,
                             float* dx, size_t n0, size_t n1) {
  const int C = g.C;
  std::vector<int> found_buf(static_cast<size_t>(C));
  std::vector<float> relu_dy(relu ? static_cast<size_t>(C) : 0);
  int* __restrict found = found_buf.data();
  const size_t image = size_t(g.H) * g.W * C;
  for (size_t n = n0; n < n1; ++n) {
    std::fill(dx + n * image, dx + (n + 1) * image, 0.f);
    for (int oh = 0; oh < g.OH; ++oh) {
      const int h0 = oh * g.s - g.pad_top;
      const int i0 = std::max(0, -h0), i1 = std::min(g.k, g.H - h0);
      for (int ow = 0; ow < g.OW; ++ow) {
        const int w0 = ow * g.s - g.pad_left;
        const int j0 = std::max(0, -w0), j1 = std::min(g.k, g.W - w0);
        const size_t o = ((n * g.OH + oh) * g.OW + ow) * C;
        const float* __restrict m = y + o;
        const float* __restrict gr = dy + o;
        if (relu) {
          float* __restrict masked = relu_dy.data();
          for (int c = 0; c < C; ++c) masked[c] = m[c] > 0.f ? gr[c] : 0.f;
          gr = masked;
        }
        const size_t first = ((n * g.H + size_t(h0 + i0)) * g.W + size_t(w0 + j0)) * C;  // first real element
        std::fill(found, found + C, 0);
        for (int i = i0; i < i1; ++i)
          for (int j = j0; j < j1; ++j) {
            const size_t at = first + (size_t(i - i0) * g.W + size_t(j - j0)) * C;
            const float* __restrict in = x + at;
            float* __restrict d = dx + at;
            for (int c = 0; c < C; ++c) {
              const float gc = gr[c];
              const int hit = (found[c] == 0) & (in[c] == m[c]);
              d[c] += hit ? gc : 0.f;
              found[c] |= hit;
            }
          }
        // A NaN max equals nothing; the reference then routes the gradient to the first real element.
        float* d0 = dx + first;
        for (int c = 0; c < C; ++c) d0[c] += found[c] ? 0.f : gr[c];
      }
    }
  }
}

}  // namespace

void maxpool_forward(const float* x, const Pool2dShape& g, float* y) {
  if (g.OH == 0 || g.OW == 0) return;
  parallel_ranges(size_t(g.N) * g.OH, grain_rows(g.W, g.C, g.k),
                  [=](size_t r0, size_t r1) { general_forward_rows(x, g, y, r0, r1); });
}

void maxpool_backward(const float* x, const float* y, const Pool2dShape& g, const float* dy, bool relu, float* dx) {
  parallel_ranges(size_t(g.N), 1,
                  [=](size_t n0, size_t n1) { general_backward_images(x, y, g, dy, relu, dx, n0, n1); });
}

void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y) {
  parallel_ranges(size_t(N) * (H / P), grain_rows(W, C, P),
                  [=](size_t r0, size_t r1) { forward_rows(x, H, W, C, P, y, r0, r1); });
}

void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y, uint8_t* ws) {
  if (P * P > kMaxWsWindow) fail("maxpool_forward: a ", P, "x", P, " window is too large for its uint8 record");
  parallel_ranges(size_t(N) * (H / P), grain_rows(W, C, P),
                  [=](size_t r0, size_t r1) { forward_rows_ws(x, H, W, C, P, y, ws, r0, r1); });
}

void maxpool_backward(const uint8_t* ws, int N, int H, int W, int C, int P, const float* dy, bool relu, float* dx) {
  backward_over_rows(N, H, W, C, P, dx,
                     [=](size_t r0, size_t r1) { backward_rows_ws(ws, H, W, C, P, dy, relu, dx, r0, r1); });
}

void maxpool_backward(const float* x, const float* y, int N, int H, int W, int C, int P, const float* dy, bool relu,
                      float* dx) {
  backward_over_rows(N, H, W, C, P, dx,
                     [=](size_t r0, size_t r1) { backward_rows(x, y, H, W, C, P, dy, relu, dx, r0, r1); });
}

}  // namespace acts::cpu_fast
