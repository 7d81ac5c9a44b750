// Filter patterns (runtime/explain/filter_patterns.h) on the CPU: the book's loop against
// TensorFlow's (scripts/reference/make_filter_goldens.py, float64) after 1, 5 and 40 steps; the
// fast path against the reference; the seeded noise; the loss rising; the grid; bad requests.
#include "runtime/explain/filter_patterns.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "runtime/core/errors.h"
#include "runtime/core/npy.h"
#include "tests/compare.h"
#include "tests/explain/filter_test_model.h"

using namespace acts;
using acts::test::expect_close;

namespace {

const std::string kGoldens = std::string(ACTS_TEST_DATA) + "/explain/filters/";

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

class FilterPatternsTest : public ::testing::Test {
 protected:
  Graph g{test::filter_test_model()};
  std::unique_ptr<Backend> backend(bool reference, int max_batch = 3) {
    auto be = make_cpu_backend(g, test::filter_test_options(reference, max_batch));
    be->set_params(test::golden_params(g));
    return be;
  }
  FilterPatternRequest request(const std::string& layer, std::vector<int> filters, int steps = 40) {
    FilterPatternRequest r;
    r.layer = layer;
    r.filters = std::move(filters);
    r.steps = steps;
    r.keep_pixels = true;
    r.loss_history = true;
    return r;
  }
};

// The book's loop in TensorFlow float64 from the same start and weights. TensorFlow's own float32
// run differs from its float64 run by at most 7.7e-6 / 3.8e-5 / 3.1e-4 pixels after 1 / 5 / 40
// steps (the script prints it); the tolerances are 10x that, in pixels (0-255).
struct GoldenCase {
  const char* name;
  const char* layer;
  std::vector<int> filters;
};
const GoldenCase kCases[] = {
    {"conv2d_2", "conv2d_2", {5, 9, 13, 0}}, {"conv2d_1", "conv2d_1", {1, 6}}, {"pool", "max_pooling2d_1", {7}}};
struct StepTolerance {
  int steps;
  double atol;  // pixels
};
const StepTolerance kStepTolerances[] = {{1, 1e-4}, {5, 4e-4}, {40, 3e-3}};

TEST_F(FilterPatternsTest, ReferenceMatchesTheBooksLoopOnTensorFlow) {
  auto be = backend(true);
  for (const GoldenCase& c : kCases) {
    for (const StepTolerance& t : kStepTolerances) {
      FilterPatternRequest r = request(c.layer, c.filters, t.steps);
      r.start = test::filter_golden_start(g, c.filters.size());
      const FilterPatterns p = compute_filter_patterns(*be, r);
      const std::string golden = kGoldens + c.name + "_step" + std::to_string(t.steps) + ".npy";
      const std::vector<float> ref = read_npy(golden).to_float();
      std::printf("%s after %d steps: max |ours - TensorFlow float64| = %.3g pixels\n", c.name, t.steps,
                  max_diff(p.pixels, ref));
      expect_close(golden, p.pixels, ref, 0, t.atol);
      if (t.steps != 40) continue;
      expect_close(std::string(c.name) + " deprocessed", p.images,
                   read_npy(kGoldens + c.name + "_deprocessed.npy").to_float(), 0, 1e-4);
      expect_close(std::string(c.name) + " loss history", p.history,
                   read_npy(kGoldens + c.name + "_losses.npy").to_float(), 1e-5, 1e-6);
    }
  }
}

}  // namespace
