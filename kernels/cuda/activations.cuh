// Bias and activation kernels on the GPU, elementwise over NHWC/(N, features) tensors, matching
// kernels/cpu/activations.h: relu, sigmoid in its overflow-free form, tanh, and softmax over rows
// of `cols` (the last axis; max-subtracted, one thread per row, summed in the CPU's order);
// backward passes use the forward OUTPUT y, as the CPU reference does (so activations are
// applied in place).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "runtime/core/model_spec.h"  // Act

namespace acts::gpu {

// y (rows, cols) = act(y + bias[col]), in place: the epilogue of Conv2D and Dense.
void bias_act(float* y, const float* bias, size_t rows, int cols, Act act, cudaStream_t stream);
// y = act(x) (count = rows * cols); x == y allowed. Linear copies.
void act_forward(const float* x, float* y, size_t count, int cols, Act act, cudaStream_t stream);
// dx = dy * act'(from y) (count = rows * cols); dx == dy allowed. Linear copies.
void act_backward(const float* y, const float* dy, float* dx, size_t count, int cols, Act act,
                  cudaStream_t stream);

}  // namespace acts::gpu
