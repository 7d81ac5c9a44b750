// GlobalAveragePooling2D: its Keras config, shapes and summary; the CPU reference against Keras'
// own forward, loss and gradients (tests/fixtures/ops/global_average_pooling2d.json, written by
// scripts/reference/ops/make_global_average_pooling2d_golden.py with Keras 3 on JAX); its backward
// against finite differences; the fast path against the reference.
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/global_average_pooling2d.h"
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

constexpr const char* kLayer = "global_average_pooling2d_1";

nlohmann::json golden() { return op_golden("global_average_pooling2d"); }

std::string error_of(const std::string& model_json) { return acts::test::model_error(model_json); }

// Keras' model JSON with the GlobalAveragePooling2D layer's config edited by `edit`.
std::string edited(const nlohmann::json& g, const std::function<void(nlohmann::json&)>& edit) {
  return acts::test::edited_model(g, "GlobalAveragePooling2D", edit);
}

TEST(GlobalAveragePooling2D, KerasJsonParsesToItsShapesAndSummary) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  const Node& nd = graph.node(kLayer);
  EXPECT_EQ(nd.spec.type, LayerType::GlobalAveragePooling2D);
  EXPECT_EQ(nd.in_shape, (std::vector<int>{10, 8, 5}));
  EXPECT_EQ(nd.out_shape, (std::vector<int>{5}));
  EXPECT_EQ(nd.param_count, 0u);
  EXPECT_EQ(graph.param_count(), 3u * 3 * 3 * 5 + 5 + 5 + 1);
  const std::string summary = graph.summary();
  // Keras 2.0.8 cuts the first column at 29 characters, as for any long name.
  EXPECT_NE(summary.find("global_average_pooling2d_1 ( (None, 5)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Total params: 146"), std::string::npos) << summary;
  // Default names count per class, as Keras 2.0.8's.
  ModelSpec unnamed = graph.spec();
  for (LayerSpec& s : unnamed.layers) s.name.clear();
  EXPECT_EQ(Graph(unnamed).nodes()[1].spec.name, "global_average_pooling2d_1");
}

TEST(GlobalAveragePooling2D, KeepdimsKeepsOneByOneAndRoundTrips) {
  const nlohmann::json g = golden();
  const std::string text = edited(g, [](nlohmann::json& c) { c["keepdims"] = true; });
  ModelSpec spec = parse_keras_json(text, "keepdims.json");
  // (1, 1, 5) needs a Flatten before the Dense, as in Keras.
  LayerSpec flat;
  flat.type = LayerType::Flatten;
  spec.layers.insert(spec.layers.begin() + 2, flat);
  Graph graph(spec);
  EXPECT_EQ(graph.node(kLayer).out_shape, (std::vector<int>{1, 1, 5}));
  Graph again(parse_keras_json(to_keras_json(graph.spec()), "round trip"));
  EXPECT_EQ(again.node(kLayer).out_shape, (std::vector<int>{1, 1, 5}));
  EXPECT_EQ(again.summary(), graph.summary());
}

TEST(GlobalAveragePooling2D, BadConfigsNameTheLayerAndTheFix) {
  const nlohmann::json g = golden();
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["keepdims"] = "yes"; })),
            "m.json: layer global_average_pooling2d_1 (GlobalAveragePooling2D): keepdims must be true or false, "
            "not \"yes\"");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["data_format"] = "channels_first"; })),
            "m.json: layer global_average_pooling2d_1 (GlobalAveragePooling2D): data_format=\"channels_first\" is "
            "not supported (only \"channels_last\")");
  // After a Flatten there is no (H, W, C) to pool.
  ModelSpec spec = parse_keras_json(g["model_json"].get<std::string>(), "m.json");
  LayerSpec flat;
  flat.type = LayerType::Flatten;
  spec.layers.insert(spec.layers.begin() + 1, flat);
  try {
    Graph bad(spec);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "global_average_pooling2d_1 (GlobalAveragePooling2D) with input (None, 400): "
                           "GlobalAveragePooling2D needs an (H, W, C) input");
  }
}

TEST(GlobalAveragePooling2D, ReferenceMatchesKerasForwardLossAndGradients) {
  expect_reference_matches_keras("global_average_pooling2d");
}

TEST(GlobalAveragePooling2D, BackwardIsTheForwardsDerivative) {
  const int N = 2, H = 5, W = 3, C = 7;  // odd, non-square
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(size_t(N) * H * W * C), r(size_t(N) * C), y(r.size());
  for (double& v : x) v = u(rng);
  for (double& v : r) v = u(rng);
  auto loss = [&] {
    cpu::global_average_pooling2d_forward(x.data(), N, H, W, C, y.data());
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
    return s;
  };
  const std::vector<double> numeric = acts::test::numeric_grad(x, loss);
  std::vector<double> dx(x.size(), NAN);
  cpu::global_average_pooling2d_backward(r.data(), N, H, W, C, dx.data());
  expect_close("dx", dx, numeric, 1e-6, 1e-8);
}

TEST(GlobalAveragePooling2D, FastPathMatchesReference) {
  expect_fast_path_matches_reference("global_average_pooling2d", kLayer, 1e-5, 1e-6);
}

}  // namespace
