// CPU reference: RMSprop exactly as Keras runs it (kernels/rmsprop_rule.h for the two rules):
//   a = rho a + (1 - rho) g^2;  w -= lr g / (sqrt(a) + eps)   (Keras 2; PyTorch's RMSprop(alpha=rho, eps))
//                          or   w -= lr g / sqrt(a + eps)     (Keras 3, in its order of operations)
#pragma once
#include <cmath>
#include <cstddef>

#include "kernels/rmsprop_rule.h"

namespace acts::cpu {

template <typename T>
void rmsprop_update(T* w, const T* g, T* a, size_t n, T lr, T rho, T eps, RmspropRule rule = RmspropRule::kKeras2) {
  if (rule == RmspropRule::kKeras3) {
    for (size_t i = 0; i < n; ++i) {
      a[i] = rho * a[i] + (T(1) - rho) * g[i] * g[i];
      w[i] -= lr * g[i] / std::sqrt(a[i] + eps);
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    a[i] = rho * a[i] + (T(1) - rho) * g[i] * g[i];
    w[i] -= lr * g[i] / (std::sqrt(a[i]) + eps);
  }
}

}  // namespace acts::cpu
