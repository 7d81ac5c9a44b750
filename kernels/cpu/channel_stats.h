// CPU reference: the per-channel sums behind issue 22's statistics of a layer's output, over rows
// of `channels` values (Keras' channels-last layout: every pixel of every image is a row). Per
// channel, in double: the sum, the sum of squares, the count of exact zeros and the maximum. The
// sums are ADDED to what `acc` holds, so batches accumulate; the maximum starts at -inf.
#pragma once
#include <cstddef>

namespace acts::cpu {

// acc: 4 * channels doubles, [sum | sum of squares | zeros | max], each `channels` long.
inline void channel_sums(const float* x, size_t rows, int channels, double* acc) {
  double* sum = acc;
  double* sumsq = acc + channels;
  double* zeros = acc + 2 * channels;
  double* max = acc + 3 * channels;
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x + r * size_t(channels);
    for (int c = 0; c < channels; ++c) {
      const double v = row[c];
      sum[c] += v;
      sumsq[c] += v * v;
      zeros[c] += v == 0.0;
      // Not std::max: a NaN activation must show as NaN, not vanish.
      if (!(v <= max[c])) max[c] = v;
    }
  }
}

}  // namespace acts::cpu
