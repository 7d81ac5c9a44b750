// Conv2D on the CPU as GEMMs (OpenBLAS): im2col turns each output pixel's receptive field into
// one row of a patch matrix whose columns run (i, j, c), the order of Keras' kernel
// (KH, KW, C, F) flattened to (KH*KW*C, F), so the kernel is used in place:
//   forward   y (M, F)       = patches (M, K) x k (K, F) + b          M = n*OH*OW, K = KH*KW*C
//   backward  dk (K, F)      = patches^T (K, M) x dy (M, F)
//             dpatches (M, K) = dy (M, F) x k^T (F, K), scattered back into dx (col2im)
// Images go through in chunks so the patch matrix stays within kChunkFloats (memory stays
// bounded at batch 256) while each GEMM still has thousands of rows. OpenBLAS threads the
// GEMMs; im2col/col2im stay on one thread on purpose: OpenMP threads there competed with
// OpenBLAS's spinning workers and made a 2-core training step 1.2-1.7x and a batch-1 forward
// 3-4x slower (docs/benchmarks.md).
#include <algorithm>
#include <cstddef>

#include <cblas.h>

#include "cpu_fast.h"

namespace acts::cpu_fast {
namespace {

constexpr size_t kChunkFloats = size_t(8) << 20;  // 32 MiB of patches per chunk

struct Geometry {
  int H, W, C, KH, KW, F, OH, OW;
  size_t rows_per_image() const { return size_t(OH) * OW; }
  size_t K() const { return size_t(KH) * KW * C; }
};

int images_per_chunk(const Geometry& g, int N) {
  const size_t per_image = g.rows_per_image() * g.K();
  return int(std::clamp<size_t>(kChunkFloats / std::max<size_t>(per_image, 1), 1, size_t(N)));
}

// x (n, H, W, C) -> patches (n*OH*OW, KH*KW*C): row (img, oh, ow) = x[img, oh+i, ow+j, c] over (i, j, c).
void im2col(const float* x, int n, const Geometry& g, float* patches) {
  const size_t K = g.K(), kw_row = size_t(g.KW) * g.C;  // one kernel row (j, c) is contiguous in x
  for (int img = 0; img < n; ++img)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        float* row = patches + ((size_t(img) * g.OH + oh) * g.OW + ow) * K;
        for (int i = 0; i < g.KH; ++i) {
          const float* src = x + ((size_t(img) * g.H + oh + i) * g.W + ow) * g.C;
          std::copy(src, src + kw_row, row + i * kw_row);
        }
      }
}

// The adjoint of im2col: dx (n, H, W, C) += every patch row's gradient at the pixels it came from.
// dx must be zeroed by the caller.
void col2im(const float* dpatches, int n, const Geometry& g, float* dx) {
  const size_t K = g.K(), kw_row = size_t(g.KW) * g.C;
  for (int img = 0; img < n; ++img)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        const float* row = dpatches + ((size_t(img) * g.OH + oh) * g.OW + ow) * K;
        for (int i = 0; i < g.KH; ++i) {
          float* dst = dx + ((size_t(img) * g.H + oh + i) * g.W + ow) * g.C;
          const float* src = row + i * kw_row;
          for (size_t t = 0; t < kw_row; ++t) dst[t] += src[t];
        }
      }
}

}  // namespace

void conv2d_forward(const float* x, int N, int H, int W, int C, const float* k, const float* b, int KH, int KW,
                    int F, float* y, std::vector<float>& scratch) {
  const Geometry g{H, W, C, KH, KW, F, H - KH + 1, W - KW + 1};
  const size_t K = g.K(), P = g.rows_per_image();
  const int chunk = images_per_chunk(g, N);
  scratch.resize(std::max(scratch.size(), size_t(chunk) * P * K));
  for (size_t r = 0; r < size_t(N) * P; ++r) std::copy(b, b + F, y + r * F);  // bias, then y += patches k
  for (int n0 = 0; n0 < N; n0 += chunk) {
    const int n = std::min(chunk, N - n0);
    im2col(x + size_t(n0) * H * W * C, n, g, scratch.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n * P), F, int(K), 1.f, scratch.data(), int(K), k, F,
                1.f, y + size_t(n0) * P * F, F);
  }
}

void conv2d_backward(const float* x, int N, int H, int W, int C, const float* k, int KH, int KW, int F,
                     const float* dy, float* dx, float* dk, float* db, std::vector<float>& scratch) {
  const Geometry g{H, W, C, KH, KW, F, H - KH + 1, W - KW + 1};
  const size_t K = g.K(), P = g.rows_per_image();
  const int chunk = images_per_chunk(g, N);
  const size_t chunk_floats = size_t(chunk) * P * K;
  // patches, then (when dx is wanted) their gradient
  scratch.resize(std::max(scratch.size(), dx ? 2 * chunk_floats : chunk_floats));
  float* patches = scratch.data();
  float* dpatches = patches + chunk_floats;

  std::fill(db, db + F, 0.f);
  for (size_t r = 0; r < size_t(N) * P; ++r)
    for (int f = 0; f < F; ++f) db[f] += dy[r * F + f];
  if (dx) std::fill(dx, dx + size_t(N) * H * W * C, 0.f);

  for (int n0 = 0; n0 < N; n0 += chunk) {
    const int n = std::min(chunk, N - n0);
    const float* dyc = dy + size_t(n0) * P * F;
    im2col(x + size_t(n0) * H * W * C, n, g, patches);
    // dk = sum over chunks of patches^T dy (the first chunk overwrites)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(K), F, int(n * P), 1.f, patches, int(K), dyc, F,
                n0 == 0 ? 0.f : 1.f, dk, F);
    if (dx) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n * P), int(K), F, 1.f, dyc, F, k, F, 0.f, dpatches,
                  int(K));
      col2im(dpatches, n, g, dx + size_t(n0) * H * W * C);
    }
  }
}

}  // namespace acts::cpu_fast
