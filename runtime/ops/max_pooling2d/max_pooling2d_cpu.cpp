// MaxPooling2D on the CPU: the reference loops (kernels/cpu/max_pooling2d.h) or the fast path's
// vectorised loops, whose backward can also apply the derivative of the relu before it. The fast
// path has a quicker case for stride = pool with 'valid' padding (the tutorial's 2x2/2), where a
// training forward also records where each window's maximum is (a byte per output value, as
// Keras' oneDNN pooling keeps its workspace), so that the backward reads that and dy rather than
// the 4x larger x: backward 7.5 -> ~4 ms at the tutorial's max_pooling2d_1 (batch 20).
#include <cstdint>
#include <vector>

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
    else if (tiles(g) && f.training && g.k * g.k <= cpu_fast::kMaxWsWindow) {
      ws_.resize(size_t(g.N) * g.OH * g.OW * g.C);
      cpu_fast::maxpool_forward(f.x, g.N, g.H, g.W, g.C, g.k, f.y, ws_.data());
      ws_x_ = f.x;
      ws_n_ = f.n;
      return;
    } else if (tiles(g))
      cpu_fast::maxpool_forward(f.x, g.N, g.H, g.W, g.C, g.k, f.y);
    else
      cpu_fast::maxpool_forward(f.x, g, f.y);
    ws_x_ = nullptr;
  }

  bool backward(const CpuBackward& b) override {
    if (!b.dx) return false;  // the first node: no input gradient wanted
    const Pool2dShape g = pool2d_shape_of(nd_, b.n);
    if (!fast_)
      cpu::maxpool_backward(b.x, g, b.dy, b.dx);
    else if (tiles(g) && ws_x_ == b.x && ws_n_ == b.n)  // the record of this x's forward
      cpu_fast::maxpool_backward(ws_.data(), g.N, g.H, g.W, g.C, g.k, b.dy, b.input_relu, b.dx);
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
  std::vector<uint8_t> ws_;      // the last training forward's record, for ws_x_'s ws_n_ images
  const float* ws_x_ = nullptr;  // null: none (an inference forward came after it)
  int ws_n_ = 0;
};

}  // namespace

std::unique_ptr<CpuOp> max_pooling2d_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<MaxPooling2DCpu>(node, env);
}

}  // namespace acts
