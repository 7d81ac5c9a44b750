// Dropout on the CPU (kernels/cpu/dropout.h): a mask at training time, kept for the backward;
// the identity otherwise.
#include <algorithm>

#include "kernels/cpu/dropout.h"
#include "runtime/cpu/cpu_op.h"

namespace acts {
namespace {

class DropoutCpu final : public CpuOp {
 public:
  DropoutCpu(const Node& node, const CpuOpEnv& env) : nd_(node), seed_(env.seed), index_(env.index) {}

  void forward(const CpuForward& f) override {
    const size_t count = size_t(f.n) * nd_.out_size;
    if (f.training && nd_.spec.rate > 0) {
      cpu::dropout_forward(f.x, f.y, count, nd_.spec.rate, seed_, f.step, index_, mask_);
    } else {
      mask_.clear();
      std::copy(f.x, f.x + count, f.y);
    }
  }

  bool backward(const CpuBackward& b) override {  // in place, with the forward's mask
    if (!mask_.empty()) cpu::dropout_backward(b.dy, mask_, b.dy);
    return false;
  }

 private:
  const Node& nd_;
  uint64_t seed_;
  uint32_t index_;
  std::vector<float> mask_;  // of the last training forward; empty after an inference forward
};

}  // namespace

std::unique_ptr<CpuOp> dropout_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<DropoutCpu>(node, env);
}

}  // namespace acts
