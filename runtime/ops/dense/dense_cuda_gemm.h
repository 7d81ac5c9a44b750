// Dense layers through cuBLAS SGEMM on row-major tensors in Keras' layout. cuBLAS is
// column-major, so each row-major product C = A B is issued as C^T = B^T A^T, which reads the
// same memory without any transpose copies. Strict fp32 or TF32 follows the handle's math mode
// (CudaContext). Bias and activation are separate kernels (activations.cuh, bias_grad.cuh).
//   x (n, in)   w (in, out)   y (n, out)
#pragma once
#include <string>

#include "runtime/cuda/cuda_context.h"

namespace acts {

// y = x w (no bias); overwrites y.
void dense_forward(const CudaContext& ctx, const std::string& layer, const float* x, int n, int in, const float* w,
                   int out, float* y);
// dw = x^T dy (when dw is not null) and dx = dy w^T (when dx is not null); both overwritten.
void dense_backward(const CudaContext& ctx, const std::string& layer, const float* x, int n, int in, const float* w,
                    int out, const float* dy, float* dx, float* dw);

}  // namespace acts
