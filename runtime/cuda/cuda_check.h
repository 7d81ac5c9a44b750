// Return-code checks for the CUDA runtime, cuDNN and cuBLAS. Every call into those libraries goes
// through one of these macros, so a failure becomes an acts::Error that says where (file:line),
// which call (its source text) and why (the library's own error string):
//   CUDA error at runtime/ops/conv2d/conv2d_cuda_layer.cpp:88: cudaMalloc(&p, n) failed: out of memory (cudaErrorMemoryAllocation)
// CUDA_LOG is the variant for destructors, which must not throw: it prints the same line to stderr.
// CUDA_CHECK_LAUNCH("name") follows every kernel launch (launch errors are only visible there).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "runtime/core/errors.h"

namespace acts::cuda_detail {

// The path from the project root on ("runtime/cuda/x.cpp"), not the build machine's full path.
inline const char* short_file(const char* f) {
  for (const char* root : {"/runtime/", "/kernels/", "/tests/", "/apps/"}) {
    const char* at = std::strstr(f, root);
    if (at) return at + 1;
  }
  return f;
}

inline std::string message(const char* lib, const char* call, const char* file, int line, const std::string& why) {
  return std::string(lib) + " error at " + short_file(file) + ":" + std::to_string(line) + ": " + call +
         " failed: " + why;
}

inline std::string why(cudaError_t e) { return std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")"; }
inline std::string why(cudnnStatus_t s) {
  std::string text = std::string(cudnnGetErrorString(s)) + " (status " + std::to_string(int(s)) + ")";
#if CUDNN_MAJOR >= 9
  // cuDNN 9 keeps a message saying which check failed (an unsupported layout, a sub-library it
  // could not load, ...); the status alone is often just NOT_SUPPORTED or BAD_PARAM.
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof detail);
  if (detail[0]) text += ": " + std::string(detail);
#endif
  return text;
}
inline std::string why(cublasStatus_t s) {
  return std::string(cublasGetStatusString(s)) + " (" + cublasGetStatusName(s) + ")";
}
inline const char* lib_name(cudaError_t) { return "CUDA"; }
inline const char* lib_name(cudnnStatus_t) { return "cuDNN"; }
inline const char* lib_name(cublasStatus_t) { return "cuBLAS"; }
inline bool ok(cudaError_t e) { return e == cudaSuccess; }
inline bool ok(cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; }
inline bool ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }

template <typename Status>
void check(Status s, const char* call, const char* file, int line) {
  if (!ok(s)) throw Error(message(lib_name(s), call, file, line, why(s)));
}

// The same, with the layer (or other object) at fault named first: "conv2d_1 (...): cuDNN error at ...".
template <typename Status>
void check_in(const std::string& where, Status s, const char* call, const char* file, int line) {
  if (!ok(s)) throw Error(where + ": " + message(lib_name(s), call, file, line, why(s)));
}

template <typename Status>
void log(Status s, const char* call, const char* file, int line) noexcept {
  if (!ok(s)) std::fprintf(stderr, "warning: %s\n", message(lib_name(s), call, file, line, why(s)).c_str());
}

}  // namespace acts::cuda_detail

#define CUDA_CHECK(call) ::acts::cuda_detail::check((call), #call, __FILE__, __LINE__)
#define CUDNN_CHECK(call) ::acts::cuda_detail::check((call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(call) ::acts::cuda_detail::check((call), #call, __FILE__, __LINE__)
// With context: CUDNN_CHECK_IN(where_, cudnnConvolutionForward(...)) names the layer first.
#define CUDA_CHECK_IN(where, call) ::acts::cuda_detail::check_in((where), (call), #call, __FILE__, __LINE__)
#define CUDNN_CHECK_IN(where, call) ::acts::cuda_detail::check_in((where), (call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK_IN(where, call) ::acts::cuda_detail::check_in((where), (call), #call, __FILE__, __LINE__)
// For destructors and other cleanup paths: report, never throw.
#define CUDA_LOG(call) ::acts::cuda_detail::log((call), #call, __FILE__, __LINE__)
// After every <<<...>>> launch (kernel: a string literal naming it): a bad launch
// configuration is only reported by cudaGetLastError.
#define CUDA_CHECK_LAUNCH(kernel) ::acts::cuda_detail::check(cudaGetLastError(), kernel "<<<>>>", __FILE__, __LINE__)
