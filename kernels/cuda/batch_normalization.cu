// BatchNormalization kernels; see batch_normalization.cuh.
// Sums: partial_kernel (block: 32 channels x 8 row lanes over one chunk of rows; warps read 32
// consecutive floats of a row, coalesced), then per-channel kernels that add the chunks in order
// and finish the statistics; then one elementwise kernel.
#include <algorithm>

#include "kernels/cuda/batch_normalization.cuh"
#include "launch.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

constexpr int kCols = 32, kLanes = 8, kMaxChunks = 128, kRowsPerChunkMin = 64;

size_t chunks_for(size_t rows) {
  return std::clamp<size_t>((rows + kRowsPerChunkMin - 1) / kRowsPerChunkMin, 1, kMaxChunks);
}

enum Mode { kSumX = 0, kSumSquares = 1, kSumDy = 2 };

// partial[(chunk * 2 + k) * C + c]: k = 0: sum x, sum (x - mean)^2 or sum dy; k = 1 (kSumDy only):
// sum dy (x - mean) / sqrt(var + eps).
__global__ void partial_kernel(const float* __restrict__ x, const float* __restrict__ dy, size_t M, int C,
                               size_t rows_per_chunk, int mode, const double* __restrict__ mean,
                               const double* __restrict__ var, double eps, double* __restrict__ partial) {
  __shared__ double s[2][kLanes][kCols + 1];
  const int c = blockIdx.x * kCols + threadIdx.x;
  const size_t begin = size_t(blockIdx.y) * rows_per_chunk;
  const size_t end = min(M, begin + rows_per_chunk);
  double t0 = 0, t1 = 0;
  if (c < C) {
    const double mu = mode == kSumX ? 0.0 : mean[c];
    const double inv = mode == kSumDy ? 1.0 / sqrt(var[c] + eps) : 0.0;
    for (size_t r = begin + threadIdx.y; r < end; r += kLanes) {
      const double v = double(x[r * C + c]);
      if (mode == kSumX) {
        t0 += v;
      } else if (mode == kSumSquares) {
        t0 += (v - mu) * (v - mu);
      } else {
        const double g = double(dy[r * C + c]);
        t0 += g;
        t1 += g * (v - mu) * inv;
      }
    }
  }
  s[0][threadIdx.y][threadIdx.x] = t0;
  s[1][threadIdx.y][threadIdx.x] = t1;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    double a = 0, b = 0;
    for (int l = 0; l < kLanes; ++l) {
      a += s[0][l][threadIdx.x];
      b += s[1][l][threadIdx.x];
    }
    partial[(size_t(blockIdx.y) * 2) * C + c] = a;
    partial[(size_t(blockIdx.y) * 2 + 1) * C + c] = b;
  }
}

__device__ double chunk_sum(const double* partial, int chunks, int C, int c, int k) {
  double sum = 0;
  for (int i = 0; i < chunks; ++i) sum += partial[(size_t(i) * 2 + k) * C + c];
  return sum;
}

// y = x a + b per channel: a = gamma / sqrt(var + eps), b = beta - mean a (Keras' own form).
__device__ void coefficients(int c, const float* gamma, const float* beta, double eps, const double* mean,
                             const double* var, float* a, float* b) {
  const double k = (gamma ? double(gamma[c]) : 1.0) / sqrt(var[c] + eps);
  a[c] = float(k);
  b[c] = float((beta ? double(beta[c]) : 0.0) - mean[c] * k);
}

__global__ void mean_kernel(const double* __restrict__ partial, int chunks, size_t M, int C, double* mean) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c < C) mean[c] = chunk_sum(partial, chunks, C, c, 0) / double(M);
}

__global__ void var_kernel(const double* __restrict__ partial, int chunks, size_t M, int C, const float* gamma,
                           const float* beta, double momentum, double eps, float* moving_mean, float* moving_var,
                           const double* mean, double* var, float* a, float* b) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  var[c] = chunk_sum(partial, chunks, C, c, 0) / double(M);
  moving_mean[c] = float(double(moving_mean[c]) * momentum + mean[c] * (1.0 - momentum));
  moving_var[c] = float(double(moving_var[c]) * momentum + var[c] * (1.0 - momentum));
  coefficients(c, gamma, beta, eps, mean, var, a, b);
}

__global__ void moving_kernel(int C, const float* gamma, const float* beta, double eps, const float* moving_mean,
                              const float* moving_var, double* mean, double* var, float* a, float* b) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  mean[c] = double(moving_mean[c]);
  var[c] = double(moving_var[c]);
  coefficients(c, gamma, beta, eps, mean, var, a, b);
}

__global__ void apply_kernel(const float* __restrict__ x, size_t count, int C, const float* __restrict__ a,
                             const float* __restrict__ b, float* __restrict__ y) {
  ACTS_GRID_STRIDE(i, count) {
    const size_t c = i % C;
    y[i] = x[i] * a[c] + b[c];
  }
}

