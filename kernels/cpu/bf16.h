// CPU reference: rounding float32 to bfloat16, kept in float32 storage. A bf16 value is a float32
// whose low 16 bits are zero (1 sign, 8 exponent, 7 mantissa bits), so rounding in place gives
// exactly the numbers a bf16 tensor would hold. The rounding is IEEE round-to-nearest-even, what
// TensorFlow's and PyTorch's float32 -> bfloat16 casts, oneDNN's and CUDA's __float2bfloat16 do:
// add 0x7FFF plus the lowest kept bit, then cut. NaN stays NaN (a quiet one, sign kept), values
// past the largest bf16 (~3.39e38) become infinities, subnormals round like any other value.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace acts::cpu {

inline float round_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: adding the rounding bias could carry it into inf
    u = (u | 0x00400000u) & 0xFFFF0000u;
  } else {
    u += 0x7FFFu + ((u >> 16) & 1u);
    u &= 0xFFFF0000u;
  }
  float y;
  std::memcpy(&y, &u, sizeof y);
  return y;
}

// y[i] = round_bf16(x[i]); y may be x.
inline void round_bf16(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = round_bf16(x[i]);
}

// y[i] = the 16 bits of round_bf16(x[i]): a real bf16 array, for kernels that read bf16
// (oneDNN's). On a bf16 value (low bits zero) it drops the zero half, so nothing is rounded.
inline void pack_bf16(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    const float r = round_bf16(x[i]);
    std::memcpy(&u, &r, sizeof u);
    y[i] = uint16_t(u >> 16);
  }
}

}  // namespace acts::cpu
