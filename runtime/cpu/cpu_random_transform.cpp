// The random image layers' CpuOp (runtime/ops/random_transform.h): in training, the reference warp
// (kernels/cpu/random_transform.h), images split over the fast path's threads (the same arithmetic, the same bits);
// otherwise a copy.
#include <algorithm>

#include "kernels/cpu/random_transform.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "runtime/ops/random_transform.h"

namespace acts {
namespace {

class RandomTransformCpu final : public CpuOp {
 public:
  RandomTransformCpu(const Node& node, const CpuOpEnv& env)
      : nd_(node), t_(random_transform_of(node.spec)), fast_(env.fast), seed_(env.seed), index_(env.index) {}

  void forward(const CpuForward& f) override {
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    const size_t per = size_t(H) * W * C;
    if (!f.training) return void(std::copy(f.x, f.x + size_t(f.n) * per, f.y));
    if (!fast_) return cpu::random_transform_forward(f.x, f.y, f.n, H, W, C, t_, seed_, f.step, index_);
    cpu_fast::parallel_ranges(size_t(f.n), 1, [&](size_t n0, size_t n1) {
      for (size_t n = n0; n < n1; ++n)
        cpu::random_transform_image(f.x + n * per, f.y + n * per, H, W, C, t_, seed_, f.step, index_, n);
    });
  }

  // Inference: the identity, whose gradient passes through (heatmaps to the input). Training: no
  // layer before this one has weights (infer() refuses it otherwise), so no parameter gradient
  // needs the warp's; the gradient is passed on unchanged and nothing uses it.
  bool backward(const CpuBackward&) override { return false; }

 private:
  const Node& nd_;
  RandomTransform t_;
  bool fast_;
  uint64_t seed_;
  uint32_t index_;
};

}  // namespace

std::unique_ptr<CpuOp> random_transform_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<RandomTransformCpu>(node, env);
}

}  // namespace acts
