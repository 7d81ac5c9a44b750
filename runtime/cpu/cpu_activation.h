// The activation an op with an `activation` argument (Conv2D, Dense, Activation) applies to its
// output, on the CPU, in place: forward on y, backward on dy (given y, the activated output).
#pragma once
#include <cstddef>

#include "kernels/cpu/activations.h"
#include "runtime/core/model_spec.h"

namespace acts {

// `cols`: the size of the output's last axis, over which softmax runs (Keras' axis=-1).
// `relu_applied`: the op's fast kernel applied the relu already (fused).
inline void cpu_activation_forward(Act a, float* y, size_t count, size_t cols, bool relu_applied = false) {
  if (a == Act::Relu && !relu_applied) cpu::relu_forward(y, y, count);
  if (a == Act::Sigmoid) cpu::sigmoid_forward(y, y, count);
  if (a == Act::Tanh) cpu::tanh_forward(y, y, count);
  if (a == Act::Softmax) cpu::softmax_forward(y, y, count, cols);
}

inline void cpu_activation_backward(Act a, const float* y, float* dy, size_t count, size_t cols) {
  if (a == Act::Relu) cpu::relu_backward(y, dy, dy, count);
  if (a == Act::Sigmoid) cpu::sigmoid_backward(y, dy, dy, count);
  if (a == Act::Tanh) cpu::tanh_backward(y, dy, dy, count);
  if (a == Act::Softmax) cpu::softmax_backward(y, dy, dy, count, cols);
}

}  // namespace acts
