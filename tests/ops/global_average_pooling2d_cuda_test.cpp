// GlobalAveragePooling2D on the GPU: its kernels against the CPU reference (outputs poisoned
// first), and its CudaOp inside the CUDA backend against the CPU backend on the golden model of
// global_average_pooling2d_test.cpp. Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/global_average_pooling2d.h"
#include "kernels/cuda/global_average_pooling2d.cuh"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cuda/cuda_backend.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

class GlobalAveragePooling2DCuda : public CudaTest {};

TEST_F(GlobalAveragePooling2DCuda, KernelsMatchTheReference) {
  const int N = 3, H = 7, W = 5, C = 37;  // odd sizes: no warp or vector boundary lines up
  const std::vector<float> x = random_floats(size_t(N) * H * W * C, 5), dy = random_floats(size_t(N) * C, 6);
  std::vector<float> y_ref(size_t(N) * C), dx_ref(x.size());
  cpu::global_average_pooling2d_forward(x.data(), N, H, W, C, y_ref.data());
  cpu::global_average_pooling2d_backward(dy.data(), N, H, W, C, dx_ref.data());

  auto d_x = upload(x), d_dy = upload(dy);
  auto d_y = poisoned(y_ref.size()), d_dx = poisoned(dx_ref.size());
  gpu::global_average_pooling2d_forward(d_x.get(), N, H, W, C, d_y.get(), stream());
  gpu::global_average_pooling2d_backward(d_dy.get(), N, H, W, C, d_dx.get(), stream());
  // Forward: 35 float additions against a double sum. Backward: one correctly rounded division
  // of the same operands on both sides, so equal.
  expect_close("forward", download(d_y, y_ref.size()), y_ref, 1e-6, 1e-6);
  EXPECT_EQ(download(d_dx, dx_ref.size()), dx_ref);
}

TEST_F(GlobalAveragePooling2DCuda, BackendStepMatchesTheCpuBackend) { expect_cuda_step_matches_cpu("global_average_pooling2d"); }

}  // namespace
