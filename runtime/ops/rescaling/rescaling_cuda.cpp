// Rescaling on the GPU (kernels/cuda/rescaling.cu).
#include "kernels/cuda/rescaling.cuh"
#include "runtime/cuda/cuda_op.h"

namespace acts {
namespace {

class RescalingCuda final : public CudaOp {
 public:
  RescalingCuda(const Node& node, const CudaOpEnv& env)
      : size_(node.out_size),
        scale_(float(node.spec.attrs.at("scale"))),
        offset_(float(node.spec.attrs.at("offset"))),
        env_(env) {}

  void forward(const CudaForward& f) override {
    gpu::rescaling_forward(f.x, size_t(f.n) * size_, scale_, offset_, f.y, env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    if (b.dx) gpu::rescaling_backward(b.dy, size_t(b.n) * size_, scale_, b.dx, env_.ctx.stream());
    env_.mark("backward");
    return b.dx != nullptr;
  }

 private:
  size_t size_;  // per sample
  float scale_, offset_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> rescaling_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<RescalingCuda>(node, env);
}

}  // namespace acts
