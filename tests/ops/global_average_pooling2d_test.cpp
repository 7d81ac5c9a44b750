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
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/numeric_grad.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::golden_inputs;
using acts::test::golden_params;

namespace {

constexpr const char* kLayer = "global_average_pooling2d_1";

nlohmann::json golden() {
  const std::string path = std::string(ACTS_TEST_DATA) + "/ops/global_average_pooling2d.json";
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return nlohmann::json::parse(f);
}

std::string error_of(const std::string& model_json) {
  try {
    Graph g(parse_keras_json(model_json, "m.json"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Keras' model JSON with the pooling layer's config edited by `edit`.
std::string edited(const nlohmann::json& g, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json m = nlohmann::json::parse(g["model_json"].get<std::string>());
  for (nlohmann::json& l : m["config"]["layers"])
    if (l["class_name"] == "GlobalAveragePooling2D") edit(l["config"]);
  return m.dump();
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

// The model of the golden on the CPU backend, with the golden's weights and batch.
struct GoldenRun {
  nlohmann::json g = golden();
  Graph graph{parse_keras_json(g["model_json"].get<std::string>(), "golden")};
  std::vector<float> x, labels;
  Batch batch() const {
    Batch b;
    b.n = 3;
    b.inputs = x.data();
    b.labels = labels.data();
    return b;
  }
  GoldenRun() {
    x = golden_inputs(4, 3 * graph.input_size());
    labels = g["labels"].get<std::vector<float>>();
  }
  std::unique_ptr<CpuBackend> backend(bool reference) const {
    BackendOptions o;
    o.max_batch = 3;
    o.cpu_reference = reference;
    auto b = std::make_unique<CpuBackend>(graph, o);
    b->set_params(golden_params(graph));
    return b;
  }
};

TEST(GlobalAveragePooling2D, ReferenceMatchesKerasForwardLossAndGradients) {
  GoldenRun run;
  auto cpu = run.backend(true);
  cpu->forward(run.batch(), true);
  for (const Node& nd : run.graph.nodes()) {
    const auto want = run.g["outputs"][nd.spec.name].get<std::vector<double>>();
    expect_close("Keras " + nd.spec.name, cpu->activation(nd.spec.name), want, 1e-5, 1e-6);
  }
  cpu->backward(run.batch());
  EXPECT_NEAR(cpu->take_metrics().loss(), run.g["loss"].get<double>(), 1e-6);
  const std::vector<float> grads = cpu->grads();
  for (const ParamRef& p : run.graph.params()) {
    const nlohmann::json* want = nullptr;  // Keras 3 names it by path: ".../conv2d_1/kernel"
    for (const auto& [path, v] : run.g["grads"].items())
      if (path.size() >= p.name.size() && path.compare(path.size() - p.name.size(), p.name.size(), p.name) == 0)
        want = &v;
    ASSERT_NE(want, nullptr) << "no Keras gradient for " << p.name;
    expect_close("Keras gradient " + p.name, &grads[p.offset], want->get<std::vector<double>>().data(), p.size, 1e-4,
                 1e-7);
  }
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
  std::string why;
  if (!cpu_fast::available(&why)) GTEST_SKIP() << "no CPU fast path in this build: " << why;
  GoldenRun run;
  auto ref = run.backend(true), fast = run.backend(false);
  for (auto* b : {ref.get(), fast.get()}) {
    b->forward(run.batch(), true);
    b->backward(run.batch());
  }
  expect_close("fast " + std::string(kLayer), fast->activation(kLayer), ref->activation(kLayer), 1e-5, 1e-6);
  expect_close("fast gradients", fast->grads(), ref->grads(), 1e-4, 1e-6);
}

}  // namespace
