// MaxPooling2D on the GPU, NHWC, any square pool, stride and valid/same padding
// (kernels/pool2d_shape.h), matching kernels/cpu/max_pooling2d.h: backward routes each window's
// gradient to its FIRST maximum in row-major order; an element that is the max of several
// overlapping windows gets the sum of their gradients; elements no window picks get zero.
#pragma once
#include <cuda_runtime_api.h>

#include "kernels/pool2d_shape.h"

namespace acts::gpu {

// x (N, H, W, C) -> y (N, OH, OW, C)
void maxpool_forward(const float* x, const Pool2dShape& g, float* y, cudaStream_t stream);
// dy (N, OH, OW, C) -> dx (N, H, W, C), every element written, deterministically (each thread
// gathers its own element's gradient; no atomics). relu_input: x is the output of a relu, whose
// derivative is applied too (dx = 0 where x <= 0, as cpu::relu_backward), so the layer before
// needs no activation-backward pass over its whole output.
void maxpool_backward(const float* x, const Pool2dShape& g, const float* dy, float* dx, bool relu_input,
                      cudaStream_t stream);

// The tutorial's case: pool P, stride P, 'valid' (floor).
void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y, cudaStream_t stream);
void maxpool_backward(const float* x, int N, int H, int W, int C, int P, const float* dy, float* dx, bool relu_input,
                      cudaStream_t stream);

}  // namespace acts::gpu
