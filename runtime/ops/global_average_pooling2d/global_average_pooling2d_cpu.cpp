// GlobalAveragePooling2D on the CPU: the reference loops (kernels/cpu/global_average_pooling2d.h,
// double sums) or the fast path: float sums with the channel loop innermost (it vectorises), one
// sample per task on the fast path's threads.
#include "kernels/cpu/global_average_pooling2d.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts {
namespace {

class GlobalAveragePooling2DCpu final : public CpuOp {
 public:
  GlobalAveragePooling2DCpu(const Node& node, const CpuOpEnv& env) : nd_(node), fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    if (!fast_) return cpu::global_average_pooling2d_forward(f.x, f.n, H, W, C, f.y);
    const size_t hw = size_t(H) * W;
    cpu_fast::parallel_ranges(size_t(f.n), 1, [&](size_t n0, size_t n1) {
      for (size_t n = n0; n < n1; ++n) {
        float* y = f.y + n * C;
        const float* x = f.x + n * hw * C;
        std::fill(y, y + C, 0.f);
        for (size_t p = 0; p < hw; ++p)
          for (int c = 0; c < C; ++c) y[c] += x[p * C + c];
        for (int c = 0; c < C; ++c) y[c] /= float(hw);
      }
    });
  }

  bool backward(const CpuBackward& b) override {
    if (!b.dx) return false;
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    if (!fast_) {
      cpu::global_average_pooling2d_backward(b.dy, b.n, H, W, C, b.dx);
      return true;
    }
    const size_t hw = size_t(H) * W;
    cpu_fast::parallel_ranges(size_t(b.n), 1, [&](size_t n0, size_t n1) {
      for (size_t n = n0; n < n1; ++n)
        for (size_t p = 0; p < hw; ++p)
          for (int c = 0; c < C; ++c) b.dx[(n * hw + p) * C + c] = b.dy[n * C + c] / float(hw);
    });
    return true;
  }

 private:
  const Node& nd_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> global_average_pooling2d_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<GlobalAveragePooling2DCpu>(node, env);
}

}  // namespace acts
