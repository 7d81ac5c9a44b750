// The random image layers on the GPU, the same draws and sampling as the CPU reference
// (kernels/random_transform.h, kernels/cpu/random_transform.h). The step is read from device
// memory so a replayed CUDA graph draws the current step's transforms.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/random_transform.h"

namespace acts::gpu {

// y (N, H, W, C) = each image of x warped by its transform at (seed, *step, layer); not in place.
void random_transform_forward(const float* x, float* y, int N, int H, int W, int C, const RandomTransform& t,
                              uint64_t seed, const uint64_t* step, uint32_t layer, cudaStream_t stream);

}  // namespace acts::gpu
