// Conv2D on the GPU: cuDNN's convolution (conv2d_cuda_layer.h, one plan per batch size) and the
// bias + activation kernel; backward: the activation's derivative, the bias gradient, cuDNN's
// backward-filter and backward-data. Without a bias (use_bias=False) the activation runs alone and
// there is no bias gradient.
// Padding: cuDNN pads the same number of zeros before and after. TensorFlow's 'same' puts an odd
// total's extra zero after (window.h), so for such a layer the input is first copied into a
// buffer one row and/or column larger with zeros there (kernels/cuda/conv2d_pad.cuh) and cuDNN
// gets the smaller padding on both sides; backward-filter reads the same padded copy (made again:
// the buffer is free between forward and backward for other batch sizes), backward-data writes
// the larger gradient there and it is cropped into dx. The buffer is allocated in plan().
#include <map>
#include <utility>
#include <vector>

#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "kernels/cuda/conv2d_pad.cuh"
#include "runtime/cuda/cuda_activation.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/ops/conv2d/conv2d_cuda_layer.h"
#include "runtime/ops/conv2d/conv2d_geometry.h"

namespace acts {
namespace {

class Conv2DCuda final : public CudaOp {
 public:
  Conv2DCuda(const Node& node, const CudaOpEnv& env)
      : nd_(node),
        env_(env),
        bias_(conv_use_bias(node.spec)),
        extra_h_(node.pad_bottom - node.pad_top),
        extra_w_(node.pad_right - node.pad_left) {
    if (extra_h_ < 0 || extra_h_ > 1 || extra_w_ < 0 || extra_w_ > 1)  // window_1d never makes these
      fail(nd_.spec.name, " (Conv2D): padding ", nd_.pad_top, "/", nd_.pad_bottom, " x ", nd_.pad_left, "/",
           nd_.pad_right, " is not TensorFlow's 'same' split");
  }

  void plan(int n, size_t limit) override {
    const ConvShape shape{n,
                          nd_.in_shape[0] + extra_h_,
                          nd_.in_shape[1] + extra_w_,
                          nd_.in_shape[2],
                          nd_.spec.kernel,
                          nd_.spec.filters,
                          nd_.spec.stride,
                          nd_.pad_top,
                          nd_.pad_left};
    layers_[n] = std::make_unique<ConvLayer>(env_.ctx, nd_.spec.name, shape, env_.opt.deterministic,
                                             env_.opt.conv_search, limit);
    const ConvShape& s = layers_[n]->shape();
    if (s.oh() != nd_.out_shape[0] || s.ow() != nd_.out_shape[1])
      fail(nd_.spec.name, " (Conv2D): cuDNN's output ", s.oh(), "x", s.ow(), " differs from the graph's ",
           nd_.out_shape[0], "x", nd_.out_shape[1]);
    const size_t padded = size_t(n) * s.h * s.w * s.c;
    if (asymmetric() && padded_.size() < padded)  // a captured graph may hold the old one: keep it
      old_padded_.push_back(std::exchange(padded_, DeviceBuffer<float>(padded, nd_.spec.name + "'s padded input")));
  }
  size_t workspace_bytes(int n) const override { return layers_.at(n)->workspace_bytes(); }
  size_t scratch_floats(int n) const override {
    return bias_ ? gpu::bias_grad_scratch_floats(rows(n), nd_.spec.filters) : 0;
  }
  std::string algorithms(int n) const override { return layers_.at(n)->algorithms(); }

  void forward(const CudaForward& f) override {  // y = act(conv(x) + b), NHWC
    layers_.at(f.n)->forward(input(f.x, f.n), f.w[0], f.y, f.workspace, f.workspace_bytes);
    if (bias_)
      gpu::bias_act(f.y, f.w[1], rows(f.n), nd_.spec.filters, nd_.spec.activation, env_.ctx.stream());
    else if (nd_.spec.activation != Act::Linear)
      gpu::act_forward(f.y, f.y, size_t(f.n) * nd_.out_size, nd_.spec.filters, nd_.spec.activation,
                       env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    ConvLayer& conv = *layers_.at(b.n);
    cuda_activation_backward(env_, b, nd_.spec.activation, size_t(b.n) * nd_.out_size, nd_.spec.filters);
    if (b.dw) {
      if (bias_) {
        gpu::bias_grad(b.dy, rows(b.n), nd_.spec.filters, b.dw[1], b.scratch, b.scratch_floats, env_.ctx.stream());
        env_.mark("bias gradient");
      }
      conv.backward_filter(input(b.x, b.n), b.dy, b.dw[0], b.workspace, b.workspace_bytes);
      env_.mark("backward-filter");
    }
    if (b.dx) {
      if (asymmetric()) {
        conv.backward_data(b.w[0], b.dy, padded_.get(), b.workspace, b.workspace_bytes);
        gpu::conv2d_crop_after(padded_.get(), b.n, nd_.in_shape[0], nd_.in_shape[1], nd_.in_shape[2], extra_h_,
                               extra_w_, b.dx, env_.ctx.stream());
      } else {
        conv.backward_data(b.w[0], b.dy, b.dx, b.workspace, b.workspace_bytes);
      }
      env_.mark("backward-data");
    }
    return b.dx != nullptr;
  }

  bool output_relu() const override { return nd_.spec.activation == Act::Relu; }

 private:
  bool asymmetric() const { return extra_h_ || extra_w_; }
  size_t rows(int n) const { return size_t(n) * nd_.out_shape[0] * nd_.out_shape[1]; }
  // What cuDNN convolves: x itself, or its copy with TensorFlow's extra bottom/right zeros.
  const float* input(const float* x, int n) {
    if (!asymmetric()) return x;
    gpu::conv2d_pad_after(x, n, nd_.in_shape[0], nd_.in_shape[1], nd_.in_shape[2], extra_h_, extra_w_, padded_.get(),
                          env_.ctx.stream());
    return padded_.get();
  }

  const Node& nd_;
  CudaOpEnv env_;
  bool bias_;
  int extra_h_, extra_w_;  // TensorFlow's odd padding: one more zero after than before (0 or 1)
  std::map<int, std::unique_ptr<ConvLayer>> layers_;  // per batch size
  DeviceBuffer<float> padded_;                        // (n, H + extra_h, W + extra_w, C) for the largest n planned
  std::vector<DeviceBuffer<float>> old_padded_;
};

}  // namespace

std::unique_ptr<CudaOp> conv2d_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<Conv2DCuda>(node, env);
}

}  // namespace acts
