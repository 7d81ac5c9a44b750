// The shared comparison helper must itself be able to fail: exact edges of the tolerance, NaN,
// Inf, size mismatches, and a message that names the tensor and the worst element.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <gtest/gtest-spi.h>

#include "tests/compare.h"

using acts::test::close;
using acts::test::expect_close;

TEST(Compare, ToleranceIsAtolPlusRtolTimesRef) {
  const double ref[] = {100.0, -2.0, 0.0};
  const double ok[] = {100.0 + 1.0 + 1e-3 * 0.99, -2.0, 0.5};   // within atol 1 + rtol 1e-2 * 100
  const double off[] = {100.0 + 2.01, -2.0, 0.0};               // just over 1 + 1e-2 * 100 = 2
  EXPECT_TRUE(close("ok", ok, ref, 3, 1e-2, 1.0));
  EXPECT_FALSE(close("off", off, ref, 3, 1e-2, 1.0));
}

TEST(Compare, NanAndInfFail) {
  const float ref[] = {1.f, 2.f};
  const float nan[] = {1.f, NAN};
  const float inf[] = {INFINITY, 2.f};
  EXPECT_FALSE(close("nan", nan, ref, 2, 1e-3, 1e-3));
  EXPECT_FALSE(close("inf", inf, ref, 2, 1e-3, 1e-3));
}

TEST(Compare, MessageNamesTensorCountAndWorstIndex) {
  std::vector<float> ref(10, 1.f), got(10, 1.f);
  got[3] = 1.5f;
  got[7] = 9.f;
  const std::string msg = close("conv2d_1/kernel", got.data(), ref.data(), 10, 1e-5, 0).message();
  EXPECT_NE(msg.find("conv2d_1/kernel"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 of 10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("worst at [7]"), std::string::npos) << msg;
}

TEST(Compare, SizeMismatchFails) {
  EXPECT_NONFATAL_FAILURE(expect_close("v", std::vector<float>(3), std::vector<float>(4), 0, 0), "3 elements");
}
