#include "cpu_backend.h"

#include <algorithm>
#include <random>

#include "cpu_fast/cpu_fast.h"
#include "cpu_fast/thread_pool.h"
#include "errors.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/augment.h"
#include "kernels/cpu/bce.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/dense.h"
#include "kernels/cpu/maxpool.h"
#include "kernels/cpu/rescale.h"
#include "kernels/cpu/rmsprop.h"

namespace acts {

void Backend::check_batch(const Batch& b, bool need_labels) const {
  if (b.n <= 0 || b.n > opt_.max_batch)
    fail("batch of ", b.n, " images does not fit this backend (allocated for at most ", opt_.max_batch, ")");
  if (!b.images && !b.inputs) fail("batch has neither images nor inputs");
  if (b.images && b.inputs) fail("batch has both images and inputs; set one");
  if (b.affine && !b.images) fail("augmentation (affine) needs uint8 images");
  if (b.rows && !b.images) fail("batch names image-set rows without the images themselves");
  if (need_labels && !b.labels) fail("batch has no labels");
}

std::vector<OpTime> Backend::profile_train_step(const Batch& b) {
  std::unique_ptr<OpClock> clock = make_op_clock();
  clock->start();
  clock_ = clock.get();
  try {
    forward(b, true);
    backward(b);
    update();
  } catch (...) {
    clock_ = nullptr;
    throw;
  }
  clock_ = nullptr;
  return clock->finish();
}

std::unique_ptr<Backend> make_cpu_backend(const Graph& g, const BackendOptions& o) {
  return std::make_unique<CpuBackend>(g, o);
}

CpuBackend::CpuBackend(const Graph& g, const BackendOptions& o)
    : Backend(g, o), w_(init_params(g, o.seed)), g_(g.param_count(), 0.f), acc_(g.param_count(), 0.f),
      out_(g.nodes().size()), mask_(g.nodes().size()), fast_(!o.cpu_reference && cpu_fast::available()) {}

std::string CpuBackend::name() const {
  if (fast_) return "cpu (" + cpu_fast::describe() + ")";
  std::string why;
  if (!opt_.cpu_reference && !cpu_fast::available(&why)) return "cpu (reference kernels; fast path " + why + ")";
  return "cpu (reference kernels)";
}

void CpuBackend::set_params(const std::vector<float>& w) {
  if (w.size() != w_.size()) fail("parameter vector has ", w.size(), " values, the model needs ", w_.size());
  w_ = w;
}

void CpuBackend::set_opt_state(const std::vector<float>& a) {
  if (a.size() != acc_.size()) fail("optimizer state has ", a.size(), " values, the model needs ", acc_.size());
  acc_ = a;
}

void CpuBackend::forward(const Batch& b, bool training) {
  check_batch(b, false);
  const Graph& g = graph_;
  n_ = b.n;
  const int H = g.spec().height, W = g.spec().width, C = g.spec().channels;
  x_.resize(size_t(n_) * g.input_size());
  if (b.inputs) std::copy(b.inputs, b.inputs + x_.size(), x_.begin());
  else if (b.affine) cpu::augment_rescale(b.images, b.affine, n_, H, W, C, b.scale, x_.data());
  else cpu::rescale_u8(b.images, x_.data(), x_.size(), b.scale);
  mark("", "input rescale");

  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& nd = g.nodes()[i];
    const LayerSpec& s = nd.spec;
    const float* in = input_of(i);
    std::vector<float>& out = out_[i];
    out.resize(size_t(n_) * nd.out_size);
    const size_t in_count = size_t(n_) * (i == 0 ? g.input_size() : g.nodes()[i - 1].out_size);
    switch (s.type) {
      case LayerType::Conv2D:
        if (fast_)  // relu fused in (below, the layer's activation is then skipped)
          cpu_fast::conv2d_forward(in, n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2],
                                   &w_[g.params()[nd.kernel].offset], &w_[g.params()[nd.bias].offset], s.kernel,
                                   s.kernel, s.filters, s.activation == Act::Relu, out.data(), scratch_);
        else
          cpu::conv2d_forward(in, n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], &w_[g.params()[nd.kernel].offset],
                              &w_[g.params()[nd.bias].offset], s.kernel, s.kernel, s.filters, out.data());
        break;
      case LayerType::MaxPooling2D:
        if (fast_) cpu_fast::maxpool_forward(in, n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], s.pool, out.data());
        else cpu::maxpool_forward(in, n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], s.pool, out.data());
        break;
      case LayerType::Flatten:  // (H, W, C) row-major is already Keras' batch_flatten order
      case LayerType::Activation:
        std::copy(in, in + in_count, out.begin());
        break;
      case LayerType::Dense:
        (fast_ ? cpu_fast::dense_forward : cpu::dense_forward<float>)(
            in, n_, nd.in_shape[0], &w_[g.params()[nd.kernel].offset], &w_[g.params()[nd.bias].offset], s.units,
            out.data());
        break;
      case LayerType::Dropout:
        if (training && s.rate > 0) {  // inverted dropout: scale the kept units at training time
          std::mt19937_64 rng(opt_.seed * 0x9e3779b97f4a7c15ull + step_ * 1315423911ull + i);
          std::bernoulli_distribution keep(1.0 - s.rate);
          mask_[i].resize(out.size());
          for (size_t k = 0; k < out.size(); ++k) {
            mask_[i][k] = keep(rng) ? 1.f / (1.f - s.rate) : 0.f;
            out[k] = in[k] * mask_[i][k];
          }
        } else {
          mask_[i].clear();
          std::copy(in, in + in_count, out.begin());
        }
        break;
    }
    if (i + 1 == g.nodes().size()) logits_.assign(out.begin(), out.end());
    if (s.type == LayerType::Conv2D || s.type == LayerType::Dense || s.type == LayerType::Activation) {
      if (s.activation == Act::Relu && !fused_relu(s)) cpu::relu_forward(out.data(), out.data(), out.size());
      if (s.activation == Act::Sigmoid) cpu::sigmoid_forward(out.data(), out.data(), out.size());
    }
    mark(s.name, "forward");
  }
}

