// MaxPooling2D with Keras' arguments: pool_size, strides (default: the pool; overlapping windows
// when smaller), padding valid/same (TensorFlow's split: the odd row/column after). Its Keras
// config, shapes and summary; the CPU reference against Keras' own forward, loss and gradients
// (tests/fixtures/ops/max_pooling2d.json, from scripts/reference/ops/make_max_pooling2d_golden.py,
// Keras 3 on JAX); the tie rule; its backward against finite differences; the fast path against
// the reference, bit for bit.
#include "kernels/cpu/max_pooling2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/activations.h"
#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "tests/compare.h"
#include "tests/numeric_grad.h"
#include "tests/ops/op_golden.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::expect_fast_path_matches_reference;
using acts::test::expect_reference_matches_keras;
using acts::test::op_golden;

namespace {

nlohmann::json golden() { return op_golden("max_pooling2d"); }

std::string error_of(const std::string& model_json) { return acts::test::model_error(model_json); }

// Keras' model JSON with the config of the MaxPooling2D layer named `layer` edited by `edit`.
std::string edited(const nlohmann::json& g, const std::string& layer,
                   const std::function<void(nlohmann::json&)>& edit) {
  return acts::test::edited_model(g, "MaxPooling2D", [&](nlohmann::json& c) {
    if (c["name"] == layer) edit(c);
  });
}

// (pool, stride, padding) cases: the tutorial's, overlapping, pool larger than stride, stride
// larger than pool, 'same' with odd and even totals of padding.
struct PoolCase {
  int k, s;
  Padding p;
};
const std::vector<PoolCase> kCases = {{2, 2, Padding::Valid}, {3, 2, Padding::Valid}, {3, 2, Padding::Same},
                                      {2, 1, Padding::Same},  {3, 1, Padding::Valid}, {2, 3, Padding::Valid},
                                      {2, 3, Padding::Same},  {4, 2, Padding::Same},  {1, 1, Padding::Valid}};

std::string name_of(const PoolCase& c, int H, int W) {
  return " (pool " + std::to_string(c.k) + " stride " + std::to_string(c.s) +
         (c.p == Padding::Same ? " same" : " valid") + " on " + std::to_string(H) + "x" + std::to_string(W) + ")";
}

TEST(MaxPooling2D, KerasJsonParsesToItsShapesAndSummary) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  const Node& same = graph.node("max_pooling2d_1");
  EXPECT_EQ(same.in_shape, (std::vector<int>{11, 12, 3}));
  EXPECT_EQ(same.out_shape, (std::vector<int>{6, 6, 3}));  // ceil(11 / 2), ceil(12 / 2)
  // Rows: 5 * 2 + 3 - 11 = 2 padded, 1 + 1; columns: 5 * 2 + 3 - 12 = 1, the one after.
  EXPECT_EQ((std::array<int, 4>{same.pad_top, same.pad_bottom, same.pad_left, same.pad_right}),
            (std::array<int, 4>{1, 1, 0, 1}));
  EXPECT_EQ(graph.node("max_pooling2d_2").out_shape, (std::vector<int>{2, 2, 3}));  // (6 - 3) / 2 + 1
  EXPECT_EQ(graph.node("max_pooling2d_3").out_shape, (std::vector<int>{1, 1, 3}));  // strides None: 2
  EXPECT_EQ(same.param_count, 0u);
  EXPECT_EQ(graph.param_count(), 2u * 2 * 2 * 3 + 3 + 2 * (3 * 3 + 3) + 3 + 1);
  const std::string summary = graph.summary();
  EXPECT_NE(summary.find("max_pooling2d_1 (MaxPooling2 (None, 6, 6, 3)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Total params: 55"), std::string::npos) << summary;
}

TEST(MaxPooling2D, StridesAndPaddingRoundTripThroughKerasJson) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  const nlohmann::json written = nlohmann::json::parse(to_keras_json(graph.spec()));
  std::vector<nlohmann::json> configs;
  for (const nlohmann::json& l : written["config"]["layers"])
    if (l["class_name"] == "MaxPooling2D") configs.push_back(l["config"]);
  ASSERT_EQ(configs.size(), 3u);
  EXPECT_EQ(configs[0]["pool_size"], nlohmann::json({3, 3}));
  EXPECT_EQ(configs[0]["strides"], nlohmann::json({2, 2}));
  EXPECT_EQ(configs[0]["padding"], "same");
  EXPECT_EQ(configs[1]["padding"], "valid");
  EXPECT_EQ(configs[2]["strides"], nlohmann::json({2, 2}));  // Keras' None: the pool
  Graph again(parse_keras_json(written.dump(), "round trip"));
  EXPECT_EQ(again.summary(), graph.summary());
  for (const char* name : {"max_pooling2d_1", "max_pooling2d_2", "max_pooling2d_3"})
    EXPECT_EQ(again.node(name).out_shape, graph.node(name).out_shape) << name;
  // strides: null is Keras' default, the pool.
  const std::string null_strides = edited(g, "max_pooling2d_2", [](nlohmann::json& c) { c["strides"] = nullptr; });
  EXPECT_EQ(Graph(parse_keras_json(null_strides, "m.json")).node("max_pooling2d_2").out_shape,
            (std::vector<int>{2, 2, 3}));  // (6 - 3) / 3 + 1
}

