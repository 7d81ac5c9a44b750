// The cuDNN Conv2D and cuBLAS Dense layers against the CPU reference kernels run in double (the
// kernels are templates), on random non-zero data, with outputs NaN-poisoned first.
// Strict fp32: |got - ref| <= 1e-5 |ref| + 1e-5 max|ref| (the second term covers outputs that
// cancel to near zero, whose relative error says nothing about the kernel).
// TF32: tensor cores round inputs to 10 mantissa bits (relative 2^-11 = 4.9e-4), so those
// tests allow 5e-3 of the tensor's largest value; a layout or indexing bug is off by O(1).
// bf16 (mixed bf16's tensor-core paths): inputs rounded to bf16 on both sides, so the reference
// sees the GPU's exact operands; see the bf16 tests for their bounds.
#include <cuda_bf16.h>

#include "kernels/cpu/bf16.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/dense.h"
#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "runtime/ops/conv2d/conv2d_cuda_layer.h"
#include "runtime/ops/dense/dense_cuda_gemm.h"
#include "runtime/cuda/param_layout.h"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"

using namespace acts;
using namespace acts::test;

namespace {

constexpr double kStrict = 1e-5, kTf32 = 5e-3;

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

std::string dims(const ConvShape& s) {
  return "(" + std::to_string(s.n) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + ", " +
         std::to_string(s.c) + ") k" + std::to_string(s.k) + " f" + std::to_string(s.f);
}

// Forward (with bias) and the three gradients of one conv shape, against the double reference,
// with the algorithms cuDNN's heuristics pick or (search) the fastest allowed by timing.
void check_conv(CudaTest& t, const CudaContext& ctx, const ConvShape& s, double tol, bool search = false,
                bool deterministic = true) {
  const size_t xn = size_t(s.n) * s.h * s.w * s.c, yn = size_t(s.n) * s.oh() * s.ow() * s.f;
  const size_t kn = size_t(s.k) * s.k * s.c * s.f;
  const auto x = random_floats(xn, 21), k = random_floats(kn, 22, -0.2f, 0.2f), b = random_floats(size_t(s.f), 23);
  const auto dy = random_floats(yn, 24);
  std::vector<float> k_cudnn(kn);
  conv_kernel_keras_to_cudnn(k.data(), s.k, s.k, s.c, s.f, k_cudnn.data());

  ConvLayer conv(ctx, "conv_test", s, deterministic, search, size_t(256) << 20);
  DeviceBuffer<unsigned char> ws(std::max<size_t>(conv.workspace_bytes(), 1), "workspace");
  auto d_x = t.upload(x), d_k = t.upload(k_cudnn), d_b = t.upload(b), d_dy = t.upload(dy);
  auto d_y = t.poisoned(yn), d_dx = t.poisoned(xn), d_dk = t.poisoned(kn), d_db = t.poisoned(size_t(s.f));
  const size_t rows = size_t(s.n) * s.oh() * s.ow();
  const size_t scratch_n = gpu::bias_grad_scratch_floats(rows, s.f);
  auto d_scratch = t.poisoned(scratch_n);
  conv.forward(d_x.get(), d_k.get(), d_y.get(), ws.get(), ws.bytes());
  gpu::bias_act(d_y.get(), d_b.get(), rows, s.f, Act::Linear, ctx.stream());
  conv.backward_data(d_k.get(), d_dy.get(), d_dx.get(), ws.get(), ws.bytes());
  conv.backward_filter(d_x.get(), d_dy.get(), d_dk.get(), ws.get(), ws.bytes());
  gpu::bias_grad(d_dy.get(), rows, s.f, d_db.get(), d_scratch.get(), scratch_n, ctx.stream());

  std::vector<double> y(yn), dx(xn), dk(kn), db(size_t(s.f));
  const auto xd = to_double(x), kd = to_double(k), bd = to_double(b), dyd = to_double(dy);
  cpu::conv2d_forward(xd.data(), s.n, s.h, s.w, s.c, kd.data(), bd.data(), s.k, s.k, s.f, y.data());
  cpu::conv2d_backward(xd.data(), s.n, s.h, s.w, s.c, kd.data(), s.k, s.k, s.f, dyd.data(), dx.data(), dk.data(),
                       db.data());
  const auto got_dk_cudnn = t.download(d_dk, kn);
  std::vector<float> got_dk(kn);
  conv_kernel_cudnn_to_keras(got_dk_cudnn.data(), s.k, s.k, s.c, s.f, got_dk.data());
  const std::string tag = " " + dims(s) + (search ? " searched" : "") + " [" + conv.algorithms() + "]";
  expect_close("conv forward" + tag, t.download(d_y, yn), y, tol, tol * max_abs(y));
  expect_close("conv backward data" + tag, t.download(d_dx, xn), dx, tol, tol * max_abs(dx));
  expect_close("conv backward filter" + tag, got_dk, dk, tol, tol * max_abs(dk));
  expect_close("conv bias grad" + tag, t.download(d_db, size_t(s.f)), db, tol, tol * max_abs(db));
}

// bf16 tensors on the host side of a test: values rounded to bf16 (cpu::round_bf16), uploaded
// packed, and read back widened.
std::vector<float> bf16_values(std::vector<float> v) {
  cpu::round_bf16(v.data(), v.data(), v.size());
  return v;
}
DeviceBuffer<__nv_bfloat16> upload_bf16(CudaTest& t, const std::vector<float>& v) {
  std::vector<__nv_bfloat16> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = __float2bfloat16_rn(v[i]);
  DeviceBuffer<__nv_bfloat16> d(std::max<size_t>(v.size(), 1), "test input (bf16)");
  d.copy_from_host(h.data(), h.size(), t.stream());
  return d;
}
DeviceBuffer<__nv_bfloat16> poisoned_bf16(CudaTest& t, size_t n) {
  DeviceBuffer<__nv_bfloat16> d(std::max<size_t>(n, 1), "test output (bf16)");
  d.poison(t.stream());  // 0xFFFF: a bf16 NaN
  return d;
}
std::vector<float> download_bf16(CudaTest& t, const DeviceBuffer<__nv_bfloat16>& d, size_t n) {
  std::vector<__nv_bfloat16> h(n);
  d.copy_to_host(h.data(), n, t.stream());
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = __bfloat162float(h[i]);
  return v;
}

// Mixed bf16's convolution: x, the kernel and dy bf16, y, dx and dw written as bf16 by cuDNN
// (float32 accumulation, then rounded), against the double reference on the same bf16 operands.
// cuDNN's float32 sum may land on the other side of a bf16 rounding boundary, and its own rounding
// is half a step: within 2^-7 relative (two bf16 steps) plus 2^-7 of the tensor's largest value
// (outputs that cancel to near zero). A float32 kernel read as bf16 would be garbage.
void check_conv_bf16(CudaTest& t, const CudaContext& ctx, const ConvShape& s) {
  const size_t xn = size_t(s.n) * s.h * s.w * s.c, yn = size_t(s.n) * s.oh() * s.ow() * s.f;
  const size_t kn = size_t(s.k) * s.k * s.c * s.f;
  const auto x = bf16_values(random_floats(xn, 41)), k = bf16_values(random_floats(kn, 42, -0.2f, 0.2f));
  const auto dy = bf16_values(random_floats(yn, 44));
  std::vector<float> k_cudnn(kn);
  conv_kernel_keras_to_cudnn(k.data(), s.k, s.k, s.c, s.f, k_cudnn.data());

  ConvLayer conv(ctx, "conv_test", s, true, false, size_t(256) << 20, CUDNN_DATA_BFLOAT16);
  DeviceBuffer<unsigned char> ws(std::max<size_t>(conv.workspace_bytes(), 1), "workspace");
  auto d_x = upload_bf16(t, x), d_k = upload_bf16(t, k_cudnn), d_dy = upload_bf16(t, dy);
  auto d_y = poisoned_bf16(t, yn), d_dx = poisoned_bf16(t, xn), d_dk = poisoned_bf16(t, kn);
  conv.forward(d_x.get(), d_k.get(), d_y.get(), ws.get(), ws.bytes());
  conv.backward_data(d_k.get(), d_dy.get(), d_dx.get(), ws.get(), ws.bytes());
  conv.backward_filter(d_x.get(), d_dy.get(), d_dk.get(), ws.get(), ws.bytes());

  std::vector<double> y(yn), dx(xn), dk(kn), db(size_t(s.f));
  const std::vector<double> xd = to_double(x), kd = to_double(k), dyd = to_double(dy), zero(size_t(s.f), 0.0);
  cpu::conv2d_forward(xd.data(), s.n, s.h, s.w, s.c, kd.data(), zero.data(), s.k, s.k, s.f, y.data());
  cpu::conv2d_backward(xd.data(), s.n, s.h, s.w, s.c, kd.data(), s.k, s.k, s.f, dyd.data(), dx.data(), dk.data(),
                       db.data());
  const auto got_dk_cudnn = download_bf16(t, d_dk, kn);
  std::vector<float> got_dk(kn);
  conv_kernel_cudnn_to_keras(got_dk_cudnn.data(), s.k, s.k, s.c, s.f, got_dk.data());
  const std::string tag = " " + dims(s) + " [" + conv.algorithms() + "]";
  constexpr double tol = 1.0 / 128;
  expect_close("bf16 conv forward" + tag, download_bf16(t, d_y, yn), y, tol, tol * max_abs(y));
  expect_close("bf16 conv backward data" + tag, download_bf16(t, d_dx, xn), dx, tol, tol * max_abs(dx));
  expect_close("bf16 conv backward filter" + tag, got_dk, dk, tol, tol * max_abs(dk));
}

const ConvShape kConvShapes[] = {
    {1, 3, 3, 1, 3, 1},      // a single output pixel
    {2, 9, 7, 3, 3, 5},      // odd everything
    {3, 47, 47, 3, 3, 32},   // the tutorial's first layer at a small image size
    {2, 10, 12, 32, 3, 64},  // deeper channels
    {1, 6, 6, 128, 3, 128},  // the tutorial's last conv width
};

class CudaConv : public CudaTest {};
class CudaConvTf32 : public CudaTf32Test {};

TEST_F(CudaConv, StrictFp32MatchesReference) {
  for (const ConvShape& s : kConvShapes) check_conv(*this, *ctx, s, kStrict);
}

TEST_F(CudaConvTf32, Tf32WithinItsTolerance) {
  for (const ConvShape& s : kConvShapes) check_conv(*this, *ctx, s, kTf32);
}

TEST_F(CudaConv, Bf16MatchesReferenceOnBf16Operands) {
  for (const ConvShape& s : kConvShapes) check_conv_bf16(*this, *ctx, s);
}

// cudnnFind* times every algorithm; the strict-fp32 filters must still hold for its fastest.
TEST_F(CudaConv, SearchedAlgorithmsMatchReference) {
  for (const ConvShape& s : kConvShapes) check_conv(*this, *ctx, s, kStrict, /*search=*/true);
}

// The fastest mode bench and train_gpu offer: TF32, timed search, non-deterministic allowed.
TEST_F(CudaConvTf32, SearchedNonDeterministicWithinItsTolerance) {
  for (const ConvShape& s : kConvShapes) check_conv(*this, *ctx, s, kTf32, /*search=*/true, /*deterministic=*/false);
}

TEST_F(CudaConv, ShapeErrorNamesTheLayerAndDims) {
  try {
    ConvLayer bad(*ctx, "conv2d_7", ConvShape{4, 2, 2, 3, 3, 8}, true, false, 1 << 20);
    FAIL() << "a 3x3 kernel on a 2x2 input was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d_7"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(4, 2, 2, 3)"), std::string::npos) << msg;
  }
}

// cuDNN's legacy API holds at most 2^31 - 1 elements in a tensor. conv2d_1 of the tutorial at
// 150x150 outputs 148 * 148 * 32 = 700,928 floats per image, so 3063 images fit and 3064 do not:
// refused before cuDNN is asked, naming the layer, the tensor and the largest batch that fits.
TEST_F(CudaConv, BatchOverCudnnsTensorLimitNamesTheLargestThatFits) {
  try {
    ConvLayer big(*ctx, "conv2d_1", ConvShape{3064, 150, 150, 3, 3, 32}, true, false, size_t(1) << 20);
    FAIL() << "a tensor of 3064 * 148 * 148 * 32 > 2^31 elements was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv2d_1 (Conv2D, input (3064, 150, 150, 3)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("output (3064, 148, 148, 32)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("largest batch that fits is 3063"), std::string::npos) << msg;
  }
}

