// The Rescaling layer on the GPU, matching kernels/cpu/rescaling.h (the forward may be one fused
// multiply-add, within a rounding of the reference).
#pragma once
#include <cstddef>

#include <cuda_runtime_api.h>

namespace acts::gpu {

// y = x * scale + offset over n elements.
void rescaling_forward(const float* x, size_t n, float scale, float offset, float* y, cudaStream_t stream);
// dx = dy * scale over n elements.
void rescaling_backward(const float* dy, size_t n, float scale, float* dx, cudaStream_t stream);

}  // namespace acts::gpu
