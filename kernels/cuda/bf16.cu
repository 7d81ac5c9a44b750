// bf16 rounding kernel; see bf16_round.cuh. One thread per element, grid-stride.
#include <cuda_bf16.h>

#include "launch.cuh"
#include "kernels/cuda/bf16_round.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

// x and y may alias (in-place rounding): no __restrict__.
__global__ void round_bf16_kernel(const float* x, float* y, size_t n) {
  ACTS_GRID_STRIDE(i, n) y[i] = __bfloat162float(__float2bfloat16_rn(x[i]));
}

}  // namespace

void round_bf16(const float* x, float* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  round_bf16_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, y, n);
  CUDA_CHECK_LAUNCH("round_bf16_kernel");
}

}  // namespace acts::gpu
