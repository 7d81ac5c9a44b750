// Each custom CUDA kernel (kernels/cuda) against its CPU reference (kernels/cpu) on random
// non-zero data, several shapes including odd ones, with every output NaN-poisoned first.
// Kernels written with the CPU's rounding order (rescale, augmentation, RMSprop, max pooling,
// relu, dropout) are held to 1e-6, i.e. a few ulp: by construction they agree bit for bit.
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <tuple>

#include "kernels/cpu/activations.h"
#include "kernels/cpu/augment.h"
#include "kernels/cpu/bce.h"
#include "kernels/cpu/bf16.h"
#include "kernels/cpu/channel_peaks.h"
#include "kernels/cpu/channel_stats.h"
#include "kernels/cpu/max_pooling2d.h"
#include "kernels/cpu/rescale.h"
#include "kernels/cpu/adam.h"
#include "kernels/cpu/rmsprop.h"
#include "kernels/cuda/activations.cuh"
#include "kernels/cuda/bce.cuh"
#include "kernels/cuda/bf16.cuh"
#include "kernels/cuda/bias_grad.cuh"
#include "kernels/cuda/channel_peaks.cuh"
#include "kernels/cuda/channel_stats.cuh"
#include "kernels/cuda/dropout.cuh"
#include "kernels/cuda/gather_rows.cuh"
#include "kernels/cuda/max_pooling2d.cuh"
#include "kernels/cuda/rescale_augment.cuh"
#include "kernels/cuda/adam.cuh"
#include "kernels/cuda/rmsprop.cuh"
#include "tests/bf16_util.h"
#include "tests/compare.h"
#include "tests/cuda/cuda_test_util.h"

using namespace acts;
using namespace acts::test;

namespace {

class CudaKernels : public CudaTest {};

using test::from_bits;
uint32_t bits_of(float x) { return test::float_bits(x); }

// Inputs for the bf16 rounding tests: hand-picked edges (ties to even at several exponents, the
// carry into the exponent, the overflow boundary, subnormals, zeros, infinities, NaNs), then a
// million random bit patterns (every exponent, and NaNs and infinities among them).
std::vector<float> bf16_test_floats() {
  const uint32_t edges[] = {0x3F800000u, 0x3F808000u, 0x3F818000u, 0x3F808001u, 0x3F807FFFu, 0xBF808001u,
                            0x3FFFFFFFu, 0x7F7F7FFFu, 0x7F7F8000u, 0x7F7FFFFFu, 0x7F7EFFFFu, 0x00008000u,
                            0x00018000u, 0x00007FFFu, 0x80018000u, 0x00000000u, 0x80000000u, 0x7F800000u,
                            0xFF800000u, 0x7FC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x4B7FFF80u, 0xC3008000u};
  std::vector<float> v;
  for (uint32_t u : edges) v.push_back(from_bits(u));
  std::mt19937 rng(2026);
  for (int i = 0; i < (1 << 20); ++i) v.push_back(from_bits(uint32_t(rng())));
  return v;
}

// got[i] is in[i] rounded as the CPU reference rounds it: the same bits, or a NaN for a NaN (the
// CUDA conversion gives the one NaN 0x7FFF, the reference keeps the input's sign and payload).
void expect_bf16_of(const std::string& what, const std::vector<float>& in, const std::vector<float>& got) {
  ASSERT_EQ(got.size(), in.size()) << what;
  size_t wrong = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool ok = std::isnan(in[i]) ? std::isnan(got[i]) : bits_of(got[i]) == bits_of(cpu::round_bf16(in[i]));
    if (!ok && ++wrong <= 5)
      ADD_FAILURE() << what << ": input 0x" << std::hex << bits_of(in[i]) << " gave 0x" << bits_of(got[i])
                    << ", the reference 0x" << bits_of(cpu::round_bf16(in[i]));
  }
  EXPECT_EQ(wrong, 0u) << what << ": values rounded differently";
}

// The CPU reference's rounding (kernels/cpu/bf16.h) is the toolkit's own float -> bf16 conversion,
// the one the GPU kernel calls. Needs no GPU: __float2bfloat16_rn also has a host build (under
// the emulator, the stand-in's conversion is the one held to the reference).
TEST(Bf16Conversion, TheToolkitsConversionIsTheCpuReference) {
  const std::vector<float> in = bf16_test_floats();
  std::vector<float> got(in.size());
  for (size_t i = 0; i < in.size(); ++i) got[i] = __bfloat162float(__float2bfloat16_rn(in[i]));
  expect_bf16_of("host __float2bfloat16_rn", in, got);
}

