// RMSprop on the GPU, one launch over the whole flat parameter vector (weights, gradients and
// accumulators are three equally laid out arrays), exactly as kernels/cpu/rmsprop.h:
//   a = rho a + (1 - rho) g^2;  w -= lr g / (sqrt(a) + eps)  (kKeras2)  or  lr g / sqrt(a + eps)  (kKeras3)
// The learning rate is read from device memory so a captured CUDA graph sees set_learning_rate().
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/rmsprop_rule.h"

namespace acts::gpu {

void rmsprop(float* w, const float* g, float* a, size_t count, const float* lr, float rho, float eps,
             RmspropRule rule, cudaStream_t stream);

}  // namespace acts::gpu
