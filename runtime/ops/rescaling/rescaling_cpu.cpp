// Rescaling on the CPU: the reference loop (kernels/cpu/rescaling.h) or the same arithmetic split
// over the fast path's threads (it vectorises; the results are the same bits).
#include "kernels/cpu/rescaling.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts {
namespace {

class RescalingCpu final : public CpuOp {
 public:
  RescalingCpu(const Node& node, const CpuOpEnv& env)
      : size_(node.out_size),
        scale_(float(node.spec.attrs.at("scale"))),
        offset_(float(node.spec.attrs.at("offset"))),
        fast_(env.fast) {}

  void forward(const CpuForward& f) override {
    const size_t n = size_t(f.n) * size_;
    if (!fast_) return cpu::rescaling_forward(f.x, n, scale_, offset_, f.y);
    cpu_fast::parallel_ranges(n, 4096, [&](size_t i0, size_t i1) {
      cpu::rescaling_forward(f.x + i0, i1 - i0, scale_, offset_, f.y + i0);
    });
  }

  bool backward(const CpuBackward& b) override {
    if (!b.dx) return false;
    const size_t n = size_t(b.n) * size_;
    if (!fast_) {
      cpu::rescaling_backward(b.dy, n, scale_, b.dx);
      return true;
    }
    cpu_fast::parallel_ranges(n, 4096, [&](size_t i0, size_t i1) {
      cpu::rescaling_backward(b.dy + i0, i1 - i0, scale_, b.dx + i0);
    });
    return true;
  }

 private:
  size_t size_;  // per sample
  float scale_, offset_;
  bool fast_;
};

}  // namespace

std::unique_ptr<CpuOp> rescaling_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<RescalingCpu>(node, env);
}

}  // namespace acts
