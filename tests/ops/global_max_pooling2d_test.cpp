// GlobalMaxPooling2D: its Keras config (keepdims), shapes and summary; the CPU reference against
// Keras' own forward, loss and gradients (tests/fixtures/ops/global_max_pooling2d.json, from
// scripts/reference/ops/make_global_max_pooling2d_golden.py, Keras 3 on JAX); the tie rule; its
// backward against finite differences; the fast path against the reference.
#include "kernels/cpu/global_max_pooling2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"
#include "tests/compare.h"
#include "tests/numeric_grad.h"
#include "tests/ops/op_golden.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::expect_fast_path_matches_reference;
using acts::test::expect_reference_matches_keras;
using acts::test::op_golden;

namespace {

constexpr const char* kLayer = "global_max_pooling2d_1";

nlohmann::json golden() { return op_golden("global_max_pooling2d"); }

std::string error_of(const std::string& model_json) { return acts::test::model_error(model_json); }

std::string edited(const nlohmann::json& g, const std::function<void(nlohmann::json&)>& edit) {
  return acts::test::edited_model(g, "GlobalMaxPooling2D", edit);
}

TEST(GlobalMaxPooling2D, KerasJsonParsesToItsShapesAndSummary) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  const Node& nd = graph.node(kLayer);
  EXPECT_EQ(nd.spec.type, LayerType::GlobalMaxPooling2D);
  EXPECT_EQ(nd.in_shape, (std::vector<int>{6, 8, 3}));
  EXPECT_EQ(nd.out_shape, (std::vector<int>{3}));
  EXPECT_EQ(nd.param_count, 0u);
  EXPECT_EQ(graph.param_count(), 2u * 2 * 2 * 3 + 3 + 3 + 1);
  const std::string summary = graph.summary();
  EXPECT_NE(summary.find("global_max_pooling2d_1 (Glob (None, 3)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Total params: 31"), std::string::npos) << summary;
  ModelSpec unnamed = graph.spec();
  for (LayerSpec& s : unnamed.layers) s.name.clear();
  EXPECT_EQ(Graph(unnamed).nodes()[1].spec.name, "global_max_pooling2d_1");
}

TEST(GlobalMaxPooling2D, KeepdimsKeepsOneByOneAndRoundTrips) {
  const nlohmann::json g = golden();
  const std::string text = edited(g, [](nlohmann::json& c) { c["keepdims"] = true; });
  ModelSpec spec = parse_keras_json(text, "keepdims.json");
  LayerSpec flat;
  flat.type = LayerType::Flatten;
  spec.layers.insert(spec.layers.begin() + 2, flat);
  Graph graph(spec);
  EXPECT_EQ(graph.node(kLayer).out_shape, (std::vector<int>{1, 1, 3}));
  Graph again(parse_keras_json(to_keras_json(graph.spec()), "round trip"));
  EXPECT_EQ(again.node(kLayer).out_shape, (std::vector<int>{1, 1, 3}));
  EXPECT_EQ(again.summary(), graph.summary());
}

TEST(GlobalMaxPooling2D, BadConfigsNameTheLayerAndTheFix) {
  const nlohmann::json g = golden();
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["keepdims"] = 1; })),
            "m.json: layer global_max_pooling2d_1 (GlobalMaxPooling2D): keepdims must be true or false, not 1");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["data_format"] = "channels_first"; })),
            "m.json: layer global_max_pooling2d_1 (GlobalMaxPooling2D): data_format=\"channels_first\" is not "
            "supported (only \"channels_last\")");
  ModelSpec spec = parse_keras_json(g["model_json"].get<std::string>(), "m.json");
  LayerSpec flat;
  flat.type = LayerType::Flatten;
  spec.layers.insert(spec.layers.begin() + 1, flat);
  try {
    Graph bad(spec);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "global_max_pooling2d_1 (GlobalMaxPooling2D) with input (None, 144): "
                 "GlobalMaxPooling2D needs an (H, W, C) input");
  }
}

TEST(GlobalMaxPooling2D, ReferenceMatchesKerasForwardLossAndGradients) {
  expect_reference_matches_keras("global_max_pooling2d");
}

// TensorFlow routes the gradient of a max to its first occurrence in row-major order.
TEST(GlobalMaxPooling2D, TiesGoToTheFirstMaximum) {
  // 2x2 pixels, 2 channels: channel 0 ties at pixels 1 and 3, channel 1 at all four.
  const std::vector<float> x = {0, 7, 5, 7, 1, 7, 5, 7};
  const std::vector<float> dy = {3, 4};
  std::vector<float> y(2), dx(8, -1.f);
  cpu::global_max_pooling2d_forward(x.data(), 1, 2, 2, 2, y.data());
  EXPECT_EQ(y, (std::vector<float>{5, 7}));
  cpu::global_max_pooling2d_backward(x.data(), 1, 2, 2, 2, dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{0, 4, 3, 0, 0, 0, 0, 0}));
}

TEST(GlobalMaxPooling2D, BackwardIsTheForwardsDerivative) {
  const int N = 2, H = 5, W = 3, C = 7;
  std::vector<double> x(size_t(N) * H * W * C);  // distinct values 0.01 apart: no tie to cross
  std::iota(x.begin(), x.end(), 0.0);
  std::shuffle(x.begin(), x.end(), std::mt19937(12));
  for (double& v : x) v *= 0.01;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> r(size_t(N) * C), y(r.size());
  for (double& v : r) v = u(rng);
  auto loss = [&] {
    cpu::global_max_pooling2d_forward(x.data(), N, H, W, C, y.data());
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
    return s;
  };
  const std::vector<double> numeric = acts::test::numeric_grad(x, loss);
  std::vector<double> dx(x.size(), NAN);
  cpu::global_max_pooling2d_backward(x.data(), N, H, W, C, r.data(), dx.data());
  expect_close("dx", dx, numeric, 1e-6, 1e-8);
}

TEST(GlobalMaxPooling2D, FastPathMatchesReference) {
  expect_fast_path_matches_reference("global_max_pooling2d", kLayer, 1e-5, 1e-6);  // the conv before differs
}

}  // namespace
