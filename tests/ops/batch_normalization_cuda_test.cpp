// BatchNormalization on the GPU: its kernels against the CPU reference in training and inference
// mode (outputs poisoned first, odd sizes, more rows than one chunk), bit-for-bit repeatable
// sums, and its CudaOp inside the CUDA backend against the CPU backend on the golden model of
// batch_normalization_test.cpp (one training step, the moving statistics included; an inference
// forward and gradient()). Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/batch_normalization.h"
#include "kernels/cuda/batch_normalization.cuh"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cuda/cuda_backend.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

struct KernelRun {
  std::vector<float> y, dx, dgamma, dbeta, moving_mean, moving_var;
};

class BatchNormalizationCuda : public CudaTest {
 protected:
  KernelRun run_gpu(const std::vector<float>& x, const std::vector<float>& dy, size_t M, int C,
                    const std::vector<float>& gamma, const std::vector<float>& beta, const std::vector<float>& mm,
                    const std::vector<float>& mv, bool training);
};

// The GPU kernels on (M, C): forward (training or inference), backward.
KernelRun BatchNormalizationCuda::run_gpu(const std::vector<float>& x, const std::vector<float>& dy, size_t M, int C,
                                          const std::vector<float>& gamma, const std::vector<float>& beta,
                                          const std::vector<float>& mm, const std::vector<float>& mv, bool training) {
  const cudaStream_t s = stream();
  auto d_x = upload(x), d_dy = upload(dy), d_g = upload(gamma), d_b = upload(beta), d_mm = upload(mm),
       d_mv = upload(mv);
  auto d_y = poisoned(x.size()), d_dx = poisoned(x.size()), d_dg = poisoned(static_cast<size_t>(C)),
       d_db = poisoned(static_cast<size_t>(C));
  DeviceBuffer<double> work(gpu::batch_norm_work_doubles(M, C), "work"), stats(2 * size_t(C), "stats");
  DeviceBuffer<float> coef(6 * size_t(C), "coef");
  const gpu::BatchNormStats st{stats.get(), stats.get() + C, coef.get(), coef.get() + C, work.get()};
  const double eps = 1e-3;
  if (training)
    gpu::batch_norm_train_forward(d_x.get(), M, C, d_g.get(), d_b.get(), 0.9, eps, d_mm.get(), d_mv.get(), st,
                                  d_y.get(), s);
  else
    gpu::batch_norm_infer_forward(d_x.get(), M, C, d_g.get(), d_b.get(), eps, d_mm.get(), d_mv.get(), st, d_y.get(), s);
  gpu::batch_norm_backward(d_dy.get(), d_x.get(), M, C, d_g.get(), eps, training, st, d_dx.get(), d_dg.get(),
                           d_db.get(), coef.get() + 2 * C, s);
  return {download(d_y, x.size()),   download(d_dx, x.size()),  download(d_dg, size_t(C)),
          download(d_db, size_t(C)), download(d_mm, size_t(C)), download(d_mv, size_t(C))};
}

TEST_F(BatchNormalizationCuda, KernelsMatchTheReferenceInBothModes) {
  const size_t M = 3 * 11 * 13;  // more rows than one chunk of partial sums
  const int C = 37;              // odd: no warp boundary lines up
  std::vector<float> x = random_floats(M * C, 5), dy = random_floats(M * C, 6);
  for (float& v : x) v = 3 * v + 0.5f;  // a mean and a variance away from 0 and 1
  const std::vector<float> gamma = random_floats(size_t(C), 7, 0.5f, 1.5f), beta = random_floats(size_t(C), 8);
  const std::vector<float> mm0 = random_floats(size_t(C), 9), mv0 = random_floats(size_t(C), 10, 0.5f, 2.f);
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "inference");
    const KernelRun got = run_gpu(x, dy, M, C, gamma, beta, mm0, mv0, training);
    std::vector<float> y(x.size()), dx(x.size()), dg(static_cast<size_t>(C)), db(static_cast<size_t>(C)), mm = mm0,
                                                                                                          mv = mv0;
    std::vector<double> mean(mm0.begin(), mm0.end()), var(mv0.begin(), mv0.end());
    if (training)
      cpu::batch_normalization_train_forward(x.data(), M, C, gamma.data(), beta.data(), 0.9, 1e-3, y.data(), mm.data(),
                                             mv.data(), mean, var);
    else
      cpu::batch_normalize(x.data(), M, C, mean.data(), var.data(), gamma.data(), beta.data(), 1e-3, y.data());
    cpu::batch_normalization_backward(dy.data(), x.data(), M, C, gamma.data(), mean.data(), var.data(), 1e-3, training,
                                      dx.data(), dg.data(), db.data());
    expect_close("y", got.y, y, 1e-5, 1e-5);
    expect_close("dx", got.dx, dx, 1e-4, 1e-5);
    expect_close("dgamma", got.dgamma, dg, 1e-5, 1e-5);
    expect_close("dbeta", got.dbeta, db, 1e-5, 1e-5);
    expect_close("moving_mean", got.moving_mean, mm, 1e-6, 1e-7);
    expect_close("moving_variance", got.moving_var, mv, 1e-6, 1e-7);
    // No float atomics: the same input gives the same bits.
    const KernelRun again = run_gpu(x, dy, M, C, gamma, beta, mm0, mv0, training);
    EXPECT_EQ(again.y, got.y);
    EXPECT_EQ(again.dx, got.dx);
    EXPECT_EQ(again.dgamma, got.dgamma);
    EXPECT_EQ(again.moving_var, got.moving_var);
  }
}

