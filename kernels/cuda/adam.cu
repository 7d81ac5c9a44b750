// Adam kernels; see adam.cuh. The _rn intrinsics keep the CPU reference's rounding order (no FMA
// contraction) and sqrt/div are IEEE-rounded, so a step equals the CPU's bit for bit.
#include "adam.cuh"
#include "launch.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

// One thread: t = ++iterations; alpha = adam_alpha(lr, beta1, beta2, t).
__global__ void adam_alpha_kernel(uint64_t* iterations, float* alpha, const float* lr, float beta1, float beta2) {
  const uint64_t t = *iterations + 1;
  *iterations = t;
  *alpha = adam_alpha(*lr, beta1, beta2, t);
}

__global__ void adam_kernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, size_t count, const float* __restrict__ alpha_ptr, float omb1,
                            float omb2, float eps) {
  const float alpha = *alpha_ptr;
  ACTS_GRID_STRIDE(i, count) {
    const float gi = g[i];
    const float mi = __fadd_rn(m[i], __fmul_rn(__fsub_rn(gi, m[i]), omb1));
    const float vi = __fadd_rn(v[i], __fmul_rn(__fsub_rn(__fmul_rn(gi, gi), v[i]), omb2));
    m[i] = mi;
    v[i] = vi;
    w[i] = __fsub_rn(w[i], __fdiv_rn(__fmul_rn(mi, alpha), __fadd_rn(__fsqrt_rn(vi), eps)));
  }
}

}  // namespace

void adam(float* w, const float* g, float* m, float* v, size_t count, uint64_t* iterations, float* alpha,
          const float* lr, const AdamHyper& h, float eps, cudaStream_t stream) {
  adam_alpha_kernel<<<1, 1, 0, stream>>>(iterations, alpha, lr, float(h.beta1), float(h.beta2));
  CUDA_CHECK_LAUNCH("adam_alpha_kernel");
  if (count == 0) return;
  adam_kernel<<<grid_for(count), kThreads, 0, stream>>>(w, g, m, v, count, alpha, h.one_minus_beta1(),
                                                        h.one_minus_beta2(), eps);
  CUDA_CHECK_LAUNCH("adam_kernel");
}

}  // namespace acts::gpu
