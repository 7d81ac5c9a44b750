// CPU reference: relu and sigmoid (elementwise). Backward uses the forward output y.
#pragma once
#include <cmath>
#include <cstddef>

namespace acts::cpu {

template <typename T>
void relu_forward(const T* x, T* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}
template <typename T>
void relu_backward(const T* y, const T* dy, T* dx, size_t n) {
  for (size_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template <typename T>
T sigmoid(T z) {  // stable for large |z|
  return z >= 0 ? T(1) / (T(1) + std::exp(-z)) : std::exp(z) / (T(1) + std::exp(z));
}
template <typename T>
void sigmoid_forward(const T* x, T* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}
template <typename T>
void sigmoid_backward(const T* y, const T* dy, T* dx, size_t n) {
  for (size_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
}

}  // namespace acts::cpu