TEST_F(CudaKernels, Bf16RoundPackWidenMatchCpuBitForBit) {
  const std::vector<float> in = bf16_test_floats();
  auto d_in = upload(in);
  auto d_out = poisoned(in.size());
  gpu::round_bf16(d_in.get(), d_out.get(), in.size(), stream());
  expect_bf16_of("out of place", in, download(d_out, in.size()));
  const std::vector<float> after = download(d_in, in.size());
  EXPECT_EQ(std::memcmp(after.data(), in.data(), in.size() * sizeof(float)), 0) << "the input changed";
  // Packed to 2 bytes and widened back (what the bf16 convolutions and GEMMs read and write).
  DeviceBuffer<__nv_bfloat16> packed(in.size(), "packed bf16");
  auto d_widened = poisoned(in.size());
  gpu::pack_bf16(d_in.get(), packed.get(), in.size(), stream());
  gpu::widen_bf16(packed.get(), d_widened.get(), in.size(), stream());
  expect_bf16_of("packed and widened", in, download(d_widened, in.size()));
  gpu::round_bf16(d_in.get(), d_in.get(), in.size(), stream());  // in place, as the backend calls it
  expect_bf16_of("in place", in, download(d_in, in.size()));
  // Odd counts: the grid-stride tail, and nothing written past n.
  for (size_t n : {size_t(1), size_t(257)}) {
    auto d_short = poisoned(n + 1);
    gpu::round_bf16(d_in.get(), d_short.get(), n, stream());
    std::vector<float> got = download(d_short, n + 1);
    EXPECT_TRUE(std::isnan(got[n])) << n << " elements: wrote past the end";
    got.pop_back();
    expect_bf16_of(std::to_string(n) + " elements", std::vector<float>(in.begin(), in.begin() + long(n)), got);
  }
}

// Per-channel sums (issue 22's statistics): the GPU's against the CPU reference on relu-like data
// (a third exact zeros, one channel all zero, one constant), channel counts below, at and above a
// block's 32, added to sums that are there already; and the same bits when run again.
TEST_F(CudaKernels, ChannelSumsMatchCpuAndRepeat) {
  for (auto [rows, channels] : {std::pair<size_t, int>{1, 1}, {333, 7}, {1000, 32}, {2 * 37 * 37 + 3, 70}}) {
    std::vector<float> x = random_floats(rows * size_t(channels), 5, -1.f, 2.f);
    for (size_t i = 0; i < x.size(); ++i) {
      const int c = int(i % size_t(channels));
      if (x[i] < 0 || c == 1) x[i] = 0.f;
      if (c == 2) x[i] = 0.5f;
    }
    std::vector<double> start(4 * size_t(channels));
    for (size_t i = 0; i < start.size(); ++i) start[i] = 0.25 * double(i % 5) - 0.5;  // earlier batches' sums
    std::vector<double> ref = start;
    cpu::channel_sums(x.data(), rows, channels, ref.data());
    auto d_x = upload(x);
    std::vector<std::vector<double>> runs;
    for (int run = 0; run < 2; ++run) {
      auto d_acc = upload(start);
      gpu::channel_sums(d_x.get(), rows, channels, d_acc.get(), stream());
      runs.push_back(download(d_acc, start.size()));
    }
    const std::string what = std::to_string(rows) + " x " + std::to_string(channels);
    for (size_t i = 0; i < ref.size(); ++i)
      EXPECT_NEAR(runs[0][i], ref[i], 1e-12 * std::max(1.0, std::fabs(ref[i]))) << what << " sum " << i;
    EXPECT_EQ(runs[0], runs[1]) << what << ": not repeatable";
  }
}

