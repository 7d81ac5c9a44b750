// Activation on the GPU (kernels/cuda/activations.cu); a linear one is aliased to its input.
#include "kernels/cuda/activations.cuh"
#include "runtime/cuda/cuda_activation.h"

namespace acts {
namespace {

class ActivationCuda final : public CudaOp {
 public:
  ActivationCuda(const Node& node, const CudaOpEnv& env) : nd_(node), env_(env) {}

  bool aliases_input() const override { return nd_.spec.activation == Act::Linear; }
  void forward(const CudaForward& f) override {
    if (nd_.spec.activation != Act::Linear)
      gpu::act_forward(f.x, f.y, size_t(f.n) * nd_.out_size, nd_.out_shape.back(), nd_.spec.activation,
                       env_.ctx.stream());
  }
  bool backward(const CudaBackward& b) override {  // in place
    cuda_activation_backward(env_, b, nd_.spec.activation, size_t(b.n) * nd_.out_size, nd_.out_shape.back());
    env_.mark("backward");
    return false;
  }
  bool output_relu() const override { return nd_.spec.activation == Act::Relu; }

 private:
  const Node& nd_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> activation_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<ActivationCuda>(node, env);
}

}  // namespace acts
