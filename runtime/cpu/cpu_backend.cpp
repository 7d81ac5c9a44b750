// CpuBackend: the graph's nodes run one after the other through their CpuOps (runtime/ops/*/
// *_cpu.cpp); this file holds only what is common to every layer: the input, the loss, the
// gradient flow between nodes, the fusion flags and the optimizer (RMSprop or Adam).
#include "runtime/cpu/cpu_backend.h"

#include <algorithm>

#include "kernels/cpu/adam.h"
#include "kernels/cpu/augment.h"
#include "kernels/cpu/bce.h"
#include "kernels/cpu/bf16.h"
#include "kernels/cpu/cce.h"
#include "kernels/cpu/channel_peaks.h"
#include "kernels/cpu/channel_stats.h"
#include "kernels/cpu/rescale.h"
#include "kernels/cpu/rmsprop.h"
#include "runtime/core/errors.h"
#include "runtime/core/head.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/cpu/fast/thread_pool.h"

namespace acts {

std::unique_ptr<Backend> make_cpu_backend(const Graph& g, const BackendOptions& o) {
  return std::make_unique<CpuBackend>(g, o);
}

CpuBackend::CpuBackend(const Graph& g, const BackendOptions& o)
    : Backend(g, o), w_(init_params(g, o.seed)), g_(g.param_count(), 0.f),
      acc_(opt_slots(o.optimizer) * g.param_count(), 0.f),
      bf16_(o.precision == Precision::kMixedBf16), out_(g.nodes().size()),
      fast_(!o.cpu_reference && cpu_fast::available()) {
  if (bf16_) wc_.resize(w_.size());
  std::vector<float>& read = bf16_ ? wc_ : w_;  // never reallocated: the pointers stay valid
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& nd = g.nodes()[i];
    ops_.push_back(make_cpu_op(nd, CpuOpEnv{fast_, o.seed, uint32_t(i), bf16_}));
    NodeParams p;
    for (int k : nd.params) {
      const size_t at = g.params()[size_t(k)].offset;
      p.w.push_back(&read[at]);
      p.state.push_back(&w_[at]);
      p.g.push_back(&g_[at]);
    }
    params_.push_back(std::move(p));
  }
}

std::string CpuBackend::name() const {
  // Say where bf16 is computed in bf16 and where its numbers come from float32 kernels.
  std::string bf16 = bf16_ ? "; mixed bf16 in software: float32 kernels on bf16-rounded tensors" : "";
  if (bf16_ && fast_ && cpu_fast::conv_bf16())
    bf16 = "; mixed bf16: Conv2D on " + cpu_fast::conv_bf16_name() + ", the rest float32 kernels on bf16-rounded tensors";
  if (fast_) return "cpu (" + cpu_fast::describe() + bf16 + ")";
  std::string why;
  if (!opt_.cpu_reference && !cpu_fast::available(&why)) return "cpu (reference kernels; fast path " + why + bf16 + ")";
  return "cpu (reference kernels" + bf16 + ")";
}

void CpuBackend::to_bf16(float* p, size_t n) const {
  if (!bf16_) return;
  if (fast_)
    cpu_fast::round_bf16(p, n);
  else
    cpu::round_bf16(p, p, n);
}

bool CpuBackend::update_rounds_gradients() const { return bf16_ && opt_.optimizer == Optimizer::kRmsprop; }

std::vector<float> CpuBackend::grads() const {
  std::vector<float> g = g_;
  if (update_rounds_gradients()) cpu::round_bf16(g.data(), g.data(), g.size());  // as update() reads them
  return g;
}

void CpuBackend::round_gradients(size_t i, bool with_dx) {
  if (!bf16_) return;
  if (with_dx && !ops_[i]->keeps_bf16()) to_bf16(d_.data(), size_t(n_) * graph_.nodes()[i - 1].out_size);
  if (update_rounds_gradients()) return;  // update() rounds them as it reads them
  for (int k : graph_.nodes()[i].params) {
    const auto& p = graph_.params()[size_t(k)];
    to_bf16(&g_[p.offset], p.size);
  }
}

void CpuBackend::refresh_compute_weights() {
  std::copy(w_.begin(), w_.end(), wc_.begin());
  to_bf16(wc_.data(), wc_.size());
  wc_stale_ = false;
}

void CpuBackend::set_params(const std::vector<float>& w) {
  if (w.size() != w_.size()) fail("parameter vector has ", w.size(), " values, the model needs ", w_.size());
  std::copy(w.begin(), w.end(), w_.begin());  // in place: the ops' parameter pointers stay valid
  wc_stale_ = true;
}

void CpuBackend::set_opt_state(const std::vector<float>& a) {
  if (a.size() != acc_.size()) fail("optimizer state has ", a.size(), " values, the model needs ", acc_.size());
  acc_ = a;
}

