// CPU reference: Adam exactly as Keras 3 runs it (kernels/adam_rule.h has the rule, its source and
// the step's scalar alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)):
//   m += (g - m)(1 - beta_1);  v += (g^2 - v)(1 - beta_2);  w -= m alpha / (sqrt(v) + eps)
// Elementwise with no reduction: the CPU fast path runs it on ranges in parallel, same bits.
#pragma once
#include <cmath>
#include <cstddef>

#include "kernels/adam_rule.h"

namespace acts::cpu {

// One step over n parameters; alpha from adam_alpha() for this step, omb1/omb2 = 1 - beta_1/2.
template <typename T>
void adam_update(T* w, const T* g, T* m, T* v, size_t n, T alpha, T omb1, T omb2, T eps) {
  for (size_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T mi = m[i] + (gi - m[i]) * omb1;
    const T vi = v[i] + (gi * gi - v[i]) * omb2;
    m[i] = mi;
    v[i] = vi;
    w[i] -= mi * alpha / (std::sqrt(vi) + eps);
  }
}

}  // namespace acts::cpu
