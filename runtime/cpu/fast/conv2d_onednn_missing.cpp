// Built instead of conv2d_onednn.cpp when CMake found no oneDNN (libdnnl-dev): the fast path's
// convolutions stay on im2col + OpenBLAS (conv2d_gemm.cpp). The entry points exist only so
// everything links; reaching one is a bug (conv_paths() never picks oneDNN here).
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/core/errors.h"

namespace acts::cpu_fast::onednn {

bool available(std::string* why) {
  if (why) *why = "built without oneDNN (install libdnnl-dev and reconfigure)";
  return false;
}

std::string version() { return "no oneDNN"; }
bool has_avx512() { return false; }
std::string native_bf16() { return ""; }
bool bf16_available(std::string* why) { return available(why); }
bool runs_winograd(const cpu::ConvGeometry&) { return false; }

void conv2d_forward(const float*, int, const cpu::ConvGeometry&, const float*, const float*, bool, float*,
                    std::vector<float>&) {
  fail("cpu_fast::onednn::conv2d_forward called in a build without oneDNN");
}
void conv2d_backward(const float*, int, const cpu::ConvGeometry&, const float*, float*, const float*, float*, float*,
                     float*, std::vector<float>&) {
  fail("cpu_fast::onednn::conv2d_backward called in a build without oneDNN");
}
void conv2d_forward_bf16(const float*, int, const cpu::ConvGeometry&, const float*, const float*, bool, float*,
                         std::vector<float>&) {
  fail("cpu_fast::onednn::conv2d_forward_bf16 called in a build without oneDNN");
}
void conv2d_backward_bf16(const float*, int, const cpu::ConvGeometry&, const float*, float*, const float*, float*,
                          float*, float*, std::vector<float>&) {
  fail("cpu_fast::onednn::conv2d_backward_bf16 called in a build without oneDNN");
}
void conv2d_forward_bf16_rounded(const float*, int, const cpu::ConvGeometry&, const float*, const float*, bool, float*,
                                 std::vector<float>&) {
  fail("cpu_fast::onednn::conv2d_forward_bf16_rounded called in a build without oneDNN");
}
void conv2d_backward_bf16_rounded(const float*, int, const cpu::ConvGeometry&, const float*, float*, const float*,
                                  float*, float*, float*, std::vector<float>&) {
  fail("cpu_fast::onednn::conv2d_backward_bf16_rounded called in a build without oneDNN");
}

}  // namespace acts::cpu_fast::onednn
