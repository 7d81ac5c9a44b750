// Conv2D's pad/crop kernels; see conv2d_pad.cuh. One thread per element of the larger tensor
// (pad) or of the smaller one (crop), grid-stride, channels innermost: coalesced on both sides.
#include "launch.cuh"
#include "kernels/cuda/conv2d_pad.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void conv2d_pad_after_kernel(const float* __restrict__ x, size_t count, int h, int w, int c, int hp,
                                        int wp, float* __restrict__ xp) {
  ACTS_GRID_STRIDE(i, count) {  // i over xp (n, hp, wp, c)
    const size_t pixel = i / size_t(c);
    const int ch = int(i % size_t(c)), col = int(pixel % size_t(wp)), row = int((pixel / size_t(wp)) % size_t(hp));
    const size_t img = pixel / (size_t(wp) * size_t(hp));
    xp[i] = row < h && col < w ? x[((img * size_t(h) + size_t(row)) * size_t(w) + size_t(col)) * size_t(c) + size_t(ch)]
                               : 0.f;
  }
}

__global__ void conv2d_crop_after_kernel(const float* __restrict__ xp, size_t count, int h, int w, int c, int hp,
                                         int wp, float* __restrict__ x) {
  ACTS_GRID_STRIDE(i, count) {  // i over x (n, h, w, c)
    const size_t pixel = i / size_t(c);
    const int ch = int(i % size_t(c)), col = int(pixel % size_t(w)), row = int((pixel / size_t(w)) % size_t(h));
    const size_t img = pixel / (size_t(w) * size_t(h));
    x[i] = xp[((img * size_t(hp) + size_t(row)) * size_t(wp) + size_t(col)) * size_t(c) + size_t(ch)];
  }
}

}  // namespace

void conv2d_pad_after(const float* x, int n, int h, int w, int c, int extra_h, int extra_w, float* xp,
                      cudaStream_t stream) {
  const int hp = h + extra_h, wp = w + extra_w;
  const size_t count = size_t(n) * size_t(hp) * size_t(wp) * size_t(c);
  if (count == 0) return;
  conv2d_pad_after_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, count, h, w, c, hp, wp, xp);
  CUDA_CHECK_LAUNCH("conv2d_pad_after_kernel");
}

void conv2d_crop_after(const float* xp, int n, int h, int w, int c, int extra_h, int extra_w, float* x,
                       cudaStream_t stream) {
  const size_t count = size_t(n) * size_t(h) * size_t(w) * size_t(c);
  if (count == 0) return;
  conv2d_crop_after_kernel<<<grid_for(count), kThreads, 0, stream>>>(xp, count, h, w, c, h + extra_h, w + extra_w,
                                                                     x);
  CUDA_CHECK_LAUNCH("conv2d_crop_after_kernel");
}

}  // namespace acts::gpu
