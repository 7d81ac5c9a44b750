// CPU reference: the input rescale, uint8 (N, H, W, C) -> float x scale (Keras' rescale=1/255).
#pragma once
#include <cstddef>
#include <cstdint>

namespace acts::cpu {

inline void rescale_u8(const uint8_t* in, float* out, size_t n, float scale) {
  for (size_t i = 0; i < n; ++i) out[i] = float(in[i]) * scale;
}

}  // namespace acts::cpu
