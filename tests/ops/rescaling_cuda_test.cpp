// Rescaling on the GPU: its kernels against the CPU reference (outputs poisoned first), and its
// CudaOp inside the CUDA backend against the CPU backend on the golden model of rescaling_test.cpp.
// Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/cpu/rescaling.h"
#include "kernels/cuda/rescaling.cuh"
#include "runtime/cpu/cpu_backend.h"
#include "runtime/cuda/cuda_backend.h"
#include "tests/compare.h"
#include "tests/cpu/golden_weights.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

class RescalingCuda : public CudaTest {};

TEST_F(RescalingCuda, KernelsMatchTheReference) {
  const size_t n = 1037;  // not a multiple of a warp or a block
  const std::vector<float> x = random_floats(n, 7), dy = random_floats(n, 8);
  std::vector<float> y_ref(n), dx_ref(n);
  cpu::rescaling_forward(x.data(), n, 0.37f, -0.2f, y_ref.data());
  cpu::rescaling_backward(dy.data(), n, 0.37f, dx_ref.data());

  auto d_x = upload(x), d_dy = upload(dy);
  auto d_y = poisoned(n), d_dx = poisoned(n);
  gpu::rescaling_forward(d_x.get(), n, 0.37f, -0.2f, d_y.get(), stream());
  gpu::rescaling_backward(d_dy.get(), n, 0.37f, d_dx.get(), stream());
  // The forward may be one fused multiply-add on the GPU: within a rounding. The backward is one
  // correctly rounded product on both sides.
  expect_close("forward", download(d_y, n), y_ref, 1e-6, 1e-7);
  EXPECT_EQ(download(d_dx, n), dx_ref);
}

TEST_F(RescalingCuda, BackendStepMatchesTheCpuBackend) { expect_cuda_step_matches_cpu("rescaling"); }

}  // namespace
