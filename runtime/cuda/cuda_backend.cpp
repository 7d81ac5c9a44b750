// CudaBackend: construction, memory, uploads and the Backend interface. The device passes
// (forward, backward, update) are in cuda_passes.cpp.
#include "cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "event_op_clock.h"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/channel_peaks.cuh"
#include "kernels/cuda/channel_stats.cuh"
#include "kernels/cuda/gather_rows.cuh"
#include "kernels/cuda/objective_seed.cuh"

namespace acts {

namespace {

// The most workspace one cuDNN algorithm may take; the tutorial model needs far less.
constexpr size_t kWorkspaceCap = size_t(512) << 20;
// Never less than this, so plans for smaller batches (the last, partial batch of an epoch) can
// pick the same algorithms without a second allocation.
constexpr size_t kWorkspaceMin = size_t(16) << 20;

bool graphs_enabled(bool option) {
  const char* env = std::getenv("ACTS_CUDA_GRAPHS");
  return option && !(env && std::strcmp(env, "0") == 0);
}

size_t align16(size_t bytes) { return (bytes + 15) / 16 * 16; }

}  // namespace

CudaBackend::CudaBackend(const Graph& g, const BackendOptions& o)
    : Backend(g, o), ctx_(o.tf32), layout_(g), input_size_(g.input_size()), use_graphs_(graphs_enabled(o.cuda_graphs)) {
  if (o.max_batch <= 0) fail("the CUDA backend needs a positive batch size, got ", o.max_batch);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& nd = g.nodes()[i];
    const std::string layer = nd.spec.name;
    ops_.push_back(make_cuda_op(nd, CudaOpEnv{ctx_, opt_, uint32_t(i), [this, layer](const char* what) { mark(layer, what); }}));
  }
  const cudaStream_t s = ctx_.stream();
  params_ = DeviceBuffer<float>((2 + opt_slots(o.optimizer)) * layout_.total(),
                                "the weights, gradients and optimizer state");
  params_.zero(s);  // zero gradients, optimizer state and the padding between tensors
  opt_scalars_ = DeviceBuffer<uint64_t>(2, "the optimizer's iteration count");
  opt_scalars_.zero(s);
  if (bf16_) {
    compute_ = DeviceBuffer<float>(layout_.total(), "the bf16 copy of the weights");
    compute_.zero(s);  // the padding between tensors stays zero, as in params_
  }
  allocate_activations();
  for (const Node& nd : g.nodes()) {
    NodeParams p;
    for (int k : nd.params) {
      p.w.push_back(weights(k));
      p.g.push_back(gradients(k));
      p.c.push_back(bf16_ ? compute_.get() + layout_.offset(k) : weights(k));
    }
    node_params_.push_back(std::move(p));
  }

  // cuDNN algorithms for the full batch decide the workspace, allocated once.
  plan(o.max_batch);
  size_t need = 0;
  for (const auto& op : ops_) need = std::max(need, op->workspace_bytes(o.max_batch));
  workspace_ = DeviceBuffer<unsigned char>(std::max(need, kWorkspaceMin), "the cuDNN workspace");

  stage_small_ = PinnedBuffer<unsigned char>(small_bytes_);
  stage_images_ = PinnedBuffer<unsigned char>(size_t(o.max_batch) * input_size_);
  stage_inputs_ = PinnedBuffer<float>(size_t(o.max_batch) * input_size_);
  CUDA_CHECK(cudaEventCreateWithFlags(&staged_, cudaEventDisableTiming));

  set_params(init_params(g, o.seed));  // the same initial weights as the CPU backend
  set_learning_rate(o.lr);
}

CudaBackend::~CudaBackend() {
  CUDA_LOG(cudaStreamSynchronize(ctx_.stream()));  // nothing may still use the buffers freed below
  if (staged_) CUDA_LOG(cudaEventDestroy(staged_));
}

std::string CudaBackend::name() const {
  return "cuda (" + ctx_.device_name() + ", " + cudnn_version_text() + ", " + (ctx_.tf32() ? "TF32" : "strict fp32") +
         (use_graphs_ ? ", CUDA graphs" : "") +
         (bf16_ ? ", mixed bf16: Conv2D and Dense on cuDNN's and cuBLAS' bf16 tensor cores" : "") + ")";
}

