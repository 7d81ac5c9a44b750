// The activation an op with an `activation` argument (Conv2D, Dense, Activation) applies to its
// output, on the CPU, in place: forward on y, backward on dy (given y, the activated output).
#pragma once
#include <cstddef>

#include "kernels/cpu/activations.h"
#include "runtime/core/model_spec.h"

namespace acts {

// `relu_applied`: the op's fast kernel applied the relu already (fused).
inline void cpu_activation_forward(Act a, float* y, size_t count, bool relu_applied = false) {
  if (a == Act::Relu && !relu_applied) cpu::relu_forward(y, y, count);
  if (a == Act::Sigmoid) cpu::sigmoid_forward(y, y, count);
}

inline void cpu_activation_backward(Act a, const float* y, float* dy, size_t count) {
  if (a == Act::Relu) cpu::relu_backward(y, dy, dy, count);
  if (a == Act::Sigmoid) cpu::sigmoid_backward(y, dy, dy, count);
}

}  // namespace acts
