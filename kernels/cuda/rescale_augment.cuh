// The input stage on the GPU: uint8 images (N, H, W, C) -> float x scale, optionally through one
// affine warp per image (the augmentation), exactly as kernels/cpu/rescale.h and augment.h do:
// output pixel (x, y) samples the source at (a0 x + a1 y + a2, a3 x + a4 y + a5), bilinear, with
// coordinates clamped to the image (fill_mode='nearest'). Host-callable declarations only.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace acts::gpu {

// in (count) uint8 -> out (count) float; *scale is read on the device (a graph replay sees updates).
void rescale_u8(const uint8_t* in, float* out, size_t count, const float* scale, cudaStream_t stream);

// in (N, H, W, C) uint8, affine (N, 6) -> out (N, H, W, C) float.
void augment_rescale(const uint8_t* in, const float* affine, int N, int H, int W, int C, const float* scale, float* out,
                     cudaStream_t stream);

}  // namespace acts::gpu
