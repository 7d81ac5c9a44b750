// MaxPooling2D on the CPU: the reference loops (kernels/cpu/max_pooling2d.h) or the fast path's
// vectorised loops, whose backward can also apply the derivative of the relu before it.
#include "kernels/cpu/max_pooling2d.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/cpu_fast.h"

namespace acts {
namespace {

class MaxPooling2DCpu final : public CpuOp {
 public:
  MaxPooling2DCpu(const Node& node, const CpuOpEnv& env) : nd_(node), fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2], P = nd_.spec.pool;
    if (fast_)
      cpu_fast::maxpool_forward(f.x, f.n, H, W, C, P, f.y);
    else
      cpu::maxpool_forward(f.x, f.n, H, W, C, P, f.y);
  }

  bool backward(const CpuBackward& b) override {
    if (!b.dx) return false;  // the first node: no input gradient wanted
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2], P = nd_.spec.pool;
    if (fast_)
      cpu_fast::maxpool_backward(b.x, b.y, b.n, H, W, C, P, b.dy, b.input_relu, b.dx);
    else
      cpu::maxpool_backward(b.x, b.n, H, W, C, P, b.dy, b.dx);
    return true;
  }

  bool takes_input_relu() const override { return fast_; }

 private:
  const Node& nd_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> max_pooling2d_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<MaxPooling2DCpu>(node, env);
}

}  // namespace acts