void check_dense(CudaTest& t, const CudaContext& ctx, int n, int in, int out, double tol) {
  const auto x = random_floats(size_t(n) * in, 31), w = random_floats(size_t(in) * out, 32, -0.1f, 0.1f);
  const auto b = random_floats(size_t(out), 33), dy = random_floats(size_t(n) * out, 34);
  auto d_x = t.upload(x), d_w = t.upload(w), d_b = t.upload(b), d_dy = t.upload(dy);
  auto d_y = t.poisoned(size_t(n) * out), d_dx = t.poisoned(size_t(n) * in), d_dw = t.poisoned(size_t(in) * out);
  auto d_db = t.poisoned(size_t(out));
  const size_t scratch_n = gpu::bias_grad_scratch_floats(size_t(n), out);
  auto d_scratch = t.poisoned(scratch_n);
  dense_forward(ctx, "dense_test", d_x.get(), n, in, d_w.get(), out, d_y.get());
  gpu::bias_act(d_y.get(), d_b.get(), size_t(n), out, Act::Linear, ctx.stream());
  dense_backward(ctx, "dense_test", d_x.get(), n, in, d_w.get(), out, d_dy.get(), d_dx.get(), d_dw.get());
  gpu::bias_grad(d_dy.get(), size_t(n), out, d_db.get(), d_scratch.get(), scratch_n, ctx.stream());

  std::vector<double> y(size_t(n) * out), dx(size_t(n) * in), dw(size_t(in) * out), db(static_cast<size_t>(out));
  const auto xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
  cpu::dense_forward(xd.data(), n, in, wd.data(), bd.data(), out, y.data());
  cpu::dense_backward(xd.data(), n, in, wd.data(), out, dyd.data(), dx.data(), dw.data(), db.data());
  const std::string tag = " (" + std::to_string(n) + ", " + std::to_string(in) + ") -> " + std::to_string(out);
  expect_close("dense forward" + tag, t.download(d_y, y.size()), y, tol, tol * max_abs(y));
  expect_close("dense backward data" + tag, t.download(d_dx, dx.size()), dx, tol, tol * max_abs(dx));
  expect_close("dense backward weights" + tag, t.download(d_dw, dw.size()), dw, tol, tol * max_abs(dw));
  expect_close("dense bias grad" + tag, t.download(d_db, db.size()), db, tol, tol * max_abs(db));
}

