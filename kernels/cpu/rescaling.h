// CPU reference: the Rescaling layer, elementwise on any shape.
//   forward:  y = x * scale + offset   (in T: float as Keras computes it, double in the checks)
//   backward: dx = dy * scale
#pragma once
#include <cstddef>

namespace acts::cpu {

template <typename T>
void rescaling_forward(const T* x, size_t n, T scale, T offset, T* y) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * scale + offset;
}

template <typename T>
void rescaling_backward(const T* dy, size_t n, T scale, T* dx) {
  for (size_t i = 0; i < n; ++i) dx[i] = dy[i] * scale;
}

}  // namespace acts::cpu
