// Conv2D on the CPU as GEMMs (OpenBLAS): im2col turns each output pixel's receptive field into
// one row of a patch matrix whose columns run (i, j, c), the order of Keras' kernel
// (KH, KW, C, F) flattened to (KH*KW*C, F), so the kernel is used in place:
//   forward   y (M, F)        = patches (M, K) x k (K, F) + b          M = N*OH*OW, K = KH*KW*C
//   backward  dk (K, F)       = patches^T (K, M) x dy (M, F)
//             dpatches (M, K) = dy (M, F) x k^T (F, K), scattered back into dx (col2im)
// The M output rows (image, oh, ow) go through in chunks of about kChunkFloats patch values,
// regardless of image boundaries: im2col writes a chunk and the GEMM reads it while it is still
// in cache. 256 Ki floats (1 MiB) was measured fastest on a 2-core Xeon (2 MiB L2 per core,
// 36 MiB L3): the four convolutions' forward + backward at batch 20 took ~300 ms against ~420 ms
// with 32 MiB chunks, which spill to memory (128 Ki-2 Mi floats: 300-380 ms). The patch matrix
// also stays small at batch 256.
// OpenBLAS threads the GEMMs; im2col/col2im stay on one thread on purpose: OpenMP threads there
// competed with OpenBLAS's spinning workers and made a 2-core training step 1.2-1.7x and a
// batch-1 forward 3-4x slower (docs/benchmarks.md).
#include <algorithm>
#include <cstddef>

#include <cblas.h>

#include "cpu_fast.h"

namespace acts::cpu_fast {
namespace {

constexpr size_t kChunkFloats = size_t(1) << 18;
constexpr size_t kMinChunkRows = 256;  // keeps the GEMMs from degenerating for huge K

struct Geometry {
  int H, W, C, KH, KW, F, OH, OW;
  size_t K() const { return size_t(KH) * KW * C; }
  size_t kw_row() const { return size_t(KW) * C; }  // one kernel row (j, c) is contiguous in x
};

// Walks output rows r = (img, oh, ow) in order, tracking the offset in x of each row's top-left
// input pixel without a division per row (conv2d_1 has 22k rows of only 27 values per image).
struct RowCursor {
  const Geometry& g;
  int oh, ow;
  size_t at;
  RowCursor(const Geometry& geo, size_t r) : g(geo) {
    ow = int(r % g.OW);
    oh = int((r / g.OW) % g.OH);
    const size_t img = r / (size_t(g.OW) * g.OH);
    at = ((img * g.H + oh) * g.W + ow) * g.C;
  }
  void next() {
    at += g.C;
    if (++ow < g.OW) return;
    ow = 0;
    at += size_t(g.KW - 1) * g.C;  // to the next input row
    if (++oh < g.OH) return;
    oh = 0;
    at += size_t(g.KH - 1) * g.W * g.C;  // to the next image
  }
};

size_t rows_per_chunk(const Geometry& g, size_t M) {
  return std::min(M, std::max(kMinChunkRows, kChunkFloats / std::max<size_t>(g.K(), 1)));
}

// Output rows [r0, r1) -> patches (r1 - r0, K): row r = x[img, oh+i, ow+j, c] over (i, j, c).
void im2col(const float* x, const Geometry& g, size_t r0, size_t r1, float* patches) {
  const size_t K = g.K(), kw = g.kw_row(), line = size_t(g.W) * g.C;
  RowCursor at(g, r0);
  for (size_t r = r0; r < r1; ++r, at.next()) {
    const float* src = x + at.at;
    float* row = patches + (r - r0) * K;
    for (int i = 0; i < g.KH; ++i) std::copy(src + i * line, src + i * line + kw, row + i * kw);
  }
}

// The adjoint of im2col: dx += each patch row's gradient at the pixels it came from. dx must be
// zeroed by the caller.
void col2im(const float* dpatches, const Geometry& g, size_t r0, size_t r1, float* dx) {
  const size_t K = g.K(), kw = g.kw_row(), line = size_t(g.W) * g.C;
  RowCursor at(g, r0);
  for (size_t r = r0; r < r1; ++r, at.next()) {
    float* dst = dx + at.at;
    const float* row = dpatches + (r - r0) * K;
    for (int i = 0; i < g.KH; ++i)
      for (size_t t = 0; t < kw; ++t) dst[i * line + t] += row[i * kw + t];
  }
}

}  // namespace

void conv2d_forward(const float* x, int N, int H, int W, int C, const float* k, const float* b, int KH, int KW,
                    int F, float* y, std::vector<float>& scratch) {
  const Geometry g{H, W, C, KH, KW, F, H - KH + 1, W - KW + 1};
  const size_t K = g.K(), M = size_t(N) * g.OH * g.OW, chunk = rows_per_chunk(g, M);
  scratch.resize(std::max(scratch.size(), chunk * K));
  for (size_t r = 0; r < M; ++r) std::copy(b, b + F, y + r * F);  // bias, then y += patches k
  for (size_t r0 = 0; r0 < M; r0 += chunk) {
    const size_t r1 = std::min(M, r0 + chunk);
    im2col(x, g, r0, r1, scratch.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(r1 - r0), F, int(K), 1.f, scratch.data(), int(K), k,
                F, 1.f, y + r0 * F, F);
  }
}

void conv2d_backward(const float* x, int N, int H, int W, int C, const float* k, int KH, int KW, int F,
                     const float* dy, float* dx, float* dk, float* db, std::vector<float>& scratch) {
  const Geometry g{H, W, C, KH, KW, F, H - KH + 1, W - KW + 1};
  const size_t K = g.K(), M = size_t(N) * g.OH * g.OW, chunk = rows_per_chunk(g, M);
  scratch.resize(std::max(scratch.size(), dx ? 2 * chunk * K : chunk * K));  // patches, then their gradient
  float* patches = scratch.data();
  float* dpatches = patches + chunk * K;

  std::fill(db, db + F, 0.f);
  for (size_t r = 0; r < M; ++r)
    for (int f = 0; f < F; ++f) db[f] += dy[r * F + f];
  if (dx) std::fill(dx, dx + size_t(N) * H * W * C, 0.f);

  for (size_t r0 = 0; r0 < M; r0 += chunk) {
    const size_t r1 = std::min(M, r0 + chunk);
    const int rows = int(r1 - r0);
    im2col(x, g, r0, r1, patches);
    // dk = sum over chunks of patches^T dy (the first chunk overwrites)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(K), F, rows, 1.f, patches, int(K), dy + r0 * F, F,
                r0 == 0 ? 0.f : 1.f, dk, F);
    if (dx) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, int(K), F, 1.f, dy + r0 * F, F, k, F, 0.f, dpatches,
                  int(K));
      col2im(dpatches, g, r0, r1, dx);
    }
  }
}

}  // namespace acts::cpu_fast
