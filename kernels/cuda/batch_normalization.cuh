// BatchNormalization on the GPU, channels last, x seen as (M, C) rows; the semantics of
// kernels/cpu/batch_normalization.h (Keras 3: biased batch variance, also in the moving
// variance). Custom kernels, not cuDNN's BatchNorm: cuDNN's legacy API keeps an unbiased running
// variance (Keras keeps the biased one) and is deprecated in cuDNN 9.
// Per-channel sums are deterministic: blocks of 32 channels x 8 row lanes sum fixed chunks of
// rows in double (the chunking depends on M alone), and one thread per channel adds the chunks
// in order; no atomics. Everything is enqueued on `stream`: no synchronisation, no allocation
// (the work buffers come from the op's plan()), so a training step can be captured as a graph.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace acts::gpu {

// Doubles of work memory the sums of (M, C) need.
size_t batch_norm_work_doubles(size_t M, int C);

// The per-channel statistics and coefficients one forward leaves for its backward (device, C each).
struct BatchNormStats {
  double* mean = nullptr;  // the statistics used: the batch's or the moving ones
  double* var = nullptr;
  float* a = nullptr;  // y = x a + b
  float* b = nullptr;
  double* work = nullptr;  // batch_norm_work_doubles(M, C)
};

// Training: batch mean and biased variance of x into s.mean/s.var, the moving statistics updated
// (moving = moving momentum + stat (1 - momentum)), y normalised. gamma/beta may be null.
void batch_norm_train_forward(const float* x, size_t M, int C, const float* gamma, const float* beta, double momentum,
                              double eps, float* moving_mean, float* moving_var, const BatchNormStats& s, float* y,
                              cudaStream_t stream);
// Inference: the moving statistics into s.mean/s.var, y normalised with them.
void batch_norm_infer_forward(const float* x, size_t M, int C, const float* gamma, const float* beta, double eps,
                              const float* moving_mean, const float* moving_var, const BatchNormStats& s, float* y,
                              cudaStream_t stream);
// Backward with the statistics in s; batch_stats: the full gradient through the batch's mean and
// variance. dgamma, dbeta, dx may each be null; coef (4 C floats of work) holds dx's coefficients.
void batch_norm_backward(const float* dy, const float* x, size_t M, int C, const float* gamma, double eps,
                         bool batch_stats, const BatchNormStats& s, float* dx, float* dgamma, float* dbeta, float* coef,
                         cudaStream_t stream);

}  // namespace acts::gpu
