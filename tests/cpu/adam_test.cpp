// Adam (kernels/adam_rule.h, kernels/cpu/adam.h, CpuBackend with Optimizer::kAdam): the rule by
// hand, three steps of the CPU reference and the fast path against Keras 3's own
// (tests/fixtures/adam/keras3_adam3.json, scripts/reference/make_adam_golden.py), the fast path
// equal to the reference, parameters without gradient left alone, and a run continued from its
// saved state (checkpoint included) equal to one that never stopped.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/adam.h"
#include "runtime/core/checkpoint.h"
#include "runtime/core/model_spec.h"
#include "runtime/cpu/cpu_backend.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/test_models.h"

namespace acts {
namespace {

TEST(Adam, AlphaIsKerasFloat32Value) {
  // alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t) in float32 with float32 betas, as Keras 3 forms
  // it; float32's 1 - 0.999^t loses digits (t = 2: 3e-6 relative from the exact value), and so does
  // Keras'. The values are TensorFlow's own (tf.pow/tf.sqrt on float32 tensors, keras 3.15 /
  // tensorflow 2.21), printed to 9 digits, which read back as the same floats.
  EXPECT_EQ(adam_alpha(1e-3f, 0.9f, 0.999f, 1), 0.000316225662f);
  EXPECT_EQ(adam_alpha(1e-3f, 0.9f, 0.999f, 2), 0.000235314379f);
  EXPECT_EQ(adam_alpha(1e-3f, 0.9f, 0.999f, 3), 0.000202009876f);
  EXPECT_EQ(adam_alpha(1e-3f, 0.9f, 0.999f, 10), 0.000153188041f);
  EXPECT_EQ(adam_alpha(1e-3f, 0.9f, 0.999f, 1000), 0.000795172877f);
}

TEST(Adam, TwoStepsMatchHandComputedValues) {
  // g = 0.5, then -0.25, from m = v = 0:  m1 = 0.05, v1 = 2.5e-4;  m2 = 0.02, v2 = 3.1225e-4;
  // w -= m alpha_t / (sqrt(v) + 1e-7) each step (double arithmetic here; float32 within 2e-7).
  const AdamHyper h;
  float w = 1, m = 0, v = 0;
  const float g1 = 0.5f, g2 = -0.25f;
  const float a1 = adam_alpha(1e-3f, 0.9f, 0.999f, 1), a2 = adam_alpha(1e-3f, 0.9f, 0.999f, 2);
  cpu::adam_update(&w, &g1, &m, &v, 1, a1, h.one_minus_beta1(), h.one_minus_beta2(), 1e-7f);
  EXPECT_NEAR(m, 0.05, 1e-8);
  EXPECT_NEAR(v, 2.5e-4, 1e-10);
  const double w1 = 1 - 0.05 * a1 / (std::sqrt(2.5e-4) + 1e-7);
  EXPECT_NEAR(w, w1, 2e-7);
  cpu::adam_update(&w, &g2, &m, &v, 1, a2, h.one_minus_beta1(), h.one_minus_beta2(), 1e-7f);
  EXPECT_NEAR(m, 0.02, 1e-8);
  EXPECT_NEAR(v, 3.1225e-4, 1e-10);
  EXPECT_NEAR(w, w1 - 0.02 * a2 / (std::sqrt(3.1225e-4) + 1e-7), 2e-7);
}

TEST(Adam, AParameterWithoutGradientNeverMoves) {
  // What the CUDA layout's zero padding and BatchNormalization's moving statistics (gradient 0)
  // rely on: from m = v = 0, a zero gradient leaves m, v and w exactly as they were.
  std::vector<float> w = {0.5f, -2.f, 0.f, 3e-8f}, g(4, 0.f), m(4, 0.f), v(4, 0.f);
  const std::vector<float> w0 = w;
  const AdamHyper h;
  for (uint64_t t = 1; t <= 5; ++t)
    cpu::adam_update(w.data(), g.data(), m.data(), v.data(), w.size(), adam_alpha(1e-3f, 0.9f, 0.999f, t),
                     h.one_minus_beta1(), h.one_minus_beta2(), 1e-7f);
  EXPECT_EQ(w, w0);
  EXPECT_EQ(m, std::vector<float>(4, 0.f));
  EXPECT_EQ(v, std::vector<float>(4, 0.f));
}

struct Golden {
  nlohmann::json j;
  ModelSpec spec;
};

Golden keras3_golden() {
  std::ifstream in(std::string(ACTS_TEST_DATA) + "/adam/keras3_adam3.json");
  std::stringstream ss;
  ss << in.rdbuf();
  Golden g;
  g.j = nlohmann::json::parse(ss.str());
  g.spec = parse_keras_json(g.j.at("model_json").get<std::string>(), "keras3_adam3.json");
  return g;
}

BackendOptions adam_options(bool reference, int n) {
  BackendOptions o;
  o.cpu_reference = reference;
  o.max_batch = n;
  o.optimizer = Optimizer::kAdam;
  o.lr = 1e-3f;  // Keras 3's defaults
  o.eps = 1e-7f;
  return o;
}

// The golden's batch: inputs u(stream, k), its labels.
struct GoldenBatch {
  std::vector<float> x, y;
  Batch b;
  GoldenBatch(const Golden& gd, const Graph& g) {
    const int n = gd.j.at("n");
    x = test::golden_inputs(gd.j.at("input_stream"), size_t(n) * g.input_size());
    y = gd.j.at("y").get<std::vector<float>>();
    b.n = n;
    b.inputs = x.data();
    b.labels = y.data();
  }
};

class AdamPaths : public ::testing::TestWithParam<bool> {};  // cpu_reference

TEST_P(AdamPaths, ThreeStepsMatchKeras3) {
  const Golden gd = keras3_golden();
  const Graph g(gd.spec);
  GoldenBatch gb(gd, g);
  CpuBackend be(g, adam_options(GetParam(), gb.b.n));
  be.set_params(test::golden_params(g));
  for (int s = 0; s < gd.j.at("steps").get<int>(); ++s) be.train_step(gb.b);
  EXPECT_EQ(be.opt_iterations(), gd.j.at("iterations").get<uint64_t>());
  const std::vector<float> state = be.opt_state();
  const size_t n = g.param_count();
  ASSERT_EQ(state.size(), 2 * n);
  // Keras' float32 forward and backward round apart from ours: the gradients, hence m and v,
  // differ by up to ~3e-6 relative (measured: 2e-6), more where a gradient's sum cancels (m[7] of
  // the fast path, 4e-9 absolute on 3.7e-4, 1% of the largest m: the atol below); Adam's step, about lr whatever the
  // gradient's size, carries that into the weights as less than 1e-7 relative (measured: all
  // 75 within 1e-7).
  test::expect_close("weights", be.params(), gd.j.at("w").get<std::vector<float>>(), 1e-6, 0);
  test::expect_close("m", std::vector<float>(state.begin(), state.begin() + long(n)),
                     gd.j.at("m").get<std::vector<float>>(), 1e-5, 1e-8);
  test::expect_close("v", std::vector<float>(state.begin() + long(n), state.end()),
                     gd.j.at("v").get<std::vector<float>>(), 1e-5, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Cpu, AdamPaths, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Reference" : "Fast"; });

// A model large enough that the fast path splits the update across threads (over 2^15 values).
struct Tutorial48 {
  Graph g{tutorial_model(48)};
  std::vector<float> x, y = {1, 0};
  Batch b;
  Tutorial48() {
    x = test::golden_inputs(7, 2 * g.input_size());
    b.n = 2;
    b.inputs = x.data();
    b.labels = y.data();
  }
};

TEST(Adam, FastPathUpdateIsTheReferenceKernelBitForBit) {
  Tutorial48 t;
  ASSERT_GT(t.g.param_count(), size_t(4) << 15);
  CpuBackend fast(t.g, adam_options(false, 2));
  fast.set_params(test::golden_params(t.g));
  const size_t n = t.g.param_count();
  std::vector<float> w = fast.params(), m(n, 0.f), v(n, 0.f);
  const AdamHyper h;
  for (uint64_t step = 1; step <= 3; ++step) {
    fast.forward(t.b, true);
    fast.backward(t.b);
    const std::vector<float> gr = fast.grads();
    fast.update();
    cpu::adam_update(w.data(), gr.data(), m.data(), v.data(), n, adam_alpha(1e-3f, 0.9f, 0.999f, step),
                     h.one_minus_beta1(), h.one_minus_beta2(), 1e-7f);
  }
  EXPECT_EQ(fast.params(), w);
  std::vector<float> mv = m;
  mv.insert(mv.end(), v.begin(), v.end());
  EXPECT_EQ(fast.opt_state(), mv);
}

// Two steps, the state saved in a checkpoint and loaded into a new backend, a third step: the same
// bits as three steps without the stop (m, v and the iteration count all come back).
TEST_P(AdamPaths, ResumedFromACheckpointEqualsAnUninterruptedRun) {
  Tutorial48 t;
  const BackendOptions o = adam_options(GetParam(), 2);
  CpuBackend whole(t.g, o), first(t.g, o);
  for (CpuBackend* be : {&whole, &first}) be->set_params(test::golden_params(t.g));
  for (int s = 0; s < 3; ++s) whole.train_step(t.b);
  for (int s = 0; s < 2; ++s) first.train_step(t.b);

  Checkpoint c;
  c.model = t.g.spec();
  c.params = first.params();
  c.opt_state = first.opt_state();
  c.meta["optimizer"] = "adam";
  c.meta["optimizer_iterations"] = std::to_string(first.opt_iterations());
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("acts_adam_resume_" + std::to_string(::getpid()) + ".safetensors")).string();
  save_checkpoint(path, c);
  const Checkpoint back = load_checkpoint(path);
  std::filesystem::remove(path);
  ASSERT_EQ(back.opt_state, c.opt_state);
  BackendOptions o2 = o;
  o2.seed = 77;  // other initial weights: everything must come from the file
  CpuBackend resumed(t.g, o2);
  resumed.set_params(back.params);
  resumed.set_opt_state(back.opt_state);
  resumed.set_opt_iterations(std::stoull(back.meta.at("optimizer_iterations")));
  resumed.set_step(first.step());
  resumed.train_step(t.b);
  EXPECT_EQ(resumed.params(), whole.params());
  EXPECT_EQ(resumed.opt_state(), whole.opt_state());
  EXPECT_EQ(resumed.opt_iterations(), 3u);
}

// Without the iteration count the bias correction restarts at t = 1: a different step. (What the
// checkpoint's optimizer_iterations is for.)
TEST(Adam, TheIterationCountChangesTheStep) {
  Tutorial48 t;
  CpuBackend a(t.g, adam_options(true, 2)), b(t.g, adam_options(true, 2));
  for (CpuBackend* be : {&a, &b}) be->set_params(test::golden_params(t.g));
  b.set_opt_iterations(10);
  a.train_step(t.b);
  b.train_step(t.b);
  EXPECT_NE(a.params(), b.params());
  EXPECT_EQ(b.opt_iterations(), 11u);
}

}  // namespace
}  // namespace acts