void CudaBackend::to_bf16(float* p, size_t n) const {
  if (bf16_) gpu::round_bf16(p, p, n, ctx_.stream());
}

void CudaBackend::allocate_activations() {
  const size_t N = size_t(opt_.max_batch);
  ArenaPlan a;
  const size_t images_at = a.add(N * input_size_);
  const size_t x_at = a.add(N * input_size_ * sizeof(float));
  std::vector<size_t> out_at(graph_.nodes().size(), SIZE_MAX);
  size_t grad_floats = N * input_size_;
  for (size_t i = 0; i < graph_.nodes().size(); ++i) {
    const Node& nd = graph_.nodes()[i];
    if (!ops_[i]->aliases_input()) out_at[i] = a.add(N * nd.out_size * sizeof(float));
    grad_floats = std::max(grad_floats, N * nd.out_size);
    bias_scratch_floats_ = std::max(bias_scratch_floats_, ops_[i]->scratch_floats(int(N)));
  }
  const size_t logits_at = a.add(N * graph_.nodes().back().out_size * sizeof(float));
  const size_t grad_at[2] = {a.add(grad_floats * sizeof(float)), a.add(grad_floats * sizeof(float))};
  const size_t scratch_at = a.add(bias_scratch_floats_ * sizeof(float));
  const size_t sums_at = a.add(2 * sizeof(double));
  const size_t lr_at = a.add(sizeof(float));
  const size_t objective_at = a.add(2 * N * sizeof(float));  // gradient(): targets, then weights
  affine_at_ = kLabelsAt + align16(N * sizeof(float));
  rows_at_ = affine_at_ + align16(N * 6 * sizeof(float));
  small_bytes_ = rows_at_ + N * sizeof(uint32_t);
  const size_t small_at = a.add(small_bytes_);

  arena_ = DeviceBuffer<unsigned char>(a.total(),
                                       "the activations and gradients of a batch of " + std::to_string(N) + " images");
  arena_.zero(ctx_.stream());
  unsigned char* base = arena_.get();
  auto f = [&](size_t at) { return reinterpret_cast<float*>(base + at); };
  images_ = base + images_at;
  x_ = f(x_at);
  out_.assign(graph_.nodes().size(), nullptr);
  for (size_t i = 0; i < out_.size(); ++i) out_[i] = out_at[i] != SIZE_MAX ? f(out_at[i]) : (i == 0 ? x_ : out_[i - 1]);
  logits_ = f(logits_at);
  grad_[0] = f(grad_at[0]);
  grad_[1] = f(grad_at[1]);
  bias_scratch_ = f(scratch_at);
  sums_ = reinterpret_cast<double*>(base + sums_at);
  lr_ = f(lr_at);
  objective_ = base + objective_at;
  small_ = base + small_at;
}

void CudaBackend::plan(int n) {
  if (std::find(planned_.begin(), planned_.end(), n) != planned_.end()) return;
  // Before the workspace exists (the max_batch plan) the cap applies; later plans must fit it.
  const size_t limit = workspace_.size() ? workspace_.bytes() : kWorkspaceCap;
  for (const auto& op : ops_) op->plan(n, limit);
  planned_.push_back(n);
}

CudaBackend::Input CudaBackend::input_kind(const Batch& b) {
  if (!b.images) return Input::Floats;
  return b.affine ? Input::Augmented : Input::Images;
}

