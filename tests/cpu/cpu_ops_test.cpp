// The CpuOp interface itself (runtime/cpu/cpu_op.h), op by op on the tutorial's layers plus
// Dropout, Activation and GlobalAveragePooling2D, reference loops and fast path: a backward with
// dw = null (input gradient only, what heatmaps and filter patterns need) gives exactly the dx of a
// full backward and writes no parameter gradient; a full backward writes every gradient.
#include <cmath>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/cpu/cpu_op.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "tests/cpu/op_alone.h"
#include "tests/test_models.h"

using namespace acts;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = float(s >> 8) / float(1u << 24) * 2.f - 1.f;
  }
  return v;
}

void check_input_gradient_only(bool fast) {
  const Graph g(test::op_contract_model());
  BackendOptions o;
  o.max_batch = 2;
  o.cpu_reference = !fast;
  CpuBackend backend(g, o);
  const int n = 2;
  const std::vector<float> x = random_floats(n * g.input_size(), 1), labels = {1, 0};
  Batch b;
  b.n = n;
  b.inputs = x.data();
  b.labels = labels.data();
  backend.forward(b, true);
  const std::vector<float> w = backend.params();
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& nd = g.nodes()[i];
    SCOPED_TRACE(nd.spec.name);
    const std::vector<float> in = i == 0 ? x : backend.activation(g.nodes()[i - 1].spec.name);
    std::vector<float*> wp;
    std::vector<std::vector<float>> grads;
    std::vector<float*> gp;
    std::vector<float> wcopy = w;
    for (int k : nd.params) {
      wp.push_back(&wcopy[g.params()[size_t(k)].offset]);
      grads.emplace_back(g.params()[size_t(k)].size, NAN);  // poisoned: a full backward must write them all
    }
    for (auto& gr : grads) gp.push_back(gr.data());
    const std::unique_ptr<CpuOp> op = make_cpu_op(nd, CpuOpEnv{fast && cpu_fast::available(), o.seed, uint32_t(i)});
    test::OpAlone run(*op, n, wp, NAN);  // dx poisoned: the backward must write it all
    const std::vector<float> out = run.forward(in, nd.out_size, true);

    const std::vector<float> dy0 = random_floats(out.size(), uint32_t(10 + i));
    const std::vector<float> full = run.backward(dy0, gp.data());
    for (const auto& gr : grads)
      for (float v : gr) ASSERT_FALSE(std::isnan(v)) << "a full backward left a parameter gradient unwritten";
    for (auto& gr : grads) std::fill(gr.begin(), gr.end(), NAN);
    const std::vector<float> only = run.backward(dy0, nullptr);
    for (const auto& gr : grads)
      for (float v : gr) ASSERT_TRUE(std::isnan(v)) << "an input-gradient-only backward wrote a parameter gradient";
    ASSERT_EQ(only.size(), full.size());
    for (size_t k = 0; k < full.size(); ++k) {
      ASSERT_FALSE(std::isnan(full[k])) << "dx[" << k << "] unwritten";
      ASSERT_EQ(only[k], full[k]) << "dx[" << k << "]";
    }
  }
}

TEST(CpuOps, InputGradientOnlyEqualsTheFullBackwardsReference) { check_input_gradient_only(false); }

TEST(CpuOps, InputGradientOnlyEqualsTheFullBackwardsFastPath) {
  std::string why;
  if (!cpu_fast::available(&why)) GTEST_SKIP() << "no CPU fast path in this build: " << why;
  check_input_gradient_only(true);
}

}  // namespace