// coef: (4, C): k = gamma inv, sub = sum dy / M, slope = sum dy xhat / M inv, mu = mean;
// dx = k (dy - sub - (x - mu) slope).
__global__ void grad_kernel(const double* __restrict__ partial, int chunks, size_t M, int C, const float* gamma,
                            double eps, bool batch_stats, const double* mean, const double* var, float* dgamma,
                            float* dbeta, float* coef) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const double sum_dy = chunk_sum(partial, chunks, C, c, 0), sum_dy_xhat = chunk_sum(partial, chunks, C, c, 1);
  if (dgamma) dgamma[c] = float(sum_dy_xhat);
  if (dbeta) dbeta[c] = float(sum_dy);
  const double inv = 1.0 / sqrt(var[c] + eps);
  coef[c] = float((gamma ? double(gamma[c]) : 1.0) * inv);
  coef[C + c] = batch_stats ? float(sum_dy / double(M)) : 0.f;
  coef[2 * C + c] = batch_stats ? float(sum_dy_xhat / double(M) * inv) : 0.f;
  coef[3 * C + c] = float(mean[c]);
}

__global__ void dx_kernel(const float* __restrict__ dy, const float* __restrict__ x, size_t count, int C,
                          const float* __restrict__ coef, float* __restrict__ dx) {
  ACTS_GRID_STRIDE(i, count) {
    const size_t c = i % C;
    dx[i] = coef[c] * (dy[i] - coef[C + c] - (x[i] - coef[3 * C + c]) * coef[2 * C + c]);
  }
}

unsigned channel_blocks(int C) { return unsigned((C + 127) / 128); }

// The partial sums of one mode into s.work; returns the chunk count.
int partials(const float* x, const float* dy, size_t M, int C, int mode, const BatchNormStats& s, double eps,
             cudaStream_t stream) {
  const size_t chunks = chunks_for(M);
  const size_t rows_per_chunk = (M + chunks - 1) / chunks;
  const dim3 grid(unsigned((C + kCols - 1) / kCols), unsigned(chunks));
  partial_kernel<<<grid, dim3(kCols, kLanes), 0, stream>>>(x, dy, M, C, rows_per_chunk, mode, s.mean, s.var, eps,
                                                           s.work);
  CUDA_CHECK_LAUNCH("batch_norm partial_kernel");
  return int(chunks);
}

void apply(const float* x, size_t M, int C, const BatchNormStats& s, float* y, cudaStream_t stream) {
  const size_t count = M * size_t(C);
  apply_kernel<<<grid_for(count), kThreads, 0, stream>>>(x, count, C, s.a, s.b, y);
  CUDA_CHECK_LAUNCH("batch_norm apply_kernel");
}

}  // namespace

size_t batch_norm_work_doubles(size_t M, int C) { return chunks_for(M) * 2 * size_t(C); }

void batch_norm_train_forward(const float* x, size_t M, int C, const float* gamma, const float* beta, double momentum,
                              double eps, float* moving_mean, float* moving_var, const BatchNormStats& s, float* y,
                              cudaStream_t stream) {
  if (M == 0 || C <= 0) return;
  int chunks = partials(x, nullptr, M, C, kSumX, s, eps, stream);
  mean_kernel<<<channel_blocks(C), 128, 0, stream>>>(s.work, chunks, M, C, s.mean);
  CUDA_CHECK_LAUNCH("batch_norm mean_kernel");
  chunks = partials(x, nullptr, M, C, kSumSquares, s, eps, stream);
  var_kernel<<<channel_blocks(C), 128, 0, stream>>>(s.work, chunks, M, C, gamma, beta, momentum, eps, moving_mean,
                                                    moving_var, s.mean, s.var, s.a, s.b);
  CUDA_CHECK_LAUNCH("batch_norm var_kernel");
  apply(x, M, C, s, y, stream);
}

void batch_norm_infer_forward(const float* x, size_t M, int C, const float* gamma, const float* beta, double eps,
                              const float* moving_mean, const float* moving_var, const BatchNormStats& s, float* y,
                              cudaStream_t stream) {
  if (C <= 0) return;
  moving_kernel<<<channel_blocks(C), 128, 0, stream>>>(C, gamma, beta, eps, moving_mean, moving_var, s.mean, s.var, s.a,
                                                       s.b);
  CUDA_CHECK_LAUNCH("batch_norm moving_kernel");
  if (M > 0) apply(x, M, C, s, y, stream);
}

void batch_norm_backward(const float* dy, const float* x, size_t M, int C, const float* gamma, double eps,
                         bool batch_stats, const BatchNormStats& s, float* dx, float* dgamma, float* dbeta, float* coef,
                         cudaStream_t stream) {
  if (M == 0 || C <= 0) return;
  const int chunks = partials(x, dy, M, C, kSumDy, s, eps, stream);
  grad_kernel<<<channel_blocks(C), 128, 0, stream>>>(s.work, chunks, M, C, gamma, eps, batch_stats, s.mean, s.var,
                                                     dgamma, dbeta, coef);
  CUDA_CHECK_LAUNCH("batch_norm grad_kernel");
  if (!dx) return;
  const size_t count = M * size_t(C);
  dx_kernel<<<grid_for(count), kThreads, 0, stream>>>(dy, x, count, C, coef, dx);
  CUDA_CHECK_LAUNCH("batch_norm dx_kernel");
}

}  // namespace acts::gpu
