// Per-channel sums; see channel_stats.cuh. A block owns 32 consecutive channels (one warp-wide
// row segment, so every load is coalesced) and kRowLanes lanes of rows; each lane walks its rows
// in order and the lanes are then added in a fixed tree: the same result on every run.
#include "channel_stats.cuh"

#include <cmath>

#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

constexpr int kChannelsPerBlock = 32;
constexpr int kRowLanes = 8;

__global__ void channel_sums_kernel(const float* __restrict__ x, size_t rows, int channels, double* __restrict__ acc) {
  __shared__ double part[4][kRowLanes][kChannelsPerBlock];
  const int lane = threadIdx.y, k = threadIdx.x;
  const int c = blockIdx.x * kChannelsPerBlock + k;
  double sum = 0, sumsq = 0, zeros = 0, max = -INFINITY;
  if (c < channels) {
    for (size_t r = lane; r < rows; r += kRowLanes) {
      const double v = x[r * size_t(channels) + c];
      sum += v;
      sumsq += v * v;
      zeros += v == 0.0;
      if (!(v <= max)) max = v;  // a NaN shows as NaN, as on the CPU
    }
  }
  part[0][lane][k] = sum;
  part[1][lane][k] = sumsq;
  part[2][lane][k] = zeros;
  part[3][lane][k] = max;
  __syncthreads();
  for (int half = kRowLanes / 2; half > 0; half /= 2) {
    if (lane < half) {
      for (int s = 0; s < 3; ++s) part[s][lane][k] += part[s][lane + half][k];
      const double other = part[3][lane + half][k];
      if (!(other <= part[3][lane][k])) part[3][lane][k] = other;
    }
    __syncthreads();
  }
  if (lane == 0 && c < channels) {
    acc[c] += part[0][0][k];
    acc[channels + c] += part[1][0][k];
    acc[2 * channels + c] += part[2][0][k];
    const double m = part[3][0][k];
    if (!(m <= acc[3 * channels + c])) acc[3 * channels + c] = m;
  }
}

}  // namespace

void channel_sums(const float* x, size_t rows, int channels, double* acc, cudaStream_t stream) {
  if (rows == 0 || channels <= 0) return;
  const dim3 block(kChannelsPerBlock, kRowLanes);
  const unsigned blocks = unsigned((channels + kChannelsPerBlock - 1) / kChannelsPerBlock);
  channel_sums_kernel<<<blocks, block, 0, stream>>>(x, rows, channels, acc);
  CUDA_CHECK_LAUNCH("channel_sums_kernel");
}

}  // namespace acts::gpu
