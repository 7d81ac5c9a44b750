// Conv2D on the CPU: the reference loops (kernels/cpu/conv2d.h) or the fast path's oneDNN/im2col
// convolution (runtime/cpu/fast), which applies the layer's relu itself, forward and backward.
// Without a bias (use_bias=False) the node's parameters are the kernel alone: no bias is added
// and no bias gradient is written.
#include "kernels/cpu/conv2d.h"
#include "runtime/cpu/cpu_activation.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/ops/conv2d/conv2d_geometry.h"

namespace acts {
namespace {

class Conv2DCpu final : public CpuOp {
 public:
  Conv2DCpu(const Node& node, const CpuOpEnv& env)
      : nd_(node), fast_(env.fast), bf16_(env.bf16), geo_(conv_geometry(node)), bias_(conv_use_bias(node.spec)) {}

  void forward(const CpuForward& f) override {
    const float* bias = bias_ ? f.w[1] : nullptr;
    if (fast_)
      cpu_fast::conv2d_forward(f.x, f.n, geo_, f.w[0], bias, nd_.spec.activation == Act::Relu, bf16_, keeps_bf16(),
                               f.y, *f.scratch);
    else
      cpu::conv2d_forward(f.x, f.n, geo_, f.w[0], bias, f.y);
    const size_t count = size_t(f.n) * nd_.out_size;
    if (f.logits) std::copy(f.y, f.y + count, f.logits);
    cpu_activation_forward(nd_.spec.activation, f.y, count, size_t(nd_.spec.filters), fused_relu());
  }

  bool backward(const CpuBackward& b) override {
    const size_t count = size_t(b.n) * nd_.out_size;
    if (!b.act_done && !fused_relu())
      cpu_activation_backward(nd_.spec.activation, b.y, b.dy, count, size_t(nd_.spec.filters));
    float* dk = b.dw ? b.dw[0] : nullptr;  // null: input gradient only
    float* db = b.dw && bias_ ? b.dw[1] : nullptr;
    if (fast_)
      cpu_fast::conv2d_backward(b.x, b.n, geo_, b.w[0], b.dy, fused_relu() && !b.act_done ? b.y : nullptr, bf16_,
                                keeps_bf16(), b.dx, dk, db, *b.scratch);
    else
      cpu::conv2d_backward(b.x, b.n, geo_, b.w[0], b.dy, b.dx, dk, db);
    return b.dx != nullptr;
  }

  bool output_relu() const override { return fused_relu(); }
  // In mixed bf16 the fast path rounds y and dx itself (cpu_fast::conv2d_forward's `round`),
  // unless an activation other than the fused relu comes after: its input must stay unrounded.
  bool keeps_bf16() const override { return fast_ && bf16_ && (fused_relu() || nd_.spec.activation == Act::Linear); }

 private:
  bool fused_relu() const { return fast_ && nd_.spec.activation == Act::Relu; }
  const Node& nd_;
  bool fast_;
  bool bf16_;  // mixed bf16: x, the kernel and dy hold bf16 values
  cpu::ConvGeometry geo_;
  bool bias_;
};

}  // namespace

std::unique_ptr<CpuOp> conv2d_cpu(const Node& node, const CpuOpEnv& env) { return std::make_unique<Conv2DCpu>(node, env); }

}  // namespace acts
