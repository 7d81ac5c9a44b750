// Issue 21's first-step proof at full size: one training step of the two proof models
// (models/second_edition.json with Keras 3's RMSprop, models/flowers_bn.json with Adam and
// BatchNormalization in training mode) on the CPU reference and on the fast path, against Keras'
// own step (tests/fixtures/ops/proof_step_*.json, scripts/reference/ops/make_proof_step_goldens.py:
// same weights, same batch of 3, the models' random layers and Dropout left out on both sides).
// The golden keeps per tensor its L2 norm and 16 evenly spaced elements: every layer's output,
// every gradient, every parameter after the step (within 1e-5 relative, the bound), the
// size of the step and the moving statistics after the training forward.
//
// What float32 allows at this size: Keras' own float32 step against its float64 one on
// flowers_bn (the script run under JAX_ENABLE_X64 with floatx float64) differs by up to 1.7e-3
// relative on single gradient elements (small ones, where BatchNormalization's backward over
// 3 x 75 x 75 positions cancels most digits) and by up to 3.4e-5 relative (4e-7 absolute, a
// 2,500th of an Adam step) on parameters after the step. So elements are held to 1e-4 relative
// (gradients) and 1e-5 relative (parameters) plus an absolute slack of a thousandth of the
// tensor's RMS gradient and of a thousandth of a learning-rate step; the L2 norms, which average
// the rounding out, to 1e-4 and 1e-5 relative. The batch (input stream 8 for flowers_bn) has no
// relu input within float32 rounding of 0 on either CPU path: at one that had (stream 7: one
// element of 138,624 after batch_normalization_2), the fast path and the reference took the two
// sides of the relu's kink, both right in float32, and the gradients below it differed by 0.2%.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/ops/op_golden.h"

namespace acts {
namespace {

using test::expect_close;

struct Tolerance {
  double l2, rtol, atol;
  double rms = 0;  // more absolute slack: this fraction of the tensor's RMS value
};

double l2(const float* v, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double(v[i]) * v[i];
  return std::sqrt(s);
}

// `got` (n floats) against a golden summary: its size, its L2 norm, the 16 sampled elements.
void expect_summary(const std::string& what, const float* got, size_t n, const nlohmann::json& want,
                    const Tolerance& tol) {
  ASSERT_EQ(n, want["n"].get<size_t>()) << what;
  EXPECT_NEAR(l2(got, n), want["l2"].get<double>(), tol.l2 * want["l2"].get<double>() + 1e-12) << what << " L2 norm";
  const std::vector<double> values = want["value"].get<std::vector<double>>();
  const size_t samples = values.size();
  std::vector<float> picked(samples);
  for (size_t k = 0; k < samples; ++k) picked[k] = got[samples == n ? k : k * (n - 1) / (samples - 1)];
  const double rms = want["l2"].get<double>() / std::sqrt(double(n));
  expect_close(what + " (sampled elements)", picked.data(), values.data(), samples, tol.rtol, tol.atol + tol.rms * rms);
}

// Keras 3 names a variable by path (".../conv2d_1/kernel"); ours is "conv2d_1/kernel".
const nlohmann::json& by_path(const nlohmann::json& table, const std::string& name) {
  for (const auto& [path, v] : table.items())
    if (path == name || (path.size() > name.size() && path.compare(path.size() - name.size(), name.size(), name) == 0 &&
                         path[path.size() - name.size() - 1] == '/'))
      return v;
  ADD_FAILURE() << "the golden has no " << name;
  static const nlohmann::json none;
  return none;
}

BackendOptions golden_optimizer(const nlohmann::json& g, bool reference) {
  const nlohmann::json& o = g["optimizer"];
  BackendOptions opt;
  opt.max_batch = 3;
  opt.cpu_reference = reference;
  opt.lr = o["learning_rate"].get<float>();
  opt.eps = o["epsilon"].get<float>();
  if (o["name"] == "adam") {
    opt.optimizer = Optimizer::kAdam;
    opt.adam.beta1 = o["beta_1"].get<double>();
    opt.adam.beta2 = o["beta_2"].get<double>();
  } else {
    opt.rho = o["rho"].get<float>();
    opt.rmsprop_rule = RmspropRule::kKeras3;
  }
  return opt;
}

void expect_first_step_matches_keras(const std::string& model, bool reference) {
  if (!reference && !cpu_fast::available()) GTEST_SKIP() << "no CPU fast path in this build";
  const nlohmann::json g = test::op_golden("proof_step_" + model);
  const Graph graph(parse_keras_json(g["model_json"].get<std::string>(), g["source_model"].get<std::string>()));
  std::vector<float> x = test::golden_inputs(g["input_stream"].get<uint32_t>(), 3 * graph.input_size());
  const float scale = g["input_scale"].get<float>();
  for (float& v : x) v *= scale;  // pixels 0-255, as numpy's float32 product
  const std::vector<float> labels = g["labels"].get<std::vector<float>>();
  Batch batch;
  batch.n = 3;
  batch.inputs = x.data();
  batch.labels = labels.data();

  CpuBackend cpu(graph, golden_optimizer(g, reference));
  const double lr = g["optimizer"]["learning_rate"].get<double>();
  const std::vector<float> before = test::golden_params(graph);
  cpu.set_params(before);
  const std::string side = reference ? "reference " : "fast ";
  cpu.forward(batch, true);
  for (const Node& nd : graph.nodes()) {
    const std::vector<float> out = cpu.activation(nd.spec.name);
    expect_summary(side + "output of " + nd.spec.name, out.data(), out.size(), g["outputs"][nd.spec.name],
                   {1e-5, 1e-4, 1e-6});
  }
  cpu.backward(batch);
  EXPECT_NEAR(cpu.take_metrics().loss(), g["loss"].get<double>(), 1e-6);
  const std::vector<float> grads = cpu.grads();
  cpu.update();
  const std::vector<float> after = cpu.params();
  for (const ParamRef& p : graph.params()) {
    if (!p.trainable) {  // moving statistics: moved by the training forward, never by the optimizer
      expect_summary(side + "state after the step " + p.name, &after[p.offset], p.size,
                     by_path(g["state_after"], p.name), {1e-5, 1e-5, 1e-6});
      continue;
    }
    expect_summary(side + "gradient of " + p.name, &grads[p.offset], p.size, by_path(g["grads"], p.name),
                   {1e-4, 1e-4, 0, 1e-3});
    expect_summary(side + p.name + " after one step", &after[p.offset], p.size, by_path(g["after_step"], p.name),
                   {1e-5, 1e-5, 1e-3 * lr});
    std::vector<float> step(p.size);
    for (size_t i = 0; i < p.size; ++i) step[i] = after[p.offset + i] - before[p.offset + i];
    const double want = by_path(g["step_l2"], p.name).get<double>();
    EXPECT_NEAR(l2(step.data(), p.size), want, 1e-4 * want) << side << "size of the step of " << p.name;
  }
}

TEST(ProofStep, SecondEditionReferenceMatchesKeras) { expect_first_step_matches_keras("second_edition", true); }
TEST(ProofStep, SecondEditionFastPathMatchesKeras) { expect_first_step_matches_keras("second_edition", false); }
TEST(ProofStep, FlowersBnReferenceMatchesKeras) { expect_first_step_matches_keras("flowers_bn", true); }
TEST(ProofStep, FlowersBnFastPathMatchesKeras) { expect_first_step_matches_keras("flowers_bn", false); }

}  // namespace
}  // namespace acts
