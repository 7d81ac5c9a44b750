// The CUDA backend's device parameter layout (runtime/cuda/param_layout.h): conv kernels move
// to cuDNN's (Cout, kh, kw, Cin), every tensor starts on a 64-float boundary with zero padding,
// and the round trip to Keras' flat layout is exact. Plain C++: runs with or without a GPU.
#include <gtest/gtest.h>

#include "runtime/cuda/param_layout.h"
#include "tests/cuda/cuda_test_util.h"

using namespace acts;

TEST(CudaParamLayout, ConvKernelTransposeFollowsTheIndexFormulas) {
  const int kh = 3, kw = 2, cin = 5, cout = 7;
  const auto keras = acts::test::random_floats(size_t(kh) * kw * cin * cout, 1);
  std::vector<float> cudnn(keras.size()), back(keras.size());
  conv_kernel_keras_to_cudnn(keras.data(), kh, kw, cin, cout, cudnn.data());
  for (int i = 0; i < kh; ++i)
    for (int j = 0; j < kw; ++j)
      for (int c = 0; c < cin; ++c)
        for (int f = 0; f < cout; ++f)
          ASSERT_EQ(cudnn[((size_t(f) * kh + i) * kw + j) * cin + c],
                    keras[((size_t(i) * kw + j) * cin + c) * cout + f]);
  conv_kernel_cudnn_to_keras(cudnn.data(), kh, kw, cin, cout, back.data());
  EXPECT_EQ(back, keras);
}

TEST(CudaParamLayout, AlignedPaddedAndExactRoundTrip) {
  Graph g(tutorial_model(47));
  DeviceParamLayout layout(g);
  size_t expected_end = 0;
  for (size_t k = 0; k < g.params().size(); ++k) {
    EXPECT_EQ(layout.offset(int(k)) % DeviceParamLayout::kAlignFloats, 0u) << g.params()[k].name;
    EXPECT_GE(layout.offset(int(k)), expected_end) << g.params()[k].name << " overlaps the previous tensor";
    expected_end = layout.offset(int(k)) + g.params()[k].size;
  }
  EXPECT_GE(layout.total(), expected_end);
  EXPECT_EQ(layout.total() % DeviceParamLayout::kAlignFloats, 0u);

  const auto keras = acts::test::random_floats(g.param_count(), 2);
  std::vector<float> device(layout.total(), 123.f), back(g.param_count());
  layout.to_device(keras.data(), device.data());
  layout.to_keras(device.data(), back.data());
  EXPECT_EQ(back, keras);
  // Padding is zero, so RMSprop over the whole vector leaves it at zero.
  std::vector<bool> used(layout.total(), false);
  for (size_t k = 0; k < g.params().size(); ++k)
    for (size_t i = 0; i < g.params()[k].size; ++i) used[layout.offset(int(k)) + i] = true;
  for (size_t i = 0; i < layout.total(); ++i)
    if (!used[i]) ASSERT_EQ(device[i], 0.f) << "padding at " << i;
  // Dense kernels and biases keep Keras' layout; conv kernels are transposed.
  const ParamRef& dense = g.params()[8];
  ASSERT_EQ(dense.shape.size(), 2u);
  EXPECT_EQ(device[layout.offset(8) + 5], keras[dense.offset + 5]);
  const ParamRef& conv = g.params()[0];  // (3, 3, 3, 32): element (0, 0, 1, 0) moves to (0, 0, 0, 1)
  EXPECT_EQ(device[layout.offset(0) + 1], keras[conv.offset + 32]);
}
