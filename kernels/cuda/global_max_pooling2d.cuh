// GlobalMaxPooling2D on the GPU, NHWC, matching kernels/cpu/global_max_pooling2d.h exactly: the
// gradient of (n, c) goes to its FIRST maximum in row-major (h, w) order (TensorFlow's tie rule).
#pragma once
#include <cuda_runtime_api.h>

namespace acts::gpu {

// x (N, H, W, C) -> y (N, C)
void global_max_pooling2d_forward(const float* x, int N, int H, int W, int C, float* y, cudaStream_t stream);
// dy (N, C) -> dx (N, H, W, C), every element written (one thread per (n, c) writes its column).
void global_max_pooling2d_backward(const float* x, const float* dy, int N, int H, int W, int C, float* dx,
                                   cudaStream_t stream);

}  // namespace acts::gpu
