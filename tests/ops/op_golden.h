// What every op's test shares (tests/ops/<name>_test.cpp): its Keras golden
// (tests/fixtures/ops/<name>.json, written through scripts/reference/ops/op_golden.py), the golden
// model on the CPU backend with the golden's weights and batch, and the checks every op makes
// against it: the reference equals Keras' forward, loss and gradients; the fast path equals the
// reference.
#pragma once
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"

namespace acts::test {

// The error a model JSON gives ("(no error)" when it builds), named "m.json".
inline std::string model_error(const std::string& model_json) {
  try {
    Graph g(parse_keras_json(model_json, "m.json"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The golden's model JSON with the config of its `keras_class` layers edited by `edit`.
inline std::string edited_model(const nlohmann::json& golden, const std::string& keras_class,
                                const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json m = nlohmann::json::parse(golden["model_json"].get<std::string>());
  for (nlohmann::json& l : m["config"]["layers"])
    if (l["class_name"] == keras_class) edit(l["config"]);
  return m.dump();
}

inline nlohmann::json op_golden(const std::string& op) {
  const std::string path = std::string(ACTS_TEST_DATA) + "/ops/" + op + ".json";
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return nlohmann::json::parse(f);
}

// The golden's model (batch 3, the golden's labels, inputs of its input_stream) on the CPU backend.
struct OpGoldenRun {
  explicit OpGoldenRun(const std::string& op)
      : g(op_golden(op)), graph(parse_keras_json(g["model_json"].get<std::string>(), "golden")) {
    x = golden_inputs(g["input_stream"].get<int>(), 3 * graph.input_size());
    labels = g["labels"].get<std::vector<float>>();
  }
  Batch batch() const {
    Batch b;
    b.n = 3;
    b.inputs = x.data();
    b.labels = labels.data();
    return b;
  }
  std::unique_ptr<CpuBackend> backend(bool reference) const {
    BackendOptions o;
    o.max_batch = 3;
    o.cpu_reference = reference;
    auto b = std::make_unique<CpuBackend>(graph, o);
    b->set_params(golden_params(graph));
    return b;
  }
  nlohmann::json g;
  Graph graph;
  std::vector<float> x, labels;
};

// The CPU reference against Keras: every layer's output, the loss, every parameter's gradient.
inline void expect_reference_matches_keras(const std::string& op) {
  OpGoldenRun run(op);
  auto cpu = run.backend(true);
  cpu->forward(run.batch(), true);
  for (const Node& nd : run.graph.nodes()) {
    const auto want = run.g["outputs"][nd.spec.name].get<std::vector<double>>();
    expect_close("Keras " + nd.spec.name, cpu->activation(nd.spec.name), want, 1e-5, 1e-6);
  }
  cpu->backward(run.batch());
  EXPECT_NEAR(cpu->take_metrics().loss(), run.g["loss"].get<double>(), 1e-6);
  const std::vector<float> grads = cpu->grads();
  const std::vector<float> state = cpu->params();
  for (const ParamRef& p : run.graph.params()) {
    if (!p.trainable) {  // state (moving statistics): no gradient; the training forward's update
      expect_close("gradient of non-trainable " + p.name, &grads[p.offset], std::vector<double>(p.size, 0.0).data(),
                   p.size, 0, 0);
      if (!run.g.contains("state_after")) continue;
      for (const auto& [path, v] : run.g["state_after"].items())
        if (path.size() >= p.name.size() && path.compare(path.size() - p.name.size(), p.name.size(), p.name) == 0)
          expect_close("Keras state after the training forward " + p.name, &state[p.offset],
                       v.get<std::vector<double>>().data(), p.size, 1e-5, 1e-6);
      continue;
    }
    const nlohmann::json* want = nullptr;  // Keras 3 names it by path: ".../conv2d_1/kernel"
    for (const auto& [path, v] : run.g["grads"].items())
      if (path.size() >= p.name.size() && path.compare(path.size() - p.name.size(), p.name.size(), p.name) == 0)
        want = &v;
    ASSERT_NE(want, nullptr) << "no Keras gradient for " << p.name;
    expect_close("Keras gradient " + p.name, &grads[p.offset], want->get<std::vector<double>>().data(), p.size, 1e-4,
                 1e-7);
  }
}

// The fast path against the reference on the golden model: `layer`'s output and every gradient.
inline void expect_fast_path_matches_reference(const std::string& op, const std::string& layer, double rtol,
                                               double atol) {
  std::string why;
  if (!cpu_fast::available(&why)) GTEST_SKIP() << "no CPU fast path in this build: " << why;
  OpGoldenRun run(op);
  auto ref = run.backend(true), fast = run.backend(false);
  for (auto* b : {ref.get(), fast.get()}) {
    b->forward(run.batch(), true);
    b->backward(run.batch());
  }
  expect_close("fast " + layer, fast->activation(layer), ref->activation(layer), rtol, atol);
  expect_close("fast gradients", fast->grads(), ref->grads(), 1e-4, 1e-6);
}

}  // namespace acts::test
