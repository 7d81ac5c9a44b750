// CPU reference: relu, sigmoid and tanh (elementwise) and softmax (over the last axis: rows of
// `cols`). Backward uses the forward output y, so every activation can run in place.
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

template <typename T>
void tanh_forward(const T* x, T* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
template <typename T>
void tanh_backward(const T* y, const T* dy, T* dx, size_t n) {
  for (size_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
}

// Softmax of each row of `cols` values (n = rows * cols), as Keras' softmax on the last axis.
// The row's maximum is subtracted first, so exp() never overflows; x == y allowed.
template <typename T>
void softmax_forward(const T* x, T* y, size_t n, size_t cols) {
  for (size_t r = 0; r + cols <= n; r += cols) {
    T m = x[r];
    for (size_t j = 1; j < cols; ++j) m = x[r + j] > m ? x[r + j] : m;
    T sum = 0;
    for (size_t j = 0; j < cols; ++j) {
      y[r + j] = std::exp(x[r + j] - m);
      sum += y[r + j];
    }
    for (size_t j = 0; j < cols; ++j) y[r + j] /= sum;
  }
}
// dx_j = y_j (dy_j - sum_k dy_k y_k) per row; dx == dy allowed.
template <typename T>
void softmax_backward(const T* y, const T* dy, T* dx, size_t n, size_t cols) {
  for (size_t r = 0; r + cols <= n; r += cols) {
    T dot = 0;
    for (size_t j = 0; j < cols; ++j) dot += dy[r + j] * y[r + j];
    for (size_t j = 0; j < cols; ++j) dx[r + j] = y[r + j] * (dy[r + j] - dot);
  }
}

}  // namespace acts::cpu
