#include "runtime/ops/dense/dense_cuda_gemm.h"

namespace acts {

namespace {
std::string where(const std::string& layer, int n, int in, int out) {
  return layer + " (Dense, input (" + std::to_string(n) + ", " + std::to_string(in) + "), " + std::to_string(out) +
         " units)";
}
}  // namespace

void dense_forward(const CudaContext& ctx, const std::string& layer, const float* x, int n, int in, const float* w,
                   int out, float* y) {
  const float one = 1.f, zero = 0.f;
  // Column-major view: y^T (out, n) = w^T (out, in) * x^T (in, n); w (in, out) row-major is
  // w^T column-major with leading dimension out.
  CUBLAS_CHECK_IN(where(layer, n, in, out),
                  cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, out, n, in, &one, w, out, x, in, &zero, y, out));
}

void dense_backward(const CudaContext& ctx, const std::string& layer, const float* x, int n, int in, const float* w,
                    int out, const float* dy, float* dx, float* dw) {
  const float one = 1.f, zero = 0.f;
  const std::string at = where(layer, n, in, out);
  // dw (in, out) row-major = x^T dy  <=>  dw^T (out, in) = dy^T (out, n) * x (n, in) column-major,
  // where x^T column-major (in, n) is transposed by the op.
  if (dw)
    CUBLAS_CHECK_IN(
        at, cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, out, in, n, &one, dy, out, x, in, &zero, dw, out));
  if (dx)  // dx (n, in) row-major = dy w^T  <=>  dx^T (in, n) = w (in, out) * dy^T (out, n) column-major
    CUBLAS_CHECK_IN(
        at, cublasSgemm(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, in, n, out, &one, w, out, dy, out, &zero, dx, in));
}

}  // namespace acts