void CudaBackend::upload(const Batch& b, bool with_inputs) {
  const cudaStream_t s = ctx_.stream();
  const size_t n = size_t(b.n);
  CUDA_CHECK(cudaEventSynchronize(staged_));  // the previous batch has left the staging buffers
  unsigned char* h = stage_small_.get();
  const uint64_t step = step_;
  std::memcpy(h, &step, sizeof step);
  std::memcpy(h + kScaleAt, &b.scale, sizeof b.scale);
  if (b.labels) std::memcpy(h + kLabelsAt, b.labels, n * sizeof(float));
  if (b.affine) std::memcpy(h + affine_at_, b.affine, n * 6 * sizeof(float));
  // Images of a kept set: their row numbers travel instead of their pixels.
  const KeptSet* kept = nullptr;
  if (with_inputs && b.images && b.rows) {
    const auto it = kept_.find(b.images_set);
    if (it != kept_.end()) kept = &it->second;
  }
  if (kept) {
    for (size_t i = 0; i < n; ++i)
      if (b.rows[i] >= kept->count)
        fail("batch row ", b.rows[i], " is outside image set ", b.images_set, " (", kept->count, " images)");
    std::memcpy(h + rows_at_, b.rows, n * sizeof(uint32_t));
  }
  CUDA_CHECK(cudaMemcpyAsync(small_, h, small_bytes_, cudaMemcpyHostToDevice, s));
  if (kept) {
    gpu::gather_rows(kept->pixels.get(), rows_dev(), b.n, input_size_, images_, s);
  } else if (with_inputs && b.images) {
    std::memcpy(stage_images_.get(), b.images, n * input_size_);
    CUDA_CHECK(cudaMemcpyAsync(images_, stage_images_.get(), n * input_size_, cudaMemcpyHostToDevice, s));
  } else if (with_inputs) {
    std::memcpy(stage_inputs_.get(), b.inputs, n * input_size_ * sizeof(float));
    CUDA_CHECK(cudaMemcpyAsync(x_, stage_inputs_.get(), n * input_size_ * sizeof(float), cudaMemcpyHostToDevice, s));
  }
  CUDA_CHECK(cudaEventRecord(staged_, s));
}

bool CudaBackend::keep_images(int set, const uint8_t* images, size_t count) {
  if (count == 0) return false;
  try {
    KeptSet k;
    k.pixels = DeviceBuffer<uint8_t>(count * input_size_, "image set " + std::to_string(set));
    k.pixels.copy_from_host(images, count * input_size_, ctx_.stream());
    k.count = count;
    kept_[set] = std::move(k);
    return true;
  } catch (const Error& e) {  // no room: the batches' own images still work, one copy per step
    std::fprintf(stderr, "warning: keeping %zu images on the GPU failed (%s); uploading each batch instead\n", count,
                 e.what());
    return false;
  }
}

void CudaBackend::forward(const Batch& b, bool training) { forward_nodes(b, training, graph_.nodes().size()); }

void CudaBackend::forward_to(const Batch& b, const std::string& last) { forward_nodes(b, false, nodes_through(last)); }

void CudaBackend::forward_nodes(const Batch& b, bool training, size_t count) {
  check_batch(b, false);
  upload(b, true);
  mark("", "upload");
  forward_pass(b.n, input_kind(b), training, count);
  n_ = b.n;
  computed_ = count;
  last_forward_training_ = training;
}

void CudaBackend::backward(const Batch& b) {
  check_batch(b, true);
  if (b.n != n_) fail("backward() batch of ", b.n, " does not match the forward batch of ", n_);
  if (computed_ != graph_.nodes().size()) fail("backward() after a forward that stopped early (forward_to)");
  upload(b, false);  // the labels
  mark("", "labels upload");
  backward_pass(b.n);
  count_ += b.n;
}

void CudaBackend::gradient(const Objective& o, const std::vector<std::string>& wrt,
                           std::vector<std::vector<float>>& out) {
  const GradientPlan p = plan_gradient(o, wrt, n_);
  const int n = n_;
  const Node& nd = graph_.nodes()[p.from];
  std::vector<unsigned char> host(2 * size_t(opt_.max_batch) * sizeof(float));
  std::vector<float> weight = o.weight.empty() ? std::vector<float>(size_t(n), 1.f) : o.weight;
  std::memcpy(host.data(), o.target.data(), size_t(n) * sizeof(int));
  std::memcpy(host.data() + size_t(opt_.max_batch) * sizeof(int), weight.data(), size_t(n) * sizeof(float));
  const cudaStream_t s = ctx_.stream();
  CUDA_CHECK(cudaMemcpyAsync(objective_, host.data(), host.size(), cudaMemcpyHostToDevice, s));
  const int* target_dev = reinterpret_cast<const int*>(objective_);
  const float* weight_dev = reinterpret_cast<const float*>(objective_ + size_t(opt_.max_batch) * sizeof(int));
  gpu::objective_seed(grad_[0], n, nd.out_size, size_t(nd.out_shape.back()),
                      o.kind == Objective::Kind::kChannelMean, target_dev, weight_dev, s);
  to_bf16(grad_[0], size_t(n) * nd.out_size);
  out.assign(wrt.size(), {});
  gradient_pass(n, p, o.pre_activation, wrt, out);
  ctx_.sync();  // the copies into `out` are done, and `host` has been read
}

