// GlobalMaxPooling2D on the GPU (kernels/cuda/global_max_pooling2d.cu).
#include "kernels/cuda/global_max_pooling2d.cuh"
#include "runtime/cuda/cuda_op.h"

namespace acts {
namespace {

class GlobalMaxPooling2DCuda final : public CudaOp {
 public:
  GlobalMaxPooling2DCuda(const Node& node, const CudaOpEnv& env) : nd_(node), env_(env) {}

  void forward(const CudaForward& f) override {
    gpu::global_max_pooling2d_forward(f.x, f.n, nd_.in_shape[0], nd_.in_shape[1], nd_.in_shape[2], f.y,
                                      env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    if (b.dx)
      gpu::global_max_pooling2d_backward(b.x, b.dy, b.n, nd_.in_shape[0], nd_.in_shape[1], nd_.in_shape[2], b.dx,
                                         env_.ctx.stream());
    env_.mark("backward");
    return b.dx != nullptr;
  }

 private:
  const Node& nd_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> global_max_pooling2d_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<GlobalMaxPooling2DCuda>(node, env);
}

}  // namespace acts
