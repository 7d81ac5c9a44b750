// Rescaling: its Keras config, shapes and summary; the CPU reference against Keras' own forward,
// loss and gradients (tests/fixtures/ops/rescaling.json, written by
// scripts/reference/ops/make_rescaling_golden.py with Keras 3 on JAX); its backward against finite
// differences; the fast path against the reference.
#include <cmath>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/rescaling.h"
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

constexpr const char* kLayer = "rescaling_1";

nlohmann::json golden() { return op_golden("rescaling"); }

std::string error_of(const std::string& model_json) { return acts::test::model_error(model_json); }

// Keras' model JSON with the Rescaling layer's config edited by `edit`.
std::string edited(const nlohmann::json& g, const std::function<void(nlohmann::json&)>& edit) {
  return acts::test::edited_model(g, "Rescaling", edit);
}

TEST(Rescaling, KerasJsonParsesToItsShapesSummaryAndRoundTrips) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  const Node& nd = graph.node(kLayer);
  EXPECT_EQ(nd.spec.type, LayerType::Rescaling);
  EXPECT_EQ(nd.in_shape, (std::vector<int>{9, 7, 3}));
  EXPECT_EQ(nd.out_shape, (std::vector<int>{9, 7, 3}));
  EXPECT_EQ(nd.param_count, 0u);
  EXPECT_DOUBLE_EQ(nd.spec.attrs.at("scale"), 2.5);
  EXPECT_DOUBLE_EQ(nd.spec.attrs.at("offset"), -1.0);
  EXPECT_NE(graph.summary().find("rescaling_1 (Rescaling)      (None, 9, 7, 3)           0"), std::string::npos)
      << graph.summary();
  Graph again(parse_keras_json(to_keras_json(graph.spec()), "round trip"));
  EXPECT_DOUBLE_EQ(again.node(kLayer).spec.attrs.at("scale"), 2.5);
  EXPECT_DOUBLE_EQ(again.node(kLayer).spec.attrs.at("offset"), -1.0);
  // Keras' default offset is 0.
  Graph no_offset(parse_keras_json(edited(g, [](nlohmann::json& c) { c.erase("offset"); }), "m.json"));
  EXPECT_DOUBLE_EQ(no_offset.node(kLayer).spec.attrs.at("offset"), 0.0);
}

TEST(Rescaling, BadConfigsNameTheLayerAndTheFix) {
  const nlohmann::json g = golden();
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["scale"] = {0.1, 0.2, 0.3}; })),
            "m.json: layer rescaling_1 (Rescaling): scale [0.1,0.2,0.3] is not supported (only one number for "
            "every channel)");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["offset"] = "x"; })),
            "m.json: layer rescaling_1 (Rescaling): offset must be a finite number, not \"x\"");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["scale"] = 1e300; })),
            "m.json: layer rescaling_1 (Rescaling): scale must be a finite number, not 1e+300");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c.erase("scale"); })),
            "m.json: layer rescaling_1 (Rescaling): scale is missing");
}

TEST(Rescaling, ReferenceMatchesKerasForwardLossAndGradients) { expect_reference_matches_keras("rescaling"); }

TEST(Rescaling, BackwardIsTheForwardsDerivative) {
  const size_t n = 37;
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(n), r(n), y(n);
  for (double& v : x) v = u(rng);
  for (double& v : r) v = u(rng);
  auto loss = [&] {
    cpu::rescaling_forward(x.data(), n, 0.37, -0.2, y.data());
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += r[i] * y[i];
    return s;
  };
  const std::vector<double> numeric = acts::test::numeric_grad(x, loss);
  std::vector<double> dx(n, NAN);
  cpu::rescaling_backward(r.data(), n, 0.37, dx.data());
  expect_close("dx", dx, numeric, 1e-6, 1e-8);
}

TEST(Rescaling, FastPathMatchesReference) { expect_fast_path_matches_reference("rescaling", kLayer, 1e-6, 1e-7); }

}  // namespace
