// Backend::gradient on the CUDA backend against the CPU reference: every objective kind (an
// element after and before the activation, a channel mean, a class score with weights) to
// every earlier layer and the input, on the op-contract model (every kind of backward: fused
// conv+relu, sigmoid conv, max pooling, Activation, global pooling, Dropout, dense layers), and
// the parameters, gradients and optimizer state left as they were. Skips without a GPU; runs on
// the CPU emulator of CUDA as emulated_explain_cuda.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/cpu_backend.h"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/test_models.h"

using namespace acts;
using namespace acts::test;

namespace {

class GradientCuda : public CudaTest {};

Objective objective(const std::string& layer, Objective::Kind kind, bool pre, std::vector<int> target,
                    std::vector<float> weight = {}) {
  Objective o;
  o.layer = layer;
  o.kind = kind;
  o.pre_activation = pre;
  o.target = std::move(target);
  o.weight = std::move(weight);
  return o;
}

TEST_F(GradientCuda, EveryObjectiveToEveryEarlierLayerMatchesTheCpuReference) {
  const Graph g(op_contract_model());
  const int n = 3;
  BackendOptions o;
  o.max_batch = 4;  // more than the batch: rows past n must not leak in
  o.cpu_reference = true;
  std::unique_ptr<Backend> cpu = make_cpu_backend(g, o);
  std::unique_ptr<Backend> gpu = make_cuda_backend(g, o);
  const std::vector<float> w = random_floats(g.param_count(), 11, -0.5f, 0.5f);
  cpu->set_params(w);
  gpu->set_params(w);
  const std::vector<float> x = random_floats(size_t(n) * g.input_size(), 12, 0.f, 1.f);
  Batch b;
  b.n = n;
  b.inputs = x.data();
  cpu->forward(b, false);
  gpu->forward(b, false);
  using K = Objective::Kind;
  const std::vector<Objective> objectives = {
      objective("dense_2", K::kElement, true, {0, 0, 0}, {1.f, -1.f, 1.f}),  // class scores z, -z, z
      objective("dense_1", K::kElement, false, {3, 0, 5}),
      objective("dense_1", K::kElement, true, {3, 0, 5}),
      objective("conv2d_2", K::kChannelMean, false, {2, 0, 1}, {0.5f, 2.f, -1.f}),
      objective("conv2d_1", K::kElement, true, {7, 100, 3}),
  };
  for (const Objective& ob : objectives) {
    std::vector<std::string> wrt = {""};
    for (int i = 0; i <= g.find(ob.layer); ++i) wrt.push_back(g.nodes()[size_t(i)].spec.name);
    std::vector<std::vector<float>> want, got;
    cpu->gradient(ob, wrt, want);
    gpu->gradient(ob, wrt, got);
    ASSERT_EQ(got.size(), wrt.size());
    for (size_t k = 0; k < wrt.size(); ++k) {
      double m = 0;
      for (float v : want[k]) m = std::max(m, double(std::fabs(v)));
      const std::string name = ob.layer + (ob.pre_activation ? " (pre)" : "") + " d/d " +
                               (wrt[k].empty() ? "input" : wrt[k]);
      EXPECT_GT(m, 0) << name << ": all zero proves nothing";
      expect_close(name, got[k], want[k], 1e-4, 1e-6 * m);
    }
  }
}

TEST_F(GradientCuda, ForwardToALayerGivesTheFullForwardsGradients) {
  const Graph g(op_contract_model());
  const int n = 2;
  BackendOptions o;
  o.max_batch = n;
  std::unique_ptr<Backend> gpu = make_cuda_backend(g, o);
  gpu->set_params(random_floats(g.param_count(), 21, -0.5f, 0.5f));
  const std::vector<float> x = random_floats(size_t(n) * g.input_size(), 22, 0.f, 1.f);
  Batch b;
  b.n = n;
  b.inputs = x.data();
  const Objective ob = objective("conv2d_2", Objective::Kind::kChannelMean, false, {1, 2});
  std::vector<std::vector<float>> full, part;
  gpu->forward(b, false);
  gpu->gradient(ob, {"", "conv2d_1"}, full);
  gpu->forward_to(b, "conv2d_2");
  gpu->gradient(ob, {"", "conv2d_1"}, part);
  EXPECT_EQ(part, full);
  EXPECT_THROW(gpu->activation("dense_1"), Error);
}

TEST_F(GradientCuda, LeavesParametersGradientsAndOptimizerStateAsTheyWere) {
  const Graph g(op_contract_model());
  const int n = 2;
  BackendOptions o;
  o.max_batch = n;
  std::unique_ptr<Backend> gpu = make_cuda_backend(g, o);
  const std::vector<float> x = random_floats(size_t(n) * g.input_size(), 5, 0.f, 1.f);
  std::vector<float> labels = {0.f, 1.f};
  Batch b;
  b.n = n;
  b.inputs = x.data();
  b.labels = labels.data();
  gpu->train_step(b);
  gpu->forward(b, true);
  gpu->backward(b);
  const std::vector<float> w = gpu->params(), gr = gpu->grads(), acc = gpu->opt_state();
  gpu->take_metrics();
  gpu->forward(b, false);
  std::vector<std::vector<float>> out;
  gpu->gradient(objective("dense_2", Objective::Kind::kElement, true, {0, 0}), {"", "conv2d_1"}, out);
  EXPECT_EQ(gpu->params(), w);
  EXPECT_EQ(gpu->grads(), gr);
  EXPECT_EQ(gpu->opt_state(), acc);
  EXPECT_EQ(gpu->take_metrics().count, 0);
  EXPECT_EQ(out[0].size(), size_t(n) * g.input_size());
}

}  // namespace