TEST(MaxPooling2D, BadConfigsNameTheLayerAndTheFix) {
  const nlohmann::json g = golden();
  const std::string where = "m.json: layer max_pooling2d_1 (MaxPooling2D): ";
  EXPECT_EQ(error_of(edited(g, "max_pooling2d_1", [](nlohmann::json& c) { c["data_format"] = "channels_first"; })),
            where + "data_format=\"channels_first\" is not supported (only \"channels_last\")");
  EXPECT_EQ(error_of(edited(g, "max_pooling2d_1", [](nlohmann::json& c) { c["padding"] = "causal"; })),
            where + "padding=\"causal\" is not supported (only \"valid\" or \"same\")");
  EXPECT_EQ(error_of(edited(g, "max_pooling2d_1",
                            [](nlohmann::json& c) {
                              c["strides"] = {1, 2};
                            })),
            where + "strides [1,2] is not supported (only square sizes)");
  EXPECT_EQ(error_of(edited(g, "max_pooling2d_1", [](nlohmann::json& c) { c["strides"] = 0; })),
            where + "strides 0 must be positive");
  EXPECT_EQ(error_of(edited(g, "max_pooling2d_1",
                            [](nlohmann::json& c) {
                              c["pool_size"] = {3, 2};
                            })),
            where + "pool_size [3,2] is not supported (only square sizes)");
  // A 'valid' pool larger than its input has no window; 'same' always has one.
  EXPECT_EQ(error_of(edited(g, "max_pooling2d_2", [](nlohmann::json& c) { c["pool_size"] = 7; })),
            "max_pooling2d_2 (MaxPooling2D) with input (None, 6, 6, 3): input smaller than the pool; use a larger "
            "--image-size");
  EXPECT_EQ(error_of(edited(g, "max_pooling2d_2",
                            [](nlohmann::json& c) {
                              c["pool_size"] = 7;
                              c["padding"] = "same";
                            })),
            "(no error)");
}

TEST(MaxPooling2D, ReferenceMatchesKerasForwardLossAndGradients) { expect_reference_matches_keras("max_pooling2d"); }

// TensorFlow's MaxPoolGrad (and Keras on it) gives a window's gradient to its FIRST maximum in
// row-major order; an element that is the maximum of several overlapping windows gets their sum.
TEST(MaxPooling2D, TiesGoToTheFirstMaximumAndOverlapsAccumulate) {
  // 3x3 input, pool 2 stride 1 'valid': four windows, all sharing the centre.
  const std::vector<float> x = {0, 1, 0,  //
                                1, 5, 5,  //
                                0, 5, 5};
  const std::vector<float> dy = {1, 10, 100, 1000};
  std::vector<float> y(4), dx(9, -1.f);
  const Pool2dShape g = pool2d_shape(Padding::Valid, 1, 3, 3, 1, 2, 1);
  cpu::maxpool_forward(x.data(), g, y.data());
  EXPECT_EQ(y, (std::vector<float>{5, 5, 5, 5}));
  cpu::maxpool_backward(x.data(), g, dy.data(), dx.data());
  // Window (0, 0) and (1, 0) pick the centre (row-major first); (0, 1) picks the centre too (its
  // 5s are (1, 1) and (1, 2)); (1, 1)'s first 5 is the centre as well.
  EXPECT_EQ(dx, (std::vector<float>{0, 0, 0, 0, 1111, 0, 0, 0, 0}));
  // 'same' with stride 2 on 3x3: the windows at the right and bottom hang over -inf padding.
  const std::vector<float> neg = {-3, -2, -1, -4, -5, -6, -9, -8, -7};
  const Pool2dShape s = pool2d_shape(Padding::Same, 1, 3, 3, 1, 2, 2);
  ASSERT_EQ(s.OH, 2);
  std::vector<float> ys(4), dxs(9);
  cpu::maxpool_forward(neg.data(), s, ys.data());
  EXPECT_EQ(ys, (std::vector<float>{-2, -1, -8, -7}));  // never the padding's 0
  cpu::maxpool_backward(neg.data(), s, dy.data(), dxs.data());
  EXPECT_EQ(dxs, (std::vector<float>{0, 1, 10, 0, 0, 0, 0, 100, 1000}));
}

