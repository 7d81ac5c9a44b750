// Conv2D on the CPU: the reference loops (kernels/cpu/conv2d.h) or the fast path's oneDNN/im2col
// convolution (runtime/cpu/fast), which applies the layer's relu itself, forward and backward.
#include "kernels/cpu/conv2d.h"
#include "runtime/cpu/cpu_activation.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/cpu_fast.h"

namespace acts {
namespace {

class Conv2DCpu final : public CpuOp {
 public:
  Conv2DCpu(const Node& node, const CpuOpEnv& env) : nd_(node), fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const LayerSpec& s = nd_.spec;
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    if (fast_)
      cpu_fast::conv2d_forward(f.x, f.n, H, W, C, f.w[0], f.w[1], s.kernel, s.kernel, s.filters,
                               s.activation == Act::Relu, f.y, *f.scratch);
    else
      cpu::conv2d_forward(f.x, f.n, H, W, C, f.w[0], f.w[1], s.kernel, s.kernel, s.filters, f.y);
    const size_t count = size_t(f.n) * nd_.out_size;
    if (f.logits) std::copy(f.y, f.y + count, f.logits);
    cpu_activation_forward(s.activation, f.y, count, size_t(s.filters), fused_relu());
  }

  bool backward(const CpuBackward& b) override {
    const LayerSpec& s = nd_.spec;
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    const size_t count = size_t(b.n) * nd_.out_size;
    if (!b.act_done && !fused_relu()) cpu_activation_backward(s.activation, b.y, b.dy, count, size_t(s.filters));
    float *dk = b.dw ? b.dw[0] : nullptr, *db = b.dw ? b.dw[1] : nullptr;  // null: input gradient only
    if (fast_)
      cpu_fast::conv2d_backward(b.x, b.n, H, W, C, b.w[0], s.kernel, s.kernel, s.filters, b.dy,
                                fused_relu() && !b.act_done ? b.y : nullptr, b.dx, dk, db, *b.scratch);
    else
      cpu::conv2d_backward(b.x, b.n, H, W, C, b.w[0], s.kernel, s.kernel, s.filters, b.dy, b.dx, dk, db);
    return b.dx != nullptr;
  }

  bool output_relu() const override { return fused_relu(); }

 private:
  bool fused_relu() const { return fast_ && nd_.spec.activation == Act::Relu; }
  const Node& nd_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> conv2d_cpu(const Node& node, const CpuOpEnv& env) { return std::make_unique<Conv2DCpu>(node, env); }

}  // namespace acts
