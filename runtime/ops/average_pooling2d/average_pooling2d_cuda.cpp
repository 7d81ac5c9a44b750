// AveragePooling2D on the GPU (kernels/cuda/average_pooling2d.cu).
#include "kernels/cuda/average_pooling2d.cuh"
#include "runtime/cuda/cuda_op.h"
#include "runtime/ops/pooling2d.h"

namespace acts {
namespace {

class AveragePooling2DCuda final : public CudaOp {
 public:
  AveragePooling2DCuda(const Node& node, const CudaOpEnv& env) : nd_(node), env_(env) {}

  void forward(const CudaForward& f) override {
    gpu::average_pooling2d_forward(f.x, pool2d_shape_of(nd_, f.n), f.y, env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    if (b.dx) gpu::average_pooling2d_backward(pool2d_shape_of(nd_, b.n), b.dy, b.dx, env_.ctx.stream());
    env_.mark("backward");
    return b.dx != nullptr;
  }

 private:
  const Node& nd_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> average_pooling2d_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<AveragePooling2DCuda>(node, env);
}

}  // namespace acts
