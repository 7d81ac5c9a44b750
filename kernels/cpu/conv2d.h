// CPU reference: Conv2D, valid padding, stride 1, channels_last. Plain loops: this is the oracle
// the CUDA kernels are tested against. Templated so gradient checks can run in double.
//   x (N, H, W, C)   k (KH, KW, C, F) as Keras stores it   b (F)   y (N, H-KH+1, W-KW+1, F)
#pragma once
#include <algorithm>
#include <cstddef>

namespace acts::cpu {

template <typename T>
void conv2d_forward(const T* x, int N, int H, int W, int C, const T* k, const T* b, int KH, int KW, int F, T* y) {
  const int OH = H - KH + 1, OW = W - KW + 1;
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        T* out = y + ((size_t(n) * OH + oh) * OW + ow) * F;
        std::copy(b, b + F, out);
        for (int i = 0; i < KH; ++i)
          for (int j = 0; j < KW; ++j) {
            const T* in = x + ((size_t(n) * H + oh + i) * W + ow + j) * C;
            const T* kk = k + (size_t(i) * KW + j) * C * F;
            for (int c = 0; c < C; ++c) {
              const T v = in[c];
              const T* kr = kk + size_t(c) * F;
              for (int f = 0; f < F; ++f) out[f] += v * kr[f];  // contiguous in f: vectorises
            }
          }
      }
}

// dy (N, OH, OW, F) -> dx (N, H, W, C), dk (KH, KW, C, F), db (F), each skipped when null (an
// input gradient alone computes no parameter gradient). dk and db are overwritten (sum over the
// batch), dx is overwritten.
template <typename T>
void conv2d_backward(const T* x, int N, int H, int W, int C, const T* k, int KH, int KW, int F, const T* dy,
                     T* dx, T* dk, T* db) {
  const int OH = H - KH + 1, OW = W - KW + 1;
  if (dk) std::fill(dk, dk + size_t(KH) * KW * C * F, T(0));
  if (db) std::fill(db, db + F, T(0));
  if (dx) std::fill(dx, dx + size_t(N) * H * W * C, T(0));
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        const T* g = dy + ((size_t(n) * OH + oh) * OW + ow) * F;
        if (db)
          for (int f = 0; f < F; ++f) db[f] += g[f];
        for (int i = 0; i < KH; ++i)
          for (int j = 0; j < KW; ++j) {
            const size_t at = ((size_t(n) * H + oh + i) * W + ow + j) * C;
            const T* in = x + at;
            const T* kk = k + (size_t(i) * KW + j) * C * F;
            for (int c = 0; c < C; ++c) {
              const T v = in[c];
              const T* kr = kk + size_t(c) * F;
              if (dk) {
                T* dkr = dk + ((size_t(i) * KW + j) * C + c) * F;
                for (int f = 0; f < F; ++f) dkr[f] += v * g[f];
              }
              if (dx) {
                T acc = 0;
                for (int f = 0; f < F; ++f) acc += kr[f] * g[f];
                dx[at + c] += acc;
              }
            }
          }
      }
}

}  // namespace acts::cpu
