// Dropout kernels; see dropout.cuh. Forward and backward are the same kernel: multiply by the mask.
#include "dropout.cuh"
#include "launch.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void dropout_kernel(const float* in, float* out, size_t count, float rate, float keep_scale, uint64_t seed,
                               const uint64_t* __restrict__ step_ptr, uint32_t layer) {
  const uint64_t step = *step_ptr;
  ACTS_GRID_STRIDE(i, count) {
    const float m = dropout_uniform(seed, step, layer, i) >= rate ? keep_scale : 0.f;
    out[i] = __fmul_rn(in[i], m);
  }
}

void launch(const float* in, float* out, size_t count, float rate, uint64_t seed, const uint64_t* step, uint32_t layer,
            cudaStream_t stream) {
  if (count == 0) return;
  // 1 / (1 - rate) in float, as the CPU reference computes its mask value.
  dropout_kernel<<<grid_for(count), kThreads, 0, stream>>>(in, out, count, rate, 1.f / (1.f - rate), seed, step, layer);
  CUDA_CHECK_LAUNCH("dropout_kernel");
}

}  // namespace

void dropout_forward(const float* x, float* y, size_t count, float rate, uint64_t seed, const uint64_t* step,
                     uint32_t layer, cudaStream_t stream) {
  launch(x, y, count, rate, seed, step, layer, stream);
}

void dropout_backward(const float* dy, float* dx, size_t count, float rate, uint64_t seed, const uint64_t* step,
                      uint32_t layer, cudaStream_t stream) {
  launch(dy, dx, count, rate, seed, step, layer, stream);
}

}  // namespace acts::gpu
