// BatchNormalization: its Keras config, parameters, initial values and summary; the CPU reference
// against Keras' own training-mode forward, loss, gradients and moving statistics, and its
// inference-mode outputs (tests/fixtures/ops/batch_normalization.json, written by
// scripts/reference/ops/make_batch_normalization_golden.py with Keras 3 on JAX); its backward
// against finite differences in both modes; the optimizer step leaving the moving statistics; the
// fast path against the reference; checkpoints keeping the statistics.
#include "kernels/cpu/batch_normalization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "runtime/core/checkpoint.h"
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
using acts::test::OpGoldenRun;

namespace {

nlohmann::json golden() { return op_golden("batch_normalization"); }

std::string error_of(const std::string& model_json) { return acts::test::model_error(model_json); }

// The golden's model JSON with the first BatchNormalization's config edited by `edit`.
std::string edited(const nlohmann::json& g, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json m = nlohmann::json::parse(g["model_json"].get<std::string>());
  for (nlohmann::json& l : m["config"]["layers"])
    if (l["class_name"] == "BatchNormalization") {
      edit(l["config"]);
      break;
    }
  return m.dump();
}

const ParamRef& param(const Graph& g, const std::string& name) {
  for (const ParamRef& p : g.params())
    if (p.name == name) return p;
  throw std::runtime_error("no parameter " + name);
}

TEST(BatchNormalization, KerasJsonParsesToKerasParametersAndSummary) {
  Graph graph(parse_keras_json(golden()["model_json"].get<std::string>(), "golden"));
  const Node& bn1 = graph.node("batch_normalization_1");  // after a Conv2D: (3, 5, 3)
  EXPECT_EQ(bn1.spec.type, LayerType::BatchNormalization);
  EXPECT_EQ(bn1.out_shape, (std::vector<int>{3, 5, 3}));
  EXPECT_EQ(bn1.param_count, 12u);
  std::vector<std::string> names;
  for (int k : bn1.params)
    names.push_back(graph.params()[size_t(k)].name + (graph.params()[size_t(k)].trainable ? "" : " (state)"));
  EXPECT_EQ(names, (std::vector<std::string>{"batch_normalization_1/gamma", "batch_normalization_1/beta",
                                             "batch_normalization_1/moving_mean (state)",
                                             "batch_normalization_1/moving_variance (state)"}));
  EXPECT_EQ(graph.node("batch_normalization_2").param_count, 9u);   // scale=False: no gamma
  EXPECT_EQ(graph.node("batch_normalization_3").param_count, 12u);  // center=False, after a Dense: (4)
  EXPECT_EQ(graph.node("batch_normalization_3").out_shape, (std::vector<int>{4}));
  EXPECT_NO_THROW(param(graph, "batch_normalization_2/beta"));
  EXPECT_NO_THROW(param(graph, "batch_normalization_3/gamma"));
  const std::string summary = graph.summary();
  // As Keras prints it: the moving statistics are the non-trainable parameters (2 x (3 + 3 + 4)).
  EXPECT_NE(summary.find("batch_normalization_1 (Batch (None, 3, 5, 3)           12"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Total params: 219\nTrainable params: 199\nNon-trainable params: 20\n"), std::string::npos)
      << summary;
  // The config survives our own JSON (checkpoints): momentum, epsilon, center, scale.
  Graph again(parse_keras_json(to_keras_json(graph.spec()), "round trip"));
  EXPECT_EQ(again.summary(), summary);
  EXPECT_EQ(again.node("batch_normalization_2").spec.attrs, graph.node("batch_normalization_2").spec.attrs);
  EXPECT_EQ(graph.node("batch_normalization_3").spec.attrs.at("momentum"), 0.8);
  EXPECT_EQ(graph.node("batch_normalization_3").spec.attrs.at("epsilon"), 0.1);
}

TEST(BatchNormalization, InitialValuesAreKerasDefaults) {
  Graph graph(parse_keras_json(golden()["model_json"].get<std::string>(), "golden"));
  const std::vector<float> w = init_params(graph, 7);
  auto values = [&](const std::string& name) {
    const ParamRef& p = param(graph, name);
    return std::vector<float>(w.begin() + long(p.offset), w.begin() + long(p.offset + p.size));
  };
  EXPECT_EQ(values("batch_normalization_1/gamma"), std::vector<float>(3, 1.f));
  EXPECT_EQ(values("batch_normalization_1/beta"), std::vector<float>(3, 0.f));
  EXPECT_EQ(values("batch_normalization_1/moving_mean"), std::vector<float>(3, 0.f));
  EXPECT_EQ(values("batch_normalization_1/moving_variance"), std::vector<float>(3, 1.f));
  EXPECT_EQ(values("batch_normalization_3/gamma"), std::vector<float>(4, 1.f));
  EXPECT_NE(values("conv2d_1/kernel")[0], 0.f);  // kernels still Glorot
}

TEST(BatchNormalization, BadConfigsNameTheLayerAndTheFix) {
  const nlohmann::json g = golden();
  const std::string at = "m.json: layer batch_normalization_1 (BatchNormalization): ";
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["axis"] = 1; })),
            "batch_normalization_1 (BatchNormalization) with input (None, 3, 5, 3): axis=1 is not supported: only "
            "the last axis (axis=-1, channels_last) is normalised");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["axis"] = 3; })), "(no error)");  // the last axis by number
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["axis"] = nlohmann::json::array({3}); })), "(no error)");
  EXPECT_EQ(error_of(edited(g,
                            [](nlohmann::json& c) {
                              c["axis"] = nlohmann::json::array({1, 2});
                            })),
            at + "axis=[1,2] is not supported (only the last axis, -1)");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["renorm"] = true; })),
            at + "renorm=true is not supported (only false: plain batch statistics)");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["synchronized"] = true; })),
            at + "synchronized=true is not supported (only false; one device's batch statistics are the same)");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["momentum"] = 1.5; })),
            at + "momentum must be in [0, 1], not 1.5");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["epsilon"] = 0; })), at + "epsilon must be positive, not 0");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["epsilon"] = "small"; })),
            at + "epsilon must be a finite number, not \"small\"");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["center"] = "yes"; })),
            at + "center must be true or false, not \"yes\"");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["virtual_batch_size"] = 2; })),
            at + "virtual_batch_size=2 is not supported (only null)");
  EXPECT_EQ(error_of(edited(g, [](nlohmann::json& c) { c["gamma_regularizer"] = "l2"; })),
            at + "gamma_regularizer=\"l2\" is not supported (only null)");
}

