// GlobalMaxPooling2D on the CPU: the reference loops (kernels/cpu/global_max_pooling2d.h) or the
// fast path: the same comparisons with the channel loop innermost (it vectorises), one sample per
// task on the fast path's threads; equal to the reference bit for bit.
#include <algorithm>
#include <vector>

#include "kernels/cpu/global_max_pooling2d.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts {
namespace {

class GlobalMaxPooling2DCpu final : public CpuOp {
 public:
  GlobalMaxPooling2DCpu(const Node& node, const CpuOpEnv& env) : nd_(node), fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    if (!fast_) return cpu::global_max_pooling2d_forward(f.x, f.n, H, W, C, f.y);
    const size_t hw = size_t(H) * W;
    cpu_fast::parallel_ranges(size_t(f.n), 1, [&](size_t n0, size_t n1) {
      for (size_t n = n0; n < n1; ++n) {
        float* __restrict y = f.y + n * C;
        const float* x = f.x + n * hw * C;
        std::copy(x, x + C, y);
        for (size_t p = 1; p < hw; ++p) {
          const float* __restrict in = x + p * C;
          for (int c = 0; c < C; ++c) y[c] = in[c] > y[c] ? in[c] : y[c];
        }
      }
    });
  }

  // Each (n, c)'s gradient goes to the first pixel equal to the forward's max (the reference's
  // first maximum); a NaN max equals nothing and goes to the first pixel, as in the reference.
  bool backward(const CpuBackward& b) override {
    if (!b.dx) return false;
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    if (!fast_) {
      cpu::global_max_pooling2d_backward(b.x, b.n, H, W, C, b.dy, b.dx);
      return true;
    }
    const size_t hw = size_t(H) * W;
    cpu_fast::parallel_ranges(size_t(b.n), 1, [&](size_t n0, size_t n1) {
      std::vector<int> found_buf(static_cast<size_t>(C));
      int* __restrict found = found_buf.data();
      for (size_t n = n0; n < n1; ++n) {
        const float* __restrict m = b.y + n * C;
        const float* __restrict g = b.dy + n * C;
        std::fill(found, found + C, 0);
        for (size_t p = 0; p < hw; ++p) {
          const float* __restrict in = b.x + (n * hw + p) * C;
          float* __restrict d = b.dx + (n * hw + p) * C;
          for (int c = 0; c < C; ++c) {
            const int hit = (found[c] == 0) & (in[c] == m[c]);
            d[c] = hit ? g[c] : 0.f;
            found[c] |= hit;
          }
        }
        float* d0 = b.dx + n * hw * C;
        for (int c = 0; c < C; ++c) d0[c] = found[c] ? d0[c] : g[c];
      }
    });
    return true;
  }

  bool keeps_bf16() const override { return true; }  // y: one of x's values; dx: dy or 0

 private:
  const Node& nd_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> global_max_pooling2d_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<GlobalMaxPooling2DCpu>(node, env);
}

}  // namespace acts
