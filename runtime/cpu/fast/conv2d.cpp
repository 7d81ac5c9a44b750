// Which convolution each pass of the fast path runs (cpu_fast.h, conv_paths()): oneDNN's where
// the build has it, the backward on im2col + OpenBLAS where the CPU lacks AVX-512; ACTS_CPU_CONV
// overriding for A/B comparisons. Read once per process.
#include <cstdlib>
#include <string>

#include "runtime/core/errors.h"
#include "runtime/cpu/fast/cpu_fast.h"

namespace acts::cpu_fast {
namespace {

ConvPaths choose() {
  std::string why;
  const bool onednn_ok = onednn::available(&why);
  const char* env = std::getenv("ACTS_CPU_CONV");
  const std::string want = env ? env : "";
  if (want.empty()) {
    if (!onednn_ok) return {ConvPath::gemm, ConvPath::gemm};
    return {ConvPath::onednn, onednn::has_avx512() ? ConvPath::onednn : ConvPath::gemm};
  }
  if (want == "gemm") return {ConvPath::gemm, ConvPath::gemm};
  if (want == "onednn") {
    if (!onednn_ok) fail("ACTS_CPU_CONV=onednn, but this binary was ", why, "; unset it to use im2col + OpenBLAS");
    return {ConvPath::onednn, ConvPath::onednn};
  }
  fail("ACTS_CPU_CONV=", want, " is not a convolution path: use gemm or onednn (or unset it)");
}

}  // namespace

ConvPaths conv_paths() {
  static const ConvPaths paths = choose();
  return paths;
}

std::string conv_path_name() {
  const ConvPaths p = conv_paths();
  if (p.forward == ConvPath::gemm) return "im2col convolutions";
  return onednn::version() + " convolutions" + (p.backward == ConvPath::gemm ? " (backward: im2col, no AVX-512)" : "");
}

void conv2d_forward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, const float* b, bool relu,
                    float* y, std::vector<float>& scratch) {
  const bool onednn = conv_paths().forward == ConvPath::onednn;
  (onednn ? onednn::conv2d_forward : gemm::conv2d_forward)(x, N, g, k, b, relu, y, scratch);
}

void conv2d_backward(const float* x, int N, const cpu::ConvGeometry& g, const float* k, float* dy, const float* relu_y,
                     float* dx, float* dk, float* db, std::vector<float>& scratch) {
  const bool onednn = conv_paths().backward == ConvPath::onednn;
  (onednn ? onednn::conv2d_backward : gemm::conv2d_backward)(x, N, g, k, dy, relu_y, dx, dk, db, scratch);
}

}  // namespace acts::cpu_fast
