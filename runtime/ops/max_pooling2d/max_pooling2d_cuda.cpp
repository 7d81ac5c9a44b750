// MaxPooling2D on the GPU (kernels/cuda/max_pooling2d.cu); its backward also applies the
// derivative of a relu before it (a window passes its gradient only if its max is > 0).
#include "kernels/cuda/max_pooling2d.cuh"
#include "runtime/cuda/cuda_op.h"
#include "runtime/ops/pooling2d.h"

namespace acts {
namespace {

class MaxPooling2DCuda final : public CudaOp {
 public:
  MaxPooling2DCuda(const Node& node, const CudaOpEnv& env) : nd_(node), env_(env) {}

  void forward(const CudaForward& f) override {
    gpu::maxpool_forward(f.x, pool2d_shape_of(nd_, f.n), f.y, env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    if (b.dx) gpu::maxpool_backward(b.x, pool2d_shape_of(nd_, b.n), b.dy, b.dx, b.input_relu, env_.ctx.stream());
    env_.mark("backward");
    return b.dx != nullptr;
  }

  bool takes_input_relu() const override { return true; }

 private:
  const Node& nd_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> max_pooling2d_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<MaxPooling2DCuda>(node, env);
}

}  // namespace acts
