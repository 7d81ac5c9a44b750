// Conv2D on the GPU: cuDNN's convolution (conv2d_cuda_layer.h, one plan per batch size) and the
// bias + activation kernel; backward: the activation's derivative, the bias gradient, cuDNN's
// backward-filter and backward-data.
#include <map>

#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "runtime/cuda/cuda_activation.h"
#include "runtime/ops/conv2d/conv2d_cuda_layer.h"

namespace acts {
namespace {

class Conv2DCuda final : public CudaOp {
 public:
  Conv2DCuda(const Node& node, const CudaOpEnv& env) : nd_(node), env_(env) {}

  void plan(int n, size_t limit) override {
    const ConvShape shape{n, nd_.in_shape[0], nd_.in_shape[1], nd_.in_shape[2], nd_.spec.kernel, nd_.spec.filters};
    layers_[n] = std::make_unique<ConvLayer>(env_.ctx, nd_.spec.name, shape, env_.opt.deterministic,
                                             env_.opt.conv_search, limit);
  }
  size_t workspace_bytes(int n) const override { return layers_.at(n)->workspace_bytes(); }
  size_t scratch_floats(int n) const override {
    return gpu::bias_grad_scratch_floats(size_t(n) * nd_.out_shape[0] * nd_.out_shape[1], nd_.spec.filters);
  }
  std::string algorithms(int n) const override { return layers_.at(n)->algorithms(); }

  void forward(const CudaForward& f) override {  // y = act(conv(x) + b), NHWC
    layers_.at(f.n)->forward(f.x, f.w[0], f.y, f.workspace, f.workspace_bytes);
    gpu::bias_act(f.y, f.w[1], size_t(f.n) * nd_.out_shape[0] * nd_.out_shape[1], nd_.spec.filters,
                  nd_.spec.activation, env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    ConvLayer& conv = *layers_.at(b.n);
    cuda_activation_backward(env_, b, nd_.spec.activation, size_t(b.n) * nd_.out_size, nd_.spec.filters);
    if (b.dw) {
      const size_t rows = size_t(b.n) * nd_.out_shape[0] * nd_.out_shape[1];
      gpu::bias_grad(b.dy, rows, nd_.spec.filters, b.dw[1], b.scratch, b.scratch_floats, env_.ctx.stream());
      env_.mark("bias gradient");
      conv.backward_filter(b.x, b.dy, b.dw[0], b.workspace, b.workspace_bytes);
      env_.mark("backward-filter");
    }
    if (b.dx) {
      conv.backward_data(b.w[0], b.dy, b.dx, b.workspace, b.workspace_bytes);
      env_.mark("backward-data");
    }
    return b.dx != nullptr;
  }

  bool output_relu() const override { return nd_.spec.activation == Act::Relu; }

 private:
  const Node& nd_;
  CudaOpEnv env_;
  std::map<int, std::unique_ptr<ConvLayer>> layers_;  // per batch size
};

}  // namespace

std::unique_ptr<CudaOp> conv2d_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<Conv2DCuda>(node, env);
}

}  // namespace acts
