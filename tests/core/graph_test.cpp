// The graph: Keras 2.0.8 names, shapes, parameter counts and the summary table byte for byte.
#include <cmath>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/core/errors.h"
#include "runtime/core/graph.h"

using namespace acts;

TEST(Graph, TutorialSummaryMatchesKerasByteForByte) {
  std::ifstream f(std::string(ACTS_TEST_DATA) + "/tutorial_summary.txt");
  ASSERT_TRUE(f) << "missing tests/fixtures/tutorial_summary.txt";
  std::stringstream want;
  want << f.rdbuf();
  EXPECT_EQ(Graph(tutorial_model()).summary(), want.str());
}

TEST(Graph, ShapesAndParams) {
  Graph g(tutorial_model());
  EXPECT_EQ(g.param_count(), 3453121u);
  EXPECT_EQ(g.nodes().size(), 11u);
  EXPECT_EQ(g.node("conv2d_3").out_shape, (std::vector<int>{34, 34, 128}));
  EXPECT_EQ(g.node("flatten_1").out_shape, (std::vector<int>{6272}));
  ASSERT_EQ(g.params().size(), 12u);
  EXPECT_EQ(g.params()[0].name, "conv2d_1/kernel");
  EXPECT_EQ(g.params()[0].shape, (std::vector<int>{3, 3, 3, 32}));
  EXPECT_EQ(g.params()[8].shape, (std::vector<int>{6272, 512}));
  EXPECT_EQ(g.params()[10].shape, (std::vector<int>{512, 1}));
  EXPECT_EQ(g.params().back().offset + g.params().back().size, g.param_count());
}

TEST(Graph, SmallImageSizeShrinksShapes) {
  Graph g(tutorial_model(64));
  EXPECT_EQ(g.node("max_pooling2d_4").out_shape, (std::vector<int>{2, 2, 128}));
  EXPECT_THROW(Graph(tutorial_model(20)), Error);  // conv2d_4 would get a 0x0 input
}

TEST(Graph, UnknownLayerListsValidNames) {
  Graph g(tutorial_model());
  try {
    g.node("conv2d_9");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d_1, max_pooling2d_1"), std::string::npos) << e.what();
  }
}

TEST(Graph, GlorotInitIsSeededAndBounded) {
  Graph g(tutorial_model(64));
  auto a = init_params(g, 7), b = init_params(g, 7), c = init_params(g, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const ParamRef& k = g.params()[0];  // (3, 3, 3, 32): limit sqrt(6 / (27 + 288))
  const float limit = std::sqrt(6.f / (27 + 288));
  float lo = 1, hi = -1;
  for (size_t i = 0; i < k.size; ++i) {
    lo = std::min(lo, a[k.offset + i]);
    hi = std::max(hi, a[k.offset + i]);
  }
  EXPECT_LE(hi, limit);
  EXPECT_GE(lo, -limit);
  EXPECT_GT(hi, 0.9f * limit);  // 864 draws fill the range
  EXPECT_LT(lo, -0.9f * limit);
  const ParamRef& bias = g.params()[1];
  for (size_t i = 0; i < bias.size; ++i) EXPECT_EQ(a[bias.offset + i], 0.f);
}

// Found by fuzzing (tests/fuzz/regressions/model_json): a Flatten over a huge input overflowed
// int (undefined behaviour) instead of being refused.
TEST(Graph, SizesThatOverflowAreRefused) {
  ModelSpec m;
  m.height = m.width = 100000;
  m.channels = 3;
  LayerSpec flat, out;
  flat.type = LayerType::Flatten;
  out.type = LayerType::Dense;
  out.units = 1;
  out.activation = Act::Sigmoid;
  m.layers = {flat, out};
  try {
    Graph g(m);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("flatten_1 (Flatten) with input (None, 100000, 100000, 3): the flattened output has over 2^31 elements"),
              std::string::npos) << e.what();
  }
  // Dense 2^30 x 2^30: each factor fits an int, the parameter count does not fit 2^40.
  m.height = m.width = 1 << 15;
  m.channels = 1;
  LayerSpec wide = out;
  wide.units = 1 << 30;
  wide.activation = Act::Relu;
  m.layers = {flat, wide, out};
  EXPECT_THROW(Graph{m}, Error);
}