TEST(BatchNormalization, ReferenceMatchesKerasTrainingForwardLossGradientsAndMovingStatistics) {
  expect_reference_matches_keras("batch_normalization");
}

TEST(BatchNormalization, InferenceModeUsesTheMovingStatisticsAsKeras) {
  for (bool reference : {true, false}) {
    OpGoldenRun run("batch_normalization");
    auto cpu = run.backend(reference);
    cpu->forward(run.batch(), false);
    ASSERT_EQ(run.g["inference_outputs"].size(), 4u);  // the three BatchNormalization layers and the last
    for (const auto& [layer, want] : run.g["inference_outputs"].items())
      expect_close(std::string(reference ? "" : "fast ") + "inference " + layer, cpu->activation(layer),
                   want.get<std::vector<double>>(), 1e-5, 1e-6);
    EXPECT_EQ(cpu->params(), acts::test::golden_params(run.graph));  // an inference forward changes no state
  }
}

// Random (M, C) data and the loss sum r y; the analytic backward against central differences,
// in double, with the batch statistics (training) and with fixed statistics (inference).
void expect_backward_is_the_derivative(bool training, bool with_gamma) {
  const size_t M = 2 * 3 * 5;  // N H W of a 2 x 3 x 5 batch
  const int C = 3;
  std::mt19937 rng(training ? 3 : 4);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(M * C), r(x.size()), y(x.size()), gamma(static_cast<size_t>(C)), beta(static_cast<size_t>(C)),
      mean(static_cast<size_t>(C)), var(static_cast<size_t>(C));
  for (double& v : x) v = 2 * u(rng) + 0.5;
  for (double& v : r) v = u(rng);
  for (double& v : gamma) v = 1 + 0.5 * u(rng);
  for (double& v : beta) v = u(rng);
  for (int c = 0; c < C; ++c) {
    mean[size_t(c)] = 0.3 * u(rng);
    var[size_t(c)] = 1 + 0.5 * u(rng);
  }
  const double eps = 1e-3;
  const double* g = with_gamma ? gamma.data() : nullptr;
  auto loss = [&] {
    if (training) {
      std::vector<double> mm(size_t(C), 0), mv(size_t(C), 1), bm, bv;
      cpu::batch_normalization_train_forward(x.data(), M, C, g, beta.data(), 0.99, eps, y.data(), mm.data(), mv.data(),
                                             bm, bv);
    } else {
      cpu::batch_normalize(x.data(), M, C, mean.data(), var.data(), g, beta.data(), eps, y.data());
    }
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
    return s;
  };
  const std::vector<double> dx_num = acts::test::numeric_grad(x, loss);
  const std::vector<double> dgamma_num = acts::test::numeric_grad(gamma, loss);
  const std::vector<double> dbeta_num = acts::test::numeric_grad(beta, loss);
  std::vector<double> bm = mean, bv = var;
  if (training) cpu::batch_moments(x.data(), M, C, bm, bv);
  std::vector<double> dx(x.size(), NAN), dgamma(size_t(C), NAN), dbeta(size_t(C), NAN);
  cpu::batch_normalization_backward(r.data(), x.data(), M, C, g, bm.data(), bv.data(), eps, training, dx.data(),
                                    dgamma.data(), dbeta.data());
  expect_close("dx", dx, dx_num, 1e-6, 1e-8);
  if (with_gamma) expect_close("dgamma", dgamma, dgamma_num, 1e-6, 1e-8);
  expect_close("dbeta", dbeta, dbeta_num, 1e-6, 1e-8);
}

