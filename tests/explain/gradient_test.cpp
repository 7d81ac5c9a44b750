// Backend::gradient on the CPU (reference loops and fast path): finite differences of the input
// gradient on a smooth model, the contract (several layers at once, batch rows independent, the
// objective's weight, the seed at the objective's own layer, nothing else touched), the fast path
// against the reference on every kind of backward, and the refusals. TensorFlow's goldens on the
// tutorial model: gradient_golden_test.cpp; the CUDA backend: gradient_cuda_test.cpp.
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/cpu_backend.h"
#include "tests/compare.h"
#include "tests/test_models.h"

using namespace acts;
using acts::test::expect_close;
using acts::test::layer_spec;

namespace {

// No kink anywhere (sigmoid and linear convs, global average pooling): central differences are
// smooth. Input 7x9x2, Conv2D(3, sigmoid), Conv2D(4, linear), GAP, Dense(5, sigmoid), Dense(1, sigmoid).
ModelSpec smooth_model() {
  ModelSpec m;
  m.height = 7;
  m.width = 9;
  m.channels = 2;
  m.layers = {layer_spec(LayerType::Conv2D, 3, Act::Sigmoid), layer_spec(LayerType::Conv2D, 4, Act::Linear),
              layer_spec(LayerType::GlobalAveragePooling2D), layer_spec(LayerType::Dense, 5, Act::Sigmoid),
              layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  return m;
}

std::vector<float> uniform(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

struct Rig {
  Graph g;
  std::unique_ptr<Backend> be;
  std::vector<float> x;
  Rig(ModelSpec m, bool reference, int n, uint32_t seed = 7, float w_range = 0.6f) : g(std::move(m)) {
    BackendOptions o;
    o.max_batch = n;
    o.cpu_reference = reference;
    o.seed = seed;
    be = make_cpu_backend(g, o);
    std::vector<float> w = uniform(g.param_count(), seed, -w_range, w_range);
    be->set_params(w);
    x = uniform(size_t(n) * g.input_size(), seed + 1, 0.f, 1.f);
  }
  void forward(int n) {
    Batch b;
    b.n = n;
    b.inputs = x.data();
    be->forward(b, false);
  }
  // Image i's objective value from the last forward (what gradient() differentiates).
  double value(const Objective& o, int i) {
    const int node = g.find(o.layer);
    const Node& nd = g.nodes()[size_t(node)];
    const bool head = size_t(node) == g.nodes().size() - 1;
    const std::vector<float> out = o.pre_activation && head ? be->logits() : be->activation(o.layer);
    const float* row = out.data() + size_t(i) * nd.out_size;
    const double w = o.weight.empty() ? 1.0 : o.weight[size_t(i)];
    if (o.kind == Objective::Kind::kElement) {
      const double y = row[o.target[size_t(i)]];
      if (!o.pre_activation || head || nd.spec.activation == Act::Linear) return w * y;
      EXPECT_EQ(nd.spec.activation, Act::Sigmoid) << "the test inverts only a sigmoid";
      return w * std::log(y / (1.0 - y));  // the sigmoid's input
    }
    const size_t C = size_t(nd.out_shape.back()), P = nd.out_size / C;
    double s = 0;
    for (size_t p = 0; p < P; ++p) s += row[p * C + size_t(o.target[size_t(i)])];
    return w * s / double(P);
  }
};

Objective element(const std::string& layer, std::vector<int> target, bool pre = false) {
  Objective o;
  o.layer = layer;
  o.kind = Objective::Kind::kElement;
  o.pre_activation = pre;
  o.target = std::move(target);
  return o;
}

Objective channel_mean(const std::string& layer, std::vector<int> target) {
  Objective o = element(layer, std::move(target));
  o.kind = Objective::Kind::kChannelMean;
  return o;
}

class GradientCpu : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Cpu, GradientCpu, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Reference" : "Fast"; });

TEST_P(GradientCpu, InputGradientMatchesCentralDifferences) {
  const int n = 2;
  Rig s(smooth_model(), GetParam(), n, 7, 1.5f);
  const std::vector<Objective> objectives = {
      element("dense_2", {0, 0}, true),             // the class score z
      channel_mean("conv2d_2", {1, 3}),             // a channel's mean after its sigmoid
      element("dense_1", {4, 2}, true),             // an element before its activation
      element("conv2d_1", {5, 77}, false),          // one element of the first layer
  };
  for (const Objective& o : objectives) {
    s.forward(n);
    std::vector<std::vector<float>> got;
    s.be->gradient(o, {""}, got);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].size(), s.x.size());
    std::vector<float> fd(s.x.size());
    const float eps = 2e-2f;
    for (size_t k = 0; k < s.x.size(); ++k) {
      const int i = int(k / s.g.input_size());
      const float keep = s.x[k];
      s.x[k] = keep + eps;
      s.forward(n);
      const double up = s.value(o, i);
      s.x[k] = keep - eps;
      s.forward(n);
      const double down = s.value(o, i);
      s.x[k] = keep;
      fd[k] = float((up - down) / (2.0 * eps));
    }
    double scale = 0;
    for (float v : fd) scale = std::max(scale, double(std::fabs(v)));
    ASSERT_GT(scale, 1e-2) << o.layer << ": a gradient this small proves little";
    // Central differences of float forwards: O(eps^2) truncation, and rounding of about
    // 1e-7 |f| / eps (|f| of order 1: ~5e-6).
    expect_close("d " + o.layer + " / d input", got[0], fd, 2e-2, 2e-5 + 2e-3 * scale);
  }
}

TEST_P(GradientCpu, SeveralLayersAtOnceEqualOneAtATimeAndTheObjectivesLayerGetsTheSeed) {
  const int n = 3;
  Rig s(test::op_contract_model(), GetParam(), n);
  s.forward(n);
  const Objective o = element("dense_2", {0, 0, 0}, true);
  const std::vector<std::string> wrt = {"conv2d_2", "", "dense_2", "max_pooling2d_1", "dense_1", "conv2d_1"};
  std::vector<std::vector<float>> all;
  s.be->gradient(o, wrt, all);
  ASSERT_EQ(all.size(), wrt.size());
  for (size_t k = 0; k < wrt.size(); ++k) {
    std::vector<std::vector<float>> one;
    s.be->gradient(o, {wrt[k]}, one);
    EXPECT_EQ(one[0], all[k]) << wrt[k];
  }
  EXPECT_EQ(all[2], std::vector<float>(size_t(n), 1.f)) << "d z / d z";
  double m = 0;
  for (float v : all[1]) m = std::max(m, double(std::fabs(v)));
  EXPECT_GT(m, 0) << "input gradient all zero";
}

TEST_P(GradientCpu, BatchRowsAreEachImagesOwnAndTheWeightScalesThem) {
  const int n = 3;
  Rig s(test::op_contract_model(), GetParam(), n);
  s.forward(n);
  Objective o = channel_mean("conv2d_2", {0, 2, 1});
  o.weight = {1.f, -1.f, 0.5f};
  std::vector<std::vector<float>> batch;
  s.be->gradient(o, {"", "conv2d_1"}, batch);
  const size_t in = s.g.input_size(), mid = s.g.nodes()[0].out_size;
  for (int i = 0; i < n; ++i) {
    Rig one(test::op_contract_model(), GetParam(), 1);
    std::copy(s.x.begin() + ptrdiff_t(i * in), s.x.begin() + ptrdiff_t((i + 1) * in), one.x.begin());
    one.forward(1);
    std::vector<std::vector<float>> single;
    one.be->gradient(channel_mean("conv2d_2", {o.target[size_t(i)]}), {"", "conv2d_1"}, single);
    for (float& v : single[0]) v *= o.weight[size_t(i)];
    for (float& v : single[1]) v *= o.weight[size_t(i)];
    const std::vector<float> row0(batch[0].begin() + ptrdiff_t(i * in), batch[0].begin() + ptrdiff_t((i + 1) * in));
    const std::vector<float> row1(batch[1].begin() + ptrdiff_t(i * mid), batch[1].begin() + ptrdiff_t((i + 1) * mid));
    expect_close("image " + std::to_string(i) + " d/d input", row0, single[0], 1e-5, 1e-7);
    expect_close("image " + std::to_string(i) + " d/d conv2d_1", row1, single[1], 1e-5, 1e-7);
  }
}

// What the heatmaps rely on to take one gradient for both classes of a sigmoid head
// (opposite_class_scores): the gradient of -z is exactly the gradient of z negated.
TEST_P(GradientCpu, ClassZerosGradientIsExactlyClassOnesNegated) {
  const int n = 2;
  Rig s(test::op_contract_model(), GetParam(), n);
  s.forward(n);
  Objective z = element("dense_2", {0, 0}, true), minus_z = z;
  minus_z.weight = {-1.f, -1.f};
  std::vector<std::vector<float>> a, b;
  s.be->gradient(z, {"", "conv2d_2"}, a);
  s.be->gradient(minus_z, {"", "conv2d_2"}, b);
  for (size_t k = 0; k < 2; ++k) {
    for (float& v : a[k]) v = -v;
    EXPECT_EQ(a[k], b[k]) << k;
  }
}

TEST_P(GradientCpu, LeavesParametersGradientsOptimizerStateAndMetricsAsTheyWere) {
  const int n = 2;
  Rig s(test::op_contract_model(), GetParam(), n);
  std::vector<float> labels = {1.f, 0.f};
  Batch b;
  b.n = n;
  b.inputs = s.x.data();
  b.labels = labels.data();
  s.be->train_step(b);  // non-zero gradients and accumulators
  s.be->forward(b, true);
  s.be->backward(b);
  const std::vector<float> w = s.be->params(), gr = s.be->grads(), acc = s.be->opt_state();
  const uint64_t step = s.be->step();
  s.be->take_metrics();
  s.forward(n);
  std::vector<std::vector<float>> out;
  s.be->gradient(element("dense_2", {0, 0}, true), {""}, out);
  EXPECT_EQ(s.be->params(), w);
  EXPECT_EQ(s.be->grads(), gr);
  EXPECT_EQ(s.be->opt_state(), acc);
  EXPECT_EQ(s.be->step(), step);
  EXPECT_EQ(s.be->take_metrics().count, 0);
}

TEST_P(GradientCpu, ForwardToALayerGivesItsGradientsAndRefusesLaterLayers) {
  const int n = 2;
  Rig s(test::op_contract_model(), GetParam(), n);
  const Objective o = channel_mean("conv2d_2", {1, 2});
  s.forward(n);
  std::vector<std::vector<float>> full, part;
  s.be->gradient(o, {"", "max_pooling2d_1"}, full);
  Batch b;
  b.n = n;
  b.inputs = s.x.data();
  s.be->forward_to(b, "conv2d_2");
  EXPECT_EQ(s.be->activation("conv2d_2").size(), size_t(n) * s.g.nodes()[2].out_size);
  s.be->gradient(o, {"", "max_pooling2d_1"}, part);
  EXPECT_EQ(part, full);
  const auto refused = [&](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(refused([&] { s.be->activation("dense_1"); }),
            "activation('dense_1'): the last forward stopped at conv2d_2");
  EXPECT_EQ(refused([&] { s.be->logits(); }), "logits('dense_2'): the last forward stopped at conv2d_2");
  EXPECT_EQ(refused([&] { s.be->gradient(element("dense_2", {0, 0}, true), {""}, part); }),
            "gradient('dense_2'): the last forward stopped at conv2d_2");
  EXPECT_EQ(refused([&] { s.be->forward_to(b, "conv2d_9"); }).rfind("no layer named 'conv2d_9'; valid layers: ", 0),
            0u);
  s.forward(n);  // a full forward again: every layer is there
  EXPECT_EQ(s.be->activation("dense_1").size(), size_t(n) * 6);
}

TEST(GradientCpuPaths, FastPathEqualsTheReferenceThroughEveryKindOfBackward) {
  const int n = 2;
  Rig ref(test::op_contract_model(), true, n), fast(test::op_contract_model(), false, n);
  ref.forward(n);
  fast.forward(n);
  std::vector<std::string> wrt = {""};
  for (const Node& nd : ref.g.nodes()) wrt.push_back(nd.spec.name);
  for (const Objective& o : {element("dense_2", {0, 0}, true), channel_mean("conv2d_2", {2, 0}),
                             element("dense_1", {3, 5}), element("dense_1", {3, 5}, true)}) {
    std::vector<std::string> below;
    for (const std::string& w : wrt)
      if (w.empty() || ref.g.find(w) <= ref.g.find(o.layer)) below.push_back(w);
    std::vector<std::vector<float>> a, b;
    ref.be->gradient(o, below, a);
    fast.be->gradient(o, below, b);
    for (size_t k = 0; k < below.size(); ++k) {
      double m = 0;
      for (float v : a[k]) m = std::max(m, double(std::fabs(v)));
      expect_close(o.layer + " d/d " + (below[k].empty() ? "input" : below[k]), b[k], a[k], 1e-4, 1e-6 * m);
    }
  }
}

TEST(GradientRequests, BadRequestsAreRefusedNamingWhatIsWrong) {
  Rig s(test::op_contract_model(), true, 2);
  std::vector<std::vector<float>> out;
  const auto message = [&](const Objective& o, const std::vector<std::string>& wrt) -> std::string {
    try {
      s.be->gradient(o, wrt, out);
    } catch (const BadRequest& e) {
      return std::string("BadRequest: ") + e.what();
    } catch (const Error& e) {
      return std::string("Error: ") + e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message(element("dense_2", {0, 0}), {""}), "Error: gradient() asked before any forward pass");
  s.forward(2);
  EXPECT_EQ(message(element("conv2d_1", {0, 0}), {"dense_1"}),
            "BadRequest: layer dense_1 comes after conv2d_1: its output does not change conv2d_1's; ask for an "
            "earlier layer");
  EXPECT_EQ(message(element("dense_9", {0, 0}), {""}).rfind("BadRequest: no layer named 'dense_9' to differentiate; "
                                                            "valid layers: conv2d_1",
                                                            0),
            0u);
  EXPECT_EQ(message(element("dense_1", {0, 0}), {"nope"}).rfind("BadRequest: no layer named 'nope'; valid layers: ", 0),
            0u);
  EXPECT_EQ(message(channel_mean("conv2d_1", {0, 4}), {""}),
            "BadRequest: channel 4 is out of range for layer conv2d_1 (4 channels)");
  EXPECT_EQ(message(element("dense_2", {0, 1}), {""}),
            "BadRequest: element 1 is out of range for layer dense_2 (1 values per image)");
  EXPECT_EQ(message(element("dense_2", {0}), {""}), "Error: gradient(): 1 targets for a batch of 2 images; one per image");
}

}  // namespace
