// AveragePooling2D kernels; see average_pooling2d.cuh. Forward: one thread per output, summing
// its window's real elements in row-major order. Backward: one thread per input element, adding
// dy / count of each window containing it in (oh, ow) order, as the reference does.
#include "launch.cuh"
#include "kernels/cuda/average_pooling2d.cuh"
#include "kernels/cuda/pool2d_windows.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void average_pooling2d_forward_kernel(const float* __restrict__ x, Pool2dShape g, float* __restrict__ y) {
  const size_t count = size_t(g.N) * g.OH * g.OW * g.C;
  ACTS_GRID_STRIDE(o, count) {
    const int c = int(o % g.C);
    const size_t pix = o / g.C;
    const int ow = int(pix % g.OW), oh = int((pix / g.OW) % g.OH), n = int(pix / (size_t(g.OW) * g.OH));
    const Span r = window_span(oh, g.s, g.pad_top, g.k, g.H), q = window_span(ow, g.s, g.pad_left, g.k, g.W);
    float sum = 0.f;
    for (int i = r.lo; i < r.hi; ++i)
      for (int j = q.lo; j < q.hi; ++j) sum += x[((size_t(n) * g.H + r.start + i) * g.W + q.start + j) * g.C + c];
    y[o] = sum / float((r.hi - r.lo) * (q.hi - q.lo));
  }
}

__global__ void average_pooling2d_backward_kernel(Pool2dShape g, const float* __restrict__ dy, float* __restrict__ dx) {
  const size_t count = size_t(g.N) * g.H * g.W * g.C;
  ACTS_GRID_STRIDE(at, count) {
    const int c = int(at % g.C);
    const size_t pix = at / g.C;
    const int w = int(pix % g.W), h = int((pix / g.W) % g.H), n = int(pix / (size_t(g.W) * g.H));
    int oh0, oh1, ow0, ow1;
    windows_of(h, g.s, g.pad_top, g.k, g.OH, oh0, oh1);
    windows_of(w, g.s, g.pad_left, g.k, g.OW, ow0, ow1);
    float sum = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const Span r = window_span(oh, g.s, g.pad_top, g.k, g.H);
      for (int ow = ow0; ow <= ow1; ++ow) {
        const Span q = window_span(ow, g.s, g.pad_left, g.k, g.W);
        sum += dy[((size_t(n) * g.OH + oh) * g.OW + ow) * g.C + c] / float((r.hi - r.lo) * (q.hi - q.lo));
      }
    }
    dx[at] = sum;
  }
}

}  // namespace

void average_pooling2d_forward(const float* x, const Pool2dShape& g, float* y, cudaStream_t stream) {
  const size_t count = size_t(g.N) * g.OH * g.OW * g.C;
  if (count == 0) return;
  average_pooling2d_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, g, y);
  CUDA_CHECK_LAUNCH("average_pooling2d_forward_kernel");
}

void average_pooling2d_backward(const Pool2dShape& g, const float* dy, float* dx, cudaStream_t stream) {
  const size_t count = size_t(g.N) * g.H * g.W * g.C;
  if (count == 0) return;
  average_pooling2d_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(g, dy, dx);
  CUDA_CHECK_LAUNCH("average_pooling2d_backward_kernel");
}

}  // namespace acts::gpu