void CpuBackend::forward(const Batch& b, bool training) { forward_nodes(b, training, graph_.nodes().size()); }

void CpuBackend::forward_to(const Batch& b, const std::string& last) { forward_nodes(b, false, nodes_through(last)); }

void CpuBackend::forward_nodes(const Batch& b, bool training, size_t count) {
  check_batch(b, false);
  computed_ = 0;  // until the pass is through
  const Graph& g = graph_;
  n_ = b.n;
  const int H = g.spec().height, W = g.spec().width, C = g.spec().channels;
  x_.resize(size_t(n_) * g.input_size());
  if (b.inputs) std::copy(b.inputs, b.inputs + x_.size(), x_.begin());
  else if (b.affine) cpu::augment_rescale(b.images, b.affine, n_, H, W, C, b.scale, x_.data());
  else cpu::rescale_u8(b.images, x_.data(), x_.size(), b.scale);
  to_bf16(x_.data(), x_.size());  // the first layer's input, cast to its compute dtype
  mark("", "input rescale");
  if (bf16_ && wc_stale_) {
    refresh_compute_weights();
    mark("", "bf16 weights");
  }

  const size_t last = g.nodes().size() - 1;
  logits_.resize(size_t(n_) * g.nodes()[last].out_size);
  for (size_t i = 0; i < count; ++i) {
    const Node& nd = g.nodes()[i];
    out_[i].resize(size_t(n_) * nd.out_size);
    CpuForward f;
    f.n = n_;
    f.training = training;
    f.step = step_;
    f.x = input_of(i);
    f.y = out_[i].data();
    f.w = params_[i].w.data();
    f.state = params_[i].state.data();
    f.logits = i == last ? logits_.data() : nullptr;  // the loss head: the loss takes its sigmoid/softmax
    f.scratch = &scratch_;
    ops_[i]->forward(f);
    if (!ops_[i]->keeps_bf16()) to_bf16(out_[i].data(), out_[i].size());
    if (f.logits) to_bf16(f.logits, size_t(n_) * nd.out_size);
    mark(nd.spec.name, "forward");
  }
  if (training && bf16_) wc_stale_ = true;  // moving statistics may have changed in w_
  computed_ = count;
}

void CpuBackend::add_loss(const Batch& b, float* dlogits) {
  const Node& head = graph_.nodes().back();
  if (head_kind(graph_) == HeadKind::kSoftmax)
    metrics_.loss_sum += cpu::softmax_ce_from_logits(logits_.data(), b.labels, b.n, head.spec.units, dlogits,
                                                     &metrics_.correct);
  else
    metrics_.loss_sum += cpu::bce_from_logits(logits_.data(), b.labels, b.n, dlogits, &metrics_.correct);
  metrics_.count += b.n;
}

CpuBackward CpuBackend::backward_args(size_t i, bool with_dw, bool with_dx, bool act_done, bool input_relu) {
  CpuBackward bw;
  bw.n = n_;
  bw.x = input_of(i);
  bw.y = out_[i].data();
  bw.w = params_[i].w.data();
  bw.dw = with_dw ? params_[i].g.data() : nullptr;
  bw.dy = d_.data();
  bw.dx = with_dx ? d2_.data() : nullptr;
  bw.act_done = act_done;
  bw.input_relu = input_relu;
  bw.scratch = &scratch_;
  return bw;
}

void CpuBackend::backward(const Batch& b) {
  check_batch(b, true);
  if (b.n != n_) fail("backward() batch of ", b.n, " does not match the forward batch of ", n_);
  if (computed_ != graph_.nodes().size()) fail("backward() after a forward that stopped early (forward_to)");
  const Graph& g = graph_;
  const size_t last = g.nodes().size() - 1;
  d_.assign(size_t(n_) * g.nodes()[last].out_size, 0.f);
  add_loss(b, d_.data());  // d_ = dL/dlogits of the last node; its sigmoid/softmax is folded into the loss
  to_bf16(d_.data(), d_.size());  // the loss is float32; its gradient enters the bf16 logit
  mark("", "loss");
  bool act_done = true;  // the loss took the head's activation
  for (size_t i = last + 1; i-- > 0;) {
    const Node& nd = g.nodes()[i];
    // A node whose output is a relu's, followed by one that applies that relu's derivative itself
    // (the fast max pooling after a fused conv+relu): the pair skips one pass over the tensor.
    const bool input_relu = i > 0 && ops_[i]->takes_input_relu() && ops_[i - 1]->output_relu();
    if (i > 0) d2_.resize(size_t(n_) * g.nodes()[i - 1].out_size);
    if (ops_[i]->backward(backward_args(i, true, i > 0, act_done, input_relu)) && i > 0) std::swap(d_, d2_);
    round_gradients(i, i > 0);
    act_done = input_relu;
    mark(nd.spec.name, "backward");
  }
}