// Each image's peak per channel (dump_acts --top) against the CPU reference, by the hand-written
// kernel and by the Thrust segmented reduction, ties included: a
// channel whose maximum repeats at several positions (spread over the kernel's lanes) must report
// the first one, as the CPU does; a channel of NaNs peaks at -inf, position 0.
TEST_F(CudaKernels, ChannelPeaksMatchCpu) {
  for (auto [n, positions, channels] : {std::tuple<int, size_t, int>{1, 1, 1}, {3, 37, 7}, {2, 9 * 9, 40},
                                        {5, 17 * 17, 64}}) {
    std::vector<float> x = random_floats(size_t(n) * positions * size_t(channels), 9, -1.f, 2.f);
    for (int i = 0; i < n; ++i)
      for (size_t p = 0; p < positions; ++p) {
        float* row = x.data() + (size_t(i) * positions + p) * size_t(channels);
        if (channels > 1 && p % 3 == 1) row[1] = 5.f;  // channel 1: its maximum at every third position
        if (channels > 2) row[2] = NAN;
      }
    const size_t count = size_t(n) * size_t(channels);
    std::vector<float> ref_peak(count);
    std::vector<int> ref_where(count);
    cpu::channel_peaks(x.data(), n, positions, channels, ref_peak.data(), ref_where.data());
    auto d_x = upload(x);
    auto d_peak = poisoned(count);
    DeviceBuffer<int> d_where(count, "test peak positions");
    d_where.poison(stream());
    gpu::channel_peaks(d_x.get(), n, positions, channels, d_peak.get(), d_where.get(), stream());
    const std::string what = std::to_string(n) + " x " + std::to_string(positions) + " x " + std::to_string(channels);
    EXPECT_EQ(download(d_peak, count), ref_peak) << what;
    EXPECT_EQ(download(d_where, count), ref_where) << what;
#ifdef ACTS_HAVE_THRUST
    // The Thrust version (reduce_by_key). In the emulated suite Thrust's host back end runs its
    // calls and functors; its CUDA kernels run only on a GPU.
    d_peak.poison(stream());
    d_where.poison(stream());
    gpu::channel_peaks_thrust(d_x.get(), n, positions, channels, d_peak.get(), d_where.get(), stream());
    EXPECT_EQ(download(d_peak, count), ref_peak) << what << " (Thrust)";
    EXPECT_EQ(download(d_where, count), ref_where) << what << " (Thrust)";
#endif
    if (channels > 1 && positions > 1) EXPECT_EQ(ref_where[1], 1) << what << ": the first of the tied maxima";
    if (channels > 2) EXPECT_EQ(ref_peak[2], -INFINITY) << what;
  }
}

TEST_F(CudaKernels, RescaleMatchesCpu) {
  for (size_t count : {size_t(1), size_t(7), size_t(3 * 47 * 47 * 3 + 5)}) {
    const auto in = random_bytes(count, 11);
    const float scale = 1.f / 255.f;
    auto d_in = upload(in);
    auto d_scale = upload(std::vector<float>{scale});
    auto d_out = poisoned(count);
    gpu::rescale_u8(d_in.get(), d_out.get(), count, d_scale.get(), stream());
    std::vector<float> ref(count);
    cpu::rescale_u8(in.data(), ref.data(), count, scale);
    expect_close("rescale (" + std::to_string(count) + ")", download(d_out, count), ref, 1e-6, 0);
  }
}

// Random warps around the image centre: rotation, zoom, shear and shifts that push samples off
// the image (exercising the edge clamp), plus the identity.
std::vector<float> random_affines(int N, int H, int W, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> a(size_t(N) * 6);
  for (int n = 0; n < N; ++n) {
    float* m = &a[size_t(n) * 6];
    if (n == 0) {
      const float id[6] = {1, 0, 0, 0, 1, 0};
      std::memcpy(m, id, sizeof id);
      continue;
    }
    const float th = 0.6f * u(rng), z = 1.f + 0.3f * u(rng), sh = 0.2f * u(rng);
    m[0] = z * std::cos(th);
    m[1] = -z * std::sin(th) + sh;
    m[3] = z * std::sin(th);
    m[4] = z * std::cos(th);
    m[2] = 0.5f * W * (1 - m[0]) - 0.5f * H * m[1] + 0.4f * W * u(rng);
    m[5] = 0.5f * H * (1 - m[4]) - 0.5f * W * m[3] + 0.4f * H * u(rng);
  }
  return a;
}

