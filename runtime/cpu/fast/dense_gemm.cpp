// Dense on the CPU as GEMMs (OpenBLAS), plus what the fast path reports about itself
// ("oneDNN 2.6.3 convolutions, OpenBLAS 0.3.21 sgemm, on 2 threads").
//   forward   y (N, O)  = x (N, I) x W (I, O) + b
//   backward  dW (I, O) = x^T (I, N) x dy (N, O);  dx (N, I) = dy (N, O) x W^T (O, I)
// Each GEMM is cut into blocks of kBlock output columns, one task each (thread_pool.h): every
// output element is still one dot product over the whole inner dimension, so the blocking
// changes no result. A batch of one image (a heatmap of one photo) takes sgemv instead: sgemm
// would first repack the whole weight matrix (12.8 MB for the tutorial's dense_1) for one row.
#include <algorithm>
#include <cstddef>
#include <mutex>
#include <string>

#include <cblas.h>

#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts::cpu_fast {
namespace {

constexpr int kBlock = 64;

// fn(c0, c1) over column blocks [c0, c1) of `cols` columns.
template <typename Fn>
void column_blocks(int cols, Fn fn) {
  parallel_for((cols + kBlock - 1) / kBlock, [&](int t, int) { fn(t * kBlock, std::min(cols, (t + 1) * kBlock)); });
}

}  // namespace

bool available(std::string* why) {
  if (why) why->clear();
  return true;
}

void single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

std::string describe() {
#ifdef OPENBLAS_VERSION
  std::string lib = OPENBLAS_VERSION;  // " OpenBLAS 0.3.21 "
  lib.erase(0, lib.find_first_not_of(' '));
  lib.erase(lib.find_last_not_of(' ') + 1);
#else
  std::string lib = "OpenBLAS";
#endif
  const int threads = thread_count();
  return conv_path_name() + ", " + lib + " sgemm, on " + std::to_string(threads) +
         (threads == 1 ? " thread" : " threads");
}

void dense_forward(const float* x, int N, int I, const float* w, const float* b, int O, float* y) {
  single_threaded_blas();
  for (int n = 0; n < N; ++n) std::copy(b, b + O, y + size_t(n) * O);
  if (N == 1) {  // y[o0:o1] += W[:, o0:o1]^T x
    column_blocks(O, [&](int o0, int o1) {
      cblas_sgemv(CblasRowMajor, CblasTrans, I, o1 - o0, 1.f, w + o0, O, x, 1, 1.f, y + o0, 1);
    });
    return;
  }
  column_blocks(O, [&](int o0, int o1) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, o1 - o0, I, 1.f, x, I, w + o0, O, 1.f, y + o0, O);
  });
}

void dense_backward(const float* x, int N, int I, const float* w, int O, const float* dy, float* dx, float* dw,
                    float* db) {
  single_threaded_blas();
  if (db) {
    std::fill(db, db + O, 0.f);
    for (int n = 0; n < N; ++n)
      for (int o = 0; o < O; ++o) db[o] += dy[size_t(n) * O + o];
  }
  if (dw)
    column_blocks(O, [&](int o0, int o1) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, o1 - o0, N, 1.f, x, I, dy + o0, O, 0.f, dw + o0, O);
    });
  if (dx && N == 1)
    column_blocks(I, [&](int i0, int i1) {  // dx[i0:i1] = W[i0:i1, :] dy
      cblas_sgemv(CblasRowMajor, CblasNoTrans, i1 - i0, O, 1.f, w + size_t(i0) * O, O, dy, 1, 0.f, dx + i0, 1);
    });
  else if (dx)
    column_blocks(I, [&](int i0, int i1) {  // dx[:, i0:i1] = dy W[i0:i1, :]^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, i1 - i0, O, 1.f, dy, O, w + size_t(i0) * O, O, 0.f,
                  dx + i0, I);
    });
}

}  // namespace acts::cpu_fast