void CudaBackend::update() {
  update_pass();
  ++step_;
}

CudaBackend::Input CudaBackend::begin_step(const Batch& b, bool training) {
  check_batch(b, true);
  upload(b, true);
  n_ = b.n;
  computed_ = graph_.nodes().size();
  last_forward_training_ = training;
  return input_kind(b);
}

void CudaBackend::train_step(const Batch& b) {
  const Input in = begin_step(b, true);
  const int n = b.n;
  run_step({n, int(in)}, [this, n, in] { train_pass(n, in); });
  count_ += n;
  ++step_;
}

void CudaBackend::eval_step(const Batch& b) {
  const Input in = begin_step(b, false);
  const int n = b.n;
  run_step({n, kEvalSlots + int(in)}, [this, n, in] {
    forward_pass(n, in, false);
    loss_pass(n, false);
  });
  count_ += n;
}

void CudaBackend::run_step(std::pair<int, int> key, const std::function<void()>& pass) {
  if (!use_graphs_) return pass();
  GraphSlot& slot = graphs_[key];
  if (slot.runs++ == 0) return pass();  // warm-up outside any capture: builds the plan, loads the kernels
  if (!slot.graph) capture(slot, pass);
  if (slot.graph)
    slot.graph.launch(ctx_.stream());
  else
    pass();
}

void CudaBackend::capture(GraphSlot& slot, const std::function<void()>& pass) {
  try {
    slot.graph = StepGraph::capture(ctx_.stream(), pass);
  } catch (const Error& e) {
    std::fprintf(stderr, "warning: could not capture a step as a CUDA graph (%s); running steps eagerly\n", e.what());
    use_graphs_ = false;
  }
}

Metrics CudaBackend::take_metrics() {
  double sums[2] = {0, 0};
  CUDA_CHECK(cudaMemcpyAsync(sums, sums_, sizeof sums, cudaMemcpyDeviceToHost, ctx_.stream()));
  CUDA_CHECK(cudaMemsetAsync(sums_, 0, sizeof sums, ctx_.stream()));
  ctx_.sync();
  Metrics m;
  m.loss_sum = sums[0];
  m.correct = sums[1];
  m.count = count_;
  count_ = 0;
  return m;
}

void CudaBackend::activation(const std::string& layer, std::vector<float>& v) const {
  const size_t i = computed_node(layer, "activation");
  v.resize(size_t(n_) * graph_.nodes()[i].out_size);
  CUDA_CHECK(cudaMemcpyAsync(v.data(), out_[i], v.size() * sizeof(float), cudaMemcpyDeviceToHost, ctx_.stream()));
  ctx_.sync();
}

void CudaBackend::add_channel_sums_of(size_t node, int channels, double* acc) const {
  const size_t count = 4 * size_t(channels);
  DeviceBuffer<double> sums(count, "per-channel statistics of " + graph_.nodes()[node].spec.name);
  sums.copy_from_host(acc, count, ctx_.stream());
  gpu::channel_sums(out_[node], size_t(n_) * graph_.nodes()[node].out_size / size_t(channels), channels, sums.get(),
                    ctx_.stream());
  sums.copy_to_host(acc, count, ctx_.stream());
}

