// Augmentation parameters: the affine of each ImageDataGenerator option worked out by hand, the
// draws' ranges, the warp of kernels/cpu/augment.h with our affine against Keras' own
// apply_transform (scipy), and the horizontal flip mirroring an image exactly.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/compare.h"
#include "runtime/data/augment_params.h"
#include "tests/data/data_test_util.h"
#include "kernels/cpu/augment.h"
#include "runtime/core/npy.h"

namespace acts {
namespace {

constexpr int H = 13, W = 17;                             // odd, non-square: catches row/column mix-ups
constexpr double OR = H / 2.0 + 0.5, OC = W / 2.0 + 0.5;  // Keras' centre (transform_matrix_offset_center)
constexpr double kDeg = 3.14159265358979323846 / 180;

void expect_affine(const AffineParams& p, const std::vector<double>& want, const char* what) {
  float a[6];
  affine_matrix(p, H, W, a);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(a[i], want[i], 2e-6 * (1 + std::fabs(want[i]))) << what << " a" << i;
}

TEST(DataAugment, NoOptionsGiveTheIdentity) {
  const AugmentOptions none;
  EXPECT_FALSE(none.any());
  for (uint64_t i = 0; i < 50; ++i) {
    float a[6];
    affine_matrix(random_affine_params(none, H, W, 5, i), H, W, a);
    EXPECT_EQ(std::vector<float>(a, a + 6), (std::vector<float>{1, 0, 0, 0, 1, 0})) << "image " << i;
  }
}

TEST(DataAugment, CholletOptions) {
  const AugmentOptions c = AugmentOptions::chollet();
  EXPECT_EQ(c.rotation_range, 40.f);
  EXPECT_EQ(c.width_shift_range, 0.2f);
  EXPECT_EQ(c.height_shift_range, 0.2f);
  EXPECT_EQ(c.shear_range, 0.2f);
  EXPECT_EQ(c.zoom_range, 0.2f);
  EXPECT_TRUE(c.horizontal_flip);
  EXPECT_TRUE(c.any());
}

// Each matrix below: source (row, col) = O T O^-1 (out_row, out_col), rewritten as
// (sx, sy) = (a0 x + a1 y + a2, a3 x + a4 y + a5) with x = col, y = row.
TEST(DataAugment, EachOptionGivesItsMatrix) {
  AffineParams p;
  p.theta = 90;  // row_in = -(col - OC) + OR, col_in = (row - OR) + OC
  expect_affine(p, {0, 1, OC - OR, -1, 0, OR + OC}, "rotation 90");
  p = {};
  p.theta = -40;
  const double c = std::cos(-40 * kDeg), s = std::sin(-40 * kDeg);
  expect_affine(p, {c, s, OC - s * OR - c * OC, -s, c, OR - c * OR + s * OC}, "rotation -40");
  p = {};
  p.tx = 2.6;  // rows
  expect_affine(p, {1, 0, 0, 0, 1, 2.6}, "height shift");
  p = {};
  p.ty = -3.4;  // columns
  expect_affine(p, {1, 0, -3.4, 0, 1, 0}, "width shift");
  p = {};
  p.shear = 20;  // row_in = (row - OR) - sin(s) (col - OC) + OR, col_in = cos(s) (col - OC) + OC
  const double ss = std::sin(20 * kDeg), cs = std::cos(20 * kDeg);
  expect_affine(p, {cs, 0, OC - cs * OC, -ss, 1, ss * OC}, "shear 20");
  p = {};
  p.zx = 0.8;  // rows
  p.zy = 1.2;  // columns
  expect_affine(p, {1.2, 0, OC - 1.2 * OC, 0, 0.8, OR - 0.8 * OR}, "zoom 0.8 / 1.2");
  p = {};
  p.flip = true;
  expect_affine(p, {-1, 0, W - 1, 0, 1, 0}, "horizontal flip");
}

TEST(DataAugment, DrawsCoverTheirRanges) {
  AugmentOptions o = AugmentOptions::chollet();
  double lo[5] = {1e9, 1e9, 1e9, 1e9, 1e9}, hi[5] = {-1e9, -1e9, -1e9, -1e9, -1e9};
  int flips = 0, zoom_equal = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const AffineParams p = random_affine_params(o, 150, 120, 77, i);
    const double v[5] = {p.theta, p.tx / 150, p.ty / 120, p.shear, p.zx};
    for (int k = 0; k < 5; ++k) lo[k] = std::min(lo[k], v[k]), hi[k] = std::max(hi[k], v[k]);
    flips += p.flip;
    zoom_equal += p.zx == p.zy;
  }
  const double range[5][2] = {{-40, 40}, {-0.2, 0.2}, {-0.2, 0.2}, {-0.2, 0.2}, {0.8, 1.2}};
  for (int k = 0; k < 5; ++k) {
    const double w = range[k][1] - range[k][0];
    EXPECT_GE(lo[k], range[k][0]) << k;
    EXPECT_LE(hi[k], range[k][1]) << k;
    EXPECT_LT(lo[k], range[k][0] + 0.01 * w) << k << ": the low end is never reached";
    EXPECT_GT(hi[k], range[k][1] - 0.01 * w) << k << ": the high end is never reached";
  }
  EXPECT_NEAR(flips, n / 2, n / 20);
  EXPECT_EQ(zoom_equal, 0) << "zx and zy are independent draws in Keras";
  o.width_shift_range = 3;  // from 1 on, pixels
  const AffineParams p = random_affine_params(o, 150, 120, 77, 1);
  EXPECT_LE(std::fabs(p.ty), 3.0);
}

// Keras' apply_transform (scipy.ndimage.affine_transform, order 1, mode 'nearest', in double)
// against the CPU warp with our affine (float). Tolerance: float coordinates on a 17-pixel image
// move a sample by ~1e-6 pixel, times a 255 step: well under 1e-3.
TEST(DataAugment, WarpMatchesKerasApplyTransform) {
  const NpyArray in = read_npy(test::golden("augment_in.npy"));                          // (13, 17, 3) uint8
  const std::vector<float> want = read_npy(test::golden("augment_out.npy")).to_float();  // (K, 13, 17, 3)
  const auto params = test::read_json(test::golden("augment.json"))["params"];
  ASSERT_EQ(in.shape, (std::vector<size_t>{H, W, 3}));
  const size_t img = H * W * 3;
  ASSERT_EQ(want.size(), params.size() * img);
  for (size_t k = 0; k < params.size(); ++k) {
    const auto& j = params[k];
    AffineParams p;
    p.theta = j["theta"];
    p.tx = j["tx"];
    p.ty = j["ty"];
    p.shear = j["shear"];
    p.zx = j["zx"];
    p.zy = j["zy"];
    p.flip = j["flip_horizontal"];
    float a[6];
    affine_matrix(p, H, W, a);
    std::vector<float> got(img, NAN);
    cpu::augment_rescale(in.u8(), a, 1, H, W, 3, 1.f, got.data());
    test::expect_close("apply_transform " + j.dump(), got.data(), want.data() + k * img, img, 0, 1e-3);
  }
}

TEST(DataAugment, FlipMirrorsExactly) {
  const NpyArray in = read_npy(test::golden("augment_in.npy"));
  AffineParams p;
  p.flip = true;
  float a[6];
  affine_matrix(p, H, W, a);
  std::vector<float> got(H * W * 3, NAN);
  cpu::augment_rescale(in.u8(), a, 1, H, W, 3, 1.f, got.data());
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(got[(y * W + x) * 3 + c], float(in.u8()[(y * W + (W - 1 - x)) * 3 + c])) << y << "," << x;
}

}  // namespace
}  // namespace acts
