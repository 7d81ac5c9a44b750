// GlobalAveragePooling2D on the GPU, NHWC, matching kernels/cpu/global_average_pooling2d.h (the
// forward sums in float, so it agrees with the double reference to float rounding of H W terms).
#pragma once
#include <cuda_runtime_api.h>

namespace acts::gpu {

// x (N, H, W, C) -> y (N, C)
void global_average_pooling2d_forward(const float* x, int N, int H, int W, int C, float* y, cudaStream_t stream);
// dy (N, C) -> dx (N, H, W, C), every element written.
void global_average_pooling2d_backward(const float* dy, int N, int H, int W, int C, float* dx, cudaStream_t stream);

}  // namespace acts::gpu
