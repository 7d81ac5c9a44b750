// Dense on the GPU: cuBLAS sgemm (dense_cuda_gemm.h) and the bias + activation kernel. As the
// loss head it writes its logits (the loss folds the sigmoid in) and the sigmoid output apart.
#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "runtime/cuda/cuda_activation.h"
#include "runtime/ops/dense/dense_cuda_gemm.h"

namespace acts {
namespace {

class DenseCuda final : public CudaOp {
 public:
  DenseCuda(const Node& node, const CudaOpEnv& env) : nd_(node), env_(env) {}

  size_t scratch_floats(int n) const override { return gpu::bias_grad_scratch_floats(size_t(n), nd_.spec.units); }

  void forward(const CudaForward& f) override {
    const cudaStream_t s = env_.ctx.stream();
    const LayerSpec& sp = nd_.spec;
    float* z = f.logits ? f.logits : f.y;
    dense_forward(env_.ctx, sp.name, f.x, f.n, nd_.in_shape[0], f.w[0], sp.units, z);
    gpu::bias_act(z, f.w[1], size_t(f.n), sp.units, f.logits ? Act::Linear : sp.activation, s);
    if (f.logits) gpu::act_forward(z, f.y, size_t(f.n) * nd_.out_size, sp.units, sp.activation, s);
  }

  bool backward(const CudaBackward& b) override {
    const LayerSpec& sp = nd_.spec;
    cuda_activation_backward(env_, b, sp.activation, size_t(b.n) * nd_.out_size, sp.units);
    if (b.dw) gpu::bias_grad(b.dy, size_t(b.n), sp.units, b.dw[1], b.scratch, b.scratch_floats, env_.ctx.stream());
    dense_backward(env_.ctx, sp.name, b.x, b.n, nd_.in_shape[0], b.w[0], sp.units, b.dy, b.dx, b.dw ? b.dw[0] : nullptr);
    env_.mark("backward");
    return b.dx != nullptr;
  }

  bool output_relu() const override { return nd_.spec.activation == Act::Relu; }

 private:
  const Node& nd_;
  CudaOpEnv env_;
};

}  // namespace

std::unique_ptr<CudaOp> dense_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<DenseCuda>(node, env);
}

}  // namespace acts
