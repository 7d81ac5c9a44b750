// Finite-difference gradient checks of every CPU reference op in kernels/cpu, in double: the
// backward of each op must equal the central difference of its forward. Each op's output y is
// reduced to a scalar L = sum(r * y) with fixed random weights r, so dL/dy = r exercises every
// output element with a different non-zero gradient. Shapes are tiny, odd and non-square.
// Model-level checks (whole CpuBackend, RMSprop, Dropout) live in backend_grad_test.cpp.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/activations.h"
#include "kernels/cpu/bce.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/dense.h"
#include "kernels/cpu/max_pooling2d.h"
#include "tests/compare.h"
#include "tests/numeric_grad.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::numeric_grad;

namespace {

using Vec = std::vector<double>;

// Uniform in [lo, hi), kept away from 0 so no value is accidentally inert.
Vec random_vec(size_t n, uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(n);
  for (double& x : v) {
    do x = u(rng);
    while (std::fabs(x) < 0.05);
  }
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}


// Tolerances for double-precision checks: the errors above, with margin.
constexpr double kRtol = 1e-6, kAtol = 1e-8;

void check_conv(int N, int H, int W, int C, int K, int F, uint32_t seed) {
  const int OH = H - K + 1, OW = W - K + 1;
  Vec x = random_vec(size_t(N) * H * W * C, seed), k = random_vec(size_t(K) * K * C * F, seed + 1),
      b = random_vec(F, seed + 2), r = random_vec(size_t(N) * OH * OW * F, seed + 3);
  Vec y(r.size());
  auto loss = [&] {
    cpu::conv2d_forward(x.data(), N, H, W, C, k.data(), b.data(), K, K, F, y.data());
    return dot(r, y);
  };
  // Outputs poisoned: the backward must overwrite every element.
  Vec dx(x.size(), NAN), dk(k.size(), NAN), db(b.size(), NAN);
  cpu::conv2d_backward(x.data(), N, H, W, C, k.data(), K, K, F, r.data(), dx.data(), dk.data(), db.data());
  expect_close("conv dx", dx, numeric_grad(x, loss), kRtol, kAtol);
  expect_close("conv dk", dk, numeric_grad(k, loss), kRtol, kAtol);
  expect_close("conv db", db, numeric_grad(b, loss), kRtol, kAtol);
  // dx may be skipped; dk/db must not change.
  Vec dk2(k.size(), NAN), db2(b.size(), NAN);
  cpu::conv2d_backward(x.data(), N, H, W, C, k.data(), K, K, F, r.data(), static_cast<double*>(nullptr),
                       dk2.data(), db2.data());
  EXPECT_EQ(dk2, dk);
  EXPECT_EQ(db2, db);
}

}  // namespace

TEST(GradCheck, Conv2dKernel3OddSizes) { check_conv(2, 7, 6, 3, 3, 4, 10); }
TEST(GradCheck, Conv2dKernel2OddSizes) { check_conv(3, 5, 4, 2, 2, 3, 20); }
TEST(GradCheck, Conv2dSingleChannelSingleFilter) { check_conv(1, 4, 5, 1, 3, 1, 30); }

TEST(Conv2d, ForwardMatchesHandComputedValue) {
  // 1 image 3x3x1, kernel 2x2: y(0,0) = 1*1 + 2*2 + 4*3 + 5*4 + bias 0.5 = 37.5.
  const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, k[] = {1, 2, 3, 4}, b[] = {0.5};
  double y[4];
  cpu::conv2d_forward(x, 1, 3, 3, 1, k, b, 2, 2, 1, y);
  EXPECT_EQ(y[0], 37.5);
  EXPECT_EQ(y[1], 2 + 6 + 15 + 24 + 0.5);
  EXPECT_EQ(y[3], 5 + 12 + 24 + 36 + 0.5);
}

