// Backend::profile_train_step on the CPU backend (the CUDA backend's is in cuda_backend_test):
// the profiled step must be an ordinary training step, bit for bit, and time every op once, in
// the order the passes run them.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "runtime/cpu/cpu_backend.h"

using namespace acts;

namespace {

struct Data {
  std::vector<uint8_t> images;
  std::vector<float> labels;
  Batch batch(int n) const {
    Batch b;
    b.n = n;
    b.images = images.data();
    b.labels = labels.data();
    return b;
  }
};

Data random_data(const Graph& g, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  Data d;
  d.images.resize(size_t(n) * g.input_size());
  for (uint8_t& v : d.images) v = uint8_t(rng());
  for (int i = 0; i < n; ++i) d.labels.push_back(float(rng() & 1));
  return d;
}

class OpProfile : public ::testing::TestWithParam<bool> {};  // the reference loops, or the fast path

TEST_P(OpProfile, ProfiledStepIsAnOrdinaryStepTimedOpByOp) {
  const Graph g(tutorial_model(47));
  BackendOptions o;
  o.max_batch = 3;
  o.cpu_reference = GetParam();
  CpuBackend profiled(g, o), plain(g, o);
  std::vector<OpTime> ops;
  for (uint32_t k = 0; k < 2; ++k) {
    const Data d = random_data(g, 3, 10 + k);
    ops = profiled.profile_train_step(d.batch(3));
    plain.train_step(d.batch(3));
  }
  EXPECT_EQ(profiled.params(), plain.params());
  EXPECT_EQ(profiled.opt_state(), plain.opt_state());
  EXPECT_EQ(profiled.step(), 2u);
  const Metrics mp = profiled.take_metrics(), me = plain.take_metrics();
  EXPECT_EQ(mp.loss_sum, me.loss_sum);
  EXPECT_EQ(mp.count, 6);

  std::vector<std::string> want = {"input rescale"};
  for (const Node& nd : g.nodes()) want.push_back(nd.spec.name + " forward");
  want.push_back("loss");
  for (size_t i = g.nodes().size(); i-- > 0;) want.push_back(g.nodes()[i].spec.name + " backward");
  want.push_back("rmsprop");
  ASSERT_EQ(ops.size(), want.size());
  double total = 0;
  for (size_t k = 0; k < ops.size(); ++k) {
    EXPECT_EQ(ops[k].op, want[k]) << "op " << k;
    EXPECT_TRUE(std::isfinite(ops[k].ms) && ops[k].ms >= 0) << ops[k].op << ": " << ops[k].ms;
    total += ops[k].ms;
  }
  EXPECT_GT(total, 0);
}

INSTANTIATE_TEST_SUITE_P(CpuPaths, OpProfile, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "reference" : "fast"; });

}  // namespace
