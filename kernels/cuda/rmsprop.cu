// RMSprop kernel; see rmsprop.cuh. The _rn intrinsics keep the CPU reference's rounding order
// (no FMA contraction) and sqrt/div are IEEE-rounded, so one step equals the CPU's bit for bit.
#include "launch.cuh"
#include "rmsprop.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

// The rule is a template parameter: the choice is made once per launch, not per element.
template <RmspropRule kRule>
__global__ void rmsprop_kernel(float* __restrict__ w, const float* __restrict__ g, float* __restrict__ a, size_t count,
                               const float* __restrict__ lr_ptr, float rho, float one_minus_rho, float eps) {
  const float lr = *lr_ptr;
  ACTS_GRID_STRIDE(i, count) {
    const float gi = g[i];
    const float ai = __fadd_rn(__fmul_rn(rho, a[i]), __fmul_rn(__fmul_rn(one_minus_rho, gi), gi));
    a[i] = ai;
    const float denom = kRule == RmspropRule::kKeras3 ? __fsqrt_rn(__fadd_rn(ai, eps)) : __fadd_rn(__fsqrt_rn(ai), eps);
    w[i] = __fsub_rn(w[i], __fdiv_rn(__fmul_rn(lr, gi), denom));
  }
}

}  // namespace

void rmsprop(float* w, const float* g, float* a, size_t count, const float* lr, float rho, float eps, RmspropRule rule,
             cudaStream_t stream) {
  if (count == 0) return;
  // 1 - rho in float on the host, as the CPU reference computes T(1) - rho.
  if (rule == RmspropRule::kKeras3)
    rmsprop_kernel<RmspropRule::kKeras3>
        <<<grid_for(count), kThreads, 0, stream>>>(w, g, a, count, lr, rho, 1.f - rho, eps);
  else
    rmsprop_kernel<RmspropRule::kKeras2>
        <<<grid_for(count), kThreads, 0, stream>>>(w, g, a, count, lr, rho, 1.f - rho, eps);
  CUDA_CHECK_LAUNCH("rmsprop_kernel");
}

}  // namespace acts::gpu
