// GlobalMaxPooling2D on the GPU: its kernels against the CPU reference (outputs poisoned first,
// ties included), equal bit for bit, and its CudaOp inside the CUDA backend against the CPU
// backend on the golden model of global_max_pooling2d_test.cpp. Skips without a GPU; runs on the
// emulator (emulated_ops_cuda).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/global_max_pooling2d.h"
#include "kernels/cuda/global_max_pooling2d.cuh"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

class GlobalMaxPooling2DCuda : public CudaTest {};

TEST_F(GlobalMaxPooling2DCuda, KernelsEqualTheReference) {
  const int N = 3, H = 7, W = 5, C = 37;
  auto x = random_floats(size_t(N) * H * W * C, 5);
  for (size_t i = 0; i < x.size(); i += 2) x[i] = std::round(x[i] * 2);  // ties
  const auto dy = random_floats(size_t(N) * C, 6);
  std::vector<float> y(size_t(N) * C), dx(x.size());
  cpu::global_max_pooling2d_forward(x.data(), N, H, W, C, y.data());
  cpu::global_max_pooling2d_backward(x.data(), N, H, W, C, dy.data(), dx.data());
  auto d_x = upload(x), d_dy = upload(dy);
  auto d_y = poisoned(y.size()), d_dx = poisoned(dx.size());
  gpu::global_max_pooling2d_forward(d_x.get(), N, H, W, C, d_y.get(), stream());
  gpu::global_max_pooling2d_backward(d_x.get(), d_dy.get(), N, H, W, C, d_dx.get(), stream());
  expect_close("forward", download(d_y, y.size()), y, 0, 0);
  expect_close("backward", download(d_dx, dx.size()), dx, 0, 0);
}

TEST_F(GlobalMaxPooling2DCuda, BackendStepMatchesTheCpuBackend) {
  expect_cuda_step_matches_cpu("global_max_pooling2d");
}

}  // namespace
