// GlobalAveragePooling2D kernels; see global_average_pooling2d.cuh. Forward: one thread per
// (n, c), walking the H W pixels; neighbouring threads read neighbouring channels, so every load
// of a warp is one coalesced row. Backward: one thread per input element.
#include "launch.cuh"
#include "kernels/cuda/global_average_pooling2d.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void gap_forward_kernel(const float* __restrict__ x, int N, int H, int W, int C, float* __restrict__ y) {
  const size_t hw = size_t(H) * W;
  ACTS_GRID_STRIDE(o, size_t(N) * C) {
    const size_t n = o / C, c = o % C;
    const float* xn = x + n * hw * C + c;
    float sum = 0.f;
    for (size_t p = 0; p < hw; ++p) sum += xn[p * C];
    y[o] = sum / float(hw);
  }
}

__global__ void gap_backward_kernel(const float* __restrict__ dy, int N, int H, int W, int C,
                                    float* __restrict__ dx) {
  const size_t hw = size_t(H) * W;
  ACTS_GRID_STRIDE(at, size_t(N) * hw * C) {
    const size_t c = at % C, n = at / (hw * C);
    dx[at] = dy[n * C + c] / float(hw);
  }
}

}  // namespace

void global_average_pooling2d_forward(const float* x, int N, int H, int W, int C, float* y, cudaStream_t stream) {
  const size_t count = size_t(N) * C;
  if (count == 0) return;
  gap_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, N, H, W, C, y);
  CUDA_CHECK_LAUNCH("gap_forward_kernel");
}

void global_average_pooling2d_backward(const float* dy, int N, int H, int W, int C, float* dx, cudaStream_t stream) {
  const size_t count = size_t(N) * H * W * C;
  if (count == 0) return;
  gap_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(dy, N, H, W, C, dx);
  CUDA_CHECK_LAUNCH("gap_backward_kernel");
}

}  // namespace acts::gpu
