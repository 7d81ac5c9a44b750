// CudaBackend's device passes: forward, loss, backward and RMSprop, node by node through the
// ops' CudaOps as CpuBackend runs them (same activation-in-place convention, same gradient flow,
// same fusion flags). They only enqueue work on the backend's stream, never synchronise and never
// touch host memory, so the whole training step can be captured as one CUDA graph.
#include "cuda_backend.h"
#include "kernels/cuda/bce.cuh"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/cce.cuh"
#include "kernels/cuda/rescale_augment.cuh"
#include "kernels/cuda/adam.cuh"
#include "kernels/cuda/rmsprop.cuh"

namespace acts {

void CudaBackend::forward_pass(int n, Input in, bool training, size_t count) {
  const cudaStream_t s = ctx_.stream();
  plan(n);
  const int H = graph_.spec().height, W = graph_.spec().width, C = graph_.spec().channels;
  if (in == Input::Images) gpu::rescale_u8(images_, x_, size_t(n) * input_size_, scale_dev(), s);
  if (in == Input::Augmented) gpu::augment_rescale(images_, affine_dev(), n, H, W, C, scale_dev(), x_, s);
  // Input::Floats was uploaded straight into x_.
  to_bf16(x_, size_t(n) * input_size_);  // the first layer's input, cast to its compute dtype
  mark("", "input rescale");
  if (bf16_) {  // every forward: a captured step must read the weights its previous update wrote
    gpu::round_bf16(params_.get(), compute_.get(), layout_.total(), s);
    mark("", "bf16 weights");
  }

  const size_t last = graph_.nodes().size() - 1;
  for (size_t i = 0; i <= last && i < count; ++i) {
    CudaForward f;
    f.n = n;
    f.training = training;
    f.x = input_of(i);
    f.y = out_[i];
    f.w = node_params_[i].c.data();
    f.state = node_params_[i].w.data();  // moving statistics go to the float32 master copy
    f.logits = i == last ? logits_ : nullptr;  // the loss head: the loss takes its sigmoid/softmax
    f.step = step_dev();
    f.workspace = workspace_.get();
    f.workspace_bytes = workspace_.bytes();
    ops_[i]->forward(f);
    // An op whose output is its input's memory (Flatten) hands on what was rounded already.
    if (!ops_[i]->aliases_input()) to_bf16(f.y, size_t(n) * graph_.nodes()[i].out_size);
    if (f.logits) to_bf16(f.logits, size_t(n) * graph_.nodes()[i].out_size);
    mark(graph_.nodes()[i].spec.name, "forward");
  }
}

void CudaBackend::loss_pass(int n, bool with_gradient) {
  float* dz = with_gradient ? grad_[0] : nullptr;
  if (softmax_head_)
    gpu::softmax_ce_loss(logits_, labels_dev(), n, graph_.nodes().back().spec.units, dz, sums_, ctx_.stream());
  else
    gpu::bce_loss(logits_, labels_dev(), n, dz, sums_, ctx_.stream());
}

CudaBackward CudaBackend::backward_args(size_t i, int n, bool with_dw, float* dy, float* dx, bool act_done,
                                        bool input_relu) const {
  CudaBackward b;
  b.n = n;
  b.training = last_forward_training_;
  b.x = input_of(i);
  b.y = out_[i];
  b.w = node_params_[i].c.data();
  b.dw = with_dw ? node_params_[i].g.data() : nullptr;
  b.dy = dy;
  b.dx = dx;
  b.act_done = act_done;
  b.input_relu = input_relu;
  b.step = step_dev();
  b.workspace = workspace_.get();
  b.workspace_bytes = workspace_.bytes();
  b.scratch = bias_scratch_;
  b.scratch_floats = bias_scratch_floats_;
  return b;
}

void CudaBackend::backward_pass(int n) {
  plan(n);
  float* d = grad_[0];      // dL/d(output of node i), (n, out_shape)
  float* other = grad_[1];  // receives dL/d(input of node i)
  loss_pass(n, true);       // d = dL/dlogits of the last node; its sigmoid/softmax is folded into the loss
  to_bf16(d, size_t(n) * graph_.nodes().back().out_size);  // the float32 loss's gradient enters a bf16 logit
  mark("", "loss");
  const size_t last = graph_.nodes().size() - 1;
  bool act_done = true;  // the loss took the head's activation
  for (size_t i = last + 1; i-- > 0;) {
    // A node whose output is a relu's, followed by a max pooling: the pooling's backward applies
    // the relu's derivative (a window passes its gradient only if its max is > 0), saving a pass.
    const bool input_relu = i > 0 && ops_[i]->takes_input_relu() && ops_[i - 1]->output_relu();
    if (ops_[i]->backward(backward_args(i, n, true, d, i > 0 ? other : nullptr, act_done, input_relu))) {
      std::swap(d, other);
      if (i > 0) to_bf16(d, size_t(n) * graph_.nodes()[i - 1].out_size);
    }
    act_done = input_relu;
  }
  // Every parameter gradient at once: no layer reads another's, and the padding stays zero.
  to_bf16(params_.get() + layout_.total(), layout_.total());
}

void CudaBackend::gradient_pass(int n, const GradientPlan& p, bool pre_activation,
                                const std::vector<std::string>& wrt, std::vector<std::vector<float>>& out) {
  const cudaStream_t s = ctx_.stream();
  float* d = grad_[0];
  float* other = grad_[1];
  auto take = [&](int node, const float* at) {  // d o / d (node's output; -1: the input), to the host
    const size_t count = size_t(n) * (node < 0 ? input_size_ : graph_.nodes()[size_t(node)].out_size);
    for (size_t k = 0; k < wrt.size(); ++k)
      if (p.wrt_node[k] == node) {
        out[k].resize(count);
        CUDA_CHECK(cudaMemcpyAsync(out[k].data(), at, count * sizeof(float), cudaMemcpyDeviceToHost, s));
      }
  };
  bool act_done = pre_activation;
  for (size_t i = p.from + 1; i-- > p.stop;) {
    if (p.keep[i]) take(int(i), d);
    const bool input_relu = i > 0 && !p.keep[i - 1] && ops_[i]->takes_input_relu() && ops_[i - 1]->output_relu();
    const bool want_dx = i > 0 || p.want_input;
    // Input gradients only: no parameter gradient is computed or written.
    if (ops_[i]->backward(backward_args(i, n, false, d, want_dx ? other : nullptr, act_done, input_relu)) &&
        want_dx) {
      std::swap(d, other);
      to_bf16(d, size_t(n) * (i > 0 ? graph_.nodes()[i - 1].out_size : input_size_));
    }
    act_done = input_relu;
  }
  take(int(p.stop) - 1, d);  // the lowest wrt layer (o.layer itself when none below), or -1: the input
}

void CudaBackend::update_pass() {
  if (opt_.optimizer == Optimizer::kAdam) {
    const size_t n = layout_.total();
    float* base = params_.get();
    gpu::adam(base, base + n, base + 2 * n, base + 3 * n, n, opt_scalars_.get(),
              reinterpret_cast<float*>(opt_scalars_.get() + 1), lr_, opt_.adam, opt_.eps, ctx_.stream());
    mark("", "adam");
    return;
  }
  gpu::rmsprop(params_.get(), params_.get() + layout_.total(), params_.get() + 2 * layout_.total(), layout_.total(),
               lr_, opt_.rho, opt_.eps, opt_.rmsprop_rule, ctx_.stream());
  mark("", "rmsprop");
}

}  // namespace acts
