// CPU reference: each image's peak per channel, behind dump_acts --top (issue 22's top images
// per channel). For image i and channel c of a layer's output (Keras' channels-last layout,
// `positions` rows of `channels` values per image): the largest value over the positions and the
// first position holding it. A Dense layer is one position of `units` channels.
#pragma once
#include <cmath>
#include <cstddef>

namespace acts::cpu {

// x: n * positions * channels floats; peak, where: n * channels each, [image][channel]. A NaN is
// never a peak (the ranking needs an order); a channel that is NaN everywhere peaks at -inf, 0.
inline void channel_peaks(const float* x, int n, size_t positions, int channels, float* peak, int* where) {
  for (int i = 0; i < n; ++i) {
    float* best = peak + size_t(i) * channels;
    int* at = where + size_t(i) * channels;
    for (int c = 0; c < channels; ++c) best[c] = -INFINITY, at[c] = 0;
    const float* img = x + size_t(i) * positions * channels;
    for (size_t p = 0; p < positions; ++p)
      for (int c = 0; c < channels; ++c) {
        const float v = img[p * channels + c];
        if (v > best[c]) best[c] = v, at[c] = int(p);  // strictly greater: the first position wins a tie
      }
  }
}

}  // namespace acts::cpu
