// AveragePooling2D on the GPU, NHWC, any square pool, stride and valid/same padding
// (kernels/pool2d_shape.h), matching kernels/cpu/average_pooling2d.h: a window's mean is over its
// real (non-padded) elements, as TensorFlow's 'same' average pooling.
#pragma once
#include <cuda_runtime_api.h>

#include "kernels/pool2d_shape.h"

namespace acts::gpu {

// x (N, H, W, C) -> y (N, OH, OW, C)
void average_pooling2d_forward(const float* x, const Pool2dShape& g, float* y, cudaStream_t stream);
// dy (N, OH, OW, C) -> dx (N, H, W, C), every element written; each thread gathers the shares of
// the windows containing its element (no atomics: deterministic, the reference's order).
void average_pooling2d_backward(const Pool2dShape& g, const float* dy, float* dx, cudaStream_t stream);

}  // namespace acts::gpu
