// Conv2D on the CPU as GEMMs (OpenBLAS): im2col turns each output pixel's receptive field (zeros
// where it covers 'same' padding; windows `stride` apart) into one row of a patch matrix whose
// columns run (i, j, c), the order of Keras' kernel
// (KH, KW, C, F) flattened to (KH*KW*C, F), so the kernel is used in place:
//   forward   y (M, F)        = patches (M, K) x k (K, F) + b, then relu   M = N*OH*OW, K = KH*KW*C
//   backward  dk (K, F)       = patches^T (K, M) x dy (M, F)
//             dpatches (M, K) = dy (M, F) x k^T (F, K), scattered back into dx (col2im)
// The M output rows (image, oh, ow) go through in chunks of about kChunkFloats patch values,
// regardless of image boundaries: im2col writes a chunk and the GEMM reads it while it is still
// in cache. 256 Ki floats (1 MiB) was measured fastest on a 2-core Xeon (2 MiB L2 per core,
// 36 MiB L3): the four convolutions' forward + backward at batch 20 took ~300 ms against ~420 ms
// with 32 MiB chunks, which spill to memory (128 Ki-2 Mi floats: 300-380 ms). The patch matrix
// also stays small at batch 256. Bias and relu are applied to each chunk's output while it is in
// cache, and backward takes dy through the relu the same way, instead of separate passes over
// whole activations.
//
// Threads (thread_pool.h): each chunk of the forward is a task (im2col, single-threaded GEMM,
// bias, relu on one thread, its own patch buffer). Backward cuts the rows into at most kGroups
// groups fixed by the shape; each group sums its own dk and db, which are then added in group
// order, so results do not depend on the thread count. Neighbouring groups' col2im touch the
// same dx rows at their boundary, so even groups run first, then odd ones: a group spans at
// least KH output rows, so groups two apart never share an input pixel (windows of KH rows whose
// starts lie at least KH strides apart, whatever the stride and padding).
#include <algorithm>
#include <cstddef>

#include <cblas.h>

#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/cpu/fast/group_sum.h"
#include "kernels/cpu/activations.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts::cpu_fast::gemm {
namespace {

constexpr size_t kChunkFloats = size_t(1) << 18;
constexpr size_t kMinChunkRows = 256;  // keeps the GEMMs from degenerating for huge K
constexpr size_t kGroups = 32;         // backward's most row groups: 16 per phase for load balance

// Output row r = (img, oh, ow), walked in order without a division per row (conv2d_1 has 22k
// rows of only 27 values per image).
struct RowCursor {
  const cpu::ConvGeometry& g;
  int oh, ow;
  size_t img;
  RowCursor(const cpu::ConvGeometry& geo, size_t r) : g(geo) {
    ow = int(r % g.OW);
    oh = int((r / g.OW) % g.OH);
    img = r / (size_t(g.OW) * g.OH);
  }
  void next() {
    if (++ow < g.OW) return;
    ow = 0;
    if (++oh < g.OH) return;
    oh = 0;
    ++img;
  }
};

size_t patch_size(const cpu::ConvGeometry& g) { return size_t(g.KH) * g.KW * g.C; }

size_t rows_per_chunk(const cpu::ConvGeometry& g, size_t M) {
  return std::min(M, std::max(kMinChunkRows, kChunkFloats / std::max<size_t>(patch_size(g), 1)));
}

// Calls `part(row_offset, x_offset, count)` for the stretches of output row r's patch (KW*C
// values per kernel row) that lie inside the input, and `pad(row_offset, count)` for those in
// the padding. A window entirely inside the input is one contiguous stretch per kernel row.
template <typename Part, typename Pad>
void patch_parts(const cpu::ConvGeometry& g, const RowCursor& at, Part part, Pad pad) {
  const size_t C = size_t(g.C), kw = size_t(g.KW) * C;
  const int ih0 = g.row0(at.oh), iw0 = g.col0(at.ow);
  const bool cols_inside = iw0 >= 0 && iw0 + g.KW <= g.W;
  for (int i = 0; i < g.KH; ++i) {
    const int ih = ih0 + i;
    if (ih < 0 || ih >= g.H) {
      pad(i * kw, kw);
      continue;
    }
    const size_t line = (at.img * g.H + size_t(ih)) * g.W;
    if (cols_inside) {
      part(i * kw, (line + size_t(iw0)) * C, kw);
      continue;
    }
    for (int j = 0; j < g.KW; ++j) {
      const int iw = iw0 + j;
      if (iw < 0 || iw >= g.W)
        pad(i * kw + j * C, C);
      else
        part(i * kw + j * C, (line + size_t(iw)) * C, C);
    }
  }
}

// Output rows [r0, r1) -> patches (r1 - r0, K): row r = x[img, row0(oh)+i, col0(ow)+j, c] over
// (i, j, c), zero in the padding.
void im2col(const float* x, const cpu::ConvGeometry& g, size_t r0, size_t r1, float* patches) {
  const size_t K = patch_size(g);
  RowCursor at(g, r0);
  for (size_t r = r0; r < r1; ++r, at.next()) {
    float* row = patches + (r - r0) * K;
    patch_parts(
        g, at, [&](size_t o, size_t xo, size_t n) { std::copy(x + xo, x + xo + n, row + o); },
        [&](size_t o, size_t n) { std::fill(row + o, row + o + n, 0.f); });
  }
}

// The adjoint of im2col: dx += each patch row's gradient at the pixels it came from (the
// padding's share is dropped). dx must be zeroed by the caller.
void col2im(const float* dpatches, const cpu::ConvGeometry& g, size_t r0, size_t r1, float* dx) {
  const size_t K = patch_size(g);
  RowCursor at(g, r0);
  for (size_t r = r0; r < r1; ++r, at.next()) {
    const float* row = dpatches + (r - r0) * K;
    patch_parts(
        g, at,
        [&](size_t o, size_t xo, size_t n) {
          for (size_t t = 0; t < n; ++t) dx[xo + t] += row[o + t];
        },
        [](size_t, size_t) {});
  }
}

size_t chunk_count(size_t rows, size_t chunk) { return (rows + chunk - 1) / chunk; }

// Backward's row groups: as many as fit while each spans at least KH whole output rows.
size_t group_count(const cpu::ConvGeometry& g, size_t M) {
  return std::clamp<size_t>(M / (size_t(g.KH) * g.OW), 1, kGroups);
}

// y (rows, F) += b (none: use_bias=False), then the reference's relu.
void bias_relu(float* y, size_t rows, int F, const float* b, bool relu) {
  float* row = y;
  for (size_t r = 0; b && r < rows; ++r, row += F)
    for (int f = 0; f < F; ++f) row[f] += b[f];
  if (relu) cpu::relu_forward(y, y, rows * size_t(F));
}

}  // namespace

