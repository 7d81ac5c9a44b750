// Bit-level helpers for the bf16 tests (CPU and CUDA): a float's bits and back, and whether
// values are bf16 (a float32 whose low 16 bits are zero; kernels/cpu/bf16.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace acts::test {

inline uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline float from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

inline bool all_bf16(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return (float_bits(x) & 0xFFFFu) == 0; });
}

}  // namespace acts::test
