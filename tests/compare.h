// The one comparison every numeric test of the project uses: element-wise
//   |got - ref| <= atol + rtol * |ref|
// (numpy.allclose's rule, relative to the reference). On failure the gtest message names the
// tensor, counts the bad elements, shows the worst one (largest excess over its tolerance) with
// its index, got and ref, and the first few values of both, so a failing CI log alone says
// whether it is a layout mix-up (everything off), an edge case (a few off) or NaN poisoning.
// NaN or Inf in `got` where `ref` is finite always fails; NaN in both at one index passes only
// when the reference is NaN too (never the case in our goldens).
#pragma once
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace acts::test {

// Returns a gtest result; use as EXPECT_TRUE(close(...)) or through expect_close() below.
template <typename A, typename B>
::testing::AssertionResult close(const std::string& name, const A* got, const B* ref, size_t n, double rtol,
                                 double atol) {
  size_t bad = 0, worst = 0;
  double worst_excess = -1;  // |d| - tol of the worst element; +inf for NaN/Inf mismatches
  for (size_t i = 0; i < n; ++i) {
    const double g = double(got[i]), r = double(ref[i]);
    double excess;
    if (std::isnan(r) && std::isnan(g)) continue;
    if (!std::isfinite(g) || !std::isfinite(r)) {
      excess = (g == r) ? -1 : INFINITY;  // equal infinities pass
    } else {
      excess = std::fabs(g - r) - (atol + rtol * std::fabs(r));
    }
    if (excess > 0 || std::isnan(excess)) {
      ++bad;
      if (!(excess <= worst_excess)) {
        worst_excess = excess;
        worst = i;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(9);
  os << name << ": " << bad << " of " << n << " elements differ beyond atol " << atol << " + rtol " << rtol
     << " * |ref|; worst at [" << worst << "]: got " << double(got[worst]) << " ref " << double(ref[worst])
     << " (|diff| " << std::fabs(double(got[worst]) - double(ref[worst])) << ")\n  first got:";
  const size_t show = n < 6 ? n : 6;
  for (size_t i = 0; i < show; ++i) os << ' ' << double(got[i]);
  os << "\n  first ref:";
  for (size_t i = 0; i < show; ++i) os << ' ' << double(ref[i]);
  return ::testing::AssertionFailure() << os.str();
}

template <typename A, typename B>
void expect_close(const std::string& name, const A* got, const B* ref, size_t n, double rtol, double atol) {
  EXPECT_TRUE(close(name, got, ref, n, rtol, atol));
}

// Vector form: also fails (and does not read out of bounds) when the sizes differ.
template <typename A, typename B>
void expect_close(const std::string& name, const std::vector<A>& got, const std::vector<B>& ref, double rtol,
                  double atol) {
  if (got.size() != ref.size()) {
    ADD_FAILURE() << name << ": got " << got.size() << " elements, reference has " << ref.size();
    return;
  }
  expect_close(name, got.data(), ref.data(), got.size(), rtol, atol);
}

}  // namespace acts::test
