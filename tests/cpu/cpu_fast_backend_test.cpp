// A whole CpuBackend training step on the fast path (oneDNN / OpenBLAS) against the same step on
// the reference loops (BackendOptions::cpu_reference), on the tutorial CNN at a 51x51 input,
// whose odd sizes make every pooling floor away a row and a column. Both run in float, so the
// bound covers both paths' summation error through 11 layers: rtol 1e-4 plus 1e-4 of each
// tensor's largest magnitude.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "tests/compare.h"
#include "tests/random_batch.h"

using namespace acts;

namespace {

void expect_near_scaled(const std::string& name, const std::vector<float>& got, const std::vector<float>& ref) {
  float scale = 0;
  for (float r : ref) scale = std::max(scale, std::fabs(r));
  ASSERT_GT(scale, 0.f) << name << ": reference is all zero, the comparison would be vacuous";
  acts::test::expect_close(name, got, ref, 1e-4, 1e-4 * scale);
}

TEST(CpuFastBackend, TrainStepMatchesReference) {
  std::string why;
  if (!cpu_fast::available(&why)) GTEST_SKIP() << why;
  Graph g(tutorial_model(51));
  BackendOptions fast_opt, ref_opt;
  fast_opt.max_batch = ref_opt.max_batch = 5;
  ref_opt.cpu_reference = true;
  CpuBackend fast(g, fast_opt), ref(g, ref_opt);
  ASSERT_EQ(fast.params(), ref.params());  // same seed, same initial weights

  const test::RandomBatch batch = test::random_batch(g, {1, 0, 0, 1, 1}, 42);
  const Batch b = batch.view();

  for (Backend* be : {static_cast<Backend*>(&fast), static_cast<Backend*>(&ref)}) be->forward(b, true);
  for (const Node& nd : g.nodes())
    expect_near_scaled("activation " + nd.spec.name, fast.activation(nd.spec.name), ref.activation(nd.spec.name));

  fast.backward(b);
  ref.backward(b);
  const auto gf = fast.grads(), gr = ref.grads();
  for (const ParamRef& p : g.params())
    expect_near_scaled("gradient " + p.name, std::vector<float>(gf.begin() + p.offset, gf.begin() + p.offset + p.size),
                       std::vector<float>(gr.begin() + p.offset, gr.begin() + p.offset + p.size));
  const Metrics mf = fast.take_metrics(), mr = ref.take_metrics();
  EXPECT_NEAR(mf.loss(), mr.loss(), 1e-5 * std::fabs(mr.loss()));
  EXPECT_EQ(mf.correct, mr.correct);

  fast.update();
  ref.update();
  expect_near_scaled("parameters after one RMSprop step", fast.params(), ref.params());
  expect_near_scaled("RMSprop state", fast.opt_state(), ref.opt_state());

  // The updated weights go through a validation forward the same way.
  fast.eval_step(b);
  ref.eval_step(b);
  expect_near_scaled("predictions after the step", fast.predictions(), ref.predictions());
  EXPECT_NEAR(fast.take_metrics().loss(), ref.take_metrics().loss(), 1e-4);
}

// Two training steps on 1 and on 3 threads end in the same weights, bit for bit.
TEST(CpuFastBackend, TheThreadCountChangesNoBit) {
  std::string why;
  if (!cpu_fast::available(&why)) GTEST_SKIP() << why;
  Graph g(tutorial_model(51));
  BackendOptions o;
  o.max_batch = 5;
  const test::RandomBatch batch = test::random_batch(g, {0, 1, 1, 0, 1}, 7);
  const Batch b = batch.view();
  std::vector<std::vector<float>> params;
  for (int threads : {1, 3}) {
    cpu_fast::set_thread_count(threads);
    CpuBackend be(g, o);
    for (int step = 0; step < 2; ++step) {
      be.forward(b, true);
      be.backward(b);
      be.update();
    }
    params.push_back(be.params());
  }
  cpu_fast::set_thread_count(0);
  ASSERT_NE(params[0], CpuBackend(g, o).params()) << "the steps changed nothing: the comparison would be vacuous";
  EXPECT_EQ(params[0], params[1]) << "weights after 2 steps on 1 and on 3 threads differ";
}

}  // namespace
