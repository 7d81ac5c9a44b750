// AveragePooling2D on the CPU: the reference loops (kernels/cpu/average_pooling2d.h) or the fast
// path: the same arithmetic in the same order with the channel loop innermost (it vectorises),
// one image per task on the fast path's threads, so it equals the reference bit for bit.
#include <algorithm>
#include <vector>

#include "kernels/cpu/average_pooling2d.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "runtime/ops/pooling2d.h"

namespace acts {
namespace {

// The real part of window (oh, ow): rows [h0 + i0, h0 + i1), columns [w0 + j0, w0 + j1).
struct Span2 {
  int h0, i0, i1, w0, j0, j1;
  float count() const { return float((i1 - i0) * (j1 - j0)); }
};
Span2 span_of(const Pool2dShape& g, int oh, int ow) {
  const int h0 = oh * g.s - g.pad_top, w0 = ow * g.s - g.pad_left;
  return {h0, std::max(0, -h0), std::min(g.k, g.H - h0), w0, std::max(0, -w0), std::min(g.k, g.W - w0)};
}

void forward_images(const float* x, const Pool2dShape& g, float* y, size_t n0, size_t n1) {
  const int C = g.C;
  for (size_t n = n0; n < n1; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        const Span2 w = span_of(g, oh, ow);
        float* __restrict out = y + ((n * g.OH + oh) * g.OW + ow) * C;
        std::fill(out, out + C, 0.f);
        for (int i = w.i0; i < w.i1; ++i)
          for (int j = w.j0; j < w.j1; ++j) {
            const float* __restrict in = x + ((n * g.H + size_t(w.h0 + i)) * g.W + size_t(w.w0 + j)) * C;
            for (int c = 0; c < C; ++c) out[c] += in[c];
          }
        const float count = w.count();
        for (int c = 0; c < C; ++c) out[c] /= count;
      }
}

void backward_images(const Pool2dShape& g, const float* dy, float* dx, size_t n0, size_t n1) {
  const int C = g.C;
  std::vector<float> share_buf(static_cast<size_t>(C));
  float* __restrict share = share_buf.data();
  const size_t image = size_t(g.H) * g.W * C;
  for (size_t n = n0; n < n1; ++n) {
    std::fill(dx + n * image, dx + (n + 1) * image, 0.f);
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        const Span2 w = span_of(g, oh, ow);
        const float* __restrict d = dy + ((n * g.OH + oh) * g.OW + ow) * C;
        const float count = w.count();
        for (int c = 0; c < C; ++c) share[c] = d[c] / count;
        for (int i = w.i0; i < w.i1; ++i)
          for (int j = w.j0; j < w.j1; ++j) {
            float* __restrict out = dx + ((n * g.H + size_t(w.h0 + i)) * g.W + size_t(w.w0 + j)) * C;
            for (int c = 0; c < C; ++c) out[c] += share[c];
          }
      }
  }
}

class AveragePooling2DCpu final : public CpuOp {
 public:
  AveragePooling2DCpu(const Node& node, const CpuOpEnv& env) : nd_(node), fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const Pool2dShape g = pool2d_shape_of(nd_, f.n);
    if (!fast_) return cpu::average_pooling2d_forward(f.x, g, f.y);
    cpu_fast::parallel_ranges(size_t(g.N), 1, [&](size_t n0, size_t n1) { forward_images(f.x, g, f.y, n0, n1); });
  }

  bool backward(const CpuBackward& b) override {
    if (!b.dx) return false;
    const Pool2dShape g = pool2d_shape_of(nd_, b.n);
    if (!fast_)
      cpu::average_pooling2d_backward(g, b.dy, b.dx);
    else
      cpu_fast::parallel_ranges(size_t(g.N), 1, [&](size_t n0, size_t n1) { backward_images(g, b.dy, b.dx, n0, n1); });
    return true;
  }

 private:
  const Node& nd_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> average_pooling2d_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<AveragePooling2DCpu>(node, env);
}

}  // namespace acts
