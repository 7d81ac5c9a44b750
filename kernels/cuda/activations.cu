// Bias/activation kernels; see activations.cuh.
#include "activations.cuh"
#include "launch.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__device__ __forceinline__ float apply(float v, Act act) {
  if (act == Act::Relu) return v > 0.f ? v : 0.f;
  if (act == Act::Sigmoid) return v >= 0.f ? 1.f / (1.f + expf(-v)) : expf(v) / (1.f + expf(v));
  if (act == Act::Tanh) return tanhf(v);
  return v;  // linear; softmax is a row pass of its own (softmax_rows_kernel)
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
    else if (act == Act::Tanh)
      dx[i] = __fmul_rn(g, __fsub_rn(1.f, __fmul_rn(yi, yi)));  // dy * (1 - y^2), CPU order
    else
      dx[i] = g;
  }
}

// One thread per row: rows are a head's classes or a pixel's channels (a few to a few hundred
// values), and the sums then run in the CPU reference's order. Max-subtracted: exp() <= 1.
__global__ void softmax_rows_kernel(const float* x, float* y, size_t rows, int cols) {
  ACTS_GRID_STRIDE(r, rows) {
    const float* xr = x + r * size_t(cols);
    float* yr = y + r * size_t(cols);
    float m = xr[0];
    for (int j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    float sum = 0.f;
    for (int j = 0; j < cols; ++j) {
      yr[j] = expf(__fsub_rn(xr[j], m));
      sum = __fadd_rn(sum, yr[j]);
    }
    for (int j = 0; j < cols; ++j) yr[j] = __fdiv_rn(yr[j], sum);
  }
}

// dx_j = y_j (dy_j - sum_k dy_k y_k) per row; dx == dy allowed.
__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, size_t rows, int cols) {
  ACTS_GRID_STRIDE(r, rows) {
    const size_t o = r * size_t(cols);
    float dot = 0.f;
    for (int j = 0; j < cols; ++j) dot = __fadd_rn(dot, __fmul_rn(dy[o + j], y[o + j]));
    for (int j = 0; j < cols; ++j) dx[o + j] = __fmul_rn(y[o + j], __fsub_rn(dy[o + j], dot));
  }
}

void softmax_rows(const float* x, float* y, size_t count, int cols, cudaStream_t stream) {
  const size_t rows = count / size_t(cols);
  softmax_rows_kernel<<<grid_for(rows), kThreads, 0, stream>>>(x, y, rows, cols);
  CUDA_CHECK_LAUNCH("softmax_rows_kernel");
}

}  // namespace

void bias_act(float* y, const float* bias, size_t rows, int cols, Act act, cudaStream_t stream) {
  const size_t count = rows * size_t(cols);
  if (count == 0) return;
  bias_act_kernel<<<grid_for(count), kThreads, 0, stream>>>(y, bias, count, cols, act);
  CUDA_CHECK_LAUNCH("bias_act_kernel");
  if (act == Act::Softmax) softmax_rows(y, y, count, cols, stream);  // apply() left it linear
}

void act_forward(const float* x, float* y, size_t count, int cols, Act act, cudaStream_t stream) {
  if (count == 0) return;
  if (act == Act::Softmax) return softmax_rows(x, y, count, cols, stream);
  act_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, y, count, act);
  CUDA_CHECK_LAUNCH("act_forward_kernel");
}

void act_backward(const float* y, const float* dy, float* dx, size_t count, int cols, Act act,
                  cudaStream_t stream) {
  if (count == 0) return;
  if (act == Act::Softmax) {
    const size_t rows = count / size_t(cols);
    softmax_backward_kernel<<<grid_for(rows), kThreads, 0, stream>>>(y, dy, dx, rows, cols);
    CUDA_CHECK_LAUNCH("softmax_backward_kernel");
    return;
  }
  act_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(y, dy, dx, count, act);
  CUDA_CHECK_LAUNCH("act_backward_kernel");
}

}  // namespace acts::gpu
