// Row gather; see gather_rows.cuh. Rows of images are whole multiples of 4 bytes here (150 x 150
// x 3 = 67,500), so threads move 32-bit words when they can: a quarter of the loads and stores.
#include "gather_rows.cuh"
#include "launch.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

template <typename Word>
__global__ void gather_kernel(const Word* __restrict__ set, const uint32_t* __restrict__ rows, int n, size_t row_words,
                              Word* __restrict__ out) {
  const size_t count = size_t(n) * row_words;
  ACTS_GRID_STRIDE(i, count) {
    const size_t r = i / row_words, w = i % row_words;
    out[i] = set[size_t(rows[r]) * row_words + w];
  }
}

}  // namespace

void gather_rows(const uint8_t* set, const uint32_t* rows, int n, size_t row_bytes, uint8_t* out, cudaStream_t stream) {
  if (n <= 0 || row_bytes == 0) return;
  const bool words =
      row_bytes % 4 == 0 && reinterpret_cast<uintptr_t>(set) % 4 == 0 && reinterpret_cast<uintptr_t>(out) % 4 == 0;
  if (words) {
    const size_t row_words = row_bytes / 4;
    gather_kernel<uint32_t><<<grid_for(size_t(n) * row_words), kThreads, 0, stream>>>(
        reinterpret_cast<const uint32_t*>(set), rows, n, row_words, reinterpret_cast<uint32_t*>(out));
  } else {
    gather_kernel<uint8_t><<<grid_for(size_t(n) * row_bytes), kThreads, 0, stream>>>(set, rows, n, row_bytes, out);
  }
  CUDA_CHECK_LAUNCH("gather_kernel");
}

}  // namespace acts::gpu
