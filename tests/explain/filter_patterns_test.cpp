// Filter patterns (runtime/explain/filter_patterns.h) on the CPU: the book's loop against
// TensorFlow's (scripts/reference/make_filter_goldens.py, float64) after 1, 5 and 40 steps on a
// small model and on the tutorial's at 48x48; the fast path against the reference; the seeded
// noise; the loss rising; a model with its own Rescaling; deprocessing; the grid; bad requests.
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
      r.start = read_npy(kGoldens + c.name + "_step39.npy").to_float();
      r.steps = 1;
      expect_close(std::string(c.name) + " step 40 from step 39", compute_filter_patterns(*be, r).pixels, ref, 0, 1e-4);
      expect_close(std::string(c.name) + " deprocessed", p.images,
                   read_npy(kGoldens + c.name + "_deprocessed.npy").to_float(), 0, 1e-4);
      expect_close(std::string(c.name) + " loss history", p.history,
                   read_npy(kGoldens + c.name + "_losses.npy").to_float(), 1e-5, 1e-6);
    }
  }
}

// The tutorial's model at 48x48, 4 convolutions deep, conv2d_4's filters 5 and 7 (5's ReLU partly
// off at the start). The first step and a step from TensorFlow's pixels after 39 are the book's
// step; over 40 steps from the start float32 trajectories part from float64's by max-pooling
// switches (TensorFlow's own float32 run by 4 pixels, ours by 3.8-4), so there the patterns are
// held to their looks: the final loss within 2%, the deprocessed images within 0.01 on average.
TEST(FilterPatternsTutorial, MatchesTheBooksLoopOnTensorFlow) {
  const Graph g(tutorial_model(48));
  const std::string name = kGoldens + "tutorial48_conv2d_4_";
  auto golden = [&](const std::string& what) { return read_npy(name + what + ".npy").to_float(); };
  for (bool reference : {true, false}) {
    const char* path = reference ? "reference" : "fast";
    SCOPED_TRACE(path);
    auto be = make_cpu_backend(g, test::filter_test_options(reference, 4));
    be->set_params(test::golden_params(g));
    FilterPatternRequest r;
    r.layer = "conv2d_4";
    r.filters = {5, 7};
    r.keep_pixels = true;
    r.start = test::filter_golden_start(g, 2);
    r.steps = 1;
    const FilterPatterns first = compute_filter_patterns(*be, r);
    expect_close("step 1", first.pixels, golden("step1"), 0, 1e-4);
    r.start = golden("step39");
    const FilterPatterns last = compute_filter_patterns(*be, r);
    std::printf("%s: step 1 max |diff| %.3g pixels; step 40 from TensorFlow's step 39 max |diff| %.3g pixels\n", path,
                max_diff(first.pixels, golden("step1")), max_diff(last.pixels, golden("step40")));
    test::expect_close_but_for_switches("step 40 from step 39", last.pixels, golden("step40"), 1e-4, 0.02, 0.5);

    r.start = test::filter_golden_start(g, 2);
    r.steps = 40;
    const FilterPatterns p = compute_filter_patterns(*be, r);
    const std::vector<float> tf_losses = golden("losses"), tf_images = golden("deprocessed");
    double mean_abs = 0;
    for (size_t k = 0; k < p.images.size(); ++k) mean_abs += std::fabs(double(p.images[k]) - tf_images[k]);
    mean_abs /= double(p.images.size());
    std::printf(
        "%s: 40 steps from the start: max |diff| %.3g pixels; losses %.6g %.6g (TensorFlow %.6g %.6g); "
        "deprocessed |diff| mean %.3g max %.3g\n",
        path, max_diff(p.pixels, golden("step40")), p.losses[0], p.losses[1], tf_losses[40], tf_losses[81], mean_abs,
        max_diff(p.images, tf_images));
    EXPECT_NEAR(p.losses[0], tf_losses[40], 0.02 * tf_losses[40]);
    EXPECT_NEAR(p.losses[1], tf_losses[81], 0.02 * tf_losses[81]);
    EXPECT_LT(mean_abs, 0.01);
  }
}

