// AveragePooling2D with Keras' arguments: pool_size, strides (default: the pool), padding
// valid/same; with 'same' a window's mean is over its real elements only (TensorFlow's rule). Its
// Keras config, shapes and summary; the CPU reference against Keras' own forward, loss and
// gradients (tests/fixtures/ops/average_pooling2d.json, from
// scripts/reference/ops/make_average_pooling2d_golden.py, Keras 3 on JAX); its backward against
// finite differences; the fast path against the reference, bit for bit.
#include "kernels/cpu/average_pooling2d.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
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

nlohmann::json golden() { return op_golden("average_pooling2d"); }

std::string error_of(const std::string& model_json) { return acts::test::model_error(model_json); }

std::string edited(const nlohmann::json& g, const std::string& layer,
                   const std::function<void(nlohmann::json&)>& edit) {
  return acts::test::edited_model(g, "AveragePooling2D", [&](nlohmann::json& c) {
    if (c["name"] == layer) edit(c);
  });
}

struct PoolCase {
  int k, s;
  Padding p;
};
const std::vector<PoolCase> kCases = {{2, 2, Padding::Valid}, {3, 2, Padding::Valid}, {3, 2, Padding::Same},
                                      {2, 1, Padding::Same},  {3, 1, Padding::Valid}, {2, 3, Padding::Same},
                                      {4, 2, Padding::Same},  {1, 1, Padding::Valid}};

std::string name_of(const PoolCase& c, int H, int W) {
  return " (pool " + std::to_string(c.k) + " stride " + std::to_string(c.s) +
         (c.p == Padding::Same ? " same" : " valid") + " on " + std::to_string(H) + "x" + std::to_string(W) + ")";
}

TEST(AveragePooling2D, KerasJsonParsesToItsShapesAndSummary) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  const Node& first = graph.node("average_pooling2d_1");
  EXPECT_EQ(first.spec.type, LayerType::AveragePooling2D);
  EXPECT_EQ(first.in_shape, (std::vector<int>{11, 12, 3}));
  EXPECT_EQ(first.out_shape, (std::vector<int>{6, 6, 3}));
  EXPECT_EQ((std::array<int, 4>{first.pad_top, first.pad_bottom, first.pad_left, first.pad_right}),
            (std::array<int, 4>{1, 1, 0, 1}));
  EXPECT_EQ(graph.node("average_pooling2d_2").out_shape, (std::vector<int>{2, 2, 3}));
  const Node& last = graph.node("average_pooling2d_3");  // pool 2 stride 1 'same' on 2x2: padding after only
  EXPECT_EQ(last.out_shape, (std::vector<int>{2, 2, 3}));
  EXPECT_EQ((std::array<int, 4>{last.pad_top, last.pad_bottom, last.pad_left, last.pad_right}),
            (std::array<int, 4>{0, 1, 0, 1}));
  EXPECT_EQ(first.param_count, 0u);
  EXPECT_EQ(graph.param_count(), 2u * 2 * 2 * 3 + 3 + 12 + 1);
  const std::string summary = graph.summary();
  EXPECT_NE(summary.find("average_pooling2d_1 (Average (None, 6, 6, 3)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Total params: 40"), std::string::npos) << summary;
  ModelSpec unnamed = graph.spec();
  for (LayerSpec& s : unnamed.layers) s.name.clear();
  EXPECT_EQ(Graph(unnamed).nodes()[2].spec.name, "average_pooling2d_2");
}

TEST(AveragePooling2D, StridesAndPaddingRoundTripThroughKerasJson) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  const std::string text = to_keras_json(graph.spec());
  const nlohmann::json written = nlohmann::json::parse(text);
  nlohmann::json c;
  for (const nlohmann::json& l : written["config"]["layers"])
    if (l["config"]["name"] == "average_pooling2d_1") c = l["config"];
  EXPECT_EQ(c["pool_size"], nlohmann::json({3, 3}));
  EXPECT_EQ(c["strides"], nlohmann::json({2, 2}));
  EXPECT_EQ(c["padding"], "same");
  Graph again(parse_keras_json(text, "round trip"));
  EXPECT_EQ(again.summary(), graph.summary());
  for (const Node& nd : graph.nodes()) {
    EXPECT_EQ(again.node(nd.spec.name).out_shape, nd.out_shape) << nd.spec.name;
    EXPECT_EQ(again.node(nd.spec.name).pad_bottom, nd.pad_bottom) << nd.spec.name;
  }
}

