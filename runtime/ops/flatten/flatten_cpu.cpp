// Flatten on the CPU: a copy forward; the gradient passes through in place.
#include <algorithm>

#include "runtime/cpu/cpu_op.h"

namespace acts {
namespace {

class FlattenCpu final : public CpuOp {
 public:
  explicit FlattenCpu(const Node& node) : nd_(node) {}
  void forward(const CpuForward& f) override { std::copy(f.x, f.x + size_t(f.n) * nd_.out_size, f.y); }
  bool backward(const CpuBackward&) override { return false; }
  bool keeps_bf16() const override { return true; }  // a copy

 private:
  const Node& nd_;
};

}  // namespace

std::unique_ptr<CpuOp> flatten_cpu(const Node& node, const CpuOpEnv&) { return std::make_unique<FlattenCpu>(node); }

}  // namespace acts
