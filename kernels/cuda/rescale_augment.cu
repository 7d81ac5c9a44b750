// GPU input stage; see rescale_augment.cuh. Arithmetic uses the _rn intrinsics in the CPU
// reference's order so nvcc cannot fuse it into FMAs: results equal the CPU's bit for bit.
#include "launch.cuh"
#include "rescale_augment.cuh"
#include "runtime/cuda/cuda_check.h"

namespace acts::gpu {
namespace {

__global__ void rescale_kernel(const uint8_t* __restrict__ in, float* __restrict__ out, size_t count,
                               const float* __restrict__ scale) {
  const float s = *scale;
  ACTS_GRID_STRIDE(i, count) out[i] = __fmul_rn(float(in[i]), s);
}

// One thread per output pixel (n, y, x); it writes all C channels.
__global__ void augment_kernel(const uint8_t* __restrict__ in, const float* __restrict__ affine, int N, int H, int W,
                               int C, const float* __restrict__ scale, float* __restrict__ out) {
  const float s = *scale;
  const size_t pixels = size_t(N) * H * W;
  ACTS_GRID_STRIDE(p, pixels) {
    const int x = int(p % W), y = int((p / W) % H), n = int(p / (size_t(W) * H));
    const float* a = affine + size_t(n) * 6;
    const float fxp = float(x), fyp = float(y);
    float sx = __fadd_rn(__fadd_rn(__fmul_rn(a[0], fxp), __fmul_rn(a[1], fyp)), a[2]);
    float sy = __fadd_rn(__fadd_rn(__fmul_rn(a[3], fxp), __fmul_rn(a[4], fyp)), a[5]);
    // std::clamp(v, lo, hi): lo if v < lo, hi if hi < v, else v.
    sx = sx < 0.f ? 0.f : (float(W - 1) < sx ? float(W - 1) : sx);
    sy = sy < 0.f ? 0.f : (float(H - 1) < sy ? float(H - 1) : sy);
    const int x0 = int(floorf(sx)), y0 = int(floorf(sy));
    const int x1 = min(x0 + 1, W - 1), y1 = min(y0 + 1, H - 1);
    const float fx = __fsub_rn(sx, float(x0)), fy = __fsub_rn(sy, float(y0));
    const uint8_t* img = in + size_t(n) * H * W * C;
    float* o = out + p * C;
    for (int c = 0; c < C; ++c) {
      const float p00 = img[(size_t(y0) * W + x0) * C + c], p01 = img[(size_t(y0) * W + x1) * C + c];
      const float p10 = img[(size_t(y1) * W + x0) * C + c], p11 = img[(size_t(y1) * W + x1) * C + c];
      const float top = __fadd_rn(p00, __fmul_rn(fx, __fsub_rn(p01, p00)));
      const float bot = __fadd_rn(p10, __fmul_rn(fx, __fsub_rn(p11, p10)));
      o[c] = __fmul_rn(__fadd_rn(top, __fmul_rn(fy, __fsub_rn(bot, top))), s);
    }
  }
}

}  // namespace

void rescale_u8(const uint8_t* in, float* out, size_t count, const float* scale, cudaStream_t stream) {
  if (count == 0) return;
  rescale_kernel<<<grid_for(count), kThreads, 0, stream>>>(in, out, count, scale);
  CUDA_CHECK_LAUNCH("rescale_kernel");
}

void augment_rescale(const uint8_t* in, const float* affine, int N, int H, int W, int C, const float* scale, float* out,
                     cudaStream_t stream) {
  const size_t pixels = size_t(N) * H * W;
  if (pixels == 0) return;
  augment_kernel<<<grid_for(pixels), kThreads, 0, stream>>>(in, affine, N, H, W, C, scale, out);
  CUDA_CHECK_LAUNCH("augment_kernel");
}

}  // namespace acts::gpu
