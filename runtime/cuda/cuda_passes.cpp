// CudaBackend's device passes: forward, loss, backward and RMSprop, layer by layer as
// CpuBackend runs them (same activation-in-place convention, same gradient flow). They only
// enqueue work on the backend's stream, never synchronise and never touch host memory, so the
// whole training step can be captured as one CUDA graph.
#include "cuda_backend.h"
#include "dense.h"
#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bce.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "kernels/cuda/dropout.cuh"
#include "kernels/cuda/maxpool.cuh"
#include "kernels/cuda/rescale_augment.cuh"
#include "kernels/cuda/rmsprop.cuh"

namespace acts {

namespace {
bool has_activation(const LayerSpec& s) {
  return (s.type == LayerType::Conv2D || s.type == LayerType::Dense || s.type == LayerType::Activation) &&
         s.activation != Act::Linear;
}
}  // namespace

void CudaBackend::forward_pass(int n, Input in, bool training) {
  const cudaStream_t s = ctx_.stream();
  const Plan& p = plan(n);
  const int H = graph_.spec().height, W = graph_.spec().width, C = graph_.spec().channels;
  if (in == Input::Images) gpu::rescale_u8(images_, x_, size_t(n) * input_size_, scale_dev(), s);
  if (in == Input::Augmented) gpu::augment_rescale(images_, affine_dev(), n, H, W, C, scale_dev(), x_, s);
  // Input::Floats was uploaded straight into x_.
  mark("", "input rescale");

  const size_t last = graph_.nodes().size() - 1;
  for (size_t i = 0; i <= last; ++i) {
    const Node& nd = graph_.nodes()[i];
    const LayerSpec& sp = nd.spec;
    const float* x = input_of(i);
    float* y = out_[i];
    const size_t count = size_t(n) * nd.out_size;
    switch (sp.type) {
      case LayerType::Conv2D: {  // y = relu(conv(x) + b), NHWC
        p.conv[i]->forward(x, weights(nd.kernel), y, workspace_.get(), workspace_.bytes());
        gpu::bias_act(y, weights(nd.bias), size_t(n) * nd.out_shape[0] * nd.out_shape[1], sp.filters, sp.activation, s);
        break;
      }
      case LayerType::MaxPooling2D:
        gpu::maxpool_forward(x, n, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], sp.pool, y, s);
        break;
      case LayerType::Flatten:  // aliased: (H, W, C) row-major already is Keras' flatten order
        break;
      case LayerType::Dense: {
        // The last Dense keeps its logits for the loss; its sigmoid output is the activation.
        float* z = i == last ? logits_ : y;
        dense_forward(ctx_, sp.name, x, n, nd.in_shape[0], weights(nd.kernel), sp.units, z);
        gpu::bias_act(z, weights(nd.bias), size_t(n), sp.units, i == last ? Act::Linear : sp.activation, s);
        if (i == last) gpu::act_forward(z, y, count, sp.activation, s);
        break;
      }
      case LayerType::Dropout:
        if (training && sp.rate > 0)
          gpu::dropout_forward(x, y, count, sp.rate, opt_.seed, step_dev(), uint32_t(i), s);
        else
          CUDA_CHECK(cudaMemcpyAsync(y, x, count * sizeof(float), cudaMemcpyDeviceToDevice, s));
        break;
      case LayerType::Activation:
        if (sp.activation != Act::Linear) gpu::act_forward(x, y, count, sp.activation, s);  // linear: aliased
        break;
    }
    mark(sp.name, "forward");
  }
}

void CudaBackend::bce_pass(int n, bool with_gradient) {
  gpu::bce_loss(logits_, labels_dev(), n, with_gradient ? grad_[0] : nullptr, sums_, ctx_.stream());
}

void CudaBackend::backward_pass(int n) {
  const cudaStream_t s = ctx_.stream();
  const Plan& p = plan(n);
  float* d = grad_[0];      // dL/d(output of node i), (n, out_shape)
  float* other = grad_[1];  // receives dL/d(input of node i)
  bce_pass(n, true);        // d = dL/dlogits of the last Dense; its sigmoid is folded into the loss
  mark("", "loss");
  const size_t last = graph_.nodes().size() - 1;
  bool relu_done = false;  // the node after this one already applied this node's relu derivative
  for (size_t i = last + 1; i-- > 0;) {
    const Node& nd = graph_.nodes()[i];
    const LayerSpec& sp = nd.spec;
    const float* x = input_of(i);
    const size_t out_count = size_t(n) * nd.out_size;
    if (has_activation(sp) && i != last && !relu_done) {
      gpu::act_backward(out_[i], d, d, out_count, sp.activation, s);
      mark(sp.name, "activation backward");
    }
    relu_done = false;
    float* dx = i > 0 ? other : nullptr;
    bool moved = false;  // whether the gradient now lives in `other`
    switch (sp.type) {
      case LayerType::Conv2D: {
        const size_t rows = size_t(n) * nd.out_shape[0] * nd.out_shape[1];
        gpu::bias_grad(d, rows, sp.filters, gradients(nd.bias), bias_scratch_, bias_scratch_floats_, s);
        mark(sp.name, "bias gradient");
        p.conv[i]->backward_filter(x, d, gradients(nd.kernel), workspace_.get(), workspace_.bytes());
        mark(sp.name, "backward-filter");
        if (dx) p.conv[i]->backward_data(weights(nd.kernel), d, dx, workspace_.get(), workspace_.bytes());
        if (dx) mark(sp.name, "backward-data");
        moved = dx != nullptr;
        break;
      }
      case LayerType::Dense:
        gpu::bias_grad(d, size_t(n), sp.units, gradients(nd.bias), bias_scratch_, bias_scratch_floats_, s);
        dense_backward(ctx_, sp.name, x, n, nd.in_shape[0], weights(nd.kernel), sp.units, d, dx, gradients(nd.kernel));
        moved = dx != nullptr;
        break;
      case LayerType::MaxPooling2D: {
        // A relu layer right before the pooling: its derivative is applied here, saving a pass.
        const LayerSpec* prev = i > 0 ? &graph_.nodes()[i - 1].spec : nullptr;
        relu_done = dx && prev && has_activation(*prev) && prev->activation == Act::Relu;
        if (dx)
          gpu::maxpool_backward(x, n, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], sp.pool, d, dx, relu_done, s);
        moved = dx != nullptr;
        break;
      }
      case LayerType::Flatten:
      case LayerType::Activation:  // same size in and out: the gradient passes through in place
        break;
      case LayerType::Dropout:  // in place, with the forward pass's mask
        if (dx && last_forward_training_ && sp.rate > 0)
          gpu::dropout_backward(d, d, out_count, sp.rate, opt_.seed, step_dev(), uint32_t(i), s);
        break;
    }
    if (moved) std::swap(d, other);
    if (sp.type != LayerType::Conv2D) mark(sp.name, "backward");
  }
}

void CudaBackend::update_pass() {
  gpu::rmsprop(params_.get(), params_.get() + layout_.total(), params_.get() + 2 * layout_.total(), layout_.total(),
               lr_, opt_.rho, opt_.eps, opt_.rmsprop_rule, ctx_.stream());
  mark("", "rmsprop");
}

}  // namespace acts
