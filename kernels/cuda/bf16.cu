// bf16 conversion kernels; see bf16.cuh. One thread per element, grid-stride.
#include "launch.cuh"
#include "kernels/cuda/bf16.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

// x and y may alias (in-place rounding): no __restrict__.
__global__ void round_bf16_kernel(const float* x, float* y, size_t n) {
  ACTS_GRID_STRIDE(i, n) y[i] = __bfloat162float(__float2bfloat16_rn(x[i]));
}

__global__ void pack_bf16_kernel(const float* __restrict__ x, __nv_bfloat16* __restrict__ y, size_t n) {
  ACTS_GRID_STRIDE(i, n) y[i] = __float2bfloat16_rn(x[i]);
}

__global__ void widen_bf16_kernel(const __nv_bfloat16* __restrict__ x, float* __restrict__ y, size_t n) {
  ACTS_GRID_STRIDE(i, n) y[i] = __bfloat162float(x[i]);
}

}  // namespace

void round_bf16(const float* x, float* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  round_bf16_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, y, n);
  CUDA_CHECK_LAUNCH("round_bf16_kernel");
}

void pack_bf16(const float* x, __nv_bfloat16* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  pack_bf16_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, y, n);
  CUDA_CHECK_LAUNCH("pack_bf16_kernel");
}

void widen_bf16(const __nv_bfloat16* x, float* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  widen_bf16_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, y, n);
  CUDA_CHECK_LAUNCH("widen_bf16_kernel");
}

}  // namespace acts::gpu
