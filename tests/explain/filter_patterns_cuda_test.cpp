// Filter patterns on the CUDA backend (a GPU, or the CPU emulator of CUDA as
// test_explain_cuda_emulated): the CPU reference's patterns and TensorFlow's (the goldens of
// scripts/reference/make_filter_goldens.py), reproducibly. Small shapes: the emulator is slow.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "runtime/core/npy.h"
#include "runtime/explain/filter_patterns.h"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/explain/filter_test_model.h"

using namespace acts;
using acts::test::expect_close;

namespace {

class FilterPatternsCuda : public test::CudaTest {
 protected:
  Graph g{test::filter_test_model()};
  std::unique_ptr<Backend> backend(bool cuda) {
    auto be = cuda ? make_cuda_backend(g, test::filter_test_options(false, 3))
                   : make_cpu_backend(g, test::filter_test_options(true, 3));
    be->set_params(test::golden_params(g));
    return be;
  }
};

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

// conv2d_2's filters 5, 9, 13 and the dead 0, in two batches (3 and 1), 40 steps from the goldens'
// start. Tolerances as the CPU's against TensorFlow (tests/explain/filter_patterns_test.cpp).
TEST_F(FilterPatternsCuda, AscendsAsTheCpuReferenceAndTensorFlow) {
  FilterPatternRequest r;
  r.layer = "conv2d_2";
  r.filters = {5, 9, 13, 0};
  r.start = test::filter_golden_start(g, r.filters.size());
  r.keep_pixels = r.loss_history = true;
  const FilterPatterns gpu = compute_filter_patterns(*backend(true), r);
  const FilterPatterns cpu = compute_filter_patterns(*backend(false), r);
  const std::string goldens = std::string(ACTS_TEST_DATA) + "/explain/filters/conv2d_2_";
  const std::vector<float> tf = read_npy(goldens + "step40.npy").to_float();
  std::printf("CUDA after 40 steps: max |diff| %.3g pixels from the CPU reference, %.3g from TensorFlow\n",
              max_diff(gpu.pixels, cpu.pixels), max_diff(gpu.pixels, tf));
  expect_close("pixels vs the CPU reference", gpu.pixels, cpu.pixels, 0, 3e-3);
  expect_close("pixels vs TensorFlow", gpu.pixels, tf, 0, 3e-3);
  expect_close("deprocessed", gpu.images, cpu.images, 0, 1e-4);
  expect_close("loss history", gpu.history, cpu.history, 1e-5, 1e-6);
  expect_close("loss history vs TensorFlow", gpu.history, read_npy(goldens + "losses.npy").to_float(), 1e-5, 1e-6);
}

// The seeded noise and deterministic kernels: the same request twice gives the same bits.
TEST_F(FilterPatternsCuda, SameSeedSameBits) {
  FilterPatternRequest r;
  r.layer = "max_pooling2d_1";
  r.filters = {1, 7};
  r.steps = 5;
  auto be = backend(true);
  const FilterPatterns a = compute_filter_patterns(*be, r), b = compute_filter_patterns(*be, r);
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.losses, b.losses);
  expect_close("vs the CPU reference", a.images, compute_filter_patterns(*backend(false), r).images, 0, 1e-4);
}

// The tutorial's model at 48x48: the first step, and a step from TensorFlow's pixels after 39
// (tests/explain/filter_patterns_test.cpp says why that one may differ in a few windows).
TEST_F(FilterPatternsCuda, TutorialStepsAreTheBooks) {
  const Graph tutorial(tutorial_model(48));
  auto be = make_cuda_backend(tutorial, test::filter_test_options(false, 2));
  be->set_params(test::golden_params(tutorial));
  const std::string goldens = std::string(ACTS_TEST_DATA) + "/explain/filters/tutorial48_conv2d_4_";
  FilterPatternRequest r;
  r.layer = "conv2d_4";
  r.filters = {5, 7};
  r.steps = 1;
  r.keep_pixels = true;
  r.start = test::filter_golden_start(tutorial, 2);
  expect_close("step 1", compute_filter_patterns(*be, r).pixels, read_npy(goldens + "step1.npy").to_float(), 0, 1e-4);
  r.start = read_npy(goldens + "step39.npy").to_float();
  const std::vector<float> last = compute_filter_patterns(*be, r).pixels,
                           tf = read_npy(goldens + "step40.npy").to_float();
  std::printf("CUDA tutorial48: step 40 from TensorFlow's step 39: max |diff| %.3g pixels\n", max_diff(last, tf));
  test::expect_close_but_for_switches("step 40 from step 39", last, tf, 1e-4, 0.02, 0.5);
}

}  // namespace
