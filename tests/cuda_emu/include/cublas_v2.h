// Stand-in for the part of cuBLAS runtime/cuda uses (see ../cuda_emu.h), written from its
// documented semantics: column-major SGEMM, C = alpha op(A) op(B) + beta C (C not read when
// beta = 0), scalars read from host memory at the call (pointer mode host), math in double with
// operands rounded to TF32 under CUBLAS_TF32_TENSOR_OP_MATH; and cublasGemmEx for the one mixed
// case the backend issues: bf16 A and B, a float C, float compute.
#pragma once
#include "cuda_runtime_api.h"
#include "cudnn.h"  // acts_emu::dnn::operand (TF32 rounding)

enum cublasStatus_t { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7 };
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };
enum cublasPointerMode_t { CUBLAS_POINTER_MODE_HOST = 0, CUBLAS_POINTER_MODE_DEVICE = 1 };
enum libraryPropertyType { MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL };
enum cudaDataType_t { CUDA_R_32F = 0, CUDA_R_16BF = 14 };  // library_types.h's values
enum cublasComputeType_t { CUBLAS_COMPUTE_32F = 68 };
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };
struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};
using cublasHandle_t = cublasContext*;

inline const char* cublasGetStatusString(cublasStatus_t s) { return s ? "an invalid value" : "success"; }
inline const char* cublasGetStatusName(cublasStatus_t s) {
  return s ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_SUCCESS";
}
inline cublasStatus_t cublasGetProperty(libraryPropertyType, int* v) { return *v = 0, CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasCreate(cublasHandle_t* h) { return *h = new cublasContext, CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasDestroy(cublasHandle_t h) { return delete h, CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { return h->stream = s, CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetWorkspace(cublasHandle_t, void*, size_t) { return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { return h->math = m, CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetPointerMode(cublasHandle_t, cublasPointerMode_t m) {
  return m == CUBLAS_POINTER_MODE_HOST ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

namespace acts_emu::blas {
inline bool bad_shape(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, int lda, int ldb, int ldc) {
  return m < 0 || n < 0 || k < 0 || lda < (ta == CUBLAS_OP_N ? m : k) || lda < 1 ||
         ldb < (tb == CUBLAS_OP_N ? k : n) || ldb < 1 || ldc < m || ldc < 1;
}
// C (m, n; ldc) = alpha op(A) (m, k) op(B) (k, n) + beta C, every matrix column-major, each
// operand element read as a double by value().
template <typename T, typename Value>
void gemm(cudaStream_t stream, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float a, const T* A,
          int lda, const T* B, int ldb, float b, float* C, int ldc, Value value) {
  acts_emu::submit(stream, [=] {
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        double acc = 0;
        for (int l = 0; l < k; ++l)
          acc += value(ta == CUBLAS_OP_N ? A[i + size_t(l) * lda] : A[l + size_t(i) * lda]) *
                 value(tb == CUBLAS_OP_N ? B[l + size_t(j) * ldb] : B[j + size_t(l) * ldb]);
        float& out = C[i + size_t(j) * ldc];
        out = float(a * acc + (b != 0 ? b * double(out) : 0.0));
      }
  });
}
}  // namespace acts_emu::blas

inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float* alpha, const float* A, int lda, const float* B, int ldb,
                                  const float* beta, float* C, int ldc) {
  if (acts_emu::blas::bad_shape(ta, tb, m, n, k, lda, ldb, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
  const bool tc = h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  acts_emu::blas::gemm(h->stream, ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc,
                       [tc](float v) { return acts_emu::dnn::operand(v, tc); });
  return CUBLAS_STATUS_SUCCESS;
}

// cublasGemmEx with bf16 A and B, float C and CUBLAS_COMPUTE_32F; any other combination is refused
// (the real library takes more, the backend asks for nothing else).
inline cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const void* alpha, const void* A, cudaDataType_t at, int lda, const void* B,
                                   cudaDataType_t bt, int ldb, const void* beta, void* C, cudaDataType_t ct, int ldc,
                                   cublasComputeType_t compute, cublasGemmAlgo_t) {
  if (at != CUDA_R_16BF || bt != CUDA_R_16BF || ct != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F ||
      acts_emu::blas::bad_shape(ta, tb, m, n, k, lda, ldb, ldc))
    return CUBLAS_STATUS_INVALID_VALUE;
  acts_emu::blas::gemm(h->stream, ta, tb, m, n, k, *static_cast<const float*>(alpha),
                       static_cast<const __nv_bfloat16*>(A), lda, static_cast<const __nv_bfloat16*>(B), ldb,
                       *static_cast<const float*>(beta), static_cast<float*>(C), ldc,
                       [](__nv_bfloat16 v) { return double(__bfloat162float(v)); });
  return CUBLAS_STATUS_SUCCESS;
}