void CpuBackend::add_loss(const Batch& b, float* dlogits) {
  metrics_.loss_sum += cpu::bce_from_logits(logits_.data(), b.labels, b.n, dlogits, &metrics_.correct);
  metrics_.count += b.n;
}

void CpuBackend::backward(const Batch& b) {
  check_batch(b, true);
  if (b.n != n_) fail("backward() batch of ", b.n, " does not match the forward batch of ", n_);
  const Graph& g = graph_;
  const size_t last = g.nodes().size() - 1;
  d_.assign(size_t(n_), 0.f);
  add_loss(b, d_.data());  // d_ = dL/dlogit of the last Dense; its sigmoid is folded into the loss
  mark("", "loss");
  // A fused-relu Conv2D followed by a max pooling: the pooling's backward applies the relu's
  // derivative (a window passes its gradient only if its max is > 0), saving the conv's pass
  // over its whole output; relu_done tells the conv, one layer later.
  bool relu_done = false;
  for (size_t i = last + 1; i-- > 0;) {
    const Node& nd = g.nodes()[i];
    const LayerSpec& s = nd.spec;
    const bool pool_takes_relu =
        s.type == LayerType::MaxPooling2D && i > 0 && fused_relu(g.nodes()[i - 1].spec);
    const float* in = input_of(i);
    const std::vector<float>& out = out_[i];
    const bool has_act = s.type == LayerType::Conv2D || s.type == LayerType::Dense || s.type == LayerType::Activation;
    if (has_act && i != last) {  // d_ holds dL/d(output): take it back through the activation
      if (s.activation == Act::Relu && !fused_relu(s)) cpu::relu_backward(out.data(), d_.data(), d_.data(), out.size());
      if (s.activation == Act::Sigmoid) cpu::sigmoid_backward(out.data(), d_.data(), d_.data(), out.size());
    }
    const size_t in_count = size_t(n_) * (i == 0 ? g.input_size() : g.nodes()[i - 1].out_size);
    float* dx = nullptr;
    if (i > 0) {
      d2_.resize(in_count);
      dx = d2_.data();
    }
    switch (s.type) {
      case LayerType::Conv2D: {
        const ParamRef &k = g.params()[nd.kernel], &bias = g.params()[nd.bias];
        if (fast_)
          cpu_fast::conv2d_backward(in, n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], &w_[k.offset], s.kernel,
                                    s.kernel, s.filters, d_.data(),
                                    fused_relu(s) && i != last && !relu_done ? out.data() : nullptr, dx,
                                    &g_[k.offset], &g_[bias.offset], scratch_);
        else
          cpu::conv2d_backward(in, n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], &w_[k.offset], s.kernel,
                               s.kernel, s.filters, d_.data(), dx, &g_[k.offset], &g_[bias.offset]);
        break;
      }
      case LayerType::Dense: {
        const ParamRef &k = g.params()[nd.kernel], &bias = g.params()[nd.bias];
        (fast_ ? cpu_fast::dense_backward : cpu::dense_backward<float>)(
            in, n_, nd.in_shape[0], &w_[k.offset], s.units, d_.data(), dx, &g_[k.offset], &g_[bias.offset]);
        break;
      }
      case LayerType::MaxPooling2D:
        if (dx && fast_)
          cpu_fast::maxpool_backward(in, out.data(), n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], s.pool,
                                     d_.data(), pool_takes_relu, dx);
        else if (dx)
          cpu::maxpool_backward(in, n_, nd.in_shape[0], nd.in_shape[1], nd.in_shape[2], s.pool, d_.data(), dx);
        break;
      case LayerType::Flatten:
      case LayerType::Activation:
        if (dx) std::copy(d_.begin(), d_.begin() + in_count, dx);
        break;
      case LayerType::Dropout:
        if (dx)
          for (size_t k = 0; k < in_count; ++k) dx[k] = mask_[i].empty() ? d_[k] : d_[k] * mask_[i][k];
        break;
    }
    if (dx) std::swap(d_, d2_);
    relu_done = pool_takes_relu;
    mark(s.name, "backward");
  }
}

void CpuBackend::update() {
  if (fast_)  // elementwise: the split across threads changes nothing
    cpu_fast::parallel_ranges(w_.size(), size_t(1) << 15, [&](size_t i0, size_t i1) {
      cpu::rmsprop_update(&w_[i0], &g_[i0], &acc_[i0], i1 - i0, opt_.lr, opt_.rho, opt_.eps,
                          opt_.rmsprop_rule);
    });
  else
    cpu::rmsprop_update(w_.data(), g_.data(), acc_.data(), w_.size(), opt_.lr, opt_.rho, opt_.eps, opt_.rmsprop_rule);
  mark("", "rmsprop");
  ++step_;
}

void CpuBackend::eval_step(const Batch& b) {
  check_batch(b, true);
  forward(b, false);
  add_loss(b, nullptr);
}

Metrics CpuBackend::take_metrics() {
  Metrics m = metrics_;
  metrics_ = Metrics{};
  return m;
}

void CpuBackend::activation(const std::string& layer, std::vector<float>& out) const {
  const int i = graph_.find(layer);
  if (i < 0) fail("no layer named '", layer, "'; valid layers: ", graph_.layer_names());
  if (n_ == 0) fail("activation('", layer, "') asked before any forward pass");
  out.assign(out_[size_t(i)].begin(), out_[size_t(i)].end());
}

}  // namespace acts