TEST(AveragePooling2D, BadConfigsNameTheLayerAndTheFix) {
  const nlohmann::json g = golden();
  const std::string where = "m.json: layer average_pooling2d_1 (AveragePooling2D): ";
  EXPECT_EQ(error_of(edited(g, "average_pooling2d_1", [](nlohmann::json& c) { c["data_format"] = "channels_first"; })),
            where + "data_format=\"channels_first\" is not supported (only \"channels_last\")");
  EXPECT_EQ(error_of(edited(g, "average_pooling2d_1", [](nlohmann::json& c) { c["padding"] = "full"; })),
            where + "padding=\"full\" is not supported (only \"valid\" or \"same\")");
  EXPECT_EQ(error_of(edited(g, "average_pooling2d_1",
                            [](nlohmann::json& c) {
                              c["strides"] = {2, 1};
                            })),
            where + "strides [2,1] is not supported (only square sizes)");
  EXPECT_EQ(error_of(edited(g, "average_pooling2d_2", [](nlohmann::json& c) { c["pool_size"] = 8; })),
            "average_pooling2d_2 (AveragePooling2D) with input (None, 6, 6, 3): input smaller than the pool; use a "
            "larger --image-size");
  // After a Flatten there is no (H, W, C) to pool.
  ModelSpec spec = parse_keras_json(g["model_json"].get<std::string>(), "m.json");
  LayerSpec flat;
  flat.type = LayerType::Flatten;
  spec.layers.insert(spec.layers.begin() + 1, flat);
  try {
    Graph bad(spec);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "average_pooling2d_1 (AveragePooling2D) with input (None, 396): "
                 "AveragePooling2D needs an (H, W, C) input");
  }
}

TEST(AveragePooling2D, ReferenceMatchesKerasForwardLossAndGradients) {
  expect_reference_matches_keras("average_pooling2d");
}

// 'same' divides by the real elements of each window: TensorFlow's avg_pool, not k * k.
TEST(AveragePooling2D, SamePaddingAveragesTheRealElementsOnly) {
  const std::vector<float> x = {1, 2, 3,  //
                                4, 5, 6,  //
                                7, 8, 9};
  const Pool2dShape g = pool2d_shape(Padding::Same, 1, 3, 3, 1, 2, 2);  // padding after: 1 row, 1 column
  std::vector<float> y(4), dx(9);
  cpu::average_pooling2d_forward(x.data(), g, y.data());
  EXPECT_EQ(y, (std::vector<float>{3, 4.5f, 7.5f, 9}));
  const std::vector<float> dy = {4, 8, 16, 32};
  cpu::average_pooling2d_backward(g, dy.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{1, 1, 4, 1, 1, 4, 8, 8, 32}));
}

TEST(AveragePooling2D, BackwardIsTheForwardsDerivative) {
  for (const PoolCase& pc : kCases)
    for (const auto& [H, W] : std::vector<std::pair<int, int>>{{7, 5}, {6, 9}}) {
      const int N = 2, C = 3;
      const Pool2dShape g = pool2d_shape(pc.p, N, H, W, C, pc.k, pc.s);
      std::mt19937 rng(5);
      std::uniform_real_distribution<double> u(-1, 1);
      std::vector<double> x(size_t(N) * H * W * C), r(size_t(N) * g.OH * g.OW * C), y(r.size());
      for (double& v : x) v = u(rng);
      for (double& v : r) v = u(rng);
      auto loss = [&] {
        cpu::average_pooling2d_forward(x.data(), g, y.data());
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
        return s;
      };
      const std::vector<double> numeric = acts::test::numeric_grad(x, loss);
      std::vector<double> dx(x.size(), NAN);
      cpu::average_pooling2d_backward(g, r.data(), dx.data());
      expect_close("dx" + name_of(pc, H, W), dx, numeric, 1e-6, 1e-8);
    }
}

TEST(AveragePooling2D, FastPathMatchesReference) {
  for (const char* layer : {"average_pooling2d_1", "average_pooling2d_2", "average_pooling2d_3"})
    expect_fast_path_matches_reference("average_pooling2d", layer, 1e-5, 1e-6);
}

}  // namespace
