// Keras 3's random image layers (RandomFlip, RandomRotation, RandomZoom, RandomTranslation) for
// the CPU reference and the CUDA kernel alike (host and device code): each image's transform is
// drawn from a counter-based hash of (seed, step, layer, image), as the layers' own
// get_random_transformation draws it (same ranges, units and matrices, keras/src/layers/
// preprocessing/image_preprocessing/*.py, Keras 3.15), and sampled as TensorFlow's
// ImageProjectiveTransformV3 does (tensorflow/core/kernels/image/image_ops.h): the output pixel
// (x, y) reads the input at (a0 x + a1 y + a2, a3 x + a4 y + a5), the coordinate is first folded
// into the image by the fill mode, then read bilinearly (or at the rounded position) with
// `fill_value` for neighbours outside it. Keras' own random numbers cannot be reproduced (its
// seed generator is the backend's); the draws' distributions are Keras'.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define ACTS_RT_HD __host__ __device__
#else
#define ACTS_RT_HD
#endif

namespace acts {

enum class RandomKind : int { kFlip = 0, kRotation = 1, kZoom = 2, kTranslation = 3 };
enum class FillMode : int { kReflect = 0, kWrap = 1, kConstant = 2, kNearest = 3 };  // Keras' fill_mode

// One layer's configuration, as its Keras config gives it.
struct RandomTransform {
  RandomKind kind = RandomKind::kFlip;
  float lower = 0, upper = 0;          // rotation: the factor's range in turns; zoom/translation: height_factor's
  float wlower = 0, wupper = 0;        // zoom/translation: width_factor's range
  bool has_width = true;               // RandomZoom without width_factor zooms both axes by the height's draw
  bool flip_h = true, flip_v = false;  // RandomFlip's mode ("horizontal_and_vertical": both, one draw)
  FillMode fill = FillMode::kReflect;
  bool bilinear = true;  // interpolation "bilinear" (else "nearest")
  float fill_value = 0;  // for FillMode::kConstant
};

// Uniform in [0, 1) from 24 bits of a splitmix64-style hash of (seed, step, layer, image, k).
ACTS_RT_HD inline float transform_uniform(uint64_t seed, uint64_t step, uint32_t layer, uint64_t image, int k) {
  uint64_t z = (seed + 0x2545f4914f6cdd1dull) * 0x9e3779b97f4a7c15ull ^
               (step + 0x51afd7ed558ccd0bull) * 0xbf58476d1ce4e5b9ull ^ (uint64_t(layer) << 40) ^
               (image * 4 + uint64_t(k));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return float(z >> 40) * (1.f / 16777216.f);
}

// The transform of image `image` at training step `step`: out[6] in the convention above (Keras'
// first six transform entries; its last two are 0 for these layers).
ACTS_RT_HD inline void random_affine(const RandomTransform& t, uint64_t seed, uint64_t step, uint32_t layer,
                                     uint64_t image, int height, int width, float* out) {
  const auto u = [&](int k, float lo, float hi) {
    return lo + (hi - lo) * transform_uniform(seed, step, layer, image, k);
  };
  const double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
  double a[6] = {1, 0, 0, 0, 1, 0};
  switch (t.kind) {
    case RandomKind::kFlip: {  // flips where uniform <= 0.5; both axes from the one draw
      if (transform_uniform(seed, step, layer, image, 0) <= 0.5f) {
        if (t.flip_h) a[0] = -1, a[2] = width - 1;
        if (t.flip_v) a[4] = -1, a[5] = height - 1;
      }
      break;
    }
    case RandomKind::kRotation: {  // angle in degrees = factor * 360, about the centre (W-1)/2, (H-1)/2
      const double th = double(u(0, t.lower * 360.f, t.upper * 360.f)) * 3.14159265358979323846 / 180.0;
      const double c = cos(th), s = sin(th);  // the global overloads: host and device alike
      a[0] = c, a[1] = -s, a[2] = cx - cx * c + cy * s;
      a[3] = s, a[4] = c, a[5] = cy - cx * s - cy * c;
      break;
    }
    case RandomKind::kZoom: {  // zoom = 1 + factor: above 1 shows more of the image (zooms out)
      const float hz = 1.f + u(0, t.lower, t.upper);
      const float wz = t.has_width ? 1.f + u(1, t.wlower, t.wupper) : hz;
      a[0] = wz, a[2] = cx * (1.0 - wz);
      a[4] = hz, a[5] = cy * (1.0 - hz);
      break;
    }
    case RandomKind::kTranslation: {  // shifts of factor * side pixels; the source is out - shift
      a[5] = -double(u(0, t.lower, t.upper) * float(height));
      a[2] = -double(u(1, t.wlower, t.wupper) * float(width));
      break;
    }
  }
  for (int i = 0; i < 6; ++i) out[i] = float(a[i]);
}

// TensorFlow's MapCoordinate: folds a source coordinate into [0, len - 1] by the fill mode
// (constant leaves it, its outside neighbours reading fill_value).
ACTS_RT_HD inline float map_coordinate(float v, int len, FillMode m) {
  if (m == FillMode::kConstant) return v;
  if (m == FillMode::kReflect) {  // (d c b a | a b c d | d c b a)
    if (v < 0) {
      if (len <= 1) {
        v = 0;
      } else {
        const int64_t sz2 = 2 * int64_t(len);
        if (v < float(sz2)) v = float(sz2 * int64_t(-v / float(sz2))) + v;
        v = v < float(-len) ? v + float(sz2) : -v - 1;
      }
    } else if (v > float(len - 1)) {
      if (len <= 1) {
        v = 0;
      } else {
        const int64_t sz2 = 2 * int64_t(len);
        v -= float(sz2 * int64_t(v / float(sz2)));
        if (v >= float(len)) v = float(sz2) - v - 1;
      }
    }
  } else if (m == FillMode::kWrap) {  // (a b c d | a b c d | a b c d)
    if (v < 0) {
      if (len <= 1)
        v = 0;
      else
        v += float(int64_t(len) * (int64_t(-v / float(len - 1)) + 1));
    } else if (v > float(len - 1)) {
      if (len <= 1)
        v = 0;
      else
        v -= float(int64_t(len) * int64_t(v / float(len - 1)));
    }
  }
  return fminf(fmaxf(v, 0.f), float(len - 1));  // nearest: the clamp alone
}

// One output element (x, y, channel c) of an (H, W, C) image `img` under the transform `a`.
template <typename T>
ACTS_RT_HD inline float sample_transformed(const T* img, int H, int W, int C, const float* a, const RandomTransform& t,
                                           int x, int y, int c) {
  const float sx = map_coordinate(a[0] * float(x) + a[1] * float(y) + a[2], W, t.fill);
  const float sy = map_coordinate(a[3] * float(x) + a[4] * float(y) + a[5], H, t.fill);
  const auto read = [&](int64_t yy, int64_t xx) {
    return yy >= 0 && yy < H && xx >= 0 && xx < W ? float(img[(yy * W + xx) * C + c]) : t.fill_value;
  };
  if (!t.bilinear) return read(int64_t(roundf(sy)), int64_t(roundf(sx)));
  const float x0 = floorf(sx), y0 = floorf(sy), x1 = x0 + 1, y1 = y0 + 1;
  const float top = (x1 - sx) * read(int64_t(y0), int64_t(x0)) + (sx - x0) * read(int64_t(y0), int64_t(x1));
  const float bot = (x1 - sx) * read(int64_t(y1), int64_t(x0)) + (sx - x0) * read(int64_t(y1), int64_t(x1));
  return (y1 - sy) * top + (sy - y0) * bot;
}

}  // namespace acts
