#include "runtime/ops/dense/dense_cuda_gemm.h"

namespace acts {

namespace {

std::string where(const std::string& layer, int n, int in, int out, GemmType type) {
  return layer + " (Dense, input (" + std::to_string(n) + ", " + std::to_string(in) + "), " + std::to_string(out) +
         " units" + (type == GemmType::kBf16 ? ", bf16" : "") + ")";
}

// C (m, n; ldc) = op(A) op(B), column-major, C float32; A and B of `type`.
cublasStatus_t gemm(const CudaContext& ctx, GemmType type, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                    int k, const void* A, int lda, const void* B, int ldb, float* C, int ldc) {
  const float one = 1.f, zero = 0.f;
  if (type == GemmType::kFloat32)
    return cublasSgemm(ctx.cublas(), ta, tb, m, n, k, &one, static_cast<const float*>(A), lda,
                       static_cast<const float*>(B), ldb, &zero, C, ldc);
  return cublasGemmEx(ctx.cublas(), ta, tb, m, n, k, &one, A, CUDA_R_16BF, lda, B, CUDA_R_16BF, ldb, &zero, C,
                      CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

}  // namespace

void dense_forward(const CudaContext& ctx, const std::string& layer, const void* x, int n, int in, const void* w,
                   int out, float* y, GemmType type) {
  // Column-major view: y^T (out, n) = w^T (out, in) * x^T (in, n); w (in, out) row-major is
  // w^T column-major with leading dimension out.
  CUBLAS_CHECK_IN(where(layer, n, in, out, type),
                  gemm(ctx, type, CUBLAS_OP_N, CUBLAS_OP_N, out, n, in, w, out, x, in, y, out));
}

void dense_backward(const CudaContext& ctx, const std::string& layer, const void* x, int n, int in, const void* w,
                    int out, const void* dy, float* dx, float* dw, GemmType type) {
  const std::string at = where(layer, n, in, out, type);
  // dw (in, out) row-major = x^T dy  <=>  dw^T (out, in) = dy^T (out, n) * x (n, in) column-major,
  // where x^T column-major (in, n) is transposed by the op.
  if (dw) CUBLAS_CHECK_IN(at, gemm(ctx, type, CUBLAS_OP_N, CUBLAS_OP_T, out, in, n, dy, out, x, in, dw, out));
  if (dx)  // dx (n, in) row-major = dy w^T  <=>  dx^T (in, n) = w (in, out) * dy^T (out, n) column-major
    CUBLAS_CHECK_IN(at, gemm(ctx, type, CUBLAS_OP_T, CUBLAS_OP_N, in, n, out, w, out, dy, out, dx, in));
}

}  // namespace acts
