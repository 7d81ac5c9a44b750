// Per-image channel peaks; see channel_peaks.cuh. A block owns one image and 32 consecutive
// channels (a warp-wide row segment: every load is coalesced) and kRowLanes lanes of positions;
// each lane keeps its best (value, first position) and the lanes are then merged in a fixed tree,
// the lower position winning a tie, which is the CPU's first-position rule.
#include "channel_peaks.cuh"

#include <cmath>

#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

constexpr int kChannelsPerBlock = 32;
constexpr int kRowLanes = 8;

__global__ void channel_peaks_kernel(const float* __restrict__ x, size_t positions, int channels,
                                     float* __restrict__ peak, int* __restrict__ where) {
  __shared__ float best[kRowLanes][kChannelsPerBlock];
  __shared__ int at[kRowLanes][kChannelsPerBlock];
  const int lane = threadIdx.y, k = threadIdx.x;
  const int c = blockIdx.x * kChannelsPerBlock + k;
  const size_t image = blockIdx.y;
  float b = -INFINITY;
  int p_best = 0;
  if (c < channels) {
    const float* img = x + image * positions * size_t(channels);
    for (size_t p = lane; p < positions; p += kRowLanes) {
      const float v = img[p * size_t(channels) + c];
      if (v > b) b = v, p_best = int(p);  // a lane's positions rise: its first maximum is kept
    }
  }
  best[lane][k] = b;
  at[lane][k] = p_best;
  __syncthreads();
  for (int half = kRowLanes / 2; half > 0; half /= 2) {
    if (lane < half) {
      const float v = best[lane + half][k];
      const int p = at[lane + half][k];
      if (v > best[lane][k] || (v == best[lane][k] && p < at[lane][k])) best[lane][k] = v, at[lane][k] = p;
    }
    __syncthreads();
  }
  if (lane == 0 && c < channels) {
    peak[image * size_t(channels) + c] = best[0][k];
    where[image * size_t(channels) + c] = at[0][k];
  }
}

}  // namespace

void channel_peaks(const float* x, int n, size_t positions, int channels, float* peak, int* where,
                   cudaStream_t stream) {
  if (n <= 0 || positions == 0 || channels <= 0) return;
  const dim3 block(kChannelsPerBlock, kRowLanes);
  const dim3 grid(unsigned((channels + kChannelsPerBlock - 1) / kChannelsPerBlock), unsigned(n));
  channel_peaks_kernel<<<grid, block, 0, stream>>>(x, positions, channels, peak, where);
  CUDA_CHECK_LAUNCH("channel_peaks_kernel");
}

}  // namespace acts::gpu
