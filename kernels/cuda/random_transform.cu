// Random image layer kernel; see random_transform.cuh. One thread per output element: the
// image's transform is recomputed per element (a few flops beside the bilinear reads).
#include "kernels/cuda/random_transform.cuh"
#include "launch.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void random_transform_kernel(const float* __restrict__ x, float* __restrict__ y, int N, int H, int W, int C,
                                        RandomTransform t, uint64_t seed, const uint64_t* __restrict__ step_ptr,
                                        uint32_t layer) {
  const uint64_t step = *step_ptr;
  const size_t per = size_t(H) * W * C;
  ACTS_GRID_STRIDE(i, per * N) {
    const size_t n = i / per, r = i % per;
    const int c = int(r % C), px = int(r / C % W), py = int(r / C / W);
    float a[6];
    random_affine(t, seed, step, layer, n, H, W, a);
    y[i] = sample_transformed(x + n * per, H, W, C, a, t, px, py, c);
  }
}

}  // namespace

void random_transform_forward(const float* x, float* y, int N, int H, int W, int C, const RandomTransform& t,
                              uint64_t seed, const uint64_t* step, uint32_t layer, cudaStream_t stream) {
  const size_t count = size_t(N) * H * W * C;
  if (count == 0) return;
  random_transform_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, y, N, H, W, C, t, seed, step, layer);
  CUDA_CHECK_LAUNCH("random_transform_kernel");
}

}  // namespace acts::gpu
