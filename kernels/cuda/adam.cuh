// Adam on the GPU, one launch over the whole flat parameter vector (weights, gradients, m and v
// are four equally laid out arrays), exactly as kernels/cpu/adam.h; kernels/adam_rule.h has the rule.
// The step's alpha needs t = iterations + 1, which a captured CUDA graph must not bake in: a
// one-thread kernel first advances the iteration counter kept in device memory and writes alpha
// (from the learning rate in device memory, which set_learning_rate() updates), and the update
// reads it. Replaying the graph therefore takes step t, t + 1, ... as eager launches would.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/adam_rule.h"

namespace acts::gpu {

// iterations: one device uint64 (Keras' optimizer.iterations, advanced by 1); alpha: one device
// float of scratch; lr: one device float.
void adam(float* w, const float* g, float* m, float* v, size_t count, uint64_t* iterations, float* alpha,
          const float* lr, const AdamHyper& h, float eps, cudaStream_t stream);

}  // namespace acts::gpu
