// Conv2D with Keras' 'same' padding, strides and use_bias=False: its Keras config, shapes, padding
// and summary; the CPU reference against Keras' own forward, loss and gradients
// (tests/fixtures/ops/conv2d_padding.json, written by scripts/reference/ops/make_conv2d_padding_golden.py
// with Keras 3 on JAX); its backward against finite differences in double; the fast path against
// the reference; the configurations it refuses, in one line each.
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/conv2d.h"
#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"
#include "runtime/core/window.h"
#include "tests/compare.h"
#include "tests/numeric_grad.h"
#include "tests/ops/op_golden.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::expect_fast_path_matches_reference;
using acts::test::expect_reference_matches_keras;
using acts::test::op_golden;

namespace {

constexpr const char* kOp = "conv2d_padding";

nlohmann::json golden() { return op_golden(kOp); }

std::string error_of(const std::string& model_json) { return acts::test::model_error(model_json); }

// The golden's model JSON with the config of its layer `name` edited by `edit`.
std::string edited(const nlohmann::json& g, const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
  return acts::test::edited_model(g, "Conv2D", [&](nlohmann::json& c) {
    if (c["name"] == name) edit(c);
  });
}

Graph golden_graph() { return Graph(parse_keras_json(golden()["model_json"].get<std::string>(), "golden")); }

TEST(Conv2DPadding, KerasJsonParsesToItsShapesPaddingAndSummary) {
  const Graph graph = golden_graph();
  struct Want {
    const char* name;
    std::vector<int> out;
    int top, bottom, left, right, stride;
    size_t params;
  };
  const Want want[] = {
      {"conv2d_1", {9, 8, 4}, 1, 1, 1, 1, 1, 3 * 3 * 3 * 4 + 4},
      {"conv2d_2", {5, 4, 4}, 1, 1, 0, 1, 2, 3 * 3 * 4 * 4 + 4},  // odd rows, even columns
      {"conv2d_3", {5, 4, 3}, 0, 1, 0, 1, 1, 2 * 2 * 4 * 3},      // no bias
      {"conv2d_4", {5, 4, 3}, 2, 2, 2, 2, 1, 5 * 5 * 3 * 3 + 3},
      {"conv2d_5", {2, 1, 2}, 0, 0, 0, 0, 2, 3 * 3 * 3 * 2 + 2},
  };
  for (const Want& w : want) {
    SCOPED_TRACE(w.name);
    const Node& nd = graph.node(w.name);
    EXPECT_EQ(nd.out_shape, w.out);
    EXPECT_EQ(nd.pad_top, w.top);
    EXPECT_EQ(nd.pad_bottom, w.bottom);
    EXPECT_EQ(nd.pad_left, w.left);
    EXPECT_EQ(nd.pad_right, w.right);
    EXPECT_EQ(nd.spec.stride, w.stride);
    EXPECT_EQ(nd.param_count, w.params);
  }
  const Node& no_bias = graph.node("conv2d_3");
  EXPECT_EQ(no_bias.params.size(), 1u);
  EXPECT_EQ(no_bias.bias, -1);
  EXPECT_EQ(graph.params()[size_t(no_bias.kernel)].name, "conv2d_3/kernel");
  const std::string summary = graph.summary();
  EXPECT_NE(summary.find("conv2d_3 (Conv2D)            (None, 5, 4, 3)           48"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Total params: 597"), std::string::npos) << summary;
}

TEST(Conv2DPadding, NoBiasParamCountIsKeras) {
  // Keras: Conv2D(8, 3, use_bias=False) on 3 channels has 3*3*3*8 = 216 parameters.
  const std::string text = edited(golden(), "conv2d_1", [](nlohmann::json& c) {
    c["filters"] = 8;
    c["use_bias"] = false;
  });
  const Graph graph(parse_keras_json(text, "m.json"));
  EXPECT_EQ(graph.node("conv2d_1").param_count, 216u);
}

TEST(Conv2DPadding, RoundTripsThroughKerasJson) {
  const Graph graph = golden_graph();
  const Graph again(parse_keras_json(to_keras_json(graph.spec()), "round trip"));
  EXPECT_EQ(again.summary(), graph.summary());
  for (const Node& nd : graph.nodes()) {
    const Node& nd2 = again.node(nd.spec.name);
    EXPECT_EQ(nd2.spec.padding, nd.spec.padding) << nd.spec.name;
    EXPECT_EQ(nd2.spec.stride, nd.spec.stride) << nd.spec.name;
    EXPECT_EQ(nd2.params.size(), nd.params.size()) << nd.spec.name;
  }
  const nlohmann::json written = nlohmann::json::parse(to_keras_json(graph.spec()));
  for (const nlohmann::json& l : written["config"]["layers"])
    if (l["config"]["name"] == "conv2d_2") {
      EXPECT_EQ(l["config"]["padding"], "same");
      EXPECT_EQ(l["config"]["strides"], nlohmann::json({2, 2}));
      EXPECT_EQ(l["config"]["use_bias"], true);
    } else if (l["config"]["name"] == "conv2d_3") {
      EXPECT_EQ(l["config"]["use_bias"], false);
    }
}

TEST(Conv2DPadding, SameFitsAnyInputValidRefusesASmallerOne) {
  const nlohmann::json g = golden();
  // conv2d_4's 5x5 kernel on its 5x4 input: 'same' takes it; 'valid' cannot place the window.
  EXPECT_EQ(error_of(g["model_json"].get<std::string>()), "(no error)");
  EXPECT_EQ(error_of(edited(g, "conv2d_4", [](nlohmann::json& c) { c["padding"] = "valid"; })),
            "conv2d_4 (Conv2D) with input (None, 5, 4, 3): input smaller than the 5x5 kernel; use a larger "
            "--image-size");
}

TEST(Conv2DPadding, BadConfigsNameTheLayerAndTheFix) {
  const nlohmann::json g = golden();
  const std::string at = "m.json: layer conv2d_2 (Conv2D): ";
  auto bad = [&](const std::function<void(nlohmann::json&)>& edit) { return error_of(edited(g, "conv2d_2", edit)); };
  EXPECT_EQ(bad([](nlohmann::json& c) { c["strides"] = {1, 2}; }),
            at + "strides [1,2] is not supported (only square sizes)");
  EXPECT_EQ(bad([](nlohmann::json& c) { c["strides"] = 0; }), at + "strides 0 must be positive");
  EXPECT_EQ(bad([](nlohmann::json& c) { c["dilation_rate"] = {2, 2}; }), at + "dilation is not supported");
  EXPECT_EQ(bad([](nlohmann::json& c) { c["groups"] = 2; }), at + "groups=2 is not supported (only 1)");
  EXPECT_EQ(bad([](nlohmann::json& c) { c["padding"] = "causal"; }),
            at + "padding=\"causal\" is not supported (only \"valid\" or \"same\")");
  EXPECT_EQ(bad([](nlohmann::json& c) { c["use_bias"] = "no"; }), at + "use_bias must be true or false, not \"no\"");
}

// channels_first would read the input's channels as its rows: refused, not run.
TEST(Conv2DPadding, ChannelsFirstIsRefused) {
  EXPECT_EQ(error_of(edited(golden(), "conv2d_1", [](nlohmann::json& c) { c["data_format"] = "channels_first"; })),
            "m.json: layer conv2d_1 (Conv2D): data_format=\"channels_first\" is not supported (only "
            "\"channels_last\")");
}

TEST(Conv2DPadding, ReferenceMatchesKerasForwardLossAndGradients) { expect_reference_matches_keras(kOp); }

// The geometry Conv2D's node gets: window_1d's, as the graph makes it.
cpu::ConvGeometry geometry(int H, int W, int C, int K, int F, int stride, Padding p) {
  const Window1d r = window_1d(p, H, K, stride), c = window_1d(p, W, K, stride);
  return {H, W, C, K, K, F, stride, r.pad_before, c.pad_before, r.out, c.out};
}

TEST(Conv2DPadding, BackwardIsTheForwardsDerivative) {
  struct Case {
    int H, W, C, K, F, stride;
    Padding p;
    bool bias;
  };
  const Case cases[] = {
      {5, 4, 2, 3, 3, 1, Padding::Same, true},   {5, 4, 2, 3, 3, 2, Padding::Same, true},
      {6, 5, 2, 2, 3, 1, Padding::Same, false},  {3, 4, 2, 5, 2, 1, Padding::Same, true},
      {7, 6, 2, 3, 2, 2, Padding::Valid, false}, {6, 7, 1, 4, 2, 3, Padding::Same, false},
  };
  for (const Case& cs : cases) {
    const cpu::ConvGeometry g = geometry(cs.H, cs.W, cs.C, cs.K, cs.F, cs.stride, cs.p);
    SCOPED_TRACE(std::to_string(cs.H) + "x" + std::to_string(cs.W) + " k" + std::to_string(cs.K) + " s" +
                 std::to_string(cs.stride) + (cs.p == Padding::Same ? " same" : " valid"));
    const int N = 2;
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> x(size_t(N) * g.in_size()), k(g.kernel_size()), b(size_t(g.F)), r(size_t(N) * g.out_size()),
        y(r.size());
    for (auto* v : {&x, &k, &b, &r})
      for (double& e : *v) e = u(rng);
    auto loss = [&] {
      cpu::conv2d_forward(x.data(), N, g, k.data(), cs.bias ? b.data() : nullptr, y.data());
      double s = 0;
      for (size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
      return s;
    };
    const std::vector<double> nx = acts::test::numeric_grad(x, loss), nk = acts::test::numeric_grad(k, loss),
                              nb = acts::test::numeric_grad(b, loss);
    std::vector<double> dx(x.size(), NAN), dk(k.size(), NAN), db(b.size(), NAN);
    cpu::conv2d_backward(x.data(), N, g, k.data(), r.data(), dx.data(), dk.data(), cs.bias ? db.data() : nullptr);
    expect_close("dx", dx, nx, 1e-6, 1e-8);
    expect_close("dk", dk, nk, 1e-6, 1e-8);
    if (cs.bias) expect_close("db", db, nb, 1e-6, 1e-8);
    // Input gradient only: the same dx, no parameter gradient.
    std::vector<double> dx_only(x.size(), NAN);
    cpu::conv2d_backward(x.data(), N, g, k.data(), r.data(), dx_only.data(), static_cast<double*>(nullptr),
                         static_cast<double*>(nullptr));
    EXPECT_EQ(dx_only, dx);
  }
}

TEST(Conv2DPadding, FastPathMatchesReference) {
  for (const char* layer : {"conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4", "conv2d_5"})
    expect_fast_path_matches_reference(kOp, layer, 1e-5, 1e-6);
}

}  // namespace
