// RMSprop on the GPU, one launch over the whole flat parameter vector (weights, gradients and
// accumulators are three equally laid out arrays), exactly as kernels/cpu/rmsprop.h:
//   a = rho a + (1 - rho) g^2;  w -= lr g / (sqrt(a) + eps)
// The learning rate is read from device memory so a captured CUDA graph sees set_learning_rate().
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace acts::gpu {

void rmsprop(float* w, const float* g, float* a, size_t count, const float* lr, float rho, float eps,
             cudaStream_t stream);

}  // namespace acts::gpu
