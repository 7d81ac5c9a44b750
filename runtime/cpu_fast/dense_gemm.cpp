// Dense on the CPU as GEMMs (OpenBLAS), plus what the fast path reports about itself.
//   forward   y (N, O)  = x (N, I) x W (I, O) + b
//   backward  dW (I, O) = x^T (I, N) x dy (N, O);  dx (N, I) = dy (N, O) x W^T (O, I)
#include <algorithm>
#include <cstddef>
#include <string>

#include <cblas.h>

#include "cpu_fast.h"

namespace acts::cpu_fast {

bool available(std::string* why) {
  if (why) why->clear();
  return true;
}

std::string describe() {
#ifdef OPENBLAS_VERSION
  std::string lib = OPENBLAS_VERSION;  // " OpenBLAS 0.3.21 "
  lib.erase(0, lib.find_first_not_of(' '));
  lib.erase(lib.find_last_not_of(' ') + 1);
#else
  std::string lib = "OpenBLAS";
#endif
  const int threads = openblas_get_num_threads();
  return lib + " sgemm, " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

void dense_forward(const float* x, int N, int I, const float* w, const float* b, int O, float* y) {
  for (int n = 0; n < N; ++n) std::copy(b, b + O, y + size_t(n) * O);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, O, I, 1.f, x, I, w, O, 1.f, y, O);
}

void dense_backward(const float* x, int N, int I, const float* w, int O, const float* dy, float* dx, float* dw,
                    float* db) {
  std::fill(db, db + O, 0.f);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < O; ++o) db[o] += dy[size_t(n) * O + o];
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, O, N, 1.f, x, I, dy, O, 0.f, dw, O);
  if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, I, O, 1.f, dy, O, w, O, 0.f, dx, I);
}

}  // namespace acts::cpu_fast
