// MaxPooling2D on the GPU (square pool P, stride P, floor), NHWC, matching kernels/cpu/max_pooling2d.h:
// backward routes each gradient to the FIRST maximum of its window in row-major order, and rows
// or columns cut off by the floor get zero gradient.
#pragma once
#include <cuda_runtime_api.h>

namespace acts::gpu {

// x (N, H, W, C) -> y (N, H/P, W/P, C)
void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y, cudaStream_t stream);
// dy (N, H/P, W/P, C) -> dx (N, H, W, C), every element written. relu_input: x is the output of
// a relu, whose derivative is applied too (dx = 0 where x <= 0, as cpu::relu_backward), so the
// layer before needs no activation-backward pass over its whole output.
void maxpool_backward(const float* x, int N, int H, int W, int C, int P, const float* dy, float* dx, bool relu_input,
                      cudaStream_t stream);

}  // namespace acts::gpu