TEST_F(CudaKernels, AugmentRescaleMatchesCpu) {
  struct Shape {
    int N, H, W, C;
  };
  for (const Shape s : {Shape{2, 9, 13, 3}, Shape{3, 17, 5, 1}, Shape{4, 31, 31, 4}, Shape{2, 150, 150, 3}}) {
    const size_t count = size_t(s.N) * s.H * s.W * s.C;
    const auto in = random_bytes(count, 5);
    const auto affine = random_affines(s.N, s.H, s.W, 9);
    const float scale = 1.f / 255.f;
    auto d_in = upload(in);
    auto d_aff = upload(affine);
    auto d_scale = upload(std::vector<float>{scale});
    auto d_out = poisoned(count);
    gpu::augment_rescale(d_in.get(), d_aff.get(), s.N, s.H, s.W, s.C, d_scale.get(), d_out.get(), stream());
    std::vector<float> ref(count);
    cpu::augment_rescale(in.data(), affine.data(), s.N, s.H, s.W, s.C, scale, ref.data());
    expect_close("augment (" + std::to_string(s.N) + ", " + std::to_string(s.H) + ", " + std::to_string(s.W) + ", " +
                     std::to_string(s.C) + ")",
                 download(d_out, count), ref, 1e-6, 1e-6);
  }
}

TEST_F(CudaKernels, RmspropThreeStepsMatchCpu) {
  for (const RmspropRule rule : {RmspropRule::kKeras2, RmspropRule::kKeras3})
    for (size_t count : {size_t(1), size_t(1000), size_t(100003)}) {
      auto w = random_floats(count, 1), a = random_floats(count, 2, 0.f, 1e-4f);
      auto d_w = upload(w), d_a = upload(a);
      const float lr = 1e-3f, rho = 0.9f, eps = 1e-7f;
      auto d_lr = upload(std::vector<float>{lr});
      for (int step = 0; step < 3; ++step) {
        const auto g = random_floats(count, 10 + step, -0.05f, 0.05f);
        auto d_g = upload(g);
        gpu::rmsprop(d_w.get(), d_g.get(), d_a.get(), count, d_lr.get(), rho, eps, rule, stream());
        cpu::rmsprop_update(w.data(), g.data(), a.data(), count, lr, rho, eps, rule);
      }
      const std::string tag = std::string(rule == RmspropRule::kKeras3 ? " keras3" : " keras2") + " (" +
                              std::to_string(count) + ")";
      expect_close("rmsprop weights" + tag, download(d_w, count), w, 1e-6, 0);
      expect_close("rmsprop accumulators" + tag, download(d_a, count), a, 1e-6, 0);
    }
}

// Adam: the one-thread kernel advances the device's iteration count and forms alpha from the
// learning rate in device memory; three launches are steps t = 1, 2, 3 as on the CPU. Every
// seventh gradient is 0, as in the padding between tensors: those weights must not move at all.
TEST_F(CudaKernels, AdamThreeStepsMatchCpu) {
  for (size_t count : {size_t(1), size_t(1000), size_t(100003)}) {
    auto w = random_floats(count, 1);
    const auto w0 = w;
    std::vector<float> m(count, 0.f), v(count, 0.f);
    auto d_w = upload(w), d_m = upload(m), d_v = upload(v);
    const float lr = 1e-3f, eps = 1e-7f;
    const AdamHyper h;
    auto d_lr = upload(std::vector<float>{lr});
    auto d_scalars = upload(std::vector<uint64_t>{0, 0});  // [iterations | alpha]
    for (uint64_t t = 1; t <= 3; ++t) {
      auto g = random_floats(count, 10 + int(t), -0.05f, 0.05f);
      for (size_t i = 0; i < count; i += 7) g[i] = 0.f;
      auto d_g = upload(g);
      gpu::adam(d_w.get(), d_g.get(), d_m.get(), d_v.get(), count, d_scalars.get(),
                reinterpret_cast<float*>(d_scalars.get() + 1), d_lr.get(), h, eps, stream());
      cpu::adam_update(w.data(), g.data(), m.data(), v.data(), count, adam_alpha(lr, 0.9f, 0.999f, t),
                       h.one_minus_beta1(), h.one_minus_beta2(), eps);
    }
    const std::string tag = " (" + std::to_string(count) + ")";
    const auto got = download(d_w, count);
    expect_close("adam weights" + tag, got, w, 1e-6, 0);
    expect_close("adam m" + tag, download(d_m, count), m, 1e-6, 0);
    expect_close("adam v" + tag, download(d_v, count), v, 1e-6, 0);
    EXPECT_EQ(download(d_scalars, 1)[0], 3u) << "iterations" << tag;
    for (size_t i = 0; i < count; i += 7) EXPECT_EQ(got[i], w0[i]) << "zero gradient moved weight " << i << tag;
  }
}