// The fast CPU path (oneDNN or im2col + OpenBLAS) ascends as the reference loops do, in batches
// of another size (16 filters in batches of 5: 5, 5, 5, 1).
TEST_F(FilterPatternsTest, FastPathMatchesTheReference) {
  auto ref_be = backend(true, 16), fast_be = backend(false, 5);
  const FilterPatternRequest r = request("conv2d_2", {});
  const FilterPatterns ref = compute_filter_patterns(*ref_be, r), fast = compute_filter_patterns(*fast_be, r);
  std::printf("fast vs reference, 40 steps: max |diff| %.3g pixels, %.3g deprocessed\n",
              max_diff(fast.pixels, ref.pixels), max_diff(fast.images, ref.images));
  expect_close("pixels", fast.pixels, ref.pixels, 0, 3e-3);
  expect_close("deprocessed", fast.images, ref.images, 0, 1e-4);
  expect_close("losses", fast.losses, ref.losses, 1e-5, 1e-6);
}

// Without `start`: 128 + 20 x uniform [0, 1) noise, a filter's own (the same whatever else the
// request asks and however it is batched), the same bits for the same seed, other for another.
TEST_F(FilterPatternsTest, SeededNoiseIsTheBooksAndReproducible) {
  auto be = backend(true, 2);
  const FilterPatterns start = compute_filter_patterns(*be, request("conv2d_1", {1, 6, 3}, 0));
  ASSERT_EQ(start.pixels.size(), 3 * g.input_size());
  double sum = 0, sq = 0;
  for (float v : start.pixels) {
    ASSERT_GE(v, 128.f);
    ASSERT_LT(v, 148.f);
    sum += v;
    sq += double(v) * v;
  }
  const double n = double(start.pixels.size()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 138, 0.2);                // a uniform [128, 148): 138
  EXPECT_NEAR(sd, 20 / std::sqrt(12.), 0.1);  // and 20 / sqrt(12) = 5.77
  const std::vector<float> first(start.pixels.begin(), start.pixels.begin() + std::ptrdiff_t(g.input_size()));
  const std::vector<float> second(start.pixels.begin() + std::ptrdiff_t(g.input_size()),
                                  start.pixels.begin() + std::ptrdiff_t(2 * g.input_size()));
  EXPECT_GT(max_diff(first, second), 10) << "filters 1 and 6 start from the same noise";

  FilterPatternRequest r = request("conv2d_1", {1, 6, 3}, 5);
  const FilterPatterns a = compute_filter_patterns(*be, r), b = compute_filter_patterns(*be, r);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.images, b.images);
  // Filter 6 alone, in a batch of its own: the same start and the same bits.
  const FilterPatterns alone = compute_filter_patterns(*backend(true, 1), request("conv2d_1", {6}, 5));
  EXPECT_TRUE(std::equal(alone.pixels.begin(), alone.pixels.end(), a.pixels.begin() + std::ptrdiff_t(g.input_size())));
  r.seed = 2;
  const FilterPatterns other = compute_filter_patterns(*be, r);
  EXPECT_GT(max_diff(other.pixels, a.pixels), 10);
  EXPECT_GT(max_diff(other.images, a.images), 0.1);
}

// Gradient ascent: every live filter's loss rises at every step, ending where `losses` says; a
// dead ReLU filter (conv2d_2's 0: zero everywhere, a zero gradient) stays at its start, loss 0.
TEST_F(FilterPatternsTest, TheLossRisesAtEveryStepForEveryLiveFilter) {
  auto be = backend(false, 16);
  const FilterPatternRequest r = request("conv2d_2", {});
  const FilterPatterns p = compute_filter_patterns(*be, r);
  const FilterPatterns start = compute_filter_patterns(*be, request("conv2d_2", {}, 0));
  ASSERT_EQ(p.count, 16);
  ASSERT_EQ(p.history.size(), size_t(16 * 41));
  int live = 0;
  for (int f = 0; f < p.count; ++f) {
    const float* h = &p.history[size_t(f) * 41];
    EXPECT_EQ(p.filters[size_t(f)], f);
    EXPECT_EQ(h[40], p.losses[size_t(f)]) << "filter " << f;
    const auto from = start.pixels.begin() + std::ptrdiff_t(size_t(f) * g.input_size());
    if (h[0] == 0 && h[40] == 0) {  // dead
      EXPECT_TRUE(std::equal(from, from + std::ptrdiff_t(g.input_size()),
                             p.pixels.begin() + std::ptrdiff_t(size_t(f) * g.input_size())))
          << "dead filter " << f << " moved";
      continue;
    }
    ++live;
    for (int s = 1; s <= 40; ++s) EXPECT_GT(h[s], h[s - 1]) << "filter " << f << " step " << s;
  }
  EXPECT_GE(live, 8) << "too few live filters for the test to mean much";
}

