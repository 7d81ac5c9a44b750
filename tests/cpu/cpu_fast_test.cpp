// The CPU fast path (runtime/cpu/fast: oneDNN or im2col + OpenBLAS convolutions, OpenBLAS dense
// layers, vectorised maxpool) against the reference kernels of kernels/cpu; both convolution
// paths are checked where the build has both, and oneDNN's bf16 kernels where the CPU has them
// (on bf16 operands, the products are exact, so the same bounds hold). The oracle runs in double, so the bound is on the fast
// float path alone: |fast - ref| <= 1e-5 |ref| + 1e-5 max|ref|, i.e. relative error 1e-5 per
// element, measured against the tensor's scale where a sum cancels to near zero (float GEMMs
// sum in a different order than the loops, so exact equality is not expected; maxpool, which
// only selects values, must match exactly). Random non-zero data, odd shapes, outputs
// NaN-poisoned before each call so an element the fast path forgets to write fails.
// The last tests run a whole CpuBackend training step both ways.
#include <algorithm>
#include <array>
#include <tuple>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/cpu_backend.h"
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/cpu/fast/thread_pool.h"
#include "runtime/core/errors.h"
#include "runtime/core/window.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/bf16.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/dense.h"
#include "kernels/cpu/max_pooling2d.h"
#include "tests/compare.h"
#include "tests/random_batch.h"

