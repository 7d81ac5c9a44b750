// CPU reference: binary cross-entropy as Keras computes it, from the logit z of the final
// sigmoid. Keras clips p = sigmoid(z) to [1e-7, 1 - 1e-7]; that is the same as clamping z to
// +-log((1 - 1e-7) / 1e-7), and then loss = softplus(z) - y z, which never overflows. Outside
// the clip the gradient is 0 (as through Keras' clip); inside it is (p - y) / N.
#pragma once
#include <cmath>
#include <cstddef>

#include "activations.h"

namespace acts::cpu {

constexpr double kBceLogitClip = 16.118095550958316;  // log((1 - 1e-7) / 1e-7), not log(1e7)

// Returns the SUM of per-sample losses; adds the number of correct predictions (p > 0.5) to
// *correct; writes dL/dz of the batch MEAN loss into dz when not null.
template <typename T>
double bce_from_logits(const T* z, const T* y, int n, T* dz, double* correct) {
  double loss = 0;
  for (int i = 0; i < n; ++i) {
    // Comparisons, not fmin/fmax: those would turn a NaN logit into a finite clipped loss and
    // hide a diverged run.
    const double z0 = double(z[i]);
    const double zc = z0 < -kBceLogitClip ? -kBceLogitClip : (z0 > kBceLogitClip ? kBceLogitClip : z0);
    const double softplus = zc > 0 ? zc + std::log1p(std::exp(-zc)) : std::log1p(std::exp(zc));
    loss += softplus - double(y[i]) * zc;
    const double p = sigmoid(double(z[i]));
    if (correct) *correct += ((p > 0.5) == (y[i] > T(0.5))) ? 1 : 0;
    if (dz) dz[i] = std::fabs(double(z[i])) < kBceLogitClip ? T((p - double(y[i])) / n) : T(0);
  }
  return loss;
}

}  // namespace acts::cpu