void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    float* y, std::vector<float>& scratch) {
  single_threaded_blas();
  const int F = g.F;
  const size_t K = patch_size(g), M = size_t(N) * g.OH * g.OW, chunk = rows_per_chunk(g, M);
  scratch.resize(std::max(scratch.size(), size_t(thread_count()) * chunk * K));  // a patch buffer per thread
  float* patches = scratch.data();
  parallel_for(int(chunk_count(M, chunk)), [&](int c, int worker) {
    const size_t r0 = size_t(c) * chunk, r1 = std::min(M, r0 + chunk);
    float* p = patches + size_t(worker) * chunk * K;
    im2col(x, g, r0, r1, p);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(r1 - r0), F, int(K), 1.f, p, int(K), k, F, 0.f,
                y + r0 * F, F);
    bias_relu(y + r0 * F, r1 - r0, F, b, relu);
  });
}

void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     float* dx, float* dk, float* db, std::vector<float>& scratch) {
  single_threaded_blas();
  const int F = g.F;
  if (!dk) db = nullptr;  // an input gradient alone
  const size_t K = patch_size(g), M = size_t(N) * g.OH * g.OW, chunk = rows_per_chunk(g, M), G = group_count(g, M);
  const size_t per_thread = (dx ? 2 : 1) * chunk * K;  // patches, then their gradient
  const size_t threads = size_t(thread_count());
  scratch.resize(std::max(scratch.size(), threads * per_thread + G * (K + 1) * F));
  float* const dk_parts = scratch.data() + threads * per_thread;  // (G, K, F)
  float* const db_parts = dk_parts + G * K * F;                     // (G, F)

  // One group: rows [M g / G, M (g+1) / G) -> its dk and db, and its share of dx.
  auto group = [&](size_t gi, int worker) {
    const size_t a = M * gi / G, e = M * (gi + 1) / G;
    float* patches = scratch.data() + size_t(worker) * per_thread;
    float* dpatches = patches + chunk * K;
    float *dk_g = dk_parts + gi * K * F, *db_g = db_parts + gi * F;
    if (relu_y)  // dy was the gradient at relu's output: at the convolution's, it is zero where relu cut
      cpu::relu_backward(relu_y + a * F, dy + a * F, dy + a * F, (e - a) * F);
    if (db) {
      std::fill(db_g, db_g + F, 0.f);
      for (size_t r = a; r < e; ++r)
        for (int f = 0; f < F; ++f) db_g[f] += dy[r * F + f];
    }
    for (size_t r0 = a; r0 < e; r0 += chunk) {
      const size_t r1 = std::min(e, r0 + chunk);
      const int rows = int(r1 - r0);
      if (dk) {  // an input gradient alone needs no patches
        im2col(x, g, r0, r1, patches);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(K), F, rows, 1.f, patches, int(K), dy + r0 * F, F,
                    r0 == a ? 0.f : 1.f, dk_g, F);
      }
      if (dx) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, int(K), F, 1.f, dy + r0 * F, F, k, F, 0.f,
                    dpatches, int(K));
        col2im(dpatches, g, r0, r1, dx);
      }
    }
  };
  if (dx) {
    parallel_ranges(size_t(N) * g.in_size(), size_t(1) << 16,
                    [&](size_t i0, size_t i1) { std::fill(dx + i0, dx + i1, 0.f); });
    parallel_for(int((G + 1) / 2), [&](int t, int worker) { group(2 * size_t(t), worker); });
    parallel_for(int(G / 2), [&](int t, int worker) { group(2 * size_t(t) + 1, worker); });
  } else {
    parallel_for(int(G), [&](int t, int worker) { group(size_t(t), worker); });
  }
  if (dk) sum_groups(dk_parts, G, K * F, dk);
  if (db) sum_groups(db_parts, G, size_t(F), db);
}

}  // namespace acts::cpu_fast::gemm
