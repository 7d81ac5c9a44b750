// CPU reference: Dense, y = x W + b with W (in, out) as Keras stores it.
//   x (N, I)  W (I, O)  b (O)  y (N, O)
#pragma once
#include <algorithm>
#include <cstddef>

namespace acts::cpu {

template <typename T>
void dense_forward(const T* x, int N, int I, const T* w, const T* b, int O, T* y) {
  for (int n = 0; n < N; ++n) {
    T* out = y + size_t(n) * O;
    std::copy(b, b + O, out);
    for (int i = 0; i < I; ++i) {
      const T v = x[size_t(n) * I + i];
      const T* wr = w + size_t(i) * O;
      for (int o = 0; o < O; ++o) out[o] += v * wr[o];
    }
  }
}

// dy (N, O) -> dx (N, I), dw (I, O), db (O), each skipped when null; all overwritten.
template <typename T>
void dense_backward(const T* x, int N, int I, const T* w, int O, const T* dy, T* dx, T* dw, T* db) {
  if (dw) std::fill(dw, dw + size_t(I) * O, T(0));
  if (db) std::fill(db, db + O, T(0));
  for (int n = 0; n < N; ++n) {
    const T* g = dy + size_t(n) * O;
    if (db)
      for (int o = 0; o < O; ++o) db[o] += g[o];
    for (int i = 0; i < I; ++i) {
      const T v = x[size_t(n) * I + i];
      if (dw) {
        T* dwr = dw + size_t(i) * O;
        for (int o = 0; o < O; ++o) dwr[o] += v * g[o];
      }
      if (dx) {
        const T* wr = w + size_t(i) * O;
        T acc = 0;
        for (int o = 0; o < O; ++o) acc += wr[o] * g[o];
        dx[size_t(n) * I + i] = acc;
      }
    }
  }
}

}  // namespace acts::cpu
