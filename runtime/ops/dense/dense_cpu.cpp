// Dense on the CPU: the reference loops (kernels/cpu/dense.h) or the fast path's OpenBLAS sgemm,
// then the activation.
#include "kernels/cpu/dense.h"
#include "runtime/cpu/cpu_activation.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/cpu_fast.h"

namespace acts {
namespace {

class DenseCpu final : public CpuOp {
 public:
  DenseCpu(const Node& node, const CpuOpEnv& env) : nd_(node), fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const LayerSpec& s = nd_.spec;
    (fast_ ? cpu_fast::dense_forward : cpu::dense_forward<float>)(f.x, f.n, nd_.in_shape[0], f.w[0], f.w[1], s.units,
                                                                   f.y);
    const size_t count = size_t(f.n) * nd_.out_size;
    if (f.logits) std::copy(f.y, f.y + count, f.logits);
    cpu_activation_forward(s.activation, f.y, count, size_t(s.units));
  }

  bool backward(const CpuBackward& b) override {
    const LayerSpec& s = nd_.spec;
    const int in = nd_.in_shape[0];
    if (!b.act_done) cpu_activation_backward(s.activation, b.y, b.dy, size_t(b.n) * nd_.out_size, size_t(s.units));
    float *dk = b.dw ? b.dw[0] : nullptr, *db = b.dw ? b.dw[1] : nullptr;  // null: input gradient only
    (fast_ ? cpu_fast::dense_backward : cpu::dense_backward<float>)(b.x, b.n, in, b.w[0], s.units, b.dy, b.dx, dk, db);
    return b.dx != nullptr;
  }

 private:
  const Node& nd_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> dense_cpu(const Node& node, const CpuOpEnv& env) { return std::make_unique<DenseCpu>(node, env); }

}  // namespace acts
