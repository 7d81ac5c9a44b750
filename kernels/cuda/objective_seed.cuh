// The seed of Backend::gradient() on the GPU: d objective_i / d (layer output of image i), written
// on the device so that a gradient of a large layer uploads 2n numbers, not the whole tensor.
// Its reference is Backend::objective_seed (runtime/core/backend.cpp).
#pragma once
#include <cstddef>

#include <cuda_runtime_api.h>

namespace acts::gpu {

// d (n, out_size), overwritten: image i's row is zero but for weight[i] at element target[i]
// (channel_mean false), or weight[i] / positions at every position of channel target[i] of the
// last axis (channel_mean true; out_size = positions x channels). target, weight: device (n).
void objective_seed(float* d, int n, size_t out_size, size_t channels, bool channel_mean, const int* target,
                    const float* weight, cudaStream_t stream);

}  // namespace acts::gpu
