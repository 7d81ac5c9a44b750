// The whole CpuBackend against double-precision compositions of the (separately gradient-
// checked) kernels: forward activations layer by layer, the loss, and every parameter gradient
// against central differences of the double loss. Also RMSprop against a hand-computed example,
// the backend's update rule, and Dropout (inverted scaling, training only, masks per step).
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/activations.h"
#include "kernels/cpu/augment.h"
#include "kernels/cpu/bce.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/dense.h"
#include "kernels/cpu/max_pooling2d.h"
#include "kernels/cpu/rmsprop.h"
#include "runtime/cpu/cpu_backend.h"
#include "tests/compare.h"
#include "tests/numeric_grad.h"
#include "tests/test_models.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::layer_spec;
using acts::test::numeric_grad;

namespace {

using Vec = std::vector<double>;

// Input 10x10x2, Conv2D(3) relu, MaxPool, Flatten, Dense(4) relu, Dense(1) sigmoid.
ModelSpec tiny_model() {
  ModelSpec m;
  m.height = m.width = 10;
  m.channels = 2;
  m.layers = {layer_spec(LayerType::Conv2D, 3, Act::Relu), layer_spec(LayerType::MaxPooling2D),
              layer_spec(LayerType::Flatten), layer_spec(LayerType::Dense, 4, Act::Relu),
              layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  return m;
}

Vec random_params(const Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  Vec w(g.param_count());
  for (double& v : w) v = double(float(u(rng)));  // representable in float: both sides see the same
  return w;
}


double max_abs(const Vec& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// The tiny model in double, written out layer by layer: every intermediate is kept for the
// comparison with the backend's activations.
struct TinyDouble {
  const Graph& g;
  int n;
  Vec x, labels;
  std::vector<Vec> act;  // per node, after its activation
  Vec logits;

  double loss(const Vec& w) {
    const auto& P = g.params();
    const auto& nd = g.nodes();
    act.assign(nd.size(), Vec());
    act[0].resize(size_t(n) * nd[0].out_size);  // conv2d_1 (n, 8, 8, 3)
    cpu::conv2d_forward(x.data(), n, 10, 10, 2, &w[P[0].offset], &w[P[1].offset], 3, 3, 3, act[0].data());
    cpu::relu_forward(act[0].data(), act[0].data(), act[0].size());
    act[1].resize(size_t(n) * nd[1].out_size);  // max_pooling2d_1 (n, 4, 4, 3)
    cpu::maxpool_forward(act[0].data(), n, 8, 8, 3, 2, act[1].data());
    act[2] = act[1];                            // flatten_1 (n, 48)
    act[3].resize(size_t(n) * 4);               // dense_1 (n, 4)
    cpu::dense_forward(act[2].data(), n, 48, &w[P[2].offset], &w[P[3].offset], 4, act[3].data());
    cpu::relu_forward(act[3].data(), act[3].data(), act[3].size());
    logits.resize(size_t(n));                   // dense_2 (n, 1)
    cpu::dense_forward(act[3].data(), n, 4, &w[P[4].offset], &w[P[5].offset], 1, logits.data());
    act[4] = logits;
    cpu::sigmoid_forward(act[4].data(), act[4].data(), act[4].size());
    return cpu::bce_from_logits(logits.data(), labels.data(), n, static_cast<double*>(nullptr), nullptr) / n;
  }
};

// Both CPU paths: the reference loops (the oracle of every other test) and the default fast path
// (oneDNN or im2col + OpenBLAS convolutions, OpenBLAS dense layers).
class CpuPaths : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Cpu, CpuPaths, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Reference" : "Fast"; });

}  // namespace

TEST_P(CpuPaths, TinyModelMatchesDoubleCompositionAndItsFiniteDifferences) {
  const Graph g(tiny_model());
  ASSERT_EQ(g.params().size(), 6u);
  const int n = 3;
  std::vector<uint8_t> img(size_t(n) * g.input_size());
  std::mt19937 rng(5);
  for (uint8_t& p : img) p = uint8_t(rng() % 256);
  const std::vector<float> labels = {0.f, 1.f, 1.f};

  TinyDouble ref{g, n, Vec(img.size()), Vec(labels.begin(), labels.end()), {}, {}};
  for (size_t i = 0; i < img.size(); ++i) ref.x[i] = double(float(img[i]) * (1.f / 255.f));  // as the backend rescales
  Vec w = random_params(g, 6);
  const double ref_loss = ref.loss(w);

  BackendOptions o;
  o.cpu_reference = GetParam();
  o.max_batch = 4;
  CpuBackend be(g, o);
  be.set_params(std::vector<float>(w.begin(), w.end()));
  Batch b;
  b.n = n;
  b.images = img.data();
  b.labels = labels.data();
  be.forward(b, true);
  // Float vs double of the same composition: relative error ~1e-7 per op; atol for relu
  // outputs and cancellations near 0.
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const std::string& name = g.nodes()[i].spec.name;
    expect_close(name, be.activation(name), ref.act[i], 1e-5, 1e-6);
  }
  be.backward(b);
  const Metrics m = be.take_metrics();
  EXPECT_EQ(m.count, n);
  EXPECT_NEAR(m.loss(), ref_loss, 1e-6 * ref_loss);

  const std::vector<float> got = be.grads();
  const Vec num = numeric_grad(w, [&] { return ref.loss(w); });
  // Float gradients vs exact ones: rtol 1e-4 (float accumulation), atol scaled to the
  // largest gradient for elements that are sums with cancellation.
  const double atol = 1e-5 * max_abs(num);
  for (const ParamRef& p : g.params()) {
    expect_close(p.name, got.data() + p.offset, num.data() + p.offset, p.size, 1e-4, atol);
    double largest = 0;  // a test with dead units or clipped logits would check zeros only
    for (size_t k = 0; k < p.size; ++k) largest = std::max(largest, std::fabs(num[p.offset + k]));
    EXPECT_GT(largest, 1e-3) << p.name << " has (almost) no gradient: the check would be vacuous";
  }
}

// Flatten, Dense(8) relu, Dropout(0.5), Dense(1) sigmoid: the backend's gradients through the
// mask it drew, against central differences of a double model using that same mask.
TEST_P(CpuPaths, DropoutGradientUsesTheForwardMask) {
  ModelSpec m;
  m.height = m.width = 3;
  m.channels = 2;
  m.layers = {layer_spec(LayerType::Flatten), layer_spec(LayerType::Dense, 8, Act::Relu),
              layer_spec(LayerType::Dropout), layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  const Graph g(m);
  const int n = 5, I = 18;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> x(size_t(n) * I), labels = {1, 0, 1, 1, 0};
  for (float& v : x) v = u(rng);
  Vec w = random_params(g, 10);
  BackendOptions o;
  o.cpu_reference = GetParam();
  o.max_batch = n;
  CpuBackend be(g, o);
  be.set_params(std::vector<float>(w.begin(), w.end()));
  Batch b;
  b.n = n;
  b.inputs = x.data();
  b.labels = labels.data();
  be.forward(b, true);
  const std::vector<float> h = be.activation("dense_1"), d = be.activation("dropout_1");
  Vec mask(h.size());
  int dropped = 0, kept = 0;
  for (size_t k = 0; k < h.size(); ++k) {
    if (h[k] > 0) {
      mask[k] = double(d[k]) / h[k];
      EXPECT_TRUE(d[k] == 0.f || std::fabs(mask[k] - 2) < 1e-6) << "dropout must scale kept units by 1/(1-0.5)";
      (d[k] == 0.f ? dropped : kept)++;
    }
  }
  ASSERT_GT(dropped, 2);
  ASSERT_GT(kept, 2);
  be.backward(b);
  const std::vector<float> got = be.grads();

  const auto& P = g.params();
  const Vec xd(x.begin(), x.end()), yd(labels.begin(), labels.end());
  auto loss = [&] {
    Vec a(size_t(n) * 8), z(static_cast<size_t>(n));
    cpu::dense_forward(xd.data(), n, I, &w[P[0].offset], &w[P[1].offset], 8, a.data());
    cpu::relu_forward(a.data(), a.data(), a.size());
    for (size_t k = 0; k < a.size(); ++k) a[k] *= mask[k];
    cpu::dense_forward(a.data(), n, 8, &w[P[2].offset], &w[P[3].offset], 1, z.data());
    return cpu::bce_from_logits(z.data(), yd.data(), n, static_cast<double*>(nullptr), nullptr) / n;
  };
  const Vec num = numeric_grad(w, loss);
  const double atol = 1e-5 * max_abs(num);
  for (const ParamRef& p : g.params())
    expect_close(p.name, got.data() + p.offset, num.data() + p.offset, p.size, 1e-4, atol);
}

TEST_P(CpuPaths, DropoutPreservesTheMeanInTrainingAndIsIdentityOtherwise) {
  ModelSpec m;
  m.height = m.width = 40;
  m.channels = 3;
  m.layers = {layer_spec(LayerType::Flatten), layer_spec(LayerType::Dropout),
              layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  m.layers[1].rate = 0.25f;
  const Graph g(m);
  const int n = 4;
  std::vector<float> ones(size_t(n) * g.input_size(), 1.f);  // 19,200 units
  BackendOptions o;
  o.cpu_reference = GetParam();
  o.max_batch = n;
  CpuBackend be(g, o);
  Batch b;
  b.n = n;
  b.inputs = ones.data();
  be.forward(b, true);
  const std::vector<float> t1 = be.activation("dropout_1");
  double sum = 0;
  size_t zeros = 0;
  for (float v : t1) {
    sum += v;
    zeros += v == 0.f;
    ASSERT_TRUE(v == 0.f || v == 1.f / 0.75f) << v;
  }
  // Mean of 19,200 draws of {0, 4/3} with P(keep) 0.75: 1 +- 0.0042 (1 sigma); allow 5 sigma.
  EXPECT_NEAR(sum / t1.size(), 1.0, 0.021);
  EXPECT_NEAR(double(zeros) / t1.size(), 0.25, 0.016);
  be.forward(b, true);
  EXPECT_EQ(be.activation("dropout_1"), t1) << "same step: same mask";
  be.set_step(1);
  be.forward(b, true);
  EXPECT_NE(be.activation("dropout_1"), t1) << "next step: a new mask";
  be.forward(b, false);
  EXPECT_EQ(be.activation("dropout_1"), ones) << "inference: dropout is the identity";
}

TEST(Rmsprop, TwoStepsMatchHandComputedValues) {
  // lr 0.01, rho 0.9, eps 1e-8, w 1, gradients 0.5 then -0.25:
  //   a1 = 0.1 * 0.25 = 0.025            w1 = 1 - 0.01 * 0.5 / sqrt(0.025) = 0.968377225...
  //   a2 = 0.9 * 0.025 + 0.1 * 0.0625 = 0.02875
  //   w2 = w1 + 0.01 * 0.25 / sqrt(0.02875) = 0.968377225 + 0.014743195 = 0.983121420...
  // Second element: a zero gradient leaves w alone (no 0/0) but still decays a.
  double w[2] = {1.0, -0.3}, a[2] = {0.0, 0.04};
  const double g1[2] = {0.5, 0.0}, g2[2] = {-0.25, 2.0};
  cpu::rmsprop_update(w, g1, a, 2, 0.01, 0.9, 1e-8);
  EXPECT_NEAR(a[0], 0.025, 1e-15);
  EXPECT_NEAR(w[0], 0.968377225398316, 1e-12);
  EXPECT_NEAR(a[1], 0.036, 1e-15);
  EXPECT_EQ(w[1], -0.3);
  cpu::rmsprop_update(w, g2, a, 2, 0.01, 0.9, 1e-8);
  EXPECT_NEAR(a[0], 0.02875, 1e-15);
  EXPECT_NEAR(w[0], 0.9831214201442406, 1e-12);
  EXPECT_NEAR(a[1], 0.4324, 1e-15);
  EXPECT_NEAR(w[1], -0.330414952771089, 1e-12);  // -0.3 - 0.01 * 2 / (sqrt(0.4324) + 1e-8)
}

TEST(Rmsprop, Keras3RuleTwoStepsMatchHandComputedValues) {
  // The same steps with eps 1e-7 under the root, w -= lr g / sqrt(a + eps) (values from mpmath,
  // 30 digits); each differs from the Keras 2 rule's above by more than the tolerance.
  double w[2] = {1.0, -0.3}, a[2] = {0.0, 0.04};
  const double g1[2] = {0.5, 0.0}, g2[2] = {-0.25, 2.0};
  cpu::rmsprop_update(w, g1, a, 2, 0.01, 0.9, 1e-7, RmspropRule::kKeras3);
  EXPECT_NEAR(a[0], 0.025, 1e-15);
  EXPECT_NEAR(w[0], 0.968377286643680, 1e-12);
  EXPECT_EQ(w[1], -0.3);
  cpu::rmsprop_update(w, g2, a, 2, 0.01, 0.9, 1e-7, RmspropRule::kKeras3);
  EXPECT_NEAR(a[0], 0.02875, 1e-15);
  EXPECT_NEAR(w[0], 0.983121456617157, 1e-12);
  EXPECT_NEAR(a[1], 0.4324, 1e-15);
  EXPECT_NEAR(w[1], -0.330414949716632, 1e-12);
}

TEST(Rmsprop, Keras3RuleTakesATenTimesSmallerFirstStepOnATinyGradient) {
  // docs/results.md's explanation of why Keras 3 fits the tutorial more slowly: a first step on
  // g = 1e-4 (a = 1e-9) moves lr g / (sqrt(1e-9) + 1e-8) = 3.16 lr under Keras 2's rule, and
  // lr g / sqrt(1e-9 + 1e-7) = 0.315 lr under Keras 3's.
  float w2 = 0, a2 = 0, w3 = 0, a3 = 0;
  const float g = 1e-4f;
  cpu::rmsprop_update(&w2, &g, &a2, 1, 1.f, 0.9f, 1e-8f, RmspropRule::kKeras2);
  cpu::rmsprop_update(&w3, &g, &a3, 1, 1.f, 0.9f, 1e-7f, RmspropRule::kKeras3);
  EXPECT_NEAR(w2, -3.16128f, 1e-4f);
  EXPECT_NEAR(w3, -0.314658f, 1e-5f);
}

TEST_P(CpuPaths, UpdateIsRmspropWithTheOptionsAndLearningRate) {
  const Graph g(tiny_model());
  std::vector<float> x(2 * g.input_size()), labels = {1, 0};
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919) % 101) / 101.f;
  Batch b;
  b.n = 2;
  b.inputs = x.data();
  b.labels = labels.data();
  std::vector<float> after[2];
  for (const RmspropRule rule : {RmspropRule::kKeras2, RmspropRule::kKeras3}) {
    BackendOptions o;
    o.cpu_reference = GetParam();
    o.max_batch = 2;
    o.lr = 0.5f;  // overridden below: set_learning_rate must take effect
    o.eps = 1e-2f;  // large enough that the two rules' steps differ visibly
    o.rmsprop_rule = rule;
    CpuBackend be(g, o);
    be.set_learning_rate(0.003f);
    const std::vector<float> w0 = be.params(), a0(g.param_count(), 0.2f);
    be.set_opt_state(a0);
    be.forward(b, true);
    be.backward(b);
    const std::vector<float> gr = be.grads();
    EXPECT_EQ(be.step(), 0u);
    be.update();
    EXPECT_EQ(be.step(), 1u);
    std::vector<float> w = w0, a = a0;
    cpu::rmsprop_update(w.data(), gr.data(), a.data(), w.size(), 0.003f, 0.9f, 1e-2f, rule);
    EXPECT_EQ(be.params(), w);
    EXPECT_EQ(be.opt_state(), a);
    EXPECT_NE(be.params(), w0);
    after[rule == RmspropRule::kKeras3] = be.params();
  }
  EXPECT_NE(after[0], after[1]) << "BackendOptions::rmsprop_rule had no effect";
}

TEST(Augment, IdentityIsTheRescaleAndShiftsClampAtTheEdge) {
  const int N = 2, H = 3, W = 4, C = 2;
  std::vector<uint8_t> img(size_t(N) * H * W * C);
  for (size_t i = 0; i < img.size(); ++i) img[i] = uint8_t(i * 37 % 251);
  const float ident[12] = {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0};
  std::vector<float> out(img.size(), NAN);
  cpu::augment_rescale(img.data(), ident, N, H, W, C, 0.5f, out.data());
  for (size_t i = 0; i < img.size(); ++i) ASSERT_EQ(out[i], img[i] * 0.5f) << i;
  // Image 0 samples x + 1.5 (between columns, clamped at W - 1), image 1 samples y - 1 (clamped at 0).
  const float shift[12] = {1, 0, 1.5f, 0, 1, 0, 1, 0, 0, 0, 1, -1};
  cpu::augment_rescale(img.data(), shift, N, H, W, C, 1.f, out.data());
  auto px = [&](int n, int y, int x, int c) { return float(img[((size_t(n) * H + y) * W + x) * C + c]); };
  auto at = [&](int n, int y, int x, int c) { return out[((size_t(n) * H + y) * W + x) * C + c]; };
  EXPECT_FLOAT_EQ(at(0, 1, 0, 1), 0.5f * px(0, 1, 1, 1) + 0.5f * px(0, 1, 2, 1));
  EXPECT_FLOAT_EQ(at(0, 2, 3, 0), px(0, 2, 3, 0));  // x = 4.5 clamps to the last column
  EXPECT_FLOAT_EQ(at(1, 0, 2, 1), px(1, 0, 2, 1));  // y = -1 clamps to row 0
  EXPECT_FLOAT_EQ(at(1, 2, 2, 1), px(1, 1, 2, 1));
}
