// CPU reference: RMSprop exactly as Keras 2 runs it (and PyTorch's RMSprop(alpha=rho, eps)):
//   a = rho a + (1 - rho) g^2;  w -= lr g / (sqrt(a) + eps)
#pragma once
#include <cmath>
#include <cstddef>

namespace acts::cpu {

template <typename T>
void rmsprop_update(T* w, const T* g, T* a, size_t n, T lr, T rho, T eps) {
  for (size_t i = 0; i < n; ++i) {
    a[i] = rho * a[i] + (T(1) - rho) * g[i] * g[i];
    w[i] -= lr * g[i] / (std::sqrt(a[i]) + eps);
  }
}

}  // namespace acts::cpu
