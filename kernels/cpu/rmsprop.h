// CPU reference: RMSprop exactly as Keras runs it (kernels/rmsprop_rule.h for the two rules):
//   a = rho a + (1 - rho) g^2;  w -= lr g / (sqrt(a) + eps)   (Keras 2; PyTorch's RMSprop(alpha=rho, eps))
//                          or   w -= lr g / sqrt(a + eps)     (Keras 3, in its order of operations)
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "kernels/cpu/bf16.h"
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

// Mixed bf16's step with two passes folded in, a short chunk at a time while it is in cache: g is
// rounded to bf16 as it is read (the gradient's rounding point), then rmsprop_update() runs on the
// chunk, and wc receives the new weights rounded to bf16 (the copy the layers read next step).
// The same bits as rounding g, updating, and rounding a copy of w in three passes.
inline void rmsprop_update_bf16(float* w, const float* g, float* a, float* wc, size_t n, float lr, float rho, float eps,
                                RmspropRule rule = RmspropRule::kKeras2) {
  constexpr size_t kChunk = 512;
  float gr[kChunk];
  for (size_t i0 = 0; i0 < n; i0 += kChunk) {
    const size_t m = std::min(kChunk, n - i0);
    round_bf16(g + i0, gr, m);
    rmsprop_update(w + i0, gr, a + i0, m, lr, rho, eps, rule);
    round_bf16(w + i0, wc + i0, m);
  }
}

}  // namespace acts::cpu