TEST(GradCheck, MaxPoolOddSizesFloor) {
  for (int P : {2, 3}) {
    const int N = 2, H = 7, W = 5, C = 3, OH = H / P, OW = W / P;
    // Distinct values (a shuffled ramp, 0.01 apart) so no window has a tie within +-h.
    Vec x(size_t(N) * H * W * C);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01 * double(i) - 1;
    std::shuffle(x.begin(), x.end(), std::mt19937(P));
    Vec r = random_vec(size_t(N) * OH * OW * C, 40 + P), y(r.size());
    auto loss = [&] {
      cpu::maxpool_forward(x.data(), N, H, W, C, P, y.data());
      return dot(r, y);
    };
    Vec dx(x.size(), NAN);
    cpu::maxpool_backward(x.data(), N, H, W, C, P, r.data(), dx.data());
    expect_close("maxpool dx P=" + std::to_string(P), dx, numeric_grad(x, loss), kRtol, kAtol);
    // The last row and the last W % P columns fall outside every window: no gradient there.
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) {
        EXPECT_EQ(dx[((size_t(n) * H + H - 1) * W + 0) * C + c], 0.0);
        EXPECT_EQ(dx[((size_t(n) * H + 0) * W + W - 1) * C + c], 0.0);
      }
  }
}

TEST(MaxPool, ForwardFloorsAndTakesTheMaximum) {
  // 1x3x3x1, P=2 -> 1x1x1x1: the max of the top-left 2x2 only (9 is cut by the floor).
  const float x[] = {1, -4, 0, 3, 2, 0, 0, 0, 9};
  float y = NAN;
  cpu::maxpool_forward(x, 1, 3, 3, 1, 2, &y);
  EXPECT_EQ(y, 3.f);
}

TEST(GradCheck, Dense) {
  const int N = 3, I = 5, O = 4;
  Vec x = random_vec(size_t(N) * I, 50), w = random_vec(size_t(I) * O, 51), b = random_vec(O, 52),
      r = random_vec(size_t(N) * O, 53), y(r.size());
  auto loss = [&] {
    cpu::dense_forward(x.data(), N, I, w.data(), b.data(), O, y.data());
    return dot(r, y);
  };
  Vec dx(x.size(), NAN), dw(w.size(), NAN), db(b.size(), NAN);
  cpu::dense_backward(x.data(), N, I, w.data(), O, r.data(), dx.data(), dw.data(), db.data());
  expect_close("dense dx", dx, numeric_grad(x, loss), kRtol, kAtol);
  expect_close("dense dw", dw, numeric_grad(w, loss), kRtol, kAtol);
  expect_close("dense db", db, numeric_grad(b, loss), kRtol, kAtol);
}

TEST(GradCheck, ReluAwayFromTheKink) {
  Vec x = random_vec(40, 60), r = random_vec(40, 61), y(40);  // |x| >= 0.05 >> h
  auto loss = [&] {
    cpu::relu_forward(x.data(), y.data(), x.size());
    return dot(r, y);
  };
  loss();
  Vec dx(x.size(), NAN);
  cpu::relu_backward(y.data(), r.data(), dx.data(), x.size());
  expect_close("relu dx", dx, numeric_grad(x, loss), kRtol, kAtol);
  int negatives = 0;
  for (double v : x) negatives += v < 0;
  EXPECT_GT(negatives, 5);  // both branches were exercised
  EXPECT_LT(negatives, 35);
}

TEST(GradCheck, Sigmoid) {
  Vec x = random_vec(40, 70, -8, 8), r = random_vec(40, 71), y(40);
  auto loss = [&] {
    cpu::sigmoid_forward(x.data(), y.data(), x.size());
    return dot(r, y);
  };
  loss();
  Vec dx(x.size(), NAN);
  cpu::sigmoid_backward(y.data(), r.data(), dx.data(), x.size());
  expect_close("sigmoid dx", dx, numeric_grad(x, loss), kRtol, kAtol);
}

TEST(Sigmoid, StableAtExtremes) {
  EXPECT_EQ(cpu::sigmoid(-800.0), 0.0);
  EXPECT_EQ(cpu::sigmoid(800.0), 1.0);
  EXPECT_FLOAT_EQ(cpu::sigmoid(-100.f), std::exp(-100.f));
  EXPECT_DOUBLE_EQ(cpu::sigmoid(0.3), 1 / (1 + std::exp(-0.3)));
}

