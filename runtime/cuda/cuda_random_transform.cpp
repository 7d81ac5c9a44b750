// The random image layers' CudaOp (runtime/ops/random_transform.h): kernels/cuda/random_transform.cu
// in training, a copy otherwise. The backward passes the gradient on, as on the CPU
// (runtime/cpu/cpu_random_transform.cpp says why).
#include "kernels/cuda/random_transform.cuh"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_op.h"
#include "runtime/ops/random_transform.h"

namespace acts {
namespace {

class RandomTransformCuda final : public CudaOp {
 public:
  RandomTransformCuda(const Node& node, const CudaOpEnv& env)
      : nd_(node), t_(random_transform_of(node.spec)), env_(env) {}

  void forward(const CudaForward& f) override {
    const int H = nd_.in_shape[0], W = nd_.in_shape[1], C = nd_.in_shape[2];
    if (f.training)
      gpu::random_transform_forward(f.x, f.y, f.n, H, W, C, t_, env_.opt.seed, f.step, env_.index, env_.ctx.stream());
    else
      CUDA_CHECK(cudaMemcpyAsync(f.y, f.x, size_t(f.n) * nd_.out_size * sizeof(float), cudaMemcpyDeviceToDevice,
                                 env_.ctx.stream()));
  }

  bool backward(const CudaBackward&) override {
    env_.mark("backward");
    return false;
  }

 private:
  const Node& nd_;
  RandomTransform t_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> random_transform_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<RandomTransformCuda>(node, env);
}

}  // namespace acts
