// The activation an op with an `activation` argument applies, on the GPU: its derivative taken
// in place on dy (given the activated output y), unless the loss or the next op took it already.
#pragma once
#include "kernels/cuda/activations.cuh"
#include "runtime/cuda/cuda_op.h"

namespace acts {

// `cols`: the output's last axis, over which a softmax runs.
inline void cuda_activation_backward(const CudaOpEnv& env, const CudaBackward& b, Act act, size_t count, int cols) {
  if (b.act_done || act == Act::Linear) return;
  gpu::act_backward(b.y, b.dy, b.dy, count, cols, act, env.ctx.stream());
  env.mark("activation backward");
}

}  // namespace acts
