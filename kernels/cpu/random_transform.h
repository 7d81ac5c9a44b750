// CPU reference of the random image layers (kernels/random_transform.h has the draws and the
// sampling, shared with the CUDA kernel): each image of the batch warped by its own transform.
//   x (N, H, W, C)   y (N, H, W, C), overwritten (not in place)
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/random_transform.h"

namespace acts::cpu {

// Image `image` of the batch (its position: the draws depend on it), one (H, W, C) tensor.
template <typename T>
void random_transform_image(const T* img, T* out, int H, int W, int C, const RandomTransform& t, uint64_t seed,
                            uint64_t step, uint32_t layer, uint64_t image) {
  float a[6];
  random_affine(t, seed, step, layer, image, H, W, a);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c) out[(size_t(y) * W + x) * C + c] = T(sample_transformed(img, H, W, C, a, t, x, y, c));
}

template <typename T>
void random_transform_forward(const T* x, T* y, int N, int H, int W, int C, const RandomTransform& t, uint64_t seed,
                              uint64_t step, uint32_t layer) {
  const size_t per = size_t(H) * W * C;
  for (int n = 0; n < N; ++n)
    random_transform_image(x + n * per, y + n * per, H, W, C, t, seed, step, layer, uint64_t(n));
}

}  // namespace acts::cpu
