// BatchNormalization on the GPU (kernels/cuda/batch_normalization.cu). The statistics the last
// forward used (the batch's or the moving ones) stay in the op's device buffers for the backward;
// all buffers come from plan(), sized for any batch, so the step allocates nothing.
#include "kernels/cuda/batch_normalization.cuh"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_op.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/ops/batch_normalization/batch_normalization.h"

namespace acts {
namespace {

class BatchNormalizationCuda final : public CudaOp {
 public:
  BatchNormalizationCuda(const Node& node, const CudaOpEnv& env)
      : nd_(node), env_(env), cfg_(batch_norm_config(node)) {}

  void plan(int n, size_t) override {
    const int C = cfg_.channels;
    const size_t work = gpu::batch_norm_work_doubles(cfg_.rows(n, nd_), C);
    if (work <= work_.size()) return;  // the first plan is for the largest batch: no later reallocation
    const std::string what = nd_.spec.name + "'s batch statistics";
    work_ = DeviceBuffer<double>(work, what);
    stats_ = DeviceBuffer<double>(2 * size_t(C), what);
    coef_ = DeviceBuffer<float>(6 * size_t(C), what);
    s_ = gpu::BatchNormStats{stats_.get(), stats_.get() + C, coef_.get(), coef_.get() + C, work_.get()};
  }

  void forward(const CudaForward& f) override {
    const float* gamma = cfg_.scale ? f.w[cfg_.gamma] : nullptr;
    const float* beta = cfg_.center ? f.w[cfg_.beta] : nullptr;
    const size_t M = cfg_.rows(f.n, nd_);
    batch_stats_ = f.training && !cfg_.frozen;
    if (batch_stats_)
      gpu::batch_norm_train_forward(f.x, M, cfg_.channels, gamma, beta, cfg_.momentum, cfg_.epsilon, f.state[cfg_.mean],
                                    f.state[cfg_.var], s_, f.y, env_.ctx.stream());
    else
      gpu::batch_norm_infer_forward(f.x, M, cfg_.channels, gamma, beta, cfg_.epsilon, f.w[cfg_.mean], f.w[cfg_.var], s_,
                                    f.y, env_.ctx.stream());
  }

  bool backward(const CudaBackward& b) override {
    const cudaStream_t s = env_.ctx.stream();
    const size_t C = size_t(cfg_.channels);
    if (b.dw) {  // the moving statistics get no gradient: the optimizer step leaves them as they are
      CUDA_CHECK(cudaMemsetAsync(b.dw[cfg_.mean], 0, C * sizeof(float), s));
      CUDA_CHECK(cudaMemsetAsync(b.dw[cfg_.var], 0, C * sizeof(float), s));
    }
    float* dgamma = b.dw && cfg_.scale ? b.dw[cfg_.gamma] : nullptr;
    float* dbeta = b.dw && cfg_.center ? b.dw[cfg_.beta] : nullptr;
    gpu::batch_norm_backward(b.dy, b.x, cfg_.rows(b.n, nd_), cfg_.channels, cfg_.scale ? b.w[cfg_.gamma] : nullptr,
                             cfg_.epsilon, batch_stats_, s_, b.dx, dgamma, dbeta, coef_.get() + 2 * C, s);
    env_.mark("backward");
    return b.dx != nullptr;
  }

 private:
  const Node& nd_;
  CudaOpEnv env_;
  BatchNormConfig cfg_;
  DeviceBuffer<double> work_, stats_;  // chunk partial sums; mean and variance (C each)
  DeviceBuffer<float> coef_;           // a, b of the forward (C each), then dx's 4 coefficients
  gpu::BatchNormStats s_;
  bool batch_stats_ = false;  // the last forward normalised with the batch's statistics
};

}  // namespace

std::unique_ptr<CudaOp> batch_normalization_cuda(const Node& node, const CudaOpEnv& env) {
  return std::make_unique<BatchNormalizationCuda>(node, env);
}

}  // namespace acts