// expect_cuda_step_matches_cpu, but for the offsets that reach a training-mode BatchNormalization
// through linear layers only (conv2d_2's bias; batch_normalization_1's beta through conv2d_2;
// likewise dense_1's bias and batch_normalization_2's beta before batch_normalization_3): the
// batch mean takes a per-channel constant out again, so their gradient is zero up to rounding on
// both backends, and RMSprop's first step, lr g / sqrt(0.1 g^2), moves them by 3.16 lr in the
// direction of that rounding, on Keras too. Those get their near-zero gradient checked instead.
TEST_F(BatchNormalizationCuda, BackendStepMatchesTheCpuBackend) {
  OpGoldenRun run("batch_normalization");
  BackendOptions o;
  o.max_batch = 3;
  o.cpu_reference = true;
  CpuBackend cpu(run.graph, o);
  CudaBackend cuda(run.graph, o);
  for (Backend* be : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&cuda)}) {
    be->set_params(golden_params(run.graph));
    be->forward(run.batch(), true);
    be->backward(run.batch());
  }
  for (const Node& nd : run.graph.nodes())
    expect_close("activation " + nd.spec.name, cuda.activation(nd.spec.name), cpu.activation(nd.spec.name), 1e-5, 1e-6);
  const std::vector<float> g_cpu = cpu.grads(), g_cuda = cuda.grads();
  expect_close("gradients", g_cuda, g_cpu, 1e-4, 1e-6);
  const std::vector<float> moved_by_forward = cuda.params();
  cpu.update();
  cuda.update();
  const std::vector<float> w_cpu = cpu.params(), w_cuda = cuda.params();
  const std::vector<std::string> before_bn = {"conv2d_2/bias", "dense_1/bias", "batch_normalization_1/beta",
                                              "batch_normalization_2/beta"};
  for (const ParamRef& p : run.graph.params()) {
    if (std::find(before_bn.begin(), before_bn.end(), p.name) != before_bn.end()) {
      for (size_t i = p.offset; i < p.offset + p.size; ++i) {
        EXPECT_LT(std::fabs(g_cpu[i]), 1e-6f) << p.name;
        EXPECT_LT(std::fabs(g_cuda[i]), 1e-6f) << p.name;
      }
      continue;
    }
    expect_close("after one step " + p.name, &w_cuda[p.offset], &w_cpu[p.offset], p.size, 1e-5, 1e-6);
    if (!p.trainable)  // the moving statistics: as the training forward left them, untouched by RMSprop
      EXPECT_TRUE(std::equal(&w_cuda[p.offset], &w_cuda[p.offset] + p.size, &moved_by_forward[p.offset])) << p.name;
  }
}

TEST_F(BatchNormalizationCuda, InferenceForwardAndGradientMatchTheCpuBackend) {
  OpGoldenRun run("batch_normalization");
  BackendOptions o;
  o.max_batch = 3;
  o.cpu_reference = true;
  CpuBackend cpu(run.graph, o);
  CudaBackend cuda(run.graph, o);
  Objective obj;
  obj.layer = "dense_2";
  obj.target = {0, 0, 0};
  std::vector<std::vector<float>> g_cpu, g_cuda;
  for (Backend* be : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&cuda)}) {
    be->set_params(golden_params(run.graph));
    be->forward(run.batch(), false);
  }
  cpu.gradient(obj, {"conv2d_1", "batch_normalization_2"}, g_cpu);
  cuda.gradient(obj, {"conv2d_1", "batch_normalization_2"}, g_cuda);
  for (const Node& nd : run.graph.nodes())
    expect_close("inference " + nd.spec.name, cuda.activation(nd.spec.name), cpu.activation(nd.spec.name), 1e-5, 1e-6);
  ASSERT_EQ(g_cuda.size(), 2u);
  expect_close("gradient at conv2d_1", g_cuda[0], g_cpu[0], 1e-4, 1e-6);
  expect_close("gradient at batch_normalization_2", g_cuda[1], g_cpu[1], 1e-4, 1e-6);
  EXPECT_EQ(cuda.params(), golden_params(run.graph));  // an inference forward changes no state
}

}  // namespace
