// Stand-in for the kernel emulator (see cuda_runtime_api.h): the two bf16 conversions the kernels
// use, from their documented semantics. __float2bfloat16_rn rounds to nearest even, overflows to
// infinity and turns any NaN into the one NaN 0x7FFF (seen in the toolkit's own host build);
// __bfloat162float is exact. Written apart from kernels/cpu/bf16.h
// (arithmetic on the value, not its bits), so the emulated suites compare two implementations;
// the real header's host build is held to the CPU reference in tests/cpu/mixed_bf16_test.cpp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

struct __nv_bfloat16 {
  uint16_t x;
};

inline __nv_bfloat16 __float2bfloat16_rn(float a) {
  if (std::isnan(a)) return {0x7FFFu};  // the canonical NaN the toolkit's conversion returns
  // The two bf16 neighbours of a: cut (toward zero) and one bf16 step further from zero.
  uint32_t u;
  std::memcpy(&u, &a, sizeof u);
  const uint32_t cut = u & 0xFFFF0000u;
  float lo, hi;
  std::memcpy(&lo, &cut, sizeof lo);
  const uint32_t up = cut + 0x10000u;  // from the largest finite bf16: infinity
  std::memcpy(&hi, &up, sizeof hi);
  if (std::isinf(a)) return {uint16_t(u >> 16)};
  bool take_hi;
  if (std::isinf(hi)) {  // a is past the largest finite bf16: infinity from halfway to 2^128 on
    take_hi = std::fabs(double(a)) >= std::ldexp(511.0, 119);  // (2^128 + (2 - 2^-7) 2^127) / 2
  } else {
    const double dlo = std::fabs(double(a) - double(lo)), dhi = std::fabs(double(hi) - double(a));
    take_hi = dhi < dlo || (dhi == dlo && ((cut >> 16) & 1u));  // a tie goes to the even one
  }
  return {uint16_t((take_hi ? up : cut) >> 16)};
}

inline float __bfloat162float(__nv_bfloat16 b) {
  const uint32_t u = uint32_t(b.x) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
