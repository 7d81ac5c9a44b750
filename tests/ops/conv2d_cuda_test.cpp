// Conv2D with 'same' padding, strides and no bias on the GPU: the pad/crop kernels that add
// TensorFlow's odd extra row/column for cuDNN, against host loops (outputs poisoned first); and
// the CUDA backend against the CPU reference backend on the golden model of conv2d_test.cpp (all
// five of its convolutions: symmetric and odd padding, stride 2 same and valid, no bias), forward,
// gradients and one update. Skips without a GPU; runs on the emulator (emulated_ops_cuda).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cuda/conv2d_pad.cuh"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_golden_cuda.h"

using namespace acts;
using namespace acts::test;

namespace {

class Conv2DPaddingCuda : public CudaTest {};

TEST_F(Conv2DPaddingCuda, PadAndCropKernelsMatchHostLoops) {
  const int N = 3, H = 7, W = 6, C = 5;
  for (const auto& [eh, ew] : std::vector<std::pair<int, int>>{{1, 1}, {0, 1}, {1, 0}}) {
    SCOPED_TRACE("extra " + std::to_string(eh) + "x" + std::to_string(ew));
    const int HP = H + eh, WP = W + ew;
    const std::vector<float> x = random_floats(size_t(N) * H * W * C, 3),
                             xp_in = random_floats(size_t(N) * HP * WP * C, 4);
    std::vector<float> xp_ref(xp_in.size(), 0.f), crop_ref(x.size());
    for (int n = 0; n < N; ++n)
      for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w)
          for (int c = 0; c < C; ++c) {
            xp_ref[((size_t(n) * HP + h) * WP + w) * C + c] = x[((size_t(n) * H + h) * W + w) * C + c];
            crop_ref[((size_t(n) * H + h) * W + w) * C + c] = xp_in[((size_t(n) * HP + h) * WP + w) * C + c];
          }
    auto d_x = upload(x), d_xp_in = upload(xp_in);
    auto d_xp = poisoned(xp_ref.size()), d_crop = poisoned(crop_ref.size());
    gpu::conv2d_pad_after(d_x.get(), N, H, W, C, eh, ew, d_xp.get(), stream());
    gpu::conv2d_crop_after(d_xp_in.get(), N, H, W, C, eh, ew, d_crop.get(), stream());
    EXPECT_EQ(download(d_xp, xp_ref.size()), xp_ref);
    EXPECT_EQ(download(d_crop, crop_ref.size()), crop_ref);
  }
}

TEST_F(Conv2DPaddingCuda, BackendStepMatchesTheCpuBackend) { expect_cuda_step_matches_cpu("conv2d_padding"); }

}  // namespace
