// Dense layers through cuBLAS on row-major tensors in Keras' layout. cuBLAS is column-major, so
// each row-major product C = A B is issued as C^T = B^T A^T, which reads the same memory without
// any transpose copies. The operands are float32 (SGEMM: strict fp32 or TF32, as the handle's
// math mode says: CudaContext) or bf16 (cublasGemmEx with bf16 A and B, float32 C and float32
// accumulation: the tensor cores of mixed bf16); the results are float32 either way. Bias and
// activation are separate kernels (activations.cuh, bias_grad.cuh).
//   x (n, in)   w (in, out)   y (n, out)
#pragma once
#include <string>

#include "runtime/cuda/cuda_context.h"

namespace acts {

enum class GemmType { kFloat32, kBf16 };  // the element type of x, w and dy (float or __nv_bfloat16)

// y = x w (no bias); overwrites y.
void dense_forward(const CudaContext& ctx, const std::string& layer, const void* x, int n, int in, const void* w,
                   int out, float* y, GemmType type = GemmType::kFloat32);
// dw = x^T dy (when dw is not null) and dx = dy w^T (when dx is not null); both overwritten.
void dense_backward(const CudaContext& ctx, const std::string& layer, const void* x, int n, int in, const void* w,
                    int out, const void* dy, float* dx, float* dw, GemmType type = GemmType::kFloat32);

}  // namespace acts
