// Checks a tensor against a golden stored by scripts/reference/golden_formula.py's store(): a
// subsample flat[::stride] compared element by element by the caller, and float64 sums of the
// whole tensor (sum, sum of |v|, position-weighted sum, max |v|, and every row's and column's
// sums) held here, which pin what the subsample skips. Used by the golden tests of the CPU
// backend (tests/cpu/golden_test.cpp) and of the gradients (tests/explain/gradient_golden_test.cpp).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/npy.h"
#include "tests/cpu/golden_weights.h"

namespace acts::test {

// A float64 golden (the line sums), kept in double: to_float() would round off more than they are held to.
inline std::vector<double> golden_f64(const std::string& path) {
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.dtype, "<f8") << path;
  std::vector<double> v(a.dtype == "<f8" ? a.count() : 0);
  std::memcpy(v.data(), a.data.data(), v.size() * sizeof(double));
  return v;
}

// flat[::stride] of v: what the golden file of a subsampled tensor holds.
inline std::vector<float> sampled(const float* v, size_t n, size_t stride) {
  std::vector<float> out;
  for (size_t k = 0; k < n; k += stride) out.push_back(v[k]);
  return out;
}

// The whole tensor v (n elements, less those `skip` marks) against the float64 sums of
// scripts/reference/golden_formula.py's store() (`ref`: its manifest entry), which pin what a subsample skips:
//  - sum, sum of |v| and sum of u(4, k) v[k] of the tensor: each moves by at most the sum of
//    |got - ref| (weights in [0, 1)), so all are held to kSumRtol of the sum of |ref|, i.e. the
//    mean error relative to the mean magnitude (measured: <= 9.6e-7, for d dense_2/kernel);
//  - its largest |v|, to `rtol` of it, twice the per-element rtol of the caller;
//  - for subsampled tensors, the sum and the sum of |v| of every row and column: float32's
//    rounding errors add up as a random walk, so a line of `len` elements is held to
//    rtol * max|ref| * sqrt(len), as if each element were off by the per-element rtol of the
//    largest value (measured: <= 1.2e-6 * max|ref| * sqrt(len) for activations, 9.9e-6 for the
//    gradients and weights, so rtol is 1e-5 / 1e-4 as per element). So one skipped element of a
//    128-long kernel row is caught once it is off by ~1e-3 max|ref| (1e-4 * sqrt(128)): for an
//    average d conv2d_4/kernel element (1% of the largest) an error of about 12% of it.
constexpr double kSumRtol = 1e-5;

inline void expect_whole_tensor(const std::string& dir, const std::string& name, const float* v, size_t n,
                                const nlohmann::json& ref, double rtol, const std::vector<bool>& skip = {}) {
  const auto kept = [&](size_t k) { return skip.empty() || !skip[k]; };
  double sum = 0, abs = 0, weighted = 0, max = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!kept(k)) continue;
    sum += v[k];
    abs += std::fabs(v[k]);
    weighted += golden_uniform(4, k) * v[k];
    max = std::max(max, double(std::fabs(v[k])));
  }
  const nlohmann::json& c = ref["checksums"];
  const double tol = kSumRtol * c["abs"].get<double>(), ref_max = c["max_abs"];
  EXPECT_NEAR(sum, c["sum"].get<double>(), tol) << name << " sum";
  EXPECT_NEAR(abs, c["abs"].get<double>(), tol) << name << " sum of |v|";
  EXPECT_NEAR(weighted, c["weighted"].get<double>(), tol) << name << " sum weighted by u(4, k)";
  EXPECT_NEAR(max, ref_max, 2 * rtol * ref_max) << name << " max |v|";
  if (!ref.contains("lines")) return;  // stored whole: compared element by element
  const size_t rows = ref["lines"]["rows"], cols = ref["lines"]["cols"], row_len = n / rows;
  const std::vector<double> want = golden_f64(dir + ref["lines"]["file"].get<std::string>());  // row sums, |v| sums, column sums, |v| sums
  ASSERT_EQ(want.size(), 2 * (rows + cols)) << name;
  std::vector<double> got(want.size(), 0.0);
  for (size_t k = 0; k < n; ++k) {
    if (!kept(k)) continue;
    const size_t r = k / row_len, col = k % cols;
    got[r] += v[k];
    got[rows + r] += std::fabs(v[k]);
    got[2 * rows + col] += v[k];
    got[2 * rows + cols + col] += std::fabs(v[k]);
  }
  const auto line = [&](size_t i) {  // what want[i] is, for the message
    const bool row = i < 2 * rows;
    const size_t j = row ? i : i - 2 * rows, len = row ? rows : cols;
    return (row ? "row " : "column ") + std::to_string(j % len) + (j < len ? " sum" : " sum of |v|");
  };
  size_t bad = 0, worst = 0;
  double worst_excess = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double len = double(i < 2 * rows ? row_len : n / cols);
    const double excess = std::fabs(got[i] - want[i]) - rtol * ref_max * std::sqrt(len);
    if (excess <= 0) continue;  // written so that a NaN counts as off
    if (bad++ == 0 || excess > worst_excess) {
      worst = i;
      worst_excess = excess;
    }
  }
  EXPECT_EQ(bad, 0u) << name << ": " << bad << " of " << want.size() << " row/column sums off; worst: " << line(worst)
                     << " got " << got[worst] << " want " << want[worst];
}

}  // namespace acts::test
