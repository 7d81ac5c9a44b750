// The CPU backend: runs the graph layer by layer in float, either with the reference kernels of
// kernels/cpu (options().cpu_reference: the oracle for the CUDA backend) or, by default, with
// the im2col + OpenBLAS path of runtime/cpu_fast, the fallback when no GPU is present.
#pragma once
#include <vector>

#include "backend.h"

namespace acts {

class CpuBackend final : public Backend {
 public:
  CpuBackend(const Graph& g, const BackendOptions& o);

  std::string name() const override;
  std::vector<float> params() const override { return w_; }
  void set_params(const std::vector<float>& w) override;
  std::vector<float> opt_state() const override { return acc_; }
  void set_opt_state(const std::vector<float>& a) override;
  std::vector<float> grads() const override { return g_; }
  void set_learning_rate(float lr) override { opt_.lr = lr; }

  void forward(const Batch& b, bool training) override;
  void backward(const Batch& b) override;
  void update() override;
  void eval_step(const Batch& b) override;
  Metrics take_metrics() override;
  using Backend::activation;
  void activation(const std::string& layer, std::vector<float>& out) const override;

 protected:
  std::unique_ptr<OpClock> make_op_clock() const override { return std::make_unique<HostOpClock>(); }

 private:
  void add_loss(const Batch& b, float* dlogits);
  const float* input_of(size_t node) const { return node == 0 ? x_.data() : out_[node - 1].data(); }
  // The fast path's Conv2D applies its relu itself, forward and backward.
  bool fused_relu(const LayerSpec& s) const {
    return fast_ && s.type == LayerType::Conv2D && s.activation == Act::Relu;
  }

  std::vector<float> w_, g_, acc_;          // parameters, gradients, RMSprop accumulators
  std::vector<float> x_;                    // rescaled input (n, H, W, C)
  std::vector<std::vector<float>> out_;     // per node, its output (n, out_shape)
  std::vector<std::vector<float>> mask_;    // per Dropout node, its scaled keep mask
  std::vector<float> logits_;               // (n) pre-sigmoid output of the last Dense
  std::vector<float> d_, d2_;               // backward scratch
  int n_ = 0;
  Metrics metrics_;
  bool fast_ = false;                       // cpu_fast path (OpenBLAS) instead of the reference loops
  std::vector<float> scratch_;              // cpu_fast im2col patches
};

}  // namespace acts