TEST(BatchNormalization, TrainingBackwardIsTheForwardsDerivative) {
  expect_backward_is_the_derivative(true, true);
  expect_backward_is_the_derivative(true, false);
}

TEST(BatchNormalization, InferenceBackwardIsTheForwardsDerivative) { expect_backward_is_the_derivative(false, true); }

TEST(BatchNormalization, OptimizerStepLeavesTheMovingStatistics) {
  OpGoldenRun run("batch_normalization");
  auto cpu = run.backend(true);
  cpu->forward(run.batch(), true);
  const std::vector<float> after_forward = cpu->params();
  cpu->backward(run.batch());
  cpu->update();
  const std::vector<float> after_step = cpu->params();
  for (const ParamRef& p : run.graph.params()) {
    const std::vector<float> a(after_forward.begin() + long(p.offset), after_forward.begin() + long(p.offset + p.size));
    const std::vector<float> b(after_step.begin() + long(p.offset), after_step.begin() + long(p.offset + p.size));
    if (p.trainable)
      EXPECT_NE(a, b) << p.name << " did not train";
    else
      EXPECT_EQ(a, b) << p.name << " was moved by the optimizer";
  }
}

TEST(BatchNormalization, FrozenLayerRunsInInferenceModeAsKeras) {
  const nlohmann::json g = golden();
  OpGoldenRun run("batch_normalization");
  ModelSpec spec = run.graph.spec();
  for (LayerSpec& s : spec.layers)
    if (s.type == LayerType::BatchNormalization) s.attrs["trainable"] = 0;
  Graph frozen(spec);
  BackendOptions o;
  o.max_batch = 3;
  o.cpu_reference = true;
  CpuBackend cpu(frozen, o);
  cpu.set_params(acts::test::golden_params(frozen));
  cpu.forward(run.batch(), true);
  expect_close("frozen batch_normalization_1", cpu.activation("batch_normalization_1"),
               g["inference_outputs"]["batch_normalization_1"].get<std::vector<double>>(), 1e-5, 1e-6);
  EXPECT_EQ(cpu.params(), acts::test::golden_params(frozen));
}

TEST(BatchNormalization, FastPathMatchesReference) {
  expect_fast_path_matches_reference("batch_normalization", "batch_normalization_1", 1e-5, 1e-6);
  expect_fast_path_matches_reference("batch_normalization", "batch_normalization_3", 1e-5, 1e-6);
  OpGoldenRun run("batch_normalization");
  auto ref = run.backend(true), fast = run.backend(false);
  for (auto* b : {ref.get(), fast.get()}) b->forward(run.batch(), true);
  expect_close("fast moving statistics", fast->params(), ref->params(), 1e-6, 1e-7);
}

TEST(BatchNormalization, CheckpointKeepsTheMovingStatistics) {
  OpGoldenRun run("batch_normalization");
  auto cpu = run.backend(true);
  cpu->forward(run.batch(), true);
  cpu->backward(run.batch());
  cpu->update();
  Checkpoint c;
  c.model = run.graph.spec();
  c.params = cpu->params();
  c.opt_state = cpu->opt_state();
  c.meta["epoch"] = "1";
  const std::string path = (std::filesystem::temp_directory_path() / "acts_bn_checkpoint_test.ckpt").string();
  save_checkpoint(path, c);
  const Checkpoint back = load_checkpoint(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.params, c.params);
  Graph g2(back.model);
  EXPECT_EQ(g2.summary(), run.graph.summary());
  auto resumed = run.backend(true);
  resumed->set_params(back.params);
  cpu->forward(run.batch(), false);
  resumed->forward(run.batch(), false);
  EXPECT_EQ(resumed->activation("batch_normalization_3"), cpu->activation("batch_normalization_3"));
}

}  // namespace
