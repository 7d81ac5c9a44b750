// The tanh and softmax activations (as `activation=` of Conv2D/Dense and as Activation layers)
// and the softmax head's categorical cross-entropy: Keras config, the CPU reference against Keras'
// own forward, loss and gradients (tests/fixtures/ops/softmax_tanh.json, written by
// scripts/reference/ops/make_softmax_tanh_golden.py with Keras 3 on JAX), the kernels' backward
// and the loss's gradient against finite differences, stability, the heads that are refused, and
// the fast path against the reference.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/activations.h"
#include "kernels/cpu/cce.h"
#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/core/head.h"
#include "runtime/core/model_spec.h"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "tests/compare.h"
#include "tests/numeric_grad.h"
#include "tests/ops/op_golden.h"

using namespace acts;
using acts::test::expect_close;

namespace {

nlohmann::json golden() { return acts::test::op_golden("softmax_tanh"); }

std::vector<double> random_doubles(size_t n, unsigned seed, double lo = -1, double hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = u(rng);
  return v;
}

TEST(Activation, TanhAndSoftmaxParseAsKerasNamesThemAndRoundTrip) {
  const nlohmann::json g = golden();
  Graph graph(parse_keras_json(g["model_json"].get<std::string>(), "golden"));
  EXPECT_EQ(graph.node("conv2d_1").spec.activation, Act::Tanh);
  EXPECT_EQ(graph.node("conv2d_2").spec.activation, Act::Softmax);
  EXPECT_EQ(graph.node("activation_1").spec.activation, Act::Tanh);
  EXPECT_EQ(graph.node("activation_2").spec.activation, Act::Softmax);
  EXPECT_EQ(graph.node("dense_2").spec.activation, Act::Softmax);
  EXPECT_EQ(head_kind(graph), HeadKind::kSoftmax);
  EXPECT_EQ(head_classes(graph), 3);
  const ModelSpec again = parse_keras_json(to_keras_json(graph.spec()), "round trip");
  EXPECT_EQ(again.layers[1].activation, Act::Softmax);
  EXPECT_EQ(again.layers[4].activation, Act::Tanh);
  EXPECT_EQ(acts::test::model_error(acts::test::edited_model(
                g, "Activation", [](nlohmann::json& c) { c["activation"] = "selu"; })),
            "m.json: layer activation_1 (Activation): activation 'selu' is not supported (supported: relu, sigmoid, "
            "tanh, softmax, linear)");
}

TEST(Activation, HeadsThatDoNotFitTheirLossAreRefusedNamingTheLayer) {
  const nlohmann::json g = golden();
  auto head = [&](int units, const char* act) {
    return acts::test::model_error(acts::test::edited_model(g, "Dense", [&](nlohmann::json& c) {
      if (c["name"] == "dense_2") c["units"] = units, c["activation"] = act;
    }));
  };
  EXPECT_EQ(head(3, "softmax"), "(no error)");
  EXPECT_EQ(head(1, "sigmoid"), "(no error)");
  EXPECT_EQ(head(1, "softmax"),
            "model: the last layer dense_2 (Dense, output (None, 1)) is a softmax over 1 unit, which is always 1; use "
            "Dense(1, activation='sigmoid') for two classes or Dense(N, activation='softmax') for N classes");
  EXPECT_EQ(head(5, "sigmoid"),
            "model: the last layer dense_2 (Dense, output (None, 5)) has 5 sigmoid units (multi-label), which this "
            "trainer does not support; use Dense(5, activation='softmax') for 5 classes, or Dense(1, "
            "activation='sigmoid') for two");
  EXPECT_EQ(head(3, "tanh"),
            "model: the last layer dense_2 (Dense, output (None, 3)) must be Dense(1, activation='sigmoid') for binary "
            "cross-entropy or Dense(N, activation='softmax') for categorical cross-entropy over N classes");
}

TEST(Activation, ReferenceMatchesKerasForwardLossAndGradients) {
  acts::test::expect_reference_matches_keras("softmax_tanh");
}

TEST(Activation, FastPathMatchesReference) {
  acts::test::expect_fast_path_matches_reference("softmax_tanh", "dense_2", 1e-5, 1e-7);
}

TEST(Activation, TanhBackwardIsTheForwardsDerivative) {
  std::vector<double> x = random_doubles(29, 3, -3, 3);
  const std::vector<double> r = random_doubles(29, 4);
  std::vector<double> y(x.size());
  auto loss = [&] {
    cpu::tanh_forward(x.data(), y.data(), x.size());
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += r[i] * y[i];
    return s;
  };
  const std::vector<double> numeric = acts::test::numeric_grad(x, loss);
  loss();
  std::vector<double> dx(x.size());
  cpu::tanh_backward(y.data(), r.data(), dx.data(), x.size());
  expect_close("tanh dx", dx, numeric, 1e-6, 1e-9);
}

TEST(Activation, SoftmaxBackwardIsTheForwardsDerivativeRowByRow) {
  const size_t rows = 4, cols = 5;
  std::vector<double> x = random_doubles(rows * cols, 5, -4, 4);
  const std::vector<double> r = random_doubles(rows * cols, 6);
  std::vector<double> y(x.size());
  auto loss = [&] {
    cpu::softmax_forward(x.data(), y.data(), x.size(), cols);
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += r[i] * y[i];
    return s;
  };
  const std::vector<double> numeric = acts::test::numeric_grad(x, loss);
  loss();
  std::vector<double> dx(r);
  cpu::softmax_backward(y.data(), dx.data(), dx.data(), x.size(), cols);  // in place, as the ops run it
  expect_close("softmax dx", dx, numeric, 1e-6, 1e-9);
}

TEST(Activation, SoftmaxIsStableForHugeLogits) {
  const std::vector<float> x = {1000.f, 999.f, -1000.f, -88.f, -89.f, -3000.f};
  std::vector<float> y(6);
  cpu::softmax_forward(x.data(), y.data(), 6, 3);
  const double e = std::exp(-1.0);
  expect_close("softmax", y, std::vector<double>{1 / (1 + e), e / (1 + e), 0, 1 / (1 + e), e / (1 + e), 0}, 1e-6,
               1e-30);
}

// The loss of one image from its softmax probabilities, as Keras' categorical_crossentropy.
double keras_cce(const std::vector<double>& z, int t) {
  double m = z[0], s = 0;
  for (double v : z) m = std::max(m, v);
  for (double v : z) s += std::exp(v - m);
  const double p = std::exp(z[size_t(t)] - m) / s;
  return -std::log(std::min(std::max(p, 1e-7), 1 - 1e-7));
}

TEST(SoftmaxCrossEntropy, LossIsKerasClippedFormulaAndGradientIsItsDerivative) {
  const int n = 3, classes = 4;
  std::vector<double> z = random_doubles(n * classes, 7, -3, 3);
  const std::vector<double> labels = {3, 0, 1};
  double correct = 0;
  std::vector<double> dz(z.size());
  const double sum = cpu::softmax_ce_from_logits(z.data(), labels.data(), n, classes, dz.data(), &correct);
  double want = 0, want_correct = 0;
  for (int i = 0; i < n; ++i) {
    const std::vector<double> row(z.begin() + i * classes, z.begin() + (i + 1) * classes);
    want += keras_cce(row, int(labels[size_t(i)]));
    want_correct += std::max_element(row.begin(), row.end()) - row.begin() == long(labels[size_t(i)]);
  }
  EXPECT_NEAR(sum, want, 1e-12);
  EXPECT_EQ(correct, want_correct);
  auto mean_loss = [&] {
    return cpu::softmax_ce_from_logits(z.data(), labels.data(), n, classes, static_cast<double*>(nullptr), nullptr) / n;
  };
  expect_close("dz", dz, acts::test::numeric_grad(z, mean_loss), 1e-6, 1e-9);
}

TEST(SoftmaxCrossEntropy, HugeLogitsGiveTheClippedLossAndNoGradient) {
  const std::vector<float> z = {0.f, 50.f, -50.f, 1e30f, 0.f, 0.f};
  const std::vector<float> labels = {0, 0};  // image 0: p_0 = e^-50 (clipped at 1e-7); image 1: p_0 = 1
  std::vector<float> dz(6, NAN);
  double correct = 0;
  const double sum = cpu::softmax_ce_from_logits(z.data(), labels.data(), 2, 3, dz.data(), &correct);
  EXPECT_NEAR(sum, -std::log(1e-7) - std::log(1 - 1e-7), 1e-9);
  EXPECT_EQ(dz, std::vector<float>(6, 0.f)) << "Keras' clip passes no gradient";
  EXPECT_EQ(correct, 1);
}

TEST(SoftmaxCrossEntropy, TiesGoToTheFirstClassAndBadLabelsGiveNan) {
  const std::vector<float> z = {1.f, 1.f, 0.f, 1.f, 1.f, 0.f};
  double correct = 0;
  std::vector<float> labels = {0, 1};
  cpu::softmax_ce_from_logits(z.data(), labels.data(), 2, 3, static_cast<float*>(nullptr), &correct);
  EXPECT_EQ(correct, 1) << "np.argmax: the first maximum";
  for (float bad : {3.f, -1.f, 0.5f, NAN}) {
    labels = {bad, 0};
    EXPECT_TRUE(std::isnan(
        cpu::softmax_ce_from_logits(z.data(), labels.data(), 2, 3, static_cast<float*>(nullptr), nullptr)))
        << bad;
  }
}

TEST(SoftmaxCrossEntropy, BackendRefusesABatchWhoseLabelIsNotAClassIndex) {
  acts::test::OpGoldenRun run("softmax_tanh");
  auto cpu = run.backend(true);
  run.labels = {2, 3, 0};
  try {
    cpu->eval_step(run.batch());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "batch label 3 of image 1 is not a class index of the 3-class head");
  }
}

