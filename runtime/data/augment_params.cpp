// ImageDataGenerator's random transforms as one affine per image (see augment_params.h).
#include "augment_params.h"

#include <cmath>

namespace acts {

namespace {

constexpr double kPi = 3.14159265358979323846;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Counter-based stream: draw k of image i depends on (seed, i, k) only, so enabling one option
// never changes another's values.
struct Draws {
  uint64_t key;
  double uniform(int k, double lo, double hi) const {
    const double u = double(splitmix64(key + uint64_t(k) * 0x632BE59BD9B4E019ull) >> 11) * 0x1.0p-53;  // [0, 1)
    return lo + (hi - lo) * u;
  }
};

// 3x3 row-major products of homogeneous 2-D transforms (Keras' (row, col) coordinates).
struct M3 {
  double m[3][3];
};
M3 mul(const M3& a, const M3& b) {
  M3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c.m[i][j] += a.m[i][k] * b.m[k][j];
  return c;
}

}  // namespace

AugmentOptions AugmentOptions::chollet() {
  AugmentOptions o;
  o.rotation_range = 40;
  o.width_shift_range = 0.2f;
  o.height_shift_range = 0.2f;
  o.shear_range = 0.2f;
  o.zoom_range = 0.2f;
  o.horizontal_flip = true;
  return o;
}

bool AugmentOptions::any() const {
  return rotation_range != 0 || width_shift_range != 0 || height_shift_range != 0 || shear_range != 0 ||
         zoom_range != 0 || horizontal_flip;
}

AffineParams random_affine_params(const AugmentOptions& o, int height, int width, uint64_t seed, uint64_t image_index) {
  const Draws d{splitmix64(seed ^ splitmix64(image_index))};
  AffineParams p;
  if (o.rotation_range) p.theta = d.uniform(0, -o.rotation_range, o.rotation_range);
  // Keras: a range below 1 is a fraction of the image side, otherwise pixels.
  if (o.height_shift_range)
    p.tx = d.uniform(1, -o.height_shift_range, o.height_shift_range) * (o.height_shift_range < 1 ? height : 1);
  if (o.width_shift_range)
    p.ty = d.uniform(2, -o.width_shift_range, o.width_shift_range) * (o.width_shift_range < 1 ? width : 1);
  if (o.shear_range) p.shear = d.uniform(3, -o.shear_range, o.shear_range);
  if (o.zoom_range) {
    p.zx = d.uniform(4, 1 - o.zoom_range, 1 + o.zoom_range);
    p.zy = d.uniform(5, 1 - o.zoom_range, 1 + o.zoom_range);
  }
  p.flip = o.horizontal_flip && d.uniform(6, 0, 1) < 0.5;
  return p;
}

void affine_matrix(const AffineParams& p, int height, int width, float* out) {
  const double th = p.theta * kPi / 180, sh = p.shear * kPi / 180;
  const M3 rot{{{std::cos(th), -std::sin(th), 0}, {std::sin(th), std::cos(th), 0}, {0, 0, 1}}};
  const M3 shift{{{1, 0, p.tx}, {0, 1, p.ty}, {0, 0, 1}}};
  const M3 shear{{{1, -std::sin(sh), 0}, {0, std::cos(sh), 0}, {0, 0, 1}}};
  const M3 zoom{{{p.zx, 0, 0}, {0, p.zy, 0}, {0, 0, 1}}};
  const double orow = height / 2.0 + 0.5, ocol = width / 2.0 + 0.5;  // transform_matrix_offset_center
  const M3 offset{{{1, 0, orow}, {0, 1, ocol}, {0, 0, 1}}};
  const M3 reset{{{1, 0, -orow}, {0, 1, -ocol}, {0, 0, 1}}};
  const M3 t = mul(mul(offset, mul(mul(mul(rot, shift), shear), zoom)), reset);
  // scipy's affine_transform: source (row, col) = t (out_row, out_col, 1). In (x = col, y = row):
  //   sx = t10 y + t11 x + t12,   sy = t00 y + t01 x + t02.
  double a[6] = {t.m[1][1], t.m[1][0], t.m[1][2], t.m[0][1], t.m[0][0], t.m[0][2]};
  if (p.flip) {  // flip_axis after the warp: out (x, y) = warped (W - 1 - x, y)
    a[2] += a[0] * (width - 1);
    a[0] = -a[0];
    a[5] += a[3] * (width - 1);
    a[3] = -a[3];
  }
  for (int i = 0; i < 6; ++i) out[i] = float(a[i]);
}

}  // namespace acts
