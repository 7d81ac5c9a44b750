// CPU reference: Conv2D, channels_last, Keras' 'valid' or 'same' padding and a square stride.
// Plain loops: this is the oracle the fast path and the CUDA kernels are tested against.
// Templated so gradient checks can run in double.
//   x (N, H, W, C)   k (KH, KW, C, F) as Keras stores it   b (F) or none   y (N, OH, OW, F)
// Output (oh, ow) reads input (oh * stride - pad_top + i, ow * stride - pad_left + j) for the
// kernel tap (i, j); positions outside the input are the padding's zeros. The padding after the
// input (TensorFlow puts an odd total's extra row/column there) needs no field: OH and OW end
// the windows (runtime/core/window.h computes all of them).
#pragma once
#include <algorithm>
#include <cstddef>

namespace acts::cpu {

struct ConvGeometry {
  int H = 0, W = 0, C = 0;    // input, per image
  int KH = 0, KW = 0, F = 0;  // kernel, filters
  int stride = 1;
  int pad_top = 0, pad_left = 0;
  int OH = 0, OW = 0;  // output, per image
  size_t in_size() const { return size_t(H) * W * C; }
  size_t out_size() const { return size_t(OH) * OW * F; }
  size_t kernel_size() const { return size_t(KH) * KW * C * F; }
  // The first input row/column of output row/column o (may be negative: padding).
  int row0(int oh) const { return oh * stride - pad_top; }
  int col0(int ow) const { return ow * stride - pad_left; }
};

// 'valid', stride 1: what the layer computed before padding and strides.
inline ConvGeometry valid_geometry(int H, int W, int C, int KH, int KW, int F) {
  return {H, W, C, KH, KW, F, 1, 0, 0, H - KH + 1, W - KW + 1};
}

// b may be null (use_bias=False).
template <typename T>
void conv2d_forward(const T* x, int N, const ConvGeometry& g, const T* k, const T* b, T* y) {
  const int F = g.F, C = g.C;
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        T* out = y + ((size_t(n) * g.OH + oh) * g.OW + ow) * F;
        if (b)
          std::copy(b, b + F, out);
        else
          std::fill(out, out + F, T(0));
        for (int i = 0; i < g.KH; ++i) {
          const int ih = g.row0(oh) + i;
          if (ih < 0 || ih >= g.H) continue;  // padding: zeros add nothing
          for (int j = 0; j < g.KW; ++j) {
            const int iw = g.col0(ow) + j;
            if (iw < 0 || iw >= g.W) continue;
            const T* in = x + ((size_t(n) * g.H + ih) * g.W + iw) * C;
            const T* kk = k + (size_t(i) * g.KW + j) * C * F;
            for (int c = 0; c < C; ++c) {
              const T v = in[c];
              const T* kr = kk + size_t(c) * F;
              for (int f = 0; f < F; ++f) out[f] += v * kr[f];  // contiguous in f: vectorises
            }
          }
        }
      }
}

// dy (N, OH, OW, F) -> dx (N, H, W, C), dk (KH, KW, C, F), db (F), each skipped when null (an
// input gradient alone computes no parameter gradient; a layer without bias has no db). dk and
// db are overwritten (sums over the batch), dx is overwritten (zero where no window reads).
template <typename T>
void conv2d_backward(const T* x, int N, const ConvGeometry& g, const T* k, const T* dy, T* dx, T* dk, T* db) {
  const int F = g.F, C = g.C;
  if (dk) std::fill(dk, dk + g.kernel_size(), T(0));
  if (db) std::fill(db, db + F, T(0));
  if (dx) std::fill(dx, dx + size_t(N) * g.in_size(), T(0));
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < g.OH; ++oh)
      for (int ow = 0; ow < g.OW; ++ow) {
        const T* gr = dy + ((size_t(n) * g.OH + oh) * g.OW + ow) * F;
        if (db)
          for (int f = 0; f < F; ++f) db[f] += gr[f];
        for (int i = 0; i < g.KH; ++i) {
          const int ih = g.row0(oh) + i;
          if (ih < 0 || ih >= g.H) continue;
          for (int j = 0; j < g.KW; ++j) {
            const int iw = g.col0(ow) + j;
            if (iw < 0 || iw >= g.W) continue;
            const size_t at = ((size_t(n) * g.H + ih) * g.W + iw) * C;
            const T* in = x + at;
            const T* kk = k + (size_t(i) * g.KW + j) * C * F;
            for (int c = 0; c < C; ++c) {
              const T v = in[c];
              const T* kr = kk + size_t(c) * F;
              if (dk) {
                T* dkr = dk + ((size_t(i) * g.KW + j) * C + c) * F;
                for (int f = 0; f < F; ++f) dkr[f] += v * gr[f];
              }
              if (dx) {
                T acc = 0;
                for (int f = 0; f < F; ++f) acc += kr[f] * gr[f];
                dx[at + c] += acc;
              }
            }
          }
        }
      }
}

// The 'valid', stride-1 forms (tests and callers written before padding and strides).
template <typename T>
void conv2d_forward(const T* x, int N, int H, int W, int C, const T* k, const T* b, int KH, int KW, int F, T* y) {
  conv2d_forward(x, N, valid_geometry(H, W, C, KH, KW, F), k, b, y);
}
template <typename T>
void conv2d_backward(const T* x, int N, int H, int W, int C, const T* k, int KH, int KW, int F, const T* dy, T* dx,
                     T* dk, T* db) {
  conv2d_backward(x, N, valid_geometry(H, W, C, KH, KW, F), k, dy, dx, dk, db);
}

}  // namespace acts::cpu
