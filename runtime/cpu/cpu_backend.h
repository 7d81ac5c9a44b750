// The CPU backend: runs the graph node by node in float through each layer's CpuOp
// (runtime/cpu/cpu_op.h), either with the reference kernels of kernels/cpu
// (options().cpu_reference: the oracle for the CUDA backend) or, by default, with the
// oneDNN/OpenBLAS path of runtime/cpu/fast, the fallback when no GPU is present. Under mixed bf16
// both round every layer's inputs, weights, outputs and gradients to bf16 in software and compute
// in float32 between (see BackendOptions::precision; no oneDNN bf16 kernels yet).
#pragma once
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/cpu/cpu_op.h"

namespace acts {

class CpuBackend final : public Backend {
 public:
  CpuBackend(const Graph& g, const BackendOptions& o);

  std::string name() const override;
  std::vector<float> params() const override { return w_; }
  void set_params(const std::vector<float>& w) override;
  std::vector<float> opt_state() const override { return acc_; }
  void set_opt_state(const std::vector<float>& a) override;
  std::vector<float> grads() const override;
  void set_learning_rate(float lr) override { opt_.lr = lr; }
  uint64_t opt_iterations() const override { return iterations_; }
  void set_opt_iterations(uint64_t t) override { iterations_ = t; }

  void forward(const Batch& b, bool training) override;
  void forward_to(const Batch& b, const std::string& last) override;
  void backward(const Batch& b) override;
  void gradient(const Objective& o, const std::vector<std::string>& wrt,
                std::vector<std::vector<float>>& out) override;
  void update() override;
  void eval_step(const Batch& b) override;
  Metrics take_metrics() override;
  using Backend::activation;
  void activation(const std::string& layer, std::vector<float>& out) const override;
  std::vector<float> logits() const override;

 protected:
  std::unique_ptr<OpClock> make_op_clock() const override { return std::make_unique<HostOpClock>(); }
  void add_channel_sums_of(size_t node, int channels, double* acc) const override;
  void channel_peaks_of(size_t node, int channels, std::vector<float>& peak, std::vector<int>& where) const override;

 private:
  void forward_nodes(const Batch& b, bool training, size_t count);  // nodes [0, count)
  void add_loss(const Batch& b, float* dlogits);
  // Node i's backward arguments: dy in d_, dx into d2_ (with_dx), parameter gradients into g_ (with_dw).
  CpuBackward backward_args(size_t i, bool with_dw, bool with_dx, bool act_done, bool input_relu);
  const float* input_of(size_t node) const { return node == 0 ? x_.data() : out_[node - 1].data(); }
  struct NodeParams {  // one pointer per parameter tensor of the node
    std::vector<float*> w;      // what the layer reads: into w_, or wc_ under bf16
    std::vector<float*> state;  // into w_: where a training forward writes (moving statistics)
    std::vector<float*> g;      // into g_
  };
  // Mixed bf16 (BackendOptions::precision): rounds n floats to bf16 in place, on the pool's threads
  // on the fast path. Does nothing under fp32.
  // bf16 with RMSprop: update() rounds the parameter gradients as it reads them (and writes wc_),
  // so backward() leaves them float32 in g_.
  bool update_rounds_gradients() const;
  void to_bf16(float* p, size_t n) const;
  void refresh_compute_weights();  // wc_ = bf16(w_) (bf16 only; forward_nodes calls it when stale)
  void round_gradients(size_t i, bool with_dx);  // node i's dx (in d_) and parameter gradients

  std::vector<float> w_, g_, acc_;          // parameters, gradients (never reallocated), optimizer state
                                            // (opt_slots() slots: RMSprop's a; Adam's m then v)
  std::vector<float> wc_;                   // bf16: the weights rounded to bf16, as the layers read them
  bool wc_stale_ = true;                    // w_ changed since wc_ was made
  bool bf16_ = false;                       // BackendOptions::precision is kMixedBf16
  uint64_t iterations_ = 0;                 // optimizer updates (Keras' iterations)
  std::vector<float> x_;                    // rescaled input (n, H, W, C)
  std::vector<std::vector<float>> out_;     // per node, its output (n, out_shape)
  std::vector<std::unique_ptr<CpuOp>> ops_; // per node
  std::vector<NodeParams> params_;          // per node
  std::vector<float> logits_;               // (n, last out_size) the last node's output before its activation
  std::vector<float> d_, d2_;               // backward scratch
  int n_ = 0;
  Metrics metrics_;
  bool fast_ = false;                       // cpu_fast path (OpenBLAS) instead of the reference loops
  std::vector<float> scratch_;              // the ops' working memory (im2col patches, ...)
};

}  // namespace acts
