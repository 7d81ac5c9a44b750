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

constexpr const char* kLayer = "rescaling_1";

nlohmann::json golden() {
  const std::string path = std::string(ACTS_TEST_DATA) + "/ops/rescaling.json";
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

// Keras' model JSON with the Rescaling layer's config edited by `edit`.
std::string edited(const nlohmann::json& g, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json m = nlohmann::json::parse(g["model_json"].get<std::string>());
  for (nlohmann::json& l : m["config"]["layers"])
    if (l["class_name"] == "Rescaling") edit(l["config"]);
  return m.dump();
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
    x = golden_inputs(5, 3 * graph.input_size());
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

TEST(Rescaling, ReferenceMatchesKerasForwardLossAndGradients) {
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

TEST(Rescaling, FastPathMatchesReference) {
  std::string why;
  if (!cpu_fast::available(&why)) GTEST_SKIP() << "no CPU fast path in this build: " << why;
  GoldenRun run;
  auto ref = run.backend(true), fast = run.backend(false);
  for (auto* b : {ref.get(), fast.get()}) {
    b->forward(run.batch(), true);
    b->backward(run.batch());
  }
  expect_close("fast " + std::string(kLayer), fast->activation(kLayer), ref->activation(kLayer), 1e-6, 1e-7);
  expect_close("fast gradients", fast->grads(), ref->grads(), 1e-4, 1e-6);
}

}  // namespace