TEST_F(CudaKernels, BceMatchesCpuAndAccumulatesOnDevice) {
  for (int n : {1, 3, 20, 257}) {
    auto z = random_floats(size_t(n), 3, -20.f, 20.f);  // beyond the +-16.1 clip too
    z[0] = 0.25f;
    std::vector<float> y(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) y[size_t(i)] = float(i % 3 == 0);
    auto d_z = upload(z), d_y = upload(y);
    auto d_dz = poisoned(size_t(n));
    const std::vector<double> start = {1.5, 2.0};  // running sums from earlier batches
    auto d_sums = upload(start);
    gpu::bce_loss(d_z.get(), d_y.get(), n, d_dz.get(), d_sums.get(), stream());
    gpu::bce_loss(d_z.get(), d_y.get(), n, nullptr, d_sums.get(), stream());  // eval: sums only
    std::vector<float> dz(static_cast<size_t>(n));
    double correct = 0;
    const double loss = cpu::bce_from_logits(z.data(), y.data(), n, dz.data(), &correct);
    const auto sums = download(d_sums, 2);
    const std::string tag = " (n " + std::to_string(n) + ")";
    EXPECT_NEAR(sums[0], 1.5 + 2 * loss, 1e-12 * (1 + loss)) << "loss sum" << tag;
    EXPECT_EQ(sums[1], 2.0 + 2 * correct) << "correct count" << tag;
    expect_close("bce dz" + tag, download(d_dz, size_t(n)), dz, 1e-6, 1e-9);
  }
}

// A diverged model must show as a NaN loss, not be clipped into a finite one (as on the CPU).
TEST_F(CudaKernels, BceNanLogitGivesNanLoss) {
  const std::vector<float> z = {0.5f, std::nanf("")}, y = {1.f, 0.f};
  auto d_z = upload(z), d_y = upload(y);
  auto d_sums = upload(std::vector<double>{0.0, 0.0});
  gpu::bce_loss(d_z.get(), d_y.get(), 2, nullptr, d_sums.get(), stream());
  EXPECT_TRUE(std::isnan(download(d_sums, 2)[0]));
}

TEST_F(CudaKernels, BiasActivationMatchesCpu) {
  struct Shape {
    size_t rows;
    int cols;
  };
  for (const Shape s : {Shape{1, 1}, Shape{7, 3}, Shape{1000, 32}, Shape{33, 513}})
    for (Act act : {Act::Linear, Act::Relu, Act::Sigmoid, Act::Tanh, Act::Softmax}) {
      const size_t count = s.rows * size_t(s.cols);
      auto y = random_floats(count, 4, -3.f, 3.f);
      const auto b = random_floats(size_t(s.cols), 5);
      auto d_y = upload(y), d_b = upload(b);
      gpu::bias_act(d_y.get(), d_b.get(), s.rows, s.cols, act, stream());
      for (size_t i = 0; i < count; ++i) y[i] += b[i % size_t(s.cols)];
      if (act == Act::Relu) cpu::relu_forward(y.data(), y.data(), count);
      if (act == Act::Sigmoid) cpu::sigmoid_forward(y.data(), y.data(), count);
      if (act == Act::Tanh) cpu::tanh_forward(y.data(), y.data(), count);
      if (act == Act::Softmax) cpu::softmax_forward(y.data(), y.data(), count, size_t(s.cols));
      expect_close(
          std::string("bias+") + act_name(act) + " (" + std::to_string(s.rows) + ", " + std::to_string(s.cols) + ")",
          download(d_y, count), y, 1e-6, 1e-7);
    }
}