// A model that starts with its own Rescaling(1/255) gets the pixels as they are (rescale 1) and
// ascends as the model without it fed pixels x 1/255.
TEST_F(FilterPatternsTest, AModelThatRescalesItsInputTakesRescaleOne) {
  ModelSpec m = test::filter_test_model();
  LayerSpec rescaling = test::layer_spec(LayerType::Rescaling);
  rescaling.attrs = {{"scale", 1.0 / 255}, {"offset", 0.0}};
  m.layers.insert(m.layers.begin(), rescaling);
  const Graph own(m);
  auto be_own = make_cpu_backend(own, test::filter_test_options(true, 4));
  be_own->set_params(test::golden_params(own));
  FilterPatternRequest r = request("conv2d_2", {5, 9});
  const FilterPatterns plain = compute_filter_patterns(*backend(true), r);
  r.rescale = 1;
  const FilterPatterns p = compute_filter_patterns(*be_own, r);
  expect_close("pixels", p.pixels, plain.pixels, 0, 3e-3);
  expect_close("losses", p.losses, plain.losses, 1e-5, 1e-6);
}

TEST_F(FilterPatternsTest, NoFiltersMeansEveryChannelOfTheLayer) {
  const FilterPatterns p = compute_filter_patterns(*backend(false), request("max_pooling2d_1", {}, 1));
  EXPECT_EQ(p.count, 8);
  EXPECT_EQ(p.filters, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(p.h, 32);
  EXPECT_EQ(p.w, 32);
  EXPECT_EQ(p.c, 3);
  EXPECT_EQ(p.images.size(), 8 * g.input_size());
  EXPECT_TRUE(std::all_of(p.images.begin(), p.images.end(), [](float v) { return v >= 0 && v <= 1; }));
  FilterPatternRequest r = request("max_pooling2d_1", {}, 1);
  r.keep_pixels = r.loss_history = false;
  const FilterPatterns lean = compute_filter_patterns(*backend(false), r);
  EXPECT_TRUE(lean.pixels.empty());
  EXPECT_TRUE(lean.history.empty());
  EXPECT_EQ(lean.images, p.images);
}

// The book's deprocess_image: centre, / (std + 1e-5), x 0.1, + 0.5, clip to [0, 1], per image.
TEST(FilterPatternsDeprocess, CentresScalesAndClipsEachImage) {
  std::vector<float> x = {0, 2, 10, 10};  // two images of 2 values
  const std::vector<float> y = deprocess_patterns(x, 2, 2);
  EXPECT_NEAR(y[0], 0.5 - 0.1 / (1 + 1e-5), 1e-7);  // mean 1, std 1
  EXPECT_NEAR(y[1], 0.5 + 0.1 / (1 + 1e-5), 1e-7);
  EXPECT_EQ(y[2], 0.5f);  // std 0: the centred zeros
  EXPECT_EQ(y[3], 0.5f);
  std::vector<float> outlier(1000, 0.f);
  outlier[999] = 1000;  // 31.6 std above the mean: clipped to 1; the rest just below 0.5
  const std::vector<float> z = deprocess_patterns(outlier, 1, 1000);
  EXPECT_EQ(z[999], 1.f);
  EXPECT_NEAR(z[0], 0.5 - 0.1 * 1 / std::sqrt(999.0), 1e-6);
  EXPECT_THROW(deprocess_patterns(x, 3, 2), Error) << "3 images of 2 values from 4 values: refused, not read past";
}

// The grid: `cols` per row in reading order, `margin` black pixels between the images and none
// around them, values x 255 truncated as the book's astype('uint8').
TEST(FilterPatternsGrid, LaysOutRowsWithBlackMarginsAndTruncates) {
  FilterPatterns p;
  p.count = 3;
  p.h = 2;
  p.w = 3;
  p.c = 3;
  p.images.resize(3 * 2 * 3 * 3);
  for (int k = 0; k < 3; ++k)
    std::fill(p.images.begin() + k * 18, p.images.begin() + (k + 1) * 18, k == 0 ? 1.f : k == 1 ? 0.5f : 0.999f);
  const FilterGrid grid = filter_grid(p, 2, 5);
  ASSERT_EQ(grid.cols, 2 * 3 + 5);
  ASSERT_EQ(grid.rows, 2 * 2 + 5);
  ASSERT_EQ(grid.pixels.size(), size_t(grid.rows * grid.cols * 3));
  auto at = [&](int y, int x) { return int(grid.pixels[(size_t(y) * size_t(grid.cols) + size_t(x)) * 3]); };
  EXPECT_EQ(at(0, 0), 255);  // image 0 at the top left
  EXPECT_EQ(at(1, 2), 255);
  EXPECT_EQ(at(0, 3), 0);  // the margin
  EXPECT_EQ(at(0, 7), 0);
  EXPECT_EQ(at(0, 8), 127);  // image 1 right of it: 0.5 x 255 = 127.5, truncated
  EXPECT_EQ(at(1, 10), 127);
  EXPECT_EQ(at(2, 0), 0);    // the margin below the first row
  EXPECT_EQ(at(7, 0), 254);  // image 2 starts the second row: 0.999 x 255 = 254.7
  EXPECT_EQ(at(8, 2), 254);
  EXPECT_EQ(at(7, 8), 0);  // no image 3: black
  EXPECT_EQ(filter_grid(p, 8, 5).cols, 3 * 3 + 2 * 5) << "more columns than images: one row";
  EXPECT_EQ(filter_grid(p, 1, 0).rows, 3 * 2);
}

// Bad requests: one line naming the layer, filter or value at fault, and nothing computed.
TEST_F(FilterPatternsTest, BadRequestsSayWhatIsWrongInOneLine) {
  auto be = backend(true);
  auto message = [&](const FilterPatternRequest& r) -> std::string {
    try {
      compute_filter_patterns(*be, r);
    } catch (const BadRequest& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      return e.what();
    }
    return "(no BadRequest)";
  };
  EXPECT_EQ(message(request("conv9", {0})),
            "no layer named 'conv9' for filter patterns; valid layers: conv2d_1, max_pooling2d_1, conv2d_2, "
            "flatten_1, dense_1");
  EXPECT_EQ(message(request("flatten_1", {0})),
            "layer flatten_1 outputs (None, 2704), not (height, width, channels): filter patterns need a "
            "convolution or pooling layer");
  EXPECT_EQ(message(request("dense_1", {0})),
            "layer dense_1 outputs (None, 1), not (height, width, channels): filter patterns need a convolution "
            "or pooling layer");
  EXPECT_EQ(message(request("conv2d_2", {3, 16})),
            "filter 16 is out of range for layer conv2d_2 (16 filters: 0 to 15)");
  EXPECT_EQ(message(request("conv2d_1", {-1})), "filter -1 is out of range for layer conv2d_1 (8 filters: 0 to 7)");
  FilterPatternRequest r = request("conv2d_1", {0, 1}, -1);
  EXPECT_EQ(message(r), "filter patterns: steps -1 is negative; give 0 or more");
  r.steps = 1;
  r.rescale = 0;
  EXPECT_EQ(message(r),
            "filter patterns: rescale 0 must be a positive finite number (1/255 for 0-255 pixels, 1 for a model "
            "with its own Rescaling)");
  r.rescale = 1.f / 255;
  r.step = NAN;
  EXPECT_EQ(message(r), "filter patterns: the step size must be a finite number of pixels");
  r.step = 1;
  r.start.assign(100, 128.f);
  EXPECT_EQ(message(r),
            "filter patterns: the starting pixels hold 100 values; give one image of 3072 (h, w, c) or one per "
            "filter (6144)");
  EXPECT_THROW(filter_grid(FilterPatterns{}, 0, 5), BadRequest);
  EXPECT_THROW(filter_grid(FilterPatterns{}, 2, -1), BadRequest);
  FilterPatterns short_images;  // images that do not hold count x h x w x c values: refused, not read past
  short_images.count = 2;
  short_images.h = short_images.w = 4;
  short_images.images.assign(4 * 4 * 3, 0.5f);
  EXPECT_THROW(filter_grid(short_images, 2, 5), Error);
}

}  // namespace