struct DenseShape {
  int n, in, out;
};
const DenseShape kDenseShapes[] = {{1, 1, 1}, {5, 17, 3}, {3, 128, 512}, {2, 513, 1}, {20, 6272, 512}};

class CudaDense : public CudaTest {};
class CudaDenseTf32 : public CudaTf32Test {};

TEST_F(CudaDense, StrictFp32MatchesReference) {
  for (const DenseShape& s : kDenseShapes) check_dense(*this, *ctx, s.n, s.in, s.out, kStrict);
}

TEST_F(CudaDenseTf32, Tf32WithinItsTolerance) {
  for (const DenseShape& s : kDenseShapes) check_dense(*this, *ctx, s.n, s.in, s.out, kTf32);
}

// Mixed bf16's GEMMs: bf16 x, w and dy, float32 accumulation and results, against the double
// reference on the same bf16 operands (bf16 x bf16 products are exact in float32, so only the
// float32 sum rounds): the strict fp32 bound holds. bf16 operands read as float32 are garbage.
TEST_F(CudaDense, Bf16OperandsGiveFloat32Results) {
  for (const DenseShape& s : kDenseShapes) {
    const int n = s.n, in = s.in, out = s.out;
    const auto x = bf16_values(random_floats(size_t(n) * in, 51));
    const auto w = bf16_values(random_floats(size_t(in) * out, 52, -0.1f, 0.1f));
    const auto dy = bf16_values(random_floats(size_t(n) * out, 54));
    auto d_x = upload_bf16(*this, x), d_w = upload_bf16(*this, w), d_dy = upload_bf16(*this, dy);
    auto d_y = poisoned(size_t(n) * out), d_dx = poisoned(size_t(n) * in), d_dw = poisoned(size_t(in) * out);
    dense_forward(*ctx, "dense_test", d_x.get(), n, in, d_w.get(), out, d_y.get(), GemmType::kBf16);
    dense_backward(*ctx, "dense_test", d_x.get(), n, in, d_w.get(), out, d_dy.get(), d_dx.get(), d_dw.get(),
                   GemmType::kBf16);
    std::vector<double> y(size_t(n) * out), dx(size_t(n) * in), dw(size_t(in) * out), db(static_cast<size_t>(out));
    const std::vector<double> xd = to_double(x), wd = to_double(w), dyd = to_double(dy), zero(size_t(out), 0.0);
    cpu::dense_forward(xd.data(), n, in, wd.data(), zero.data(), out, y.data());
    cpu::dense_backward(xd.data(), n, in, wd.data(), out, dyd.data(), dx.data(), dw.data(), db.data());
    const std::string tag = " (" + std::to_string(n) + ", " + std::to_string(in) + ") -> " + std::to_string(out);
    expect_close("bf16 dense forward" + tag, download(d_y, y.size()), y, kStrict, kStrict * max_abs(y));
    expect_close("bf16 dense backward data" + tag, download(d_dx, dx.size()), dx, kStrict, kStrict * max_abs(dx));
    expect_close("bf16 dense backward weights" + tag, download(d_dw, dw.size()), dw, kStrict, kStrict * max_abs(dw));
  }
}

}  // namespace