TEST_F(CudaKernels, ActivationForwardBackwardMatchCpu) {
  struct Shape {
    size_t count;
    int cols;  // the last axis, softmax's rows
  };
  for (const Shape s : {Shape{1, 1}, Shape{999, 3}, Shape{65537, 1}, Shape{65600, 41}})
    for (Act act : {Act::Linear, Act::Relu, Act::Sigmoid, Act::Tanh, Act::Softmax}) {
      const size_t count = s.count, cols = size_t(s.cols);
      // Softmax rows with logits up to +-40: the max-subtraction keeps exp() finite.
      const float range = act == Act::Softmax ? 40.f : 4.f;
      const auto x = random_floats(count, 6, -range, range), dy = random_floats(count, 7);
      auto d_x = upload(x), d_dy = upload(dy);
      auto d_y = poisoned(count), d_dx = poisoned(count);
      gpu::act_forward(d_x.get(), d_y.get(), count, s.cols, act, stream());
      gpu::act_backward(d_y.get(), d_dy.get(), d_dx.get(), count, s.cols, act, stream());
      std::vector<float> y(x), dx(dy);
      if (act == Act::Relu) cpu::relu_forward(x.data(), y.data(), count);
      if (act == Act::Sigmoid) cpu::sigmoid_forward(x.data(), y.data(), count);
      if (act == Act::Tanh) cpu::tanh_forward(x.data(), y.data(), count);
      if (act == Act::Softmax) cpu::softmax_forward(x.data(), y.data(), count, cols);
      const auto got_y = download(d_y, count);
      // Backward from the GPU's own y, so this checks the backward kernel alone.
      if (act == Act::Relu) cpu::relu_backward(got_y.data(), dy.data(), dx.data(), count);
      if (act == Act::Sigmoid) cpu::sigmoid_backward(got_y.data(), dy.data(), dx.data(), count);
      if (act == Act::Tanh) cpu::tanh_backward(got_y.data(), dy.data(), dx.data(), count);
      if (act == Act::Softmax) cpu::softmax_backward(got_y.data(), dy.data(), dx.data(), count, cols);
      const std::string tag = std::string(act_name(act)) + " (" + std::to_string(count) + ")";
      expect_close(tag + " forward", got_y, y, 1e-6, 1e-7);
      expect_close(tag + " backward", download(d_dx, count), dx, 1e-6, 1e-7);
    }
}

TEST_F(CudaKernels, BiasGradientMatchesDoubleSums) {
  struct Shape {
    size_t rows;
    int cols;
  };
  for (const Shape s : {Shape{1, 1}, Shape{20, 512}, Shape{3 * 45 * 45, 32}, Shape{100003, 7}}) {
    const auto dy = random_floats(s.rows * size_t(s.cols), 8);
    std::vector<double> ref(size_t(s.cols), 0.0);
    for (size_t r = 0; r < s.rows; ++r)
      for (int c = 0; c < s.cols; ++c) ref[size_t(c)] += dy[r * size_t(s.cols) + size_t(c)];
    const size_t scratch_n = gpu::bias_grad_scratch_floats(s.rows, s.cols);
    auto d_dy = upload(dy);
    auto d_db = poisoned(size_t(s.cols)), d_scratch = poisoned(scratch_n);
    gpu::bias_grad(d_dy.get(), s.rows, s.cols, d_db.get(), d_scratch.get(), scratch_n, stream());
    // Sums of rows values of magnitude <= 1: float rounding grows like sqrt(rows).
    expect_close("bias grad (" + std::to_string(s.rows) + ", " + std::to_string(s.cols) + ")",
                 download(d_db, size_t(s.cols)), ref, 1e-5, 1e-6 * std::sqrt(double(s.rows)));
  }
}

TEST_F(CudaKernels, MaxPoolingMatchesCpuIncludingTiesAndFloor) {
  struct Shape {
    int N, H, W, C, P;
  };
  for (const Shape s : {Shape{1, 2, 2, 1, 2}, Shape{2, 5, 7, 3, 2}, Shape{3, 45, 45, 32, 2}, Shape{2, 9, 10, 5, 3}}) {
    const size_t in_n = size_t(s.N) * s.H * s.W * s.C;
    const size_t out_n = size_t(s.N) * (s.H / s.P) * (s.W / s.P) * s.C;
    auto x = random_floats(in_n, 12);
    cpu::relu_forward(x.data(), x.data(), in_n);  // many exact zeros: ties go to the first maximum
    const auto dy = random_floats(out_n, 13);
    auto d_x = upload(x), d_dy = upload(dy);
    auto d_y = poisoned(out_n), d_dx = poisoned(in_n);
    gpu::maxpool_forward(d_x.get(), s.N, s.H, s.W, s.C, s.P, d_y.get(), stream());
    gpu::maxpool_backward(d_x.get(), s.N, s.H, s.W, s.C, s.P, d_dy.get(), d_dx.get(), false, stream());
    std::vector<float> y(out_n), dx(in_n), dx_relu(in_n);
    cpu::maxpool_forward(x.data(), s.N, s.H, s.W, s.C, s.P, y.data());
    cpu::maxpool_backward(x.data(), s.N, s.H, s.W, s.C, s.P, dy.data(), dx.data());
    const std::string tag = " (" + std::to_string(s.N) + ", " + std::to_string(s.H) + ", " + std::to_string(s.W) +
                            ", " + std::to_string(s.C) + ") pool " + std::to_string(s.P);
    expect_close("maxpool forward" + tag, download(d_y, out_n), y, 0, 0);
    expect_close("maxpool backward" + tag, download(d_dx, in_n), dx, 0, 0);
    // Fused with the relu before it: the same as the two CPU passes one after the other. Windows
    // whose maximum is an exact 0 (all of it relu-clipped) must pass no gradient.
    auto d_dx_relu = poisoned(in_n);
    gpu::maxpool_backward(d_x.get(), s.N, s.H, s.W, s.C, s.P, d_dy.get(), d_dx_relu.get(), true, stream());
    cpu::relu_backward(x.data(), dx.data(), dx_relu.data(), in_n);
    expect_close("maxpool backward fused with relu" + tag, download(d_dx_relu, in_n), dx_relu, 0, 0);
  }
}