// Distinct values at least 0.01 apart (a shuffled ramp), so the finite differences never cross
// a tie.
std::vector<double> distinct_values(size_t n, unsigned seed) {
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), 0.0);
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  for (double& e : v) e = e * 0.01 - 0.005 * double(n);
  return v;
}

TEST(MaxPooling2D, BackwardIsTheForwardsDerivative) {
  for (const PoolCase& pc : kCases)
    for (const auto& [H, W] : std::vector<std::pair<int, int>>{{7, 5}, {6, 9}}) {
      const int N = 2, C = 3;
      const Pool2dShape g = pool2d_shape(pc.p, N, H, W, C, pc.k, pc.s);
      std::vector<double> x = distinct_values(size_t(N) * H * W * C, 3);
      std::mt19937 rng(4);
      std::uniform_real_distribution<double> u(-1, 1);
      std::vector<double> r(size_t(N) * g.OH * g.OW * C), y(r.size());
      for (double& v : r) v = u(rng);
      auto loss = [&] {
        cpu::maxpool_forward(x.data(), g, y.data());
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
        return s;
      };
      const std::vector<double> numeric = acts::test::numeric_grad(x, loss);
      std::vector<double> dx(x.size(), NAN);
      cpu::maxpool_backward(x.data(), g, r.data(), dx.data());
      expect_close("dx" + name_of(pc, H, W), dx, numeric, 1e-6, 1e-8);
    }
}

// The fast path's loops (the general ones, and the (P, P, valid) ones the tutorial takes) equal
// the reference bit for bit, with ties, NaNs, and the fused relu of the layer before.
TEST(MaxPooling2D, FastPathEqualsTheReferenceOnEveryWindow) {
  std::string why;
  if (!cpu_fast::available(&why)) GTEST_SKIP() << "no CPU fast path in this build: " << why;
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const PoolCase& pc : kCases)
    for (const auto& [H, W] : std::vector<std::pair<int, int>>{{7, 5}, {9, 10}}) {
      const int N = 3, C = 17;
      const Pool2dShape g = pool2d_shape(pc.p, N, H, W, C, pc.k, pc.s);
      const size_t xs = size_t(N) * H * W * C, ys = size_t(N) * g.OH * g.OW * C;
      for (const std::string kind : {"", " with ties", " with NaNs"}) {
        std::vector<float> x(xs), dy(ys);
        for (float& v : x) v = u(rng);
        for (float& v : dy) v = u(rng);
        if (kind == " with ties")
          for (float& v : x) v = std::round(v * 2);
        if (kind == " with NaNs")
          for (size_t i = 0; i < xs; i += 7) x[i] = kNaN;
        const std::string at = kind + name_of(pc, H, W);
        std::vector<float> y(ys, kNaN), y_ref(ys), dx(xs, kNaN), dx_ref(xs);
        cpu_fast::maxpool_forward(x.data(), g, y.data());
        cpu::maxpool_forward(x.data(), g, y_ref.data());
        expect_close("y" + at, y, y_ref, 0, 0);
        cpu_fast::maxpool_backward(x.data(), y.data(), g, dy.data(), false, dx.data());
        cpu::maxpool_backward(x.data(), g, dy.data(), dx_ref.data());
        expect_close("dx" + at, dx, dx_ref, 0, 0);
        auto xr = x;
        cpu::relu_forward(xr.data(), xr.data(), xs);
        std::vector<float> yr(ys), dxr(xs, kNaN), dxr_ref(xs);
        cpu_fast::maxpool_forward(xr.data(), g, yr.data());
        cpu_fast::maxpool_backward(xr.data(), yr.data(), g, dy.data(), true, dxr.data());
        cpu::maxpool_backward(xr.data(), g, dy.data(), dxr_ref.data());
        cpu::relu_backward(xr.data(), dxr_ref.data(), dxr_ref.data(), xs);
        expect_close("dx with its relu" + at, dxr, dxr_ref, 0, 0);
      }
    }
}

TEST(MaxPooling2D, FastPathMatchesReference) {
  for (const char* layer : {"max_pooling2d_1", "max_pooling2d_2", "max_pooling2d_3"})
    expect_fast_path_matches_reference("max_pooling2d", layer, 1e-5, 1e-6);
}

}  // namespace
