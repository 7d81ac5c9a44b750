// Activation on the CPU: a copy, then the activation in place; backward in place.
#include <algorithm>

#include "runtime/cpu/cpu_activation.h"
#include "runtime/cpu/cpu_op.h"

namespace acts {
namespace {

class ActivationCpu final : public CpuOp {
 public:
  explicit ActivationCpu(const Node& node) : nd_(node) {}

  void forward(const CpuForward& f) override {
    const size_t count = size_t(f.n) * nd_.out_size;
    std::copy(f.x, f.x + count, f.y);
    if (f.logits) std::copy(f.y, f.y + count, f.logits);
    cpu_activation_forward(nd_.spec.activation, f.y, count, size_t(nd_.out_shape.back()));
  }

  bool backward(const CpuBackward& b) override {
    if (!b.act_done)
      cpu_activation_backward(nd_.spec.activation, b.y, b.dy, size_t(b.n) * nd_.out_size,
                              size_t(nd_.out_shape.back()));
    return false;
  }

 private:
  const Node& nd_;
};

}  // namespace

std::unique_ptr<CpuOp> activation_cpu(const Node& node, const CpuOpEnv&) { return std::make_unique<ActivationCpu>(node); }

}  // namespace acts