// Rows of a device-resident set in any order, repeats included, against the host gather; odd row
// sizes take the byte path, multiples of 4 the word path.
TEST_F(CudaKernels, GatherRowsMatchesTheHostGather) {
  for (const size_t row_bytes : {size_t(1), size_t(7), size_t(12), size_t(67500)}) {
    const size_t set_rows = 9;
    const auto set = random_bytes(set_rows * row_bytes, 16);
    const std::vector<uint32_t> rows = {8, 0, 3, 3, 5, 1, 8};
    std::vector<uint8_t> want;
    for (uint32_t r : rows) want.insert(want.end(), set.begin() + r * row_bytes, set.begin() + (r + 1) * row_bytes);
    auto d_set = upload(set);
    auto d_rows = upload(rows);
    DeviceBuffer<uint8_t> d_out(want.size(), "gathered rows");
    CUDA_CHECK(cudaMemsetAsync(d_out.get(), 0xA5, want.size(), stream()));  // poison
    gpu::gather_rows(d_set.get(), d_rows.get(), int(rows.size()), row_bytes, d_out.get(), stream());
    EXPECT_EQ(download(d_out, want.size()), want) << "row bytes " << row_bytes;
  }
}

TEST_F(CudaKernels, DropoutUsesItsHashMaskAndKeepsTheRate) {
  const uint64_t seed = 42;
  for (size_t count : {size_t(1), size_t(1001), size_t(65536)})
    for (float rate : {0.25f, 0.5f}) {
      const uint64_t step = 7;
      const uint32_t layer = 3;
      const auto x = random_floats(count, 14), dy = random_floats(count, 15);
      auto d_x = upload(x), d_dy = upload(dy);
      auto d_step = upload(std::vector<uint64_t>{step});
      auto d_y = poisoned(count), d_dx = poisoned(count);
      gpu::dropout_forward(d_x.get(), d_y.get(), count, rate, seed, d_step.get(), layer, stream());
      gpu::dropout_backward(d_dy.get(), d_dx.get(), count, rate, seed, d_step.get(), layer, stream());
      std::vector<float> y(count), dx(count);
      size_t kept = 0;
      for (size_t i = 0; i < count; ++i) {
        const float m = gpu::dropout_uniform(seed, step, layer, i) >= rate ? 1.f / (1.f - rate) : 0.f;
        kept += m != 0.f;
        y[i] = x[i] * m;
        dx[i] = dy[i] * m;
      }
      const std::string tag = " (" + std::to_string(count) + ", rate " + std::to_string(rate) + ")";
      expect_close("dropout forward" + tag, download(d_y, count), y, 0, 0);
      expect_close("dropout backward" + tag, download(d_dx, count), dx, 0, 0);
      if (count >= 1000) {  // the hash is uniform: the kept fraction is within 5 sigma of 1 - rate
        const double p = 1.0 - rate, sigma = std::sqrt(p * (1 - p) / double(count));
        EXPECT_NEAR(double(kept) / double(count), p, 5 * sigma) << tag;
      }
    }
  // Another step draws another mask.
  size_t same = 0;
  for (uint64_t i = 0; i < 1000; ++i)
    same += (gpu::dropout_uniform(seed, 1, 0, i) >= 0.5f) == (gpu::dropout_uniform(seed, 2, 0, i) >= 0.5f);
  EXPECT_LT(same, 600u);
  EXPECT_GT(same, 400u);
}

}  // namespace
