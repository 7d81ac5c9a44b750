// BatchNormalization on the CPU: the reference loops (kernels/cpu/batch_normalization.h) or the
// fast path: per-channel sums in double over fixed blocks of rows on the fast path's threads,
// combined in block order (so the result does not depend on the thread count), then one
// elementwise pass y = x a + b with per-channel a = gamma / sqrt(var + eps), b = beta - mean a
// (Keras' own form, backend/jax/nn.py). The op keeps the statistics its last forward used for the
// backward: the batch's after a training forward, the moving ones after an inference forward.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/batch_normalization.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "runtime/ops/batch_normalization/batch_normalization.h"

namespace acts {
namespace {

constexpr size_t kBlockRows = 256;  // rows per task of the fast sums; fixed, so sums are reproducible

// sums[k][c] = sum over rows m of term(k, m, c) for k < K, per channel, in double; blocks of
// kBlockRows rows in parallel, added in block order.
template <int K, typename Term>
void channel_sums(size_t M, int C, std::vector<double>* sums, const Term& term) {
  const size_t blocks = (M + kBlockRows - 1) / kBlockRows;
  std::vector<double> part(blocks * K * size_t(C), 0.0);
  cpu_fast::parallel_for(int(blocks), [&](int blk, int) {
    double* p = &part[size_t(blk) * K * C];
    const size_t m1 = std::min(M, (size_t(blk) + 1) * kBlockRows);
    for (size_t m = size_t(blk) * kBlockRows; m < m1; ++m)
      for (int c = 0; c < C; ++c) {
        double t[K];
        term(m, c, t);
        for (int k = 0; k < K; ++k) p[size_t(k) * C + c] += t[k];
      }
  });
  for (int k = 0; k < K; ++k) sums[k].assign(size_t(C), 0.0);
  for (size_t blk = 0; blk < blocks; ++blk)
    for (int k = 0; k < K; ++k)
      for (int c = 0; c < C; ++c) sums[k][size_t(c)] += part[(blk * K + size_t(k)) * C + size_t(c)];
}

class BatchNormalizationCpu final : public CpuOp {
 public:
  BatchNormalizationCpu(const Node& node, const CpuOpEnv& env)
      : nd_(node), fast_(env.fast), cfg_(batch_norm_config(node)) {}

  void forward(const CpuForward& f) override {
    const size_t M = cfg_.rows(f.n, nd_);
    const int C = cfg_.channels;
    const float* gamma = cfg_.scale ? f.w[cfg_.gamma] : nullptr;
    const float* beta = cfg_.center ? f.w[cfg_.beta] : nullptr;
    batch_stats_ = f.training && !cfg_.frozen;
    if (!batch_stats_) {  // inference: the moving statistics
      mean_.assign(f.w[cfg_.mean], f.w[cfg_.mean] + C);
      var_.assign(f.w[cfg_.var], f.w[cfg_.var] + C);
      if (!fast_) return cpu::batch_normalize(f.x, M, C, mean_.data(), var_.data(), gamma, beta, cfg_.epsilon, f.y);
      return normalize(f.x, M, gamma, beta, f.y);
    }
    float* moving_mean = f.state[cfg_.mean];
    float* moving_var = f.state[cfg_.var];
    if (!fast_)
      return cpu::batch_normalization_train_forward(f.x, M, C, gamma, beta, cfg_.momentum, cfg_.epsilon, f.y,
                                                    moving_mean, moving_var, mean_, var_);
    std::vector<double> s[1];
    channel_sums<1>(M, C, s, [&](size_t m, int c, double* t) { t[0] = f.x[m * C + c]; });
    mean_ = s[0];
    for (double& v : mean_) v /= double(M);
    channel_sums<1>(M, C, s, [&](size_t m, int c, double* t) {
      const double d = double(f.x[m * C + c]) - mean_[size_t(c)];
      t[0] = d * d;
    });
    var_ = s[0];
    for (double& v : var_) v /= double(M);
    normalize(f.x, M, gamma, beta, f.y);
    for (int c = 0; c < C; ++c) {
      moving_mean[c] = float(double(moving_mean[c]) * cfg_.momentum + mean_[size_t(c)] * (1.0 - cfg_.momentum));
      moving_var[c] = float(double(moving_var[c]) * cfg_.momentum + var_[size_t(c)] * (1.0 - cfg_.momentum));
    }
  }

