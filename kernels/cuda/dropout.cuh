// Inverted dropout on the GPU. The CPU reference draws its masks from std::mt19937_64, a serial
// generator no GPU kernel can follow, so the GPU draws from a counter-based hash instead: element
// i of layer `layer` at training step `step` is kept when dropout_uniform(seed, step, layer, i)
// >= rate, and kept values are scaled by 1 / (1 - rate) as the CPU does. Same masks for the same
// (seed, step) on every run and after a resume; backward recomputes the mask, nothing is stored.
// The step is read from device memory so a replayed CUDA graph sees the current one.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define ACTS_HOST_DEVICE __host__ __device__
#else
#define ACTS_HOST_DEVICE
#endif

namespace acts::gpu {

// Uniform in [0, 1) from 24 bits of a splitmix64-style hash; callable on the host for tests.
ACTS_HOST_DEVICE inline float dropout_uniform(uint64_t seed, uint64_t step, uint32_t layer, uint64_t i) {
  uint64_t z = seed * 0x9e3779b97f4a7c15ull ^ (step + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^
               (uint64_t(layer) << 48) ^ i;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return float(z >> 40) * (1.f / 16777216.f);
}

// y = x * mask (count); x == y allowed.
void dropout_forward(const float* x, float* y, size_t count, float rate, uint64_t seed, const uint64_t* step,
                     uint32_t layer, cudaStream_t stream);
// dx = dy * mask with the mask of the forward pass at the same step; dx == dy allowed.
void dropout_backward(const float* dy, float* dx, size_t count, float rate, uint64_t seed, const uint64_t* step,
                      uint32_t layer, cudaStream_t stream);

}  // namespace acts::gpu
