// MaxPooling2D kernels; see max_pooling2d.cuh. Backward runs one thread per INPUT element, which finds
// its window's first maximum itself: every dx element is written exactly once, with no atomics
// and no separate zero fill (windows do not overlap since stride == pool).
#include "launch.cuh"
#include "kernels/cuda/max_pooling2d.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void maxpool_forward_kernel(const float* __restrict__ x, int N, int H, int W, int C, int P,
                                       float* __restrict__ y) {
  const int OH = H / P, OW = W / P;
  const size_t count = size_t(N) * OH * OW * C;
  ACTS_GRID_STRIDE(o, count) {
    const int c = int(o % C);
    const size_t pix = o / C;
    const int ow = int(pix % OW), oh = int((pix / OW) % OH), n = int(pix / (size_t(OW) * OH));
    const float* base = x + ((size_t(n) * H + size_t(oh) * P) * W + size_t(ow) * P) * C + c;
    float m = base[0];
    for (int i = 0; i < P; ++i)
      for (int j = 0; j < P; ++j) {
        const float v = base[(size_t(i) * W + j) * C];
        m = (m < v) ? v : m;  // std::max(m, v)
      }
    y[o] = m;
  }
}

__global__ void maxpool_backward_kernel(const float* __restrict__ x, int N, int H, int W, int C, int P,
                                        const float* __restrict__ dy, float* __restrict__ dx, bool relu_input) {
  const int OH = H / P, OW = W / P;
  const size_t count = size_t(N) * H * W * C;
  ACTS_GRID_STRIDE(at, count) {
    const int c = int(at % C);
    const size_t pix = at / C;
    const int w = int(pix % W), h = int((pix / W) % H), n = int(pix / (size_t(W) * H));
    const int oh = h / P, ow = w / P;
    float g = 0.f;
    if (oh < OH && ow < OW) {
      const size_t first = ((size_t(n) * H + size_t(oh) * P) * W + size_t(ow) * P) * C + c;
      size_t best = first;
      for (int i = 0; i < P; ++i)
        for (int j = 0; j < P; ++j) {
          const size_t k = first + (size_t(i) * W + j) * C;
          if (x[k] > x[best]) best = k;
        }
      if (best == at && !(relu_input && x[at] <= 0.f)) g = dy[((size_t(n) * OH + oh) * OW + ow) * C + c];
    }
    dx[at] = g;
  }
}

}  // namespace

void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y, cudaStream_t stream) {
  const size_t count = size_t(N) * (H / P) * (W / P) * C;
  if (count == 0) return;
  maxpool_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, N, H, W, C, P, y);
  CUDA_CHECK_LAUNCH("maxpool_forward_kernel");
}

void maxpool_backward(const float* x, int N, int H, int W, int C, int P, const float* dy, float* dx, bool relu_input,
                      cudaStream_t stream) {
  const size_t count = size_t(N) * H * W * C;
  if (count == 0) return;
  maxpool_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, N, H, W, C, P, dy, dx, relu_input);
  CUDA_CHECK_LAUNCH("maxpool_backward_kernel");
}

}  // namespace acts::gpu
