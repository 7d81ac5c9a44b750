// MaxPooling2D on the CPU: the reference loops (kernels/cpu/max_pooling2d.h) or the fast path's
// vectorised loops, whose backward can also apply the derivative of the relu before it. The fast
// path has a quicker case for stride = pool with 'valid' padding (the tutorial's 2x2/2).
#include "kernels/cpu/max_pooling2d.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/ops/pooling2d.h"

namespace acts {
namespace {

class MaxPooling2DCpu final : public CpuOp {
 public:
  MaxPooling2DCpu(const Node& node, const CpuOpEnv& env) : nd_(node), fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const Pool2dShape g = pool2d_shape_of(nd_, f.n);
    if (!fast_)
      cpu::maxpool_forward(f.x, g, f.y);
    else if (tiles(g))
      cpu_fast::maxpool_forward(f.x, g.N, g.H, g.W, g.C, g.k, f.y);
    else
      cpu_fast::maxpool_forward(f.x, g, f.y);
  }

  bool backward(const CpuBackward& b) override {
    if (!b.dx) return false;  // the first node: no input gradient wanted
    const Pool2dShape g = pool2d_shape_of(nd_, b.n);
    if (!fast_)
      cpu::maxpool_backward(b.x, g, b.dy, b.dx);
    else if (tiles(g))
      cpu_fast::maxpool_backward(b.x, b.y, g.N, g.H, g.W, g.C, g.k, b.dy, b.input_relu, b.dx);
    else
      cpu_fast::maxpool_backward(b.x, b.y, g, b.dy, b.input_relu, b.dx);
    return true;
  }

  bool takes_input_relu() const override { return fast_; }
  // The max of bf16 values is one of them; dx is dy or 0, but where windows overlap, dy's sum.
  bool keeps_bf16() const override { return pool2d_stride(nd_.spec) >= nd_.spec.pool; }

 private:
  // Windows that tile the input without padding or overlap: the fast path's quicker loops.
  bool tiles(const Pool2dShape& g) const { return g.s == g.k && nd_.spec.padding == Padding::Valid; }

  const Node& nd_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> max_pooling2d_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<MaxPooling2DCpu>(node, env);
}

}  // namespace acts