namespace {
// Keras' binary_crossentropy on a sigmoid output, written the way Keras writes it: p clipped
// to [1e-7, 1 - 1e-7], then -[y log p + (1 - y) log(1 - p)]; the batch loss is the mean.
double keras_bce(double z, double y) {
  const double p = std::clamp(1 / (1 + std::exp(-z)), 1e-7, 1 - 1e-7);
  return -(y * std::log(p) + (1 - y) * std::log(1 - p));
}
}  // namespace

TEST(Bce, LossEqualsKerasClippedFormula) {
  // Inside, at the edge of and far beyond the clip (|z| = 16.118), both labels.
  const Vec z = {-40, -16.2, -16.0, -3.5, -0.2, 0, 0.7, 5, 15.9, 16.3, 60};
  for (double label : {0.0, 1.0}) {
    for (double zi : z) {
      const double y = label;
      const double got = cpu::bce_from_logits(&zi, &y, 1, static_cast<double*>(nullptr), nullptr);
      // 1e-8: the Keras form itself loses ~1e-9 in 1 - p when p is within 1e-7 of 1.
      EXPECT_NEAR(got, keras_bce(zi, y), 1e-8) << "z " << zi << " y " << y;
    }
  }
  // The clip caps the loss at -log(1e-7).
  const double z_big = 60, y0 = 0;
  EXPECT_NEAR(cpu::bce_from_logits(&z_big, &y0, 1, static_cast<double*>(nullptr), nullptr), -std::log(1e-7), 1e-12);
  // Just inside the clip the loss is below the cap (it is not flat there).
  const double z_in = cpu::kBceLogitClip - 1e-3;
  EXPECT_LT(cpu::bce_from_logits(&z_in, &y0, 1, static_cast<double*>(nullptr), nullptr), -std::log(1e-7) - 9e-4);
}

TEST(GradCheck, BceMeanLossIncludingTheClipRegion) {
  Vec z = {-40, -17, -16.2, -9, -2.5, -0.3, 0.4, 1.5, 7, 16.3, 25, 0.05};
  const Vec y = {0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1};
  const int n = int(z.size());
  auto loss = [&] { return cpu::bce_from_logits(z.data(), y.data(), n, static_cast<double*>(nullptr), nullptr) / n; };
  Vec dz(z.size(), NAN);
  double correct = 0;
  const double sum = cpu::bce_from_logits(z.data(), y.data(), n, dz.data(), &correct);
  expect_close("bce dz", dz, numeric_grad(z, loss), kRtol, kAtol);
  for (int i = 0; i < n; ++i) {
    if (std::fabs(z[i]) > cpu::kBceLogitClip) {
      EXPECT_EQ(dz[i], 0.0) << "z " << z[i] << ": Keras' clip passes no gradient";
    } else {
      EXPECT_NE(dz[i], 0.0) << "z " << z[i];
    }
  }
  double want = 0;
  for (int i = 0; i < n; ++i) want += keras_bce(z[i], y[i]);
  EXPECT_NEAR(sum, want, 1e-8);  // see LossEqualsKerasClippedFormula
  // p > 0.5, i.e. z > 0, predicts class 1.
  double want_correct = 0;
  for (int i = 0; i < n; ++i) want_correct += (z[i] > 0) == (y[i] > 0.5);
  EXPECT_EQ(correct, want_correct);
}

TEST(Bce, FloatGradientIsMeanOfPMinusY) {
  const float z[] = {0.f, 2.f, -1.f, 30.f}, y[] = {1.f, 0.f, 0.f, 1.f};
  float dz[4];
  cpu::bce_from_logits(z, y, 4, dz, nullptr);
  EXPECT_FLOAT_EQ(dz[0], (0.5f - 1.f) / 4);
  EXPECT_FLOAT_EQ(dz[1], float(1 / (1 + std::exp(-2.0)) / 4));
  EXPECT_FLOAT_EQ(dz[2], float(1 / (1 + std::exp(1.0)) / 4));
  EXPECT_EQ(dz[3], 0.f);  // beyond the clip
}

// A diverged model must show as a NaN loss, not be clipped into a finite one.
TEST(Bce, NanLogitGivesNanLoss) {
  const float z[2] = {0.5f, std::nanf("")}, y[2] = {1.f, 0.f};
  double correct = 0;
  EXPECT_TRUE(std::isnan(acts::cpu::bce_from_logits(z, y, 2, static_cast<float*>(nullptr), &correct)));
}
