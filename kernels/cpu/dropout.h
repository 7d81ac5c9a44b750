// CPU reference: inverted dropout. Each unit is kept with probability 1 - rate and scaled by
// 1 / (1 - rate) at training time, so inference is the identity. The mask is drawn from
// (seed, step, layer) with the C++ library's Bernoulli distribution: reproducible on one
// platform, not the same draws as the GPU's counter-based mask (kernels/cuda/dropout.cuh).
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace acts::cpu {

// mask (count) = 0 or 1 / (1 - rate); y = x * mask.
inline void dropout_forward(const float* x, float* y, size_t count, float rate, uint64_t seed, uint64_t step,
                            uint32_t layer, std::vector<float>& mask) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + step * 1315423911ull + layer);
  std::bernoulli_distribution keep(1.0 - rate);
  mask.resize(count);
  for (size_t k = 0; k < count; ++k) {
    mask[k] = keep(rng) ? 1.f / (1.f - rate) : 0.f;
    y[k] = x[k] * mask[k];
  }
}

// dx = dy * mask (in place allowed).
inline void dropout_backward(const float* dy, const std::vector<float>& mask, float* dx) {
  for (size_t k = 0; k < mask.size(); ++k) dx[k] = dy[k] * mask[k];
}

}  // namespace acts::cpu
