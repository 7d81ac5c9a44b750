// Bias/activation kernels; see activations.cuh.
#include "activations.cuh"
#include "launch.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__device__ __forceinline__ float apply(float v, Act act) {
  if (act == Act::Relu) return v > 0.f ? v : 0.f;
  if (act == Act::Sigmoid) return v >= 0.f ? 1.f / (1.f + expf(-v)) : expf(v) / (1.f + expf(v));
  return v;
}

__global__ void bias_act_kernel(float* __restrict__ y, const float* __restrict__ bias, size_t count, int cols,
                                Act act) {
  ACTS_GRID_STRIDE(i, count) y[i] = apply(__fadd_rn(y[i], bias[i % cols]), act);
}

__global__ void act_forward_kernel(const float* x, float* y, size_t count, Act act) {
  ACTS_GRID_STRIDE(i, count) y[i] = apply(x[i], act);
}

__global__ void act_backward_kernel(const float* y, const float* dy, float* dx, size_t count, Act act) {
  ACTS_GRID_STRIDE(i, count) {
    const float yi = y[i], g = dy[i];
    if (act == Act::Relu)
      dx[i] = yi > 0.f ? g : 0.f;
    else if (act == Act::Sigmoid)
      dx[i] = __fmul_rn(__fmul_rn(g, yi), __fsub_rn(1.f, yi));  // dy * y * (1 - y), CPU order
    else
      dx[i] = g;
  }
}

}  // namespace

void bias_act(float* y, const float* bias, size_t rows, int cols, Act act, cudaStream_t stream) {
  const size_t count = rows * size_t(cols);
  if (count == 0) return;
  bias_act_kernel<<<grid_for(count), kThreads, 0, stream>>>(y, bias, count, cols, act);
  CUDA_CHECK_LAUNCH("bias_act_kernel");
}

void act_forward(const float* x, float* y, size_t count, Act act, cudaStream_t stream) {
  if (count == 0) return;
  act_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, y, count, act);
  CUDA_CHECK_LAUNCH("act_forward_kernel");
}

void act_backward(const float* y, const float* dy, float* dx, size_t count, Act act, cudaStream_t stream) {
  if (count == 0) return;
  act_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(y, dy, dx, count, act);
  CUDA_CHECK_LAUNCH("act_backward_kernel");
}

}  // namespace acts::gpu
