// MaxPooling2D kernels; see max_pooling2d.cuh. Backward runs one thread per INPUT element, which
// visits the windows containing it (in (oh, ow) order, as the reference adds them), finds each
// window's first maximum and adds that window's gradient when it is this element: every dx element
// is written exactly once, with no atomics and no zero fill, and overlapping windows (stride <
// pool) need no synchronisation. The sums are the reference's, in its order.
#include "launch.cuh"
#include "kernels/cuda/max_pooling2d.cuh"
#include "kernels/cuda/pool2d_windows.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

// The index of the first maximum of window (n, oh, ow) of channel c (strictly greater replaces).
__device__ size_t window_argmax(const float* __restrict__ x, const Pool2dShape& g, int n, int oh, int ow, int c) {
  const Span r = window_span(oh, g.s, g.pad_top, g.k, g.H), q = window_span(ow, g.s, g.pad_left, g.k, g.W);
  size_t best = ((size_t(n) * g.H + r.start + r.lo) * g.W + q.start + q.lo) * g.C + c;
  for (int i = r.lo; i < r.hi; ++i)
    for (int j = q.lo; j < q.hi; ++j) {
      const size_t k = ((size_t(n) * g.H + r.start + i) * g.W + q.start + j) * g.C + c;
      if (x[k] > x[best]) best = k;
    }
  return best;
}

__global__ void maxpool_forward_kernel(const float* __restrict__ x, Pool2dShape g, float* __restrict__ y) {
  const size_t count = size_t(g.N) * g.OH * g.OW * g.C;
  ACTS_GRID_STRIDE(o, count) {
    const int c = int(o % g.C);
    const size_t pix = o / g.C;
    const int ow = int(pix % g.OW), oh = int((pix / g.OW) % g.OH), n = int(pix / (size_t(g.OW) * g.OH));
    y[o] = x[window_argmax(x, g, n, oh, ow, c)];
  }
}

__global__ void maxpool_backward_kernel(const float* __restrict__ x, Pool2dShape g, const float* __restrict__ dy,
                                        float* __restrict__ dx, bool relu_input) {
  const size_t count = size_t(g.N) * g.H * g.W * g.C;
  ACTS_GRID_STRIDE(at, count) {
    const int c = int(at % g.C);
    const size_t pix = at / g.C;
    const int w = int(pix % g.W), h = int((pix / g.W) % g.H), n = int(pix / (size_t(g.W) * g.H));
    float sum = 0.f;
    if (!(relu_input && x[at] <= 0.f)) {
      int oh0, oh1, ow0, ow1;
      windows_of(h, g.s, g.pad_top, g.k, g.OH, oh0, oh1);
      windows_of(w, g.s, g.pad_left, g.k, g.OW, ow0, ow1);
      for (int oh = oh0; oh <= oh1; ++oh)
        for (int ow = ow0; ow <= ow1; ++ow)
          if (window_argmax(x, g, n, oh, ow, c) == at) sum += dy[((size_t(n) * g.OH + oh) * g.OW + ow) * g.C + c];
    }
    dx[at] = sum;
  }
}

}  // namespace

void maxpool_forward(const float* x, const Pool2dShape& g, float* y, cudaStream_t stream) {
  const size_t count = size_t(g.N) * g.OH * g.OW * g.C;
  if (count == 0) return;
  maxpool_forward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, g, y);
  CUDA_CHECK_LAUNCH("maxpool_forward_kernel");
}

void maxpool_backward(const float* x, const Pool2dShape& g, const float* dy, float* dx, bool relu_input,
                      cudaStream_t stream) {
  const size_t count = size_t(g.N) * g.H * g.W * g.C;
  if (count == 0) return;
  maxpool_backward_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, g, dy, dx, relu_input);
  CUDA_CHECK_LAUNCH("maxpool_backward_kernel");
}

void maxpool_forward(const float* x, int N, int H, int W, int C, int P, float* y, cudaStream_t stream) {
  maxpool_forward(x, pool2d_shape(Padding::Valid, N, H, W, C, P, P), y, stream);
}

void maxpool_backward(const float* x, int N, int H, int W, int C, int P, const float* dy, float* dx, bool relu_input,
                      cudaStream_t stream) {
  maxpool_backward(x, pool2d_shape(Padding::Valid, N, H, W, C, P, P), dy, dx, relu_input, stream);
}

}  // namespace acts::gpu
