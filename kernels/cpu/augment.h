// CPU reference: one affine warp per image fused with the rescale, the oracle for the CUDA
// augmentation kernel. Output pixel (x, y) samples the source at
//   (sx, sy) = (a0 x + a1 y + a2, a3 x + a4 y + a5)
// bilinearly (keras_preprocessing's interpolation_order=1) with coordinates clamped to the
// image, which is scipy's fill_mode='nearest' (edge pixels repeat).
//   in (N, H, W, C) uint8   affine (N, 6)   out (N, H, W, C) float = sample x scale
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace acts::cpu {

inline void augment_rescale(const uint8_t* in, const float* affine, int N, int H, int W, int C, float scale,
                            float* out) {
  for (int n = 0; n < N; ++n) {
    const float* a = affine + size_t(n) * 6;
    const uint8_t* img = in + size_t(n) * H * W * C;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const float sx = std::clamp(a[0] * x + a[1] * y + a[2], 0.f, float(W - 1));
        const float sy = std::clamp(a[3] * x + a[4] * y + a[5], 0.f, float(H - 1));
        const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
        const int x1 = std::min(x0 + 1, W - 1), y1 = std::min(y0 + 1, H - 1);
        const float fx = sx - x0, fy = sy - y0;
        float* o = out + ((size_t(n) * H + y) * W + x) * C;
        for (int c = 0; c < C; ++c) {
          auto px = [&](int yy, int xx) { return float(img[(size_t(yy) * W + xx) * C + c]); };
          const float top = px(y0, x0) + fx * (px(y0, x1) - px(y0, x0));
          const float bot = px(y1, x0) + fx * (px(y1, x1) - px(y1, x0));
          o[c] = (top + fy * (bot - top)) * scale;
        }
      }
  }
}

}  // namespace acts::cpu