void CpuBackend::gradient(const Objective& o, const std::vector<std::string>& wrt,
                          std::vector<std::vector<float>>& out) {
  const GradientPlan p = plan_gradient(o, wrt, n_);
  const Graph& g = graph_;
  out.resize(wrt.size());
  // Hands the gradient now in d_ (at node `node`'s output, -1: the input) to every wrt entry
  // that asks for it.
  auto take = [&](int node) {
    for (size_t k = 0; k < wrt.size(); ++k)
      if (p.wrt_node[k] == node) out[k] = d_;
  };
  d_.resize(size_t(n_) * g.nodes()[p.from].out_size);
  objective_seed(o, n_, d_.data());
  to_bf16(d_.data(), d_.size());
  bool act_done = o.pre_activation;
  for (size_t i = p.from + 1; i-- > p.stop;) {
    if (p.keep[i]) take(int(i));
    const bool input_relu = i > 0 && !p.keep[i - 1] && ops_[i]->takes_input_relu() && ops_[i - 1]->output_relu();
    const bool want_dx = i > 0 || p.want_input;
    d2_.resize(size_t(n_) * (i > 0 ? g.nodes()[i - 1].out_size : g.input_size()));
    // Input gradients only: no parameter gradient is computed.
    if (ops_[i]->backward(backward_args(i, false, want_dx, act_done, input_relu)) && want_dx) std::swap(d_, d2_);
    if (want_dx && !ops_[i]->keeps_bf16())
      to_bf16(d_.data(), size_t(n_) * (i > 0 ? g.nodes()[i - 1].out_size : g.input_size()));
    act_done = input_relu;
  }
  take(int(p.stop) - 1);  // the lowest wrt layer (o.layer itself when none below), or -1: the input
}

void CpuBackend::update() {
  wc_stale_ = true;  // bf16: the layers read the new weights, rounded again, at the next forward
  if (opt_.optimizer == Optimizer::kAdam) {
    const size_t n = w_.size();
    const float alpha = adam_alpha(opt_.lr, float(opt_.adam.beta1), float(opt_.adam.beta2), iterations_ + 1);
    const float omb1 = opt_.adam.one_minus_beta1(), omb2 = opt_.adam.one_minus_beta2();
    float* m = acc_.data();
    float* v = acc_.data() + n;
    auto step = [&](size_t i0, size_t i1) {
      cpu::adam_update(&w_[i0], &g_[i0], m + i0, v + i0, i1 - i0, alpha, omb1, omb2, opt_.eps);
    };
    if (fast_)  // elementwise: the split across threads changes nothing
      cpu_fast::parallel_ranges(n, size_t(1) << 15, step);
    else
      step(0, n);
    mark("", "adam");
    ++iterations_;
    ++step_;
    return;
  }
  // bf16: the gradients' rounding and the layers' bf16 copy of the new weights in the same pass.
  auto step = [&](size_t i0, size_t i1) {
    if (update_rounds_gradients())
      cpu::rmsprop_update_bf16(&w_[i0], &g_[i0], &acc_[i0], &wc_[i0], i1 - i0, opt_.lr, opt_.rho, opt_.eps,
                               opt_.rmsprop_rule);
    else
      cpu::rmsprop_update(&w_[i0], &g_[i0], &acc_[i0], i1 - i0, opt_.lr, opt_.rho, opt_.eps, opt_.rmsprop_rule);
  };
  if (fast_)  // elementwise: the split across threads changes nothing
    cpu_fast::parallel_ranges(w_.size(), size_t(1) << 15, step);
  else
    step(0, w_.size());
  if (update_rounds_gradients()) wc_stale_ = false;  // wc_ = bf16(w_), all of it, just written
  mark("", "rmsprop");
  ++iterations_;
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
  const size_t i = computed_node(layer, "activation");
  out.assign(out_[i].begin(), out_[i].end());
}

void CpuBackend::channel_peaks_of(size_t node, int channels, std::vector<float>& peak,
                                  std::vector<int>& where) const {
  peak.resize(size_t(n_) * size_t(channels));
  where.resize(peak.size());
  cpu::channel_peaks(out_[node].data(), n_, graph_.nodes()[node].out_size / size_t(channels), channels, peak.data(),
                     where.data());
}

void CpuBackend::add_channel_sums_of(size_t node, int channels, double* acc) const {
  cpu::channel_sums(out_[node].data(), size_t(n_) * graph_.nodes()[node].out_size / size_t(channels), channels, acc);
}

std::vector<float> CpuBackend::logits() const {
  computed_node(graph_.nodes().back().spec.name, "logits");
  return std::vector<float>(logits_.begin(), logits_.begin() + ptrdiff_t(size_t(n_) * graph_.nodes().back().out_size));
}

}  // namespace acts
