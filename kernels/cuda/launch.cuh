// Launch geometry shared by the elementwise kernels (device code only; included from .cu files).
// Kernels loop grid-stride, so any element count runs with a bounded grid.
#pragma once
#include <algorithm>
#include <cstddef>

namespace acts::gpu {

constexpr int kThreads = 256;

inline unsigned grid_for(size_t count, int threads = kThreads) {
  const size_t blocks = (count + size_t(threads) - 1) / size_t(threads);
  return unsigned(std::clamp<size_t>(blocks, 1, size_t(1) << 20));
}

// Element index range of a grid-stride loop.
#define ACTS_GRID_STRIDE(i, count) \
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (count); i += size_t(gridDim.x) * blockDim.x)

}  // namespace acts::gpu
