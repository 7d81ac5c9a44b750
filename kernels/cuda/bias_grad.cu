// Bias gradient kernels; see bias_grad.cuh.
// Pass 1: block (32 columns x 8 row lanes) sums one chunk of rows for 32 columns into
// partial[chunk][col] (warps read 32 consecutive floats of a row: coalesced).
// Pass 2: one thread per column adds the chunk partials in order.
#include <algorithm>

#include "bias_grad.cuh"
#include "runtime/cuda/cuda_check.h"
#include "runtime/core/errors.h"

namespace acts::gpu {
namespace {

constexpr int kCols = 32, kLanes = 8, kMaxChunks = 256, kRowsPerChunkMin = 64;

size_t chunks_for(size_t rows) {
  return std::clamp<size_t>((rows + kRowsPerChunkMin - 1) / kRowsPerChunkMin, 1, kMaxChunks);
}

__global__ void partial_kernel(const float* __restrict__ dy, size_t rows, int cols, size_t rows_per_chunk,
                               float* __restrict__ partial) {
  __shared__ float s[kLanes][kCols + 1];
  const int col = blockIdx.x * kCols + threadIdx.x;
  const size_t begin = size_t(blockIdx.y) * rows_per_chunk;
  const size_t end = min(rows, begin + rows_per_chunk);
  float acc = 0.f;
  if (col < cols)
    for (size_t r = begin + threadIdx.y; r < end; r += kLanes) acc += dy[r * cols + col];
  s[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    float sum = 0.f;
    for (int l = 0; l < kLanes; ++l) sum += s[l][threadIdx.x];
    partial[size_t(blockIdx.y) * cols + col] = sum;
  }
}

__global__ void finish_kernel(const float* __restrict__ partial, int chunks, int cols, float* __restrict__ db) {
  const int col = blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= cols) return;
  float sum = 0.f;
  for (int c = 0; c < chunks; ++c) sum += partial[size_t(c) * cols + col];
  db[col] = sum;
}

}  // namespace

size_t bias_grad_scratch_floats(size_t rows, int cols) { return chunks_for(rows) * size_t(cols); }

void bias_grad(const float* dy, size_t rows, int cols, float* db, float* scratch, size_t scratch_floats,
               cudaStream_t stream) {
  if (cols <= 0) return;
  if (rows == 0) {
    CUDA_CHECK(cudaMemsetAsync(db, 0, sizeof(float) * size_t(cols), stream));
    return;
  }
  const size_t chunks = chunks_for(rows);
  if (scratch_floats < chunks * size_t(cols))
    fail("bias_grad: scratch of ", scratch_floats, " floats is too small for (", rows, ", ", cols, ")");
  const size_t rows_per_chunk = (rows + chunks - 1) / chunks;
  const dim3 grid(unsigned((cols + kCols - 1) / kCols), unsigned(chunks));
  partial_kernel<<<grid, dim3(kCols, kLanes), 0, stream>>>(dy, rows, cols, rows_per_chunk, scratch);
  CUDA_CHECK_LAUNCH("bias_grad partial_kernel");
  finish_kernel<<<unsigned((cols + 127) / 128), 128, 0, stream>>>(scratch, int(chunks), cols, db);
  CUDA_CHECK_LAUNCH("bias_grad finish_kernel");
}

}  // namespace acts::gpu
