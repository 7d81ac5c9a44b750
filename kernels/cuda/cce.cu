// Softmax cross-entropy kernel; see cce.cuh. The per-image math is the CPU reference's own
// function (kernels/cpu/cce.h, compiled for the device), so the two agree to ~1e-15.
#include "cce.cuh"
#include "kernels/cpu/cce.h"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

constexpr int kCceThreads = 256;

__global__ void softmax_ce_kernel(const float* __restrict__ z, const float* __restrict__ labels, int n, int classes,
                                  float* __restrict__ dz, double* __restrict__ sums) {
  __shared__ double loss_s[kCceThreads], correct_s[kCceThreads];
  double loss = 0, correct = 0;
  for (int i = threadIdx.x; i < n; i += kCceThreads) {
    bool hit = false;
    loss += cpu::softmax_ce_image(z + size_t(i) * classes, labels[i], classes, n,
                                  dz ? dz + size_t(i) * classes : nullptr, &hit);
    correct += hit ? 1 : 0;
  }
  loss_s[threadIdx.x] = loss;
  correct_s[threadIdx.x] = correct;
  __syncthreads();
  for (int half = kCceThreads / 2; half > 0; half /= 2) {
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

void softmax_ce_loss(const float* z, const float* labels, int n, int classes, float* dz, double* sums,
                     cudaStream_t stream) {
  if (n <= 0) return;
  softmax_ce_kernel<<<1, kCceThreads, 0, stream>>>(z, labels, n, classes, dz, sums);
  CUDA_CHECK_LAUNCH("softmax_ce_kernel");
}

}  // namespace acts::gpu
