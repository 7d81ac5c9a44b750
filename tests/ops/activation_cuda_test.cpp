// Tanh, softmax and the softmax head's cross-entropy on the GPU: the loss kernel against the CPU
// reference, and the CUDA backend against the CPU backend on the golden model of
// activation_test.cpp (one training step). The activation kernels themselves are compared in
// tests/cuda/cuda_kernels_test.cpp. Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/cce.h"
#include "kernels/cuda/cce.cuh"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

class SoftmaxTanhCuda : public CudaTest {};

TEST_F(SoftmaxTanhCuda, CrossEntropyKernelMatchesTheReference) {
  const int n = 300, classes = 7;  // more images than the kernel's threads
  std::vector<float> z = random_floats(size_t(n) * classes, 11, -30.f, 30.f);
  std::vector<float> labels(n);
  for (int i = 0; i < n; ++i) labels[size_t(i)] = float((i * 5) % classes);
  std::vector<float> dz_ref(z.size());
  double correct = 0;
  const double loss = cpu::softmax_ce_from_logits(z.data(), labels.data(), n, classes, dz_ref.data(), &correct);
  auto d_z = upload(z), d_labels = upload(labels);
  auto d_dz = poisoned(z.size());
  auto d_sums = upload(std::vector<double>{0, 0});
  gpu::softmax_ce_loss(d_z.get(), d_labels.get(), n, classes, d_dz.get(), d_sums.get(), stream());
  const std::vector<double> sums = download(d_sums, 2);
  EXPECT_NEAR(sums[0], loss, 1e-9 * loss);
  EXPECT_EQ(sums[1], correct);
  expect_close("dz", download(d_dz, z.size()), dz_ref, 1e-6, 1e-9);
}

TEST_F(SoftmaxTanhCuda, BackendStepMatchesTheCpuBackend) { expect_cuda_step_matches_cpu("softmax_tanh"); }

TEST_F(SoftmaxTanhCuda, MultiClassConvnetStepMatchesTheCpuBackend) { expect_cuda_step_matches_cpu("softmax_step"); }

}  // namespace
