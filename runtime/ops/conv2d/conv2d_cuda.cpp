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
// Mixed bf16: cuDNN convolves bf16 copies of x (padded first where TensorFlow's padding asks),
// the kernel and dy (bf16_scratch.h), writing bf16 y, dx and dw that are widened into the float32
// buffers the other ops read; bias, activation and their gradients stay float32. The backward
// reads the x and kernel copies its forward made (a backward always follows its own forward, with
// the weights unchanged: the update comes after it), so only dy is packed there.
#include <map>
#include <utility>
#include <vector>

#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "kernels/cuda/conv2d_pad.cuh"
#include "runtime/cuda/bf16_scratch.h"
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
        bf16_(env.opt.precision == Precision::kMixedBf16),
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
                                             env_.opt.conv_search, limit,
                                             bf16_ ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT);
    const ConvShape& s = layers_[n]->shape();
    if (s.oh() != nd_.out_shape[0] || s.ow() != nd_.out_shape[1])
      fail(nd_.spec.name, " (Conv2D): cuDNN's output ", s.oh(), "x", s.ow(), " differs from the graph's ",
           nd_.out_shape[0], "x", nd_.out_shape[1]);
    const size_t padded = size_t(n) * s.h * s.w * s.c;
    if (asymmetric() && padded_.size() < padded)  // a captured graph may hold the old one: keep it
      old_padded_.push_back(std::exchange(padded_, DeviceBuffer<float>(padded, nd_.spec.name + "'s padded input")));
    if (bf16_) {
      const std::string& name = nd_.spec.name;
      bf16_scratch_.reserve(kX, padded, name + "'s bf16 input");
      bf16_scratch_.reserve(kY, size_t(n) * nd_.out_size, name + "'s bf16 output (and its gradient)");
      bf16_scratch_.reserve(kDx, padded, name + "'s bf16 input gradient");
      bf16_scratch_.reserve(kW, kernel_size(), name + "'s bf16 kernel");
      bf16_scratch_.reserve(kDw, kernel_size(), name + "'s bf16 kernel gradient");
    }
  }
  size_t workspace_bytes(int n) const override { return layers_.at(n)->workspace_bytes(); }
  size_t scratch_floats(int n) const override {
    return bias_ ? gpu::bias_grad_scratch_floats(rows(n), nd_.spec.filters) : 0;
  }
  std::string algorithms(int n) const override { return layers_.at(n)->algorithms(); }

  void forward(const CudaForward& f) override {  // y = act(conv(x) + b), NHWC
    ConvLayer& conv = *layers_.at(f.n);
    if (bf16_) {
      conv.forward(packed(kX, input(f.x, f.n), input_size(f.n)), packed(kW, f.w[0], kernel_size()),
                   bf16_scratch_.get(kY), f.workspace, f.workspace_bytes);
      gpu::widen_bf16(bf16_scratch_.get(kY), f.y, size_t(f.n) * nd_.out_size, env_.ctx.stream());
    } else {
      conv.forward(input(f.x, f.n), f.w[0], f.y, f.workspace, f.workspace_bytes);
    }
    if (bias_)
      gpu::bias_act(f.y, f.w[1], rows(f.n), nd_.spec.filters, nd_.spec.activation, env_.ctx.stream());
    else if (nd_.spec.activation != Act::Linear)
      gpu::act_forward(f.y, f.y, size_t(f.n) * nd_.out_size, nd_.spec.filters, nd_.spec.activation,
                       env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    ConvLayer& conv = *layers_.at(b.n);
    const cudaStream_t s = env_.ctx.stream();
    cuda_activation_backward(env_, b, nd_.spec.activation, size_t(b.n) * nd_.out_size, nd_.spec.filters);
    const void* dy = bf16_ ? static_cast<const void*>(packed(kY, b.dy, size_t(b.n) * nd_.out_size)) : b.dy;
    if (b.dw) {
      if (bias_) {
        gpu::bias_grad(b.dy, rows(b.n), nd_.spec.filters, b.dw[1], b.scratch, b.scratch_floats, s);
        env_.mark("bias gradient");
      }
      if (bf16_) {  // x as the forward packed it (kX holds it until this layer's next forward)
        conv.backward_filter(bf16_scratch_.get(kX), dy, bf16_scratch_.get(kDw), b.workspace, b.workspace_bytes);
        gpu::widen_bf16(bf16_scratch_.get(kDw), b.dw[0], kernel_size(), s);
      } else {
        conv.backward_filter(input(b.x, b.n), dy, b.dw[0], b.workspace, b.workspace_bytes);
      }
      env_.mark("backward-filter");
    }
    if (b.dx) {
      // The gradient of what cuDNN convolved: x itself, or its padded copy, cropped into dx after.
      float* dx = asymmetric() ? padded_.get() : b.dx;
      if (bf16_) {  // the kernel as the forward packed it, the weights it computed with
        conv.backward_data(bf16_scratch_.get(kW), dy, bf16_scratch_.get(kDx), b.workspace, b.workspace_bytes);
        gpu::widen_bf16(bf16_scratch_.get(kDx), dx, input_size(b.n), s);
      } else {
        conv.backward_data(b.w[0], dy, dx, b.workspace, b.workspace_bytes);
      }
      if (asymmetric())
        gpu::conv2d_crop_after(padded_.get(), b.n, nd_.in_shape[0], nd_.in_shape[1], nd_.in_shape[2], extra_h_,
                               extra_w_, b.dx, s);
      env_.mark("backward-data");
    }
    return b.dx != nullptr;
  }

  bool output_relu() const override { return nd_.spec.activation == Act::Relu; }

 private:
  enum Slot { kX, kY, kDx, kW, kDw };  // mixed bf16's copies (kY: y, then dy)
  bool asymmetric() const { return extra_h_ || extra_w_; }
  size_t rows(int n) const { return size_t(n) * nd_.out_shape[0] * nd_.out_shape[1]; }
  // Elements of what cuDNN convolves (the padded input where TensorFlow pads unevenly).
  size_t input_size(int n) const {
    return size_t(n) * (nd_.in_shape[0] + extra_h_) * (nd_.in_shape[1] + extra_w_) * nd_.in_shape[2];
  }
  size_t kernel_size() const { return size_t(nd_.spec.filters) * nd_.spec.kernel * nd_.spec.kernel * nd_.in_shape[2]; }
  // Mixed bf16: p's `count` elements packed into slot `slot`, which is returned.
  const __nv_bfloat16* packed(Slot slot, const float* p, size_t count) {
    gpu::pack_bf16(p, bf16_scratch_.get(slot), count, env_.ctx.stream());
    return bf16_scratch_.get(slot);
  }
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
  bool bf16_;  // mixed bf16: cuDNN on bf16 tensors
  int extra_h_, extra_w_;  // TensorFlow's odd padding: one more zero after than before (0 or 1)
  std::map<int, std::unique_ptr<ConvLayer>> layers_;  // per batch size
  DeviceBuffer<float> padded_;                        // (n, H + extra_h, W + extra_w, C) for the largest n planned
  std::vector<DeviceBuffer<float>> old_padded_;
  Bf16Scratch bf16_scratch_;
};

}  // namespace

std::unique_ptr<CudaOp> conv2d_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<Conv2DCuda>(node, env);
}

}  // namespace acts
