// Rescaling kernels; see rescaling.cuh. One thread per element, grid-stride.
#include "launch.cuh"
#include "kernels/cuda/rescaling.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void rescaling_forward_kernel(const float* __restrict__ x, size_t n, float scale, float offset,
                                         float* __restrict__ y) {
  ACTS_GRID_STRIDE(i, n) y[i] = x[i] * scale + offset;
}

__global__ void rescaling_backward_kernel(const float* __restrict__ dy, size_t n, float scale,
                                          float* __restrict__ dx) {
  ACTS_GRID_STRIDE(i, n) dx[i] = dy[i] * scale;
}

}  // namespace

void rescaling_forward(const float* x, size_t n, float scale, float offset, float* y, cudaStream_t stream) {
  if (n == 0) return;
  rescaling_forward_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, n, scale, offset, y);
  CUDA_CHECK_LAUNCH("rescaling_forward_kernel");
}

void rescaling_backward(const float* dy, size_t n, float scale, float* dx, cudaStream_t stream) {
  if (n == 0) return;
  rescaling_backward_kernel<<<grid_for(n), kThreads, 0, stream>>>(dy, n, scale, dx);
  CUDA_CHECK_LAUNCH("rescaling_backward_kernel");
}

}  // namespace acts::gpu