  bool backward(const CpuBackward& b) override {
    const size_t M = cfg_.rows(b.n, nd_);
    const int C = cfg_.channels;
    const float* gamma = cfg_.scale ? b.w[cfg_.gamma] : nullptr;
    float* dgamma = b.dw && cfg_.scale ? b.dw[cfg_.gamma] : nullptr;
    float* dbeta = b.dw && cfg_.center ? b.dw[cfg_.beta] : nullptr;
    if (b.dw) {  // the moving statistics get no gradient: the optimizer step leaves them as they are
      std::fill(b.dw[cfg_.mean], b.dw[cfg_.mean] + C, 0.f);
      std::fill(b.dw[cfg_.var], b.dw[cfg_.var] + C, 0.f);
    }
    if (!fast_) {
      cpu::batch_normalization_backward(b.dy, b.x, M, C, gamma, mean_.data(), var_.data(), cfg_.epsilon, batch_stats_,
                                        b.dx, dgamma, dbeta);
      return b.dx != nullptr;
    }
    std::vector<double> inv(static_cast<size_t>(C));
    for (int c = 0; c < C; ++c) inv[size_t(c)] = 1.0 / std::sqrt(var_[size_t(c)] + cfg_.epsilon);
    std::vector<double> s[2];
    if (dgamma || dbeta || (b.dx && batch_stats_)) {
      channel_sums<2>(M, C, s, [&](size_t m, int c, double* t) {
        t[0] = b.dy[m * C + c];
        t[1] = t[0] * (double(b.x[m * C + c]) - mean_[size_t(c)]) * inv[size_t(c)];
      });
      for (int c = 0; c < C; ++c) {
        if (dgamma) dgamma[c] = float(s[1][size_t(c)]);
        if (dbeta) dbeta[c] = float(s[0][size_t(c)]);
      }
    }
    if (!b.dx) return false;
    // dx = k (dy - (sum dy + xhat sum dy xhat) / M), k = gamma inv; without batch statistics dx = k dy.
    std::vector<float> k(static_cast<size_t>(C)), sub(size_t(C), 0.f), slope(size_t(C), 0.f),
        mu(static_cast<size_t>(C));
    for (int c = 0; c < C; ++c) {
      k[size_t(c)] = float((gamma ? double(gamma[c]) : 1.0) * inv[size_t(c)]);
      mu[size_t(c)] = float(mean_[size_t(c)]);
      if (batch_stats_) {
        sub[size_t(c)] = float(s[0][size_t(c)] / double(M));
        slope[size_t(c)] = float(s[1][size_t(c)] / double(M) * inv[size_t(c)]);  // per unit of (x - mean)
      }
    }
    cpu_fast::parallel_ranges(M, 64, [&](size_t m0, size_t m1) {
      for (size_t m = m0; m < m1; ++m)
        for (int c = 0; c < C; ++c) {
          const size_t i = m * C + size_t(c);
          b.dx[i] = k[size_t(c)] * (b.dy[i] - sub[size_t(c)] - (b.x[i] - mu[size_t(c)]) * slope[size_t(c)]);
        }
    });
    return true;
  }

 private:
  // y = x a + b per channel, from mean_ and var_.
  void normalize(const float* x, size_t M, const float* gamma, const float* beta, float* y) const {
    const int C = cfg_.channels;
    std::vector<float> a(static_cast<size_t>(C)), o(static_cast<size_t>(C));
    for (int c = 0; c < C; ++c) {
      const double s = (gamma ? double(gamma[c]) : 1.0) / std::sqrt(var_[size_t(c)] + cfg_.epsilon);
      a[size_t(c)] = float(s);
      o[size_t(c)] = float((beta ? double(beta[c]) : 0.0) - mean_[size_t(c)] * s);
    }
    cpu_fast::parallel_ranges(M, 64, [&](size_t m0, size_t m1) {
      for (size_t m = m0; m < m1; ++m)
        for (int c = 0; c < C; ++c) y[m * C + c] = x[m * C + c] * a[size_t(c)] + o[size_t(c)];
    });
  }

  const Node& nd_;
  bool fast_;
  BatchNormConfig cfg_;
  bool batch_stats_ = false;        // the last forward normalised with the batch's statistics
  std::vector<double> mean_, var_;  // the statistics the last forward used
};

}  // namespace

std::unique_ptr<CpuOp> batch_normalization_cpu(const Node& node, const CpuOpEnv& env) {
  return std::make_unique<BatchNormalizationCpu>(node, env);
}

}  // namespace acts