using namespace acts;
using acts::test::expect_close;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Uniform in +-[0.1, 1): non-zero, both signs.
std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> mag(0.1f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = (rng() & 1) ? mag(rng) : -mag(rng);
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// rtol 1e-5 per element plus 1e-5 of the tensor's largest magnitude (see the header comment).
void expect_rel(const std::string& name, const std::vector<float>& got, const std::vector<double>& ref) {
  double scale = 0;
  for (double r : ref) scale = std::max(scale, std::fabs(r));
  ASSERT_GT(scale, 0) << name << ": reference is all zero, the comparison would be vacuous";
  expect_close(name, got, ref, 1e-5, 1e-5 * scale);
}

#define SKIP_WITHOUT_BLAS()                                   \
  do {                                                        \
    std::string why;                                          \
    if (!cpu_fast::available(&why)) GTEST_SKIP() << why;      \
  } while (0)

struct ConvCase {
  int N, H, W, C, KH, KW, F;
  int stride = 1;
  Padding padding = Padding::Valid;
  bool bias = true;
  cpu::ConvGeometry geometry() const {
    const Window1d r = window_1d(padding, H, KH, stride), c = window_1d(padding, W, KW, stride);
    return {H, W, C, KH, KW, F, stride, r.pad_before, c.pad_before, r.out, c.out};
  }
};

// One convolution implementation of cpu_fast.h.
struct ConvImpl {
  std::string name;
  decltype(&cpu_fast::gemm::conv2d_forward) forward;
  decltype(&cpu_fast::gemm::conv2d_backward) backward;
  bool bf16 = false;  // reads x, k and dy as bf16: give it bf16 values
};

// The paths this build and CPU have (the GEMM one always when OpenBLAS is there); oneDNN's bf16
// kernels where oneDNN has them (from AVX-512 up; Conv2dBf16KernelsAreAmongTheChecked says).
std::vector<ConvImpl> conv_impls() {
  std::vector<ConvImpl> out{{"gemm", cpu_fast::gemm::conv2d_forward, cpu_fast::gemm::conv2d_backward}};
  if (cpu_fast::onednn::available())
    out.push_back({"onednn", cpu_fast::onednn::conv2d_forward, cpu_fast::onednn::conv2d_backward});
  if (cpu_fast::onednn::bf16_available())
    out.push_back({"onednn bf16", cpu_fast::onednn::conv2d_forward_bf16, cpu_fast::onednn::conv2d_backward_bf16, true});
  return out;
}

// random_vec's values, rounded to bf16 for an implementation that reads bf16.
std::vector<float> operand(const ConvImpl& impl, size_t n, uint32_t seed) {
  std::vector<float> v = random_vec(n, seed);
  if (impl.bf16) cpu::round_bf16(v.data(), v.data(), n);
  return v;
}

// The fast convolution (relu fused in when `relu`) against the double reference, which applies
// relu forward and takes dy through it backward as CpuBackend's reference path does.
void check_conv(const ConvImpl& impl, const ConvCase& s, bool want_dx, bool relu = false) {
  const cpu::ConvGeometry g = s.geometry();
  const int OH = g.OH, OW = g.OW;
  const size_t xs = size_t(s.N) * s.H * s.W * s.C, ks = size_t(s.KH) * s.KW * s.C * s.F,
               ys = size_t(s.N) * OH * OW * s.F;
  const auto x = operand(impl, xs, 1), k = operand(impl, ks, 2), b = random_vec(s.F, 3), dy = operand(impl, ys, 4);
  std::vector<float> scratch;
  const std::string at = " (" + impl.name + ", " + std::to_string(s.N) + "x" + std::to_string(s.H) + "x" +
                         std::to_string(s.W) + "x" + std::to_string(s.C) + ", " + std::to_string(s.KH) + "x" +
                         std::to_string(s.KW) + "x" + std::to_string(s.F) + ", stride " + std::to_string(s.stride) +
                         (s.padding == Padding::Same ? ", same" : "") + (s.bias ? "" : ", no bias") +
                         (relu ? ", relu" : "") + ")";

  std::vector<float> y(ys, kNaN);
  impl.forward(x.data(), s.N, g, k.data(), s.bias ? b.data() : nullptr, relu, y.data(), scratch);
  std::vector<double> y_ref(ys), xd = to_double(x), kd = to_double(k), bd = to_double(b), dyd = to_double(dy);
  cpu::conv2d_forward(xd.data(), s.N, g, kd.data(), s.bias ? bd.data() : nullptr, y_ref.data());
  if (relu) cpu::relu_forward(y_ref.data(), y_ref.data(), ys);
  expect_rel("conv2d y" + at, y, y_ref);

  std::vector<float> dx(want_dx ? xs : 0, kNaN), dk(ks, kNaN), db(size_t(s.F), kNaN), dy_fast = dy;
  impl.backward(x.data(), s.N, g, k.data(), dy_fast.data(), relu ? y.data() : nullptr, want_dx ? dx.data() : nullptr,
                dk.data(), s.bias ? db.data() : nullptr, scratch);
  // The relu mask comes from the fast y (checked above): where y is within rounding of 0 the
  // reference's own y could fall on the other side.
  if (relu) cpu::relu_backward(to_double(y).data(), dyd.data(), dyd.data(), ys);
  std::vector<double> dx_ref(xs), dk_ref(ks), db_ref(size_t(s.F));
  cpu::conv2d_backward(xd.data(), s.N, g, kd.data(), dyd.data(), dx_ref.data(), dk_ref.data(), db_ref.data());
  if (want_dx) expect_rel("conv2d dx" + at, dx, dx_ref);
  expect_rel("conv2d dk" + at, dk, dk_ref);
  if (s.bias)
    expect_rel("conv2d db" + at, db, db_ref);
  else
    for (float v : db) EXPECT_TRUE(std::isnan(v)) << "no bias, yet db written" << at;
}

// The tests above and below run oneDNN's bf16 convolutions on bf16 operands against the
// reference, wherever oneDNN has them; this one says when they could not.
TEST(CpuFast, Conv2dBf16KernelsAreAmongTheChecked) {
  SKIP_WITHOUT_BLAS();
  std::string why;
  if (!cpu_fast::onednn::bf16_available(&why)) GTEST_SKIP() << "oneDNN's bf16 convolutions not checked: " << why;
  const auto impls = conv_impls();
  EXPECT_TRUE(std::any_of(impls.begin(), impls.end(), [](const ConvImpl& i) { return i.bf16; }));
  if (!std::getenv("ACTS_CPU_BF16") && !std::getenv("ACTS_CPU_CONV"))
    EXPECT_EQ(cpu_fast::conv_bf16(), !cpu_fast::onednn::native_bf16().empty())
        << "the backend takes the bf16 kernels exactly where the CPU has bf16 instructions";
}

TEST(CpuFast, Conv2dOddShapes) {
  SKIP_WITHOUT_BLAS();
  for (const ConvImpl& impl : conv_impls()) {
    check_conv(impl, {3, 9, 7, 5, 3, 3, 6}, true);
    check_conv(impl, {2, 6, 11, 3, 2, 3, 7}, true);   // non-square kernel
    check_conv(impl, {1, 5, 5, 1, 5, 5, 1}, true);    // one output pixel, one channel
    check_conv(impl, {4, 8, 10, 3, 3, 3, 32}, false);  // first layer: no dx
  }
}

TEST(CpuFast, Conv2dWithItsReluFusedIn) {
  SKIP_WITHOUT_BLAS();
  for (const ConvImpl& impl : conv_impls()) {
    check_conv(impl, {3, 9, 7, 5, 3, 3, 6}, true, true);
    check_conv(impl, {4, 8, 10, 3, 3, 3, 32}, false, true);
    check_conv(impl, {5, 61, 61, 64, 3, 3, 9}, true, true);  // several chunks and row groups
  }
}

TEST(CpuFast, Conv2dSeveralChunks) {
  SKIP_WITHOUT_BLAS();
  // For the GEMM path: 5*59*59 rows x 576 columns = 10 M patch values: with 256 Ki-value chunks
  // (455 rows) the rows go through in 39 chunks whose boundaries fall inside images and inside
  // image rows, so im2col/col2im must resume mid-image and dk/dx must sum across chunks.
  for (const ConvImpl& impl : conv_impls()) {
    check_conv(impl, {5, 61, 61, 64, 3, 3, 9}, true);
    check_conv(impl, {3, 20, 20, 32, 3, 3, 7}, true);   // 972 rows, 2 chunks of 910 + 62
    check_conv(impl, {2, 19, 19, 128, 3, 3, 5}, true);  // K = 1152: the 256-row minimum, chunks 256 + 256 + 66
  }
}

// For the oneDNN path: how it cuts the work. Fewer than 16 images: each image's output rows in
// bands (uneven ones here: 37 rows of one image in 9 bands of 4-5; 3 images of 9 rows in 2
// bands), each band reading its rows plus KH-1 more; over 32 images: 32 groups of 1 or 2 images
// (two primitive shapes), whose partial dk and db are summed.
TEST(CpuFast, Conv2dPiecesOfImagesAndGroups) {
  SKIP_WITHOUT_BLAS();
  for (const ConvImpl& impl : conv_impls()) {
    check_conv(impl, {1, 39, 13, 6, 3, 3, 16}, true, true);
    check_conv(impl, {3, 11, 8, 4, 3, 2, 5}, true, true);
    check_conv(impl, {45, 7, 9, 3, 3, 3, 8}, true, true);
    check_conv(impl, {45, 7, 9, 3, 3, 3, 8}, false);
  }
}

// 'same' padding (TensorFlow's odd totals: the extra row/column after), strides, no bias; the
// same cuts of the work as above, so that row bands start and end inside the padding.
TEST(CpuFast, Conv2dSamePaddingStridesAndNoBias) {
  SKIP_WITHOUT_BLAS();
  const Padding same = Padding::Same, valid = Padding::Valid;
  for (const ConvImpl& impl : conv_impls()) {
    for (bool relu : {false, true}) {
      check_conv(impl, {3, 9, 8, 5, 3, 3, 6, 1, same}, true, relu);         // pads 1/1
      check_conv(impl, {3, 9, 8, 5, 3, 3, 6, 2, same}, true, relu);         // rows 1/1, columns 0/1
      check_conv(impl, {2, 6, 7, 3, 2, 2, 4, 1, same, false}, true, relu);  // even kernel 0/1, no bias
      check_conv(impl, {2, 4, 5, 3, 5, 5, 4, 1, same}, true, relu);         // pads 2/2 on a 4x5 input
      check_conv(impl, {2, 9, 8, 3, 3, 3, 4, 2, valid}, true, relu);        // a stride that drops a column
      check_conv(impl, {2, 10, 11, 3, 4, 4, 5, 3, same, false}, true, relu);
    }
    check_conv(impl, {1, 39, 13, 6, 3, 3, 16, 1, same}, true, true);  // oneDNN: row bands, padded ends
    check_conv(impl, {1, 40, 13, 6, 3, 3, 16, 2, same}, true, true);  // ... with a stride: 0/1 rows
    check_conv(impl, {45, 7, 9, 3, 3, 3, 8, 2, same, false}, true);   // image groups, no bias
    check_conv(impl, {45, 7, 9, 3, 3, 3, 8, 1, same}, false);
    check_conv(impl, {3, 20, 20, 32, 3, 3, 7, 1, same}, true);  // GEMM: several chunks
    check_conv(impl, {2, 19, 19, 128, 3, 3, 5, 2, same}, true);
  }
}

// The backward passes on oneDNN's Winograd F(4x4, 3x3) (3x3, stride 1, channels in multiples of
// 16, on AVX-512): the same bounds as the direct sums (measured on the tutorial's shapes: at
// most 2e-6 of the largest value apart from them), on groups of about 5 images (20 images: 4
// groups; 7: 4 groups of 1-2; 1), 'same' padding, relu, no bias, no dx. On bf16 operands only
// outputs of 24x24 and more take Winograd (the last case); smaller ones, the bf16 direct kernels.
TEST(CpuFast, Conv2dWinograd) {
  SKIP_WITHOUT_BLAS();
  const ConvCase cases[] = {{20, 12, 11, 16, 3, 3, 32}, {7, 17, 17, 32, 3, 3, 16},
                            {1, 21, 9, 16, 3, 3, 16},   {3, 10, 13, 32, 3, 3, 32, 1, Padding::Same},
                            {5, 8, 8, 16, 3, 3, 48, 1, Padding::Same, false}, {3, 28, 27, 16, 3, 3, 16}};
  std::string why;
  if (!cpu_fast::onednn::available(&why)) GTEST_SKIP() << why;
  if (!cpu_fast::onednn::runs_winograd(cases[0].geometry()))
    GTEST_SKIP() << "no Winograd convolutions here: " << cpu_fast::conv_path_name()
                 << (cpu_fast::onednn::has_avx512() ? "" : " (oneDNN has them only from AVX-512 up)");
  std::vector<ConvImpl> impls{{"onednn winograd", cpu_fast::onednn::conv2d_forward, cpu_fast::onednn::conv2d_backward}};
  if (cpu_fast::onednn::bf16_available())  // bf16 operands: the forward on bf16 kernels, the backward as above
    impls.push_back({"onednn bf16 + winograd", cpu_fast::onednn::conv2d_forward_bf16,
                     cpu_fast::onednn::conv2d_backward_bf16, true});
  for (const ConvCase& c : cases) {
    EXPECT_TRUE(cpu_fast::onednn::runs_winograd(c.geometry())) << c.N << "x" << c.H << "x" << c.W << "x" << c.C;
    for (const ConvImpl& impl : impls)
      for (bool relu : {false, true}) check_conv(impl, c, true, relu);
  }
  const ConvImpl& onednn = impls[0];
  check_conv(onednn, cases[0], false, true);
  // The forward stays direct: equal input patches give equal outputs, so max pooling sees the
  // exact ties Keras sees (Winograd's tiles would break them). A constant image, 'valid' padding:
  // every output pixel equal to the first, channel by channel, bit for bit.
  const ConvCase flat{2, 14, 14, 16, 3, 3, 32};
  const cpu::ConvGeometry fg = flat.geometry();
  const std::vector<float> fx(size_t(flat.N) * fg.in_size(), 0.37f), fk = random_vec(size_t(9) * 16 * 32, 2),
                           fb = random_vec(32, 3);
  std::vector<float> fy(size_t(flat.N) * fg.out_size(), kNaN), scratch;
  cpu_fast::conv2d_forward(fx.data(), flat.N, fg, fk.data(), fb.data(), false, false, false, fy.data(), scratch);
  for (size_t i = 0; i < fy.size(); ++i) ASSERT_EQ(fy[i], fy[i % 32]) << "output " << i << " of a flat image";
  // not for Winograd: 3 channels in, a stride, a 5x5 kernel
  EXPECT_FALSE(cpu_fast::onednn::runs_winograd(ConvCase{2, 12, 12, 3, 3, 3, 32}.geometry()));
  EXPECT_FALSE(cpu_fast::onednn::runs_winograd(ConvCase{2, 12, 12, 16, 3, 3, 16, 2}.geometry()));
  EXPECT_FALSE(cpu_fast::onednn::runs_winograd(ConvCase{2, 12, 12, 16, 5, 5, 16}.geometry()));
}

TEST(CpuFast, DenseOddShapes) {
  SKIP_WITHOUT_BLAS();
  for (const auto& [N, I, O] : std::vector<std::tuple<int, int, int>>{{7, 53, 11}, {1, 6, 1}, {20, 301, 64}}) {
    const std::string at = " (" + std::to_string(N) + "x" + std::to_string(I) + " -> " + std::to_string(O) + ")";
    const auto x = random_vec(size_t(N) * I, 5), w = random_vec(size_t(I) * O, 6), b = random_vec(size_t(O), 7),
               dy = random_vec(size_t(N) * O, 8);
    const auto xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
    std::vector<float> y(size_t(N) * O, kNaN);
    cpu_fast::dense_forward(x.data(), N, I, w.data(), b.data(), O, y.data());
    std::vector<double> y_ref(y.size());
    cpu::dense_forward(xd.data(), N, I, wd.data(), bd.data(), O, y_ref.data());
    expect_rel("dense y" + at, y, y_ref);

    std::vector<float> dx(x.size(), kNaN), dw(w.size(), kNaN), db(size_t(O), kNaN);
    cpu_fast::dense_backward(x.data(), N, I, w.data(), O, dy.data(), dx.data(), dw.data(), db.data());
    std::vector<double> dx_ref(x.size()), dw_ref(w.size()), db_ref(static_cast<size_t>(O));
    cpu::dense_backward(xd.data(), N, I, wd.data(), O, dyd.data(), dx_ref.data(), dw_ref.data(), db_ref.data());
    expect_rel("dense dx" + at, dx, dx_ref);
    expect_rel("dense dw" + at, dw, dw_ref);
    expect_rel("dense db" + at, db, db_ref);
    std::fill(dw.begin(), dw.end(), kNaN);
    cpu_fast::dense_backward(x.data(), N, I, w.data(), O, dy.data(), nullptr, dw.data(), db.data());
    expect_rel("dense dw without dx" + at, dw, dw_ref);
  }
}

// Maxpool only selects values, so it must equal the float reference exactly, ties included:
// values drawn from 5 levels make ties common and test the first-maximum rule; NaN inputs
// (a diverged run) must route gradients as the reference does.
TEST(CpuFast, MaxpoolExactIncludingTies) {
  for (const auto& [N, H, W, C, P] : std::vector<std::array<int, 5>>{{2, 9, 7, 5, 2}, {3, 8, 11, 3, 3}, {1, 4, 4, 33, 2}}) {
    const std::string at = " (" + std::to_string(H) + "x" + std::to_string(W) + "x" + std::to_string(C) + ", pool " +
                           std::to_string(P) + ")";
    const size_t xs = size_t(N) * H * W * C, ys = size_t(N) * (H / P) * (W / P) * C;
    for (const std::string kind : {"", " with ties", " with NaNs"}) {
      auto x = random_vec(xs, 9);
      if (kind == " with ties")
        for (float& v : x) v = std::round(v * 2);  // -2..2
      if (kind == " with NaNs")  // every 7th: some windows start with a NaN, some hold one later
        for (size_t i = 0; i < xs; i += 7) x[i] = kNaN;
      const auto dy = random_vec(ys, 10);
      std::vector<float> y(ys, kNaN), y_ref(ys), dx(xs, kNaN), dx_ref(xs);
      cpu_fast::maxpool_forward(x.data(), N, H, W, C, P, y.data());
      cpu::maxpool_forward(x.data(), N, H, W, C, P, y_ref.data());
      expect_close("maxpool y" + kind + at, y, y_ref, 0, 0);
      cpu_fast::maxpool_backward(x.data(), y.data(), N, H, W, C, P, dy.data(), false, dx.data());
      cpu::maxpool_backward(x.data(), N, H, W, C, P, dy.data(), dx_ref.data());
      expect_close("maxpool dx" + kind + at, dx, dx_ref, 0, 0);
      // With the relu before it (CpuBackend's fused conv relu): the same as relu_backward after,
      // on a relu'd x, whose all-zero windows must pass no gradient.
      auto xr = x;
      cpu::relu_forward(xr.data(), xr.data(), xs);
      std::vector<float> yr(ys, kNaN), dxr(xs, kNaN), dxr_ref(xs);
      cpu_fast::maxpool_forward(xr.data(), N, H, W, C, P, yr.data());
      cpu_fast::maxpool_backward(xr.data(), yr.data(), N, H, W, C, P, dy.data(), true, dxr.data());
      cpu::maxpool_backward(xr.data(), N, H, W, C, P, dy.data(), dxr_ref.data());
      cpu::relu_backward(xr.data(), dxr_ref.data(), dxr_ref.data(), xs);
      expect_close("maxpool dx with its relu" + kind + at, dxr, dxr_ref, 0, 0);
      // The training forward's record of where the maxima are, and the backward from it: the same
      // bits (its outputs poisoned, ws too: every byte must be written).
      std::vector<uint8_t> ws(ys);
      for (const bool relu : {false, true}) {
        const auto& in = relu ? xr : x;
        std::fill(ws.begin(), ws.end(), uint8_t(0xAA));
        std::fill(y.begin(), y.end(), kNaN);
        std::fill(dx.begin(), dx.end(), kNaN);
        cpu_fast::maxpool_forward(in.data(), N, H, W, C, P, y.data(), ws.data());
        expect_close("maxpool y with a record" + kind + at, y, relu ? yr : y_ref, 0, 0);
        cpu_fast::maxpool_backward(ws.data(), N, H, W, C, P, dy.data(), relu, dx.data());
        expect_close("maxpool dx from the record" + std::string(relu ? " with its relu" : "") + kind + at, dx,
                     relu ? dxr_ref : dx_ref, 0, 0);
      }
    }
  }
}

// Every output of the fast path for one set of inputs, to compare runs bit for bit.
std::vector<std::vector<float>> fast_outputs() {
  std::vector<std::vector<float>> out;
  std::vector<float> scratch;
  for (const ConvImpl& impl : conv_impls())
    for (const ConvCase& s :
         {ConvCase{5, 61, 61, 64, 3, 3, 9}, ConvCase{3, 20, 20, 32, 3, 3, 7}, ConvCase{1, 39, 13, 6, 3, 3, 16},
          ConvCase{45, 7, 9, 3, 3, 3, 8}, ConvCase{1, 40, 13, 6, 3, 3, 16, 2, Padding::Same},
          ConvCase{20, 12, 11, 16, 3, 3, 32}, ConvCase{2, 21, 9, 16, 3, 3, 16}}) {  // Winograd's groups, bands
      const cpu::ConvGeometry g = s.geometry();
      const size_t xs = size_t(s.N) * g.in_size(), ys = size_t(s.N) * g.out_size();
      const auto x = operand(impl, xs, 1), k = operand(impl, size_t(s.KH) * s.KW * s.C * s.F, 2),
                 b = random_vec(s.F, 3);
      auto dy = operand(impl, ys, 4);
      std::vector<float> y(ys), dx(xs), dk(k.size()), db(b.size());
      impl.forward(x.data(), s.N, g, k.data(), b.data(), true, y.data(), scratch);
      impl.backward(x.data(), s.N, g, k.data(), dy.data(), y.data(), dx.data(), dk.data(), db.data(), scratch);
      for (auto* v : {&y, &dy, &dx, &dk, &db}) out.push_back(*v);
    }
  const int N = 20, I = 301, O = 200;
  const auto x = random_vec(size_t(N) * I, 5), w = random_vec(size_t(I) * O, 6), b = random_vec(O, 7),
             dy = random_vec(size_t(N) * O, 8);
  std::vector<float> y(size_t(N) * O), dx(x.size()), dw(w.size()), db(b.size());
  cpu_fast::dense_forward(x.data(), N, I, w.data(), b.data(), O, y.data());
  cpu_fast::dense_backward(x.data(), N, I, w.data(), O, dy.data(), dx.data(), dw.data(), db.data());
  for (auto* v : {&y, &dx, &dw, &db}) out.push_back(*v);
  const auto px = random_vec(size_t(4) * 37 * 29 * 16, 9), pdy = random_vec(size_t(4) * 18 * 14 * 16, 10);
  std::vector<float> py(pdy.size()), pdx(px.size());
  cpu_fast::maxpool_forward(px.data(), 4, 37, 29, 16, 2, py.data());
  cpu_fast::maxpool_backward(px.data(), py.data(), 4, 37, 29, 16, 2, pdy.data(), false, pdx.data());
  out.push_back(py);
  out.push_back(pdx);
  std::vector<uint8_t> ws(py.size());
  cpu_fast::maxpool_forward(px.data(), 4, 37, 29, 16, 2, py.data(), ws.data());
  cpu_fast::maxpool_backward(ws.data(), 4, 37, 29, 16, 2, pdy.data(), true, pdx.data());
  out.push_back(py);
  out.push_back(pdx);
  return out;
}

// The pool splits work by shape alone and sums partials in a fixed order, so a run on any
// number of threads gives the same bits: a checkpoint trained on a laptop and a server agree.
TEST(CpuFast, ResultsDoNotDependOnTheThreadCount) {
  SKIP_WITHOUT_BLAS();
  cpu_fast::set_thread_count(1);
  const auto one = fast_outputs();
  for (int threads : {2, 3, 7}) {
    cpu_fast::set_thread_count(threads);
    const auto many = fast_outputs();
    ASSERT_EQ(many.size(), one.size());
    for (size_t i = 0; i < one.size(); ++i)
      EXPECT_EQ(many[i], one[i]) << "output " << i << " on " << threads << " threads differs from 1 thread";
  }
  cpu_fast::set_thread_count(0);
}

TEST(CpuFast, BackendNamesItsPath) {
  Graph g(tutorial_model(51));
  BackendOptions ref_opt;
  ref_opt.cpu_reference = true;
  EXPECT_EQ(CpuBackend(g, ref_opt).name(), "cpu (reference kernels)");
  const std::string fast = CpuBackend(g, BackendOptions{}).name();
  if (cpu_fast::available()) EXPECT_NE(fast.find("OpenBLAS"), std::string::npos) << fast;
  else EXPECT_NE(fast.find("without OpenBLAS"), std::string::npos) << fast;
  if (cpu_fast::conv_paths().forward == cpu_fast::ConvPath::onednn)
    EXPECT_NE(fast.find("oneDNN"), std::string::npos) << fast;
  if (cpu_fast::conv_paths().backward != cpu_fast::conv_paths().forward)
    EXPECT_NE(fast.find("backward: im2col"), std::string::npos) << fast;
  // mixed bf16 says which convolutions compute it
  BackendOptions bf16;
  bf16.precision = Precision::kMixedBf16;
  const std::string mixed = CpuBackend(g, bf16).name();
  if (cpu_fast::available() && cpu_fast::conv_bf16())
    EXPECT_NE(mixed.find("Conv2D on " + cpu_fast::onednn::version() + " bf16"), std::string::npos) << mixed;
  else
    EXPECT_NE(mixed.find("mixed bf16 in software"), std::string::npos) << mixed;
}

// The fast max pooling's backward reads the record its training forward made (where each
// window's maximum is) only when that forward was of the backward's batch: after an inference
// forward of another batch it must scan x as before, and after a second training forward use
// the new record. Each against a backend that saw only the batch the backward is for: the same
// gradients, bit for bit (a record of the other batch routes them to other pixels).
TEST(CpuFast, MaxpoolRecordServesOnlyItsOwnForward) {
  SKIP_WITHOUT_BLAS();
  Graph g(tutorial_model(51));
  BackendOptions o;
  o.max_batch = 5;
  const test::RandomBatch a = test::random_batch(g, {1, 0, 0, 1, 1}, 42), b = test::random_batch(g, {0, 1, 1, 0, 1}, 7);
  for (const bool training : {false, true}) {
    SCOPED_TRACE(training ? "a training forward of A, then one of B" : "a training forward of A, then inference of B");
    CpuBackend both(g, o), only(g, o);
    both.forward(a.view(), true);
    both.forward(b.view(), training);
    both.backward(b.view());
    only.forward(b.view(), training);
    only.backward(b.view());
    const std::vector<float> got = both.grads(), want = only.grads();
    ASSERT_EQ(got.size(), want.size());
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i];
    EXPECT_EQ(differ, 0u) << "of " << got.size() << " parameter gradients";
  }
}

}  // namespace
