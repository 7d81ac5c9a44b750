// Dropout on the GPU (kernels/cuda/dropout.cu): the mask is recomputed from (seed, step, layer,
// element) in the backward instead of being stored.
#include "kernels/cuda/dropout.cuh"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_op.h"

namespace acts {
namespace {

class DropoutCuda final : public CudaOp {
 public:
  DropoutCuda(const Node& node, const CudaOpEnv& env) : nd_(node), env_(env) {}

  void forward(const CudaForward& f) override {
    const size_t count = size_t(f.n) * nd_.out_size;
    if (f.training && nd_.spec.rate > 0)
      gpu::dropout_forward(f.x, f.y, count, nd_.spec.rate, env_.opt.seed, f.step, env_.index, env_.ctx.stream());
    else
      CUDA_CHECK(cudaMemcpyAsync(f.y, f.x, count * sizeof(float), cudaMemcpyDeviceToDevice, env_.ctx.stream()));
  }

  bool backward(const CudaBackward& b) override {  // in place, with the forward pass's mask
    if (b.dx && b.training && nd_.spec.rate > 0)
      gpu::dropout_backward(b.dy, b.dy, size_t(b.n) * nd_.out_size, nd_.spec.rate, env_.opt.seed, b.step, env_.index,
                            env_.ctx.stream());
    env_.mark("backward");
    return false;
  }

 private:
  const Node& nd_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> dropout_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<DropoutCuda>(node, env);
}

}  // namespace acts
