// CPU reference: BatchNormalization over the last axis, x seen as (M, C) rows (M = N H W after a
// Conv2D, M = N after a Dense). Keras 3.15's semantics (keras/src/layers/normalization/
// batch_normalization.py and backend/jax/nn.py, read and checked against its outputs):
//   training:  mean = jnp.mean(x) over M, var = jnp.var(x) over M, the BIASED variance (divided
//              by M), and the moving statistics get that same biased variance:
//              moving = moving * momentum + stat * (1 - momentum)
//   inference: mean, var = the moving statistics
//   y = gamma (x - mean) / sqrt(var + epsilon) + beta   (gamma 1 when scale=False, beta 0 when
//              center=False)
// The training backward is the full batch-statistics gradient (mean and var depend on x):
//   xhat = (x - mean) inv, inv = 1 / sqrt(var + eps); dbeta = sum dy; dgamma = sum dy xhat
//   dx = gamma inv / M (M dy - dbeta - xhat dgamma)
// The inference backward is that of the affine map: dx = gamma inv dy (same dgamma, dbeta).
// Sums in double: the reference is exact up to one rounding per output.
#pragma once
#include <cmath>
#include <cstddef>
#include <vector>

namespace acts::cpu {

// Per-channel mean and biased variance of x (M, C), in double.
template <typename T>
void batch_moments(const T* x, size_t M, int C, std::vector<double>& mean, std::vector<double>& var) {
  mean.assign(size_t(C), 0.0);
  var.assign(size_t(C), 0.0);
  for (size_t m = 0; m < M; ++m)
    for (int c = 0; c < C; ++c) mean[size_t(c)] += double(x[m * C + c]);
  for (int c = 0; c < C; ++c) mean[size_t(c)] /= double(M);
  for (size_t m = 0; m < M; ++m)
    for (int c = 0; c < C; ++c) {
      const double d = double(x[m * C + c]) - mean[size_t(c)];
      var[size_t(c)] += d * d;
    }
  for (int c = 0; c < C; ++c) var[size_t(c)] /= double(M);
}

// y = gamma (x - mean) / sqrt(var + eps) + beta; gamma or beta null: 1 or 0.
template <typename T, typename S>
void batch_normalize(const T* x, size_t M, int C, const S* mean, const S* var, const T* gamma, const T* beta,
                     double eps, T* y) {
  for (size_t m = 0; m < M; ++m)
    for (int c = 0; c < C; ++c) {
      const double inv = 1.0 / std::sqrt(double(var[c]) + eps);
      const double g = gamma ? double(gamma[c]) : 1.0, b = beta ? double(beta[c]) : 0.0;
      y[m * C + c] = T(g * (double(x[m * C + c]) - double(mean[c])) * inv + b);
    }
}

// Training forward: y from the batch statistics (returned in mean/var), then the moving
// statistics updated in place.
template <typename T>
void batch_normalization_train_forward(const T* x, size_t M, int C, const T* gamma, const T* beta, double momentum,
                                       double eps, T* y, T* moving_mean, T* moving_var, std::vector<double>& mean,
                                       std::vector<double>& var) {
  batch_moments(x, M, C, mean, var);
  batch_normalize(x, M, C, mean.data(), var.data(), gamma, beta, eps, y);
  for (int c = 0; c < C; ++c) {
    moving_mean[c] = T(double(moving_mean[c]) * momentum + mean[size_t(c)] * (1.0 - momentum));
    moving_var[c] = T(double(moving_var[c]) * momentum + var[size_t(c)] * (1.0 - momentum));
  }
}

// Backward with the statistics the forward used. batch_stats: the training forward's (the full
// gradient through mean and var); else the moving statistics (an affine map). dx, dgamma, dbeta
// may each be null.
template <typename T, typename S>
void batch_normalization_backward(const T* dy, const T* x, size_t M, int C, const T* gamma, const S* mean, const S* var,
                                  double eps, bool batch_stats, T* dx, T* dgamma, T* dbeta) {
  std::vector<double> sum_dy(size_t(C), 0.0), sum_dy_xhat(size_t(C), 0.0), inv(static_cast<size_t>(C));
  for (int c = 0; c < C; ++c) inv[size_t(c)] = 1.0 / std::sqrt(double(var[c]) + eps);
  for (size_t m = 0; m < M; ++m)
    for (int c = 0; c < C; ++c) {
      const double xhat = (double(x[m * C + c]) - double(mean[c])) * inv[size_t(c)];
      sum_dy[size_t(c)] += double(dy[m * C + c]);
      sum_dy_xhat[size_t(c)] += double(dy[m * C + c]) * xhat;
    }
  for (int c = 0; c < C; ++c) {
    if (dgamma) dgamma[c] = T(sum_dy_xhat[size_t(c)]);
    if (dbeta) dbeta[c] = T(sum_dy[size_t(c)]);
  }
  if (!dx) return;
  for (size_t m = 0; m < M; ++m)
    for (int c = 0; c < C; ++c) {
      const double g = gamma ? double(gamma[c]) : 1.0, i = inv[size_t(c)];
      if (!batch_stats) {
        dx[m * C + c] = T(g * i * double(dy[m * C + c]));
        continue;
      }
      const double xhat = (double(x[m * C + c]) - double(mean[c])) * i;
      dx[m * C + c] = T(g * i / double(M) *
                        (double(M) * double(dy[m * C + c]) - sum_dy[size_t(c)] - xhat * sum_dy_xhat[size_t(c)]));
    }
}

}  // namespace acts::cpu
