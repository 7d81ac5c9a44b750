// AveragePooling2D on the GPU: its kernels against the CPU reference on every window kind
// (outputs poisoned first), equal bit for bit (the same sums in the same order), and its CudaOp
// inside the CUDA backend against the CPU backend on the golden model of
// average_pooling2d_test.cpp. Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cpu/average_pooling2d.h"
#include "kernels/cuda/average_pooling2d.cuh"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

class AveragePooling2DCuda : public CudaTest {};

TEST_F(AveragePooling2DCuda, KernelsEqualTheReferenceOnEveryWindow) {
  struct Case {
    int k, s;
    Padding p;
  };
  for (const Case pc : {Case{2, 2, Padding::Valid}, Case{3, 2, Padding::Same}, Case{3, 2, Padding::Valid},
                        Case{2, 1, Padding::Same}, Case{2, 3, Padding::Same}, Case{4, 2, Padding::Same}})
    for (const auto& [H, W] : std::vector<std::pair<int, int>>{{7, 5}, {10, 9}}) {
      const int N = 2, C = 37;
      const Pool2dShape g = pool2d_shape(pc.p, N, H, W, C, pc.k, pc.s);
      const size_t xs = size_t(N) * H * W * C, ys = size_t(N) * g.OH * g.OW * C;
      const auto x = random_floats(xs, 21), dy = random_floats(ys, 22);
      std::vector<float> y(ys), dx(xs);
      cpu::average_pooling2d_forward(x.data(), g, y.data());
      cpu::average_pooling2d_backward(g, dy.data(), dx.data());
      const std::string tag = " (pool " + std::to_string(pc.k) + " stride " + std::to_string(pc.s) +
                              (pc.p == Padding::Same ? " same " : " valid ") + std::to_string(H) + "x" +
                              std::to_string(W) + ")";
      auto d_x = upload(x), d_dy = upload(dy);
      auto d_y = poisoned(ys), d_dx = poisoned(xs);
      gpu::average_pooling2d_forward(d_x.get(), g, d_y.get(), stream());
      gpu::average_pooling2d_backward(g, d_dy.get(), d_dx.get(), stream());
      expect_close("forward" + tag, download(d_y, ys), y, 0, 0);
      expect_close("backward" + tag, download(d_dx, xs), dx, 0, 0);
    }
}

TEST_F(AveragePooling2DCuda, BackendStepMatchesTheCpuBackend) { expect_cuda_step_matches_cpu("average_pooling2d"); }

}  // namespace
