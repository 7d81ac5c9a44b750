// Dense on the GPU: cuBLAS (dense_cuda_gemm.h) and the bias + activation kernel. As the loss head
// it writes its logits (the loss folds the sigmoid in) and the sigmoid output apart. Under mixed
// bf16 the products run on bf16 copies of x, the kernel and dy (cuBLAS' tensor cores, float32
// accumulation and results); bias, activation and their gradients stay float32.
#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "runtime/cuda/bf16_scratch.h"
#include "runtime/cuda/cuda_activation.h"
#include "runtime/ops/dense/dense_cuda_gemm.h"

namespace acts {
namespace {

class DenseCuda final : public CudaOp {
 public:
  DenseCuda(const Node& node, const CudaOpEnv& env)
      : nd_(node), env_(env), type_(env.opt.precision == Precision::kMixedBf16 ? GemmType::kBf16 : GemmType::kFloat32) {}

  void plan(int n, size_t) override {
    if (type_ != GemmType::kBf16) return;
    const std::string& name = nd_.spec.name;
    bf16_.reserve(kX, size_t(n) * in(), name + "'s bf16 input");
    bf16_.reserve(kW, size_t(in()) * nd_.spec.units, name + "'s bf16 kernel");
    bf16_.reserve(kDy, size_t(n) * nd_.spec.units, name + "'s bf16 output gradient");
  }
  size_t scratch_floats(int n) const override { return gpu::bias_grad_scratch_floats(size_t(n), nd_.spec.units); }

  void forward(const CudaForward& f) override {
    const cudaStream_t s = env_.ctx.stream();
    const LayerSpec& sp = nd_.spec;
    float* z = f.logits ? f.logits : f.y;
    dense_forward(env_.ctx, sp.name, operand(kX, f.x, size_t(f.n) * in()), f.n, in(),
                  operand(kW, f.w[0], size_t(in()) * sp.units), sp.units, z, type_);
    gpu::bias_act(z, f.w[1], size_t(f.n), sp.units, f.logits ? Act::Linear : sp.activation, s);
    if (f.logits) gpu::act_forward(z, f.y, size_t(f.n) * nd_.out_size, sp.units, sp.activation, s);
  }

  bool backward(const CudaBackward& b) override {
    const LayerSpec& sp = nd_.spec;
    cuda_activation_backward(env_, b, sp.activation, size_t(b.n) * nd_.out_size, sp.units);
    if (b.dw) gpu::bias_grad(b.dy, size_t(b.n), sp.units, b.dw[1], b.scratch, b.scratch_floats, env_.ctx.stream());
    // bf16: x and the kernel as the forward packed them (only dy is new), as in conv2d_cuda.cpp.
    const bool bf16 = type_ == GemmType::kBf16;
    dense_backward(env_.ctx, sp.name, bf16 ? bf16_.get(kX) : static_cast<const void*>(b.x), b.n, in(),
                   bf16 ? bf16_.get(kW) : static_cast<const void*>(b.w[0]), sp.units,
                   operand(kDy, b.dy, size_t(b.n) * sp.units), b.dx, b.dw ? b.dw[0] : nullptr, type_);
    env_.mark("backward");
    return b.dx != nullptr;
  }

  bool output_relu() const override { return nd_.spec.activation == Act::Relu; }

 private:
  enum Slot { kX, kW, kDy };
  int in() const { return nd_.in_shape[0]; }
  // What cuBLAS multiplies: the float32 tensor itself, or (mixed bf16) its bf16 copy in `slot`.
  const void* operand(Slot slot, const float* p, size_t count) {
    if (type_ != GemmType::kBf16) return p;
    gpu::pack_bf16(p, bf16_.get(slot), count, env_.ctx.stream());
    return bf16_.get(slot);
  }

  const Node& nd_;
  CudaOpEnv env_;
  GemmType type_;
  Bf16Scratch bf16_;
};

}  // namespace

std::unique_ptr<CudaOp> dense_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<DenseCuda>(node, env);
}

}  // namespace acts
