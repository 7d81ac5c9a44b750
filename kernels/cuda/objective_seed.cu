// objective_seed; see objective_seed.cuh. One thread per element, grid-stride.
#include "launch.cuh"
#include "kernels/cuda/objective_seed.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void objective_seed_kernel(float* __restrict__ d, size_t count, size_t out_size, size_t channels,
                                      bool channel_mean, const int* __restrict__ target,
                                      const float* __restrict__ weight) {
  ACTS_GRID_STRIDE(k, count) {
    const size_t i = k / out_size, e = k % out_size, t = size_t(target[i]);
    float v = 0.f;
    if (channel_mean)
      v = e % channels == t ? weight[i] / float(out_size / channels) : 0.f;
    else
      v = e == t ? weight[i] : 0.f;
    d[k] = v;
  }
}

}  // namespace

void objective_seed(float* d, int n, size_t out_size, size_t channels, bool channel_mean, const int* target,
                    const float* weight, cudaStream_t stream) {
  const size_t count = size_t(n) * out_size;
  if (count == 0) return;
  objective_seed_kernel<<<grid_for(count), kThreads, 0, stream>>>(d, count, out_size, channels, channel_mean, target,
                                                                  weight);
  CUDA_CHECK_LAUNCH("objective_seed_kernel");
}

}  // namespace acts::gpu