void CudaBackend::channel_peaks_of(size_t node, int channels, std::vector<float>& peak,
                                   std::vector<int>& where) const {
  const size_t count = size_t(n_) * size_t(channels);
  if (peak_.size() < count) {
    peak_ = DeviceBuffer<float>(count, "per-image channel peaks");
    peak_at_ = DeviceBuffer<int>(count, "per-image channel peak positions");
  }
  const auto peaks = opt_.peaks_thrust ? gpu::channel_peaks_thrust : gpu::channel_peaks;
  peaks(out_[node], n_, graph_.nodes()[node].out_size / size_t(channels), channels, peak_.get(), peak_at_.get(),
        ctx_.stream());
  peak.resize(count);
  where.resize(count);
  peak_.copy_to_host(peak.data(), count, ctx_.stream());
  peak_at_.copy_to_host(where.data(), count, ctx_.stream());
}

std::vector<float> CudaBackend::logits() const {
  computed_node(graph_.nodes().back().spec.name, "logits");
  std::vector<float> v(size_t(n_) * graph_.nodes().back().out_size);
  CUDA_CHECK(cudaMemcpyAsync(v.data(), logits_, v.size() * sizeof(float), cudaMemcpyDeviceToHost, ctx_.stream()));
  ctx_.sync();
  return v;
}

std::vector<float> CudaBackend::read_params(int which) const {
  std::vector<float> dev(layout_.total()), keras(graph_.param_count());
  params_.copy_to_host(dev.data(), dev.size(), ctx_.stream(), size_t(which) * layout_.total());
  layout_.to_keras(dev.data(), keras.data());
  return keras;
}

void CudaBackend::write_params(int which, const std::vector<float>& v, const char* what) {
  if (v.size() != graph_.param_count())
    fail(what, " has ", v.size(), " values, the model needs ", graph_.param_count());
  std::vector<float> dev(layout_.total());
  layout_.to_device(v.data(), dev.data());
  params_.copy_from_host(dev.data(), dev.size(), ctx_.stream(), size_t(which) * layout_.total());
}

std::vector<float> CudaBackend::opt_state() const {
  std::vector<float> all;
  for (size_t k = 0; k < opt_slots(opt_.optimizer); ++k) {
    const std::vector<float> slot = read_params(int(2 + k));
    all.insert(all.end(), slot.begin(), slot.end());
  }
  return all;
}

void CudaBackend::set_opt_state(const std::vector<float>& a) {
  const size_t n = graph_.param_count(), slots = opt_slots(opt_.optimizer);
  if (a.size() != slots * n) fail("optimizer state has ", a.size(), " values, the model needs ", slots * n);
  for (size_t k = 0; k < slots; ++k)
    write_params(int(2 + k), std::vector<float>(a.begin() + long(k * n), a.begin() + long((k + 1) * n)),
                 "optimizer state");
}

uint64_t CudaBackend::opt_iterations() const {
  uint64_t t = 0;
  opt_scalars_.copy_to_host(&t, 1, ctx_.stream());
  return t;
}

void CudaBackend::set_opt_iterations(uint64_t t) {
  opt_scalars_.copy_from_host(&t, 1, ctx_.stream());  // waits for the copy: t may go
}

void CudaBackend::set_learning_rate(float lr) {
  opt_.lr = lr;
  CUDA_CHECK(cudaMemcpyAsync(lr_, &opt_.lr, sizeof(float), cudaMemcpyHostToDevice, ctx_.stream()));
  ctx_.sync();  // the source is a member that may change again before an asynchronous copy ran
}

size_t CudaBackend::graphs_captured() const {
  size_t k = 0;
  for (const auto& [key, slot] : graphs_) k += slot.graph ? 1 : 0;
  return k;
}

std::string CudaBackend::conv_algorithms() const {
  std::string out;
  for (size_t i = 0; i < ops_.size(); ++i) {
    const std::string text = ops_[i]->algorithms(opt_.max_batch);
    if (!text.empty()) out += graph_.nodes()[i].spec.name + ": " + text + "\n";
  }
  return out;
}

std::unique_ptr<OpClock> CudaBackend::make_op_clock() const { return std::make_unique<EventOpClock>(ctx_.stream()); }

size_t CudaBackend::device_bytes() const {
  return params_.bytes() + compute_.bytes() + arena_.bytes() + workspace_.bytes();
}

}  // namespace acts
