// Which convolution each pass of the fast path runs (cpu_fast.h, conv_paths()): oneDNN's where
// the build has it, the backward on im2col + OpenBLAS where the CPU lacks AVX-512; ACTS_CPU_CONV
// overriding for A/B comparisons. And whether bf16 operands run on oneDNN's bf16 kernels
// (conv_bf16()): where the CPU has AVX512-BF16 or AMX; ACTS_CPU_BF16 overriding. Read once per
// process.
#include <atomic>
#include <cstdlib>
#include <string>

#include "runtime/core/errors.h"
#include "runtime/cpu/fast/cpu_fast.h"

namespace acts::cpu_fast {
namespace {

// The variable's value, "" when unset.
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool choose_winograd() {
  const std::string want = env("ACTS_CPU_WINOGRAD");
  if (want.empty() || want == "1") return true;
  if (want == "0") return false;
  fail("ACTS_CPU_WINOGRAD=", want, " is not 0 or 1 (or unset)");
}

ConvPaths choose() {
  std::string why;
  const bool onednn_ok = onednn::available(&why);
  const std::string want = env("ACTS_CPU_CONV");
  const bool wino = choose_winograd();
  if (want.empty()) {
    if (!onednn_ok) return {ConvPath::gemm, ConvPath::gemm, false};
    return {ConvPath::onednn, onednn::has_avx512() ? ConvPath::onednn : ConvPath::gemm, wino};
  }
  if (want == "gemm") return {ConvPath::gemm, ConvPath::gemm, false};
  if (want == "onednn") {
    if (!onednn_ok) fail("ACTS_CPU_CONV=onednn, but this binary was ", why, "; unset it to use im2col + OpenBLAS");
    return {ConvPath::onednn, ConvPath::onednn, wino};
  }
  fail("ACTS_CPU_CONV=", want, " is not a convolution path: use gemm or onednn (or unset it)");
}

// The bf16 kernels only where they are faster than float32's (native bf16 instructions): oneDNN
// emulates bf16 on plain AVX-512, which costs more than the float32 kernels on rounded values.
bool choose_bf16() {
  const std::string want = env("ACTS_CPU_BF16");
  const bool onednn_convs = conv_paths().forward == ConvPath::onednn;
  if (want.empty()) return onednn_convs && !onednn::native_bf16().empty();
  if (want == "software") return false;
  if (want == "onednn") {
    std::string why;
    if (!onednn_convs) fail("ACTS_CPU_BF16=onednn, but the convolutions run on im2col + OpenBLAS (", conv_path_name(),
                            "); unset ACTS_CPU_CONV or ACTS_CPU_BF16");
    if (!onednn::bf16_available(&why)) fail("ACTS_CPU_BF16=onednn, but ", why, "; unset it");
    return true;
  }
  fail("ACTS_CPU_BF16=", want, " is not a bf16 path: use onednn or software (or unset it)");
}

}  // namespace

ConvPaths conv_paths() {
  static const ConvPaths paths = choose();
  return paths;
}

std::string conv_path_name() {
  const ConvPaths p = conv_paths();
  if (p.forward == ConvPath::gemm) return "im2col convolutions";
  const bool wino = p.winograd && onednn::has_avx512();  // oneDNN has Winograd only there
  return onednn::version() + " convolutions" + (wino ? " (3x3 stride-1 backward: Winograd)" : "") +
         (p.backward == ConvPath::gemm ? " (backward: im2col, no AVX-512)" : "");
}

namespace {
std::atomic<bool> g_winograd_allowed{true};
}  // namespace

void set_winograd(bool allowed) { g_winograd_allowed = allowed; }
bool winograd_allowed() { return conv_paths().winograd && g_winograd_allowed; }

bool conv_bf16() {
  static const bool bf16 = choose_bf16();
  return bf16;
}

std::string conv_bf16_name() {
  if (conv_bf16()) {
    const std::string isa = onednn::native_bf16();
    return onednn::version() + " bf16 convolutions (" + (isa.empty() ? "emulated on AVX-512" : isa) + ")";
  }
  if (conv_paths().forward != ConvPath::onednn) return "float32 convolutions on bf16-rounded tensors";
  return "float32 convolutions on bf16-rounded tensors: " +
         std::string(onednn::has_avx512() ? "no AVX512-BF16 or AMX" : "no AVX-512");
}

void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    bool bf16, bool round, float* y, std::vector<float>& scratch) {
  if (bf16 && conv_bf16())
    return (round ? onednn::conv2d_forward_bf16_rounded : onednn::conv2d_forward_bf16)(x, N, g, k, b, relu, y, scratch);
  const bool onednn = conv_paths().forward == ConvPath::onednn;
  (onednn ? onednn::conv2d_forward : gemm::conv2d_forward)(x, N, g, k, b, relu, y, scratch);
  if (round) round_bf16(y, size_t(N) * g.out_size());
}

void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     bool bf16, bool round, float* dx, float* dk, float* db, std::vector<float>& scratch) {
  if (bf16 && conv_bf16())
    return (round ? onednn::conv2d_backward_bf16_rounded : onednn::conv2d_backward_bf16)(x, N, g, k, dy, relu_y, dx,
                                                                                          dk, db, scratch);
  const bool onednn = conv_paths().backward == ConvPath::onednn;
  (onednn ? onednn::conv2d_backward : gemm::conv2d_backward)(x, N, g, k, dy, relu_y, dx, dk, db, scratch);
  if (round && dx) round_bf16(dx, size_t(N) * g.in_size());
}

}  // namespace acts::cpu_fast
