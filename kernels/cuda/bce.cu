// BCE kernel; see bce.cuh. Math in double like the CPU reference, so the two agree to ~1e-15.
#include "bce.cuh"
#include "kernels/cpu/bce.h"  // kBceLogitClip: one constant for both backends
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

constexpr int kBceThreads = 256;

__global__ void bce_kernel(const float* __restrict__ z, const float* __restrict__ y, int n, float* __restrict__ dz,
                           double* __restrict__ sums) {
  __shared__ double loss_s[kBceThreads], correct_s[kBceThreads];
  const double clip = cpu::kBceLogitClip;
  double loss = 0, correct = 0;
  for (int i = threadIdx.x; i < n; i += kBceThreads) {
    const double zi = z[i], yi = y[i];
    // Comparisons, not fmin/fmax, so a NaN logit gives a NaN loss, as on the CPU (divergence shows).
    const double zc = zi < -clip ? -clip : (zi > clip ? clip : zi);
    const double softplus = zc > 0 ? zc + log1p(exp(-zc)) : log1p(exp(zc));
    loss += softplus - yi * zc;
    const double p = zi >= 0 ? 1 / (1 + exp(-zi)) : exp(zi) / (1 + exp(zi));
    correct += ((p > 0.5) == (y[i] > 0.5f)) ? 1 : 0;
    if (dz) dz[i] = fabs(zi) < clip ? float((p - yi) / n) : 0.f;
  }
  loss_s[threadIdx.x] = loss;
  correct_s[threadIdx.x] = correct;
  __syncthreads();
  for (int half = kBceThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      loss_s[threadIdx.x] += loss_s[threadIdx.x + half];
      correct_s[threadIdx.x] += correct_s[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    sums[0] += loss_s[0];
    sums[1] += correct_s[0];
  }
}

}  // namespace

void bce_loss(const float* z, const float* y, int n, float* dz, double* sums, cudaStream_t stream) {
  if (n <= 0) return;
  bce_kernel<<<1, kBceThreads, 0, stream>>>(z, y, n, dz, sums);
  CUDA_CHECK_LAUNCH("bce_kernel");
}

}  // namespace acts::gpu
