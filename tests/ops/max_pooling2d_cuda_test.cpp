// MaxPooling2D on the GPU: its kernels against the CPU reference on every window kind (outputs
// poisoned first; overlapping windows, 'same' padding, ties, the fused relu), equal bit for bit,
// and its CudaOp inside the CUDA backend against the CPU backend on the golden model of
// max_pooling2d_test.cpp. Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/activations.h"
#include "kernels/cpu/max_pooling2d.h"
#include "kernels/cuda/max_pooling2d.cuh"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

class MaxPooling2DCuda : public CudaTest {};

TEST_F(MaxPooling2DCuda, KernelsEqualTheReferenceOnEveryWindow) {
  struct Case {
    int k, s;
    Padding p;
  };
  for (const Case pc :
       {Case{2, 2, Padding::Valid}, Case{3, 2, Padding::Same}, Case{3, 2, Padding::Valid}, Case{2, 1, Padding::Same},
        Case{3, 1, Padding::Valid}, Case{2, 3, Padding::Same}, Case{4, 2, Padding::Same}})
    for (const auto& [H, W] : std::vector<std::pair<int, int>>{{7, 5}, {10, 9}}) {
      const int N = 2, C = 37;  // odd: no warp or vector boundary lines up
      const Pool2dShape g = pool2d_shape(pc.p, N, H, W, C, pc.k, pc.s);
      const size_t xs = size_t(N) * H * W * C, ys = size_t(N) * g.OH * g.OW * C;
      auto x = random_floats(xs, 12);
      for (size_t i = 0; i < xs; i += 3) x[i] = std::round(x[i] * 2);  // ties among a third
      const auto dy = random_floats(ys, 13);
      std::vector<float> y(ys), dx(xs), dx_relu(xs), xr(xs), dxr(xs);
      cpu::maxpool_forward(x.data(), g, y.data());
      cpu::maxpool_backward(x.data(), g, dy.data(), dx.data());
      const std::string tag = " (pool " + std::to_string(pc.k) + " stride " + std::to_string(pc.s) +
                              (pc.p == Padding::Same ? " same " : " valid ") + std::to_string(H) + "x" +
                              std::to_string(W) + ")";
      auto d_x = upload(x), d_dy = upload(dy);
      auto d_y = poisoned(ys), d_dx = poisoned(xs);
      gpu::maxpool_forward(d_x.get(), g, d_y.get(), stream());
      gpu::maxpool_backward(d_x.get(), g, d_dy.get(), d_dx.get(), false, stream());
      expect_close("forward" + tag, download(d_y, ys), y, 0, 0);
      expect_close("backward" + tag, download(d_dx, xs), dx, 0, 0);
      // Fused with the relu before it: the CPU's two passes one after the other.
      cpu::relu_forward(x.data(), xr.data(), xs);
      cpu::maxpool_backward(xr.data(), g, dy.data(), dxr.data());
      cpu::relu_backward(xr.data(), dxr.data(), dx_relu.data(), xs);
      auto d_xr = upload(xr), d_dxr = poisoned(xs);
      gpu::maxpool_backward(d_xr.get(), g, d_dy.get(), d_dxr.get(), true, stream());
      expect_close("backward fused with relu" + tag, download(d_dxr, xs), dx_relu, 0, 0);
    }
}

// The backward gathers (no atomics): two runs give the same bits.
TEST_F(MaxPooling2DCuda, OverlappingBackwardIsDeterministic) {
  const Pool2dShape g = pool2d_shape(Padding::Same, 3, 33, 31, 64, 3, 1);
  const auto x = random_floats(size_t(g.N) * g.H * g.W * g.C, 3);
  const auto dy = random_floats(size_t(g.N) * g.OH * g.OW * g.C, 4);
  auto d_x = upload(x), d_dy = upload(dy), a = poisoned(x.size()), b = poisoned(x.size());
  gpu::maxpool_backward(d_x.get(), g, d_dy.get(), a.get(), false, stream());
  gpu::maxpool_backward(d_x.get(), g, d_dy.get(), b.get(), false, stream());
  EXPECT_EQ(download(a, x.size()), download(b, x.size()));
}

TEST_F(MaxPooling2DCuda, BackendStepMatchesTheCpuBackend) { expect_cuda_step_matches_cpu("max_pooling2d"); }

}  // namespace
