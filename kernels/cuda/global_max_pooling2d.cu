// GlobalMaxPooling2D kernels; see global_max_pooling2d.cuh. One thread per (n, c), walking the
// H W pixels; neighbouring threads read neighbouring channels, so every load of a warp is one
// coalesced row. Backward: the same thread finds the first maximum again and writes the whole
// column of dx (the gradient there, zeros elsewhere): no atomics, no zero fill.
#include "launch.cuh"
#include "kernels/cuda/global_max_pooling2d.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

// The pixel of the first maximum (strictly greater replaces, as the reference).
__device__ size_t first_max(const float* __restrict__ xn, size_t hw, int C) {
  size_t best = 0;
  for (size_t p = 1; p < hw; ++p)
    if (xn[p * C] > xn[best * C]) best = p;
  return best;
}

__global__ void gmp_forward_kernel(const float* __restrict__ x, int N, int H, int W, int C, float* __restrict__ y) {
  const size_t hw = size_t(H) * W;
  ACTS_GRID_STRIDE(o, size_t(N) * C) {
    const size_t n = o / C, c = o % C;
    const float* xn = x + n * hw * C + c;
    y[o] = xn[first_max(xn, hw, C) * C];
  }
}

__global__ void gmp_backward_kernel(const float* __restrict__ x, const float* __restrict__ dy, int N, int H, int W,
                                    int C, float* __restrict__ dx) {
  const size_t hw = size_t(H) * W;
  ACTS_GRID_STRIDE(o, size_t(N) * C) {
    const size_t n = o / C, c = o % C;
    const size_t best = first_max(x + n * hw * C + c, hw, C);
    float* d = dx + n * hw * C + c;
    for (size_t p = 0; p < hw; ++p) d[p * C] = p == best ? dy[o] : 0.f;
  }
}

}  // namespace

void global_max_pooling2d_forward(const float* x, int N, int H, int W, int C, float* y, cudaStream_t stream) {
  const size_t count = size_t(N) * C;
  if (count == 0) return;
  gmp_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, N, H, W, C, y);
  CUDA_CHECK_LAUNCH("gmp_forward_kernel");
}

void global_max_pooling2d_backward(const float* x, const float* dy, int N, int H, int W, int C, float* dx,
                                   cudaStream_t stream) {
  const size_t count = size_t(N) * C;
  if (count == 0) return;
  gmp_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, dy, N, H, W, C, dx);
  CUDA_CHECK_LAUNCH("gmp_backward_kernel");
}

}  // namespace acts::gpu
