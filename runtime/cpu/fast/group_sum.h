// Adds per-group partial sums (a convolution's dk and db, one set per row or image group) in
// group order, so the total is the same bits however many threads computed the groups.
#pragma once
#include <cstddef>

#include "runtime/cpu/fast/thread_pool.h"

namespace acts::cpu_fast {

// parts (G, n) -> out (n): out[i] = parts[0][i] + parts[1][i] + ... in that order.
inline void sum_groups(const float* parts, size_t G, size_t n, float* out) {
  parallel_ranges(n, size_t(1) << 14, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      float s = parts[i];
      for (size_t g = 1; g < G; ++g) s += parts[g * n + i];
      out[i] = s;
    }
  });
}

}  // namespace acts::cpu_fast