// The multi-class first step against Keras: same weights, same batch, Keras' RMSprop (Keras 3's
// rule and defaults); every parameter after the step within 1e-5 relative, on both CPU paths.
TEST(SoftmaxHead, FirstRmspropStepMatchesKeras) {
  acts::test::expect_reference_matches_keras("softmax_step");
  for (bool reference : {true, false}) {
    if (!reference && !cpu_fast::available()) continue;
    acts::test::OpGoldenRun run("softmax_step");
    const nlohmann::json& k = run.g["rmsprop"];
    BackendOptions o;
    o.max_batch = 3;
    o.cpu_reference = reference;
    o.lr = k["learning_rate"].get<float>();
    o.rho = k["rho"].get<float>();
    o.eps = k["epsilon"].get<float>();
    o.rmsprop_rule = RmspropRule::kKeras3;
    CpuBackend cpu(run.graph, o);
    cpu.set_params(acts::test::golden_params(run.graph));
    cpu.train_step(run.batch());
    EXPECT_NEAR(cpu.take_metrics().loss(), run.g["loss"].get<double>(), 1e-6);
    const std::vector<float> w = cpu.params();
    for (const ParamRef& p : run.graph.params()) {
      const nlohmann::json* want = nullptr;  // Keras 3 names it by path: ".../dense_2/kernel"
      for (const auto& [path, v] : k["after_step"].items())
        if (path.size() >= p.name.size() && path.compare(path.size() - p.name.size(), p.name.size(), p.name) == 0)
          want = &v;
      ASSERT_NE(want, nullptr) << "no Keras parameter " << p.name;
      expect_close(std::string(reference ? "reference " : "fast ") + p.name + " after one step", &w[p.offset],
                   want->get<std::vector<double>>().data(), p.size, 1e-5, 1e-8);
    }
  }
}

}  // namespace
