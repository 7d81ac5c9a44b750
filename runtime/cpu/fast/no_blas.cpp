// Built instead of the GEMM files when CMake found no OpenBLAS (e.g. a GPU machine without
// libopenblas-dev): the fast path reports itself unavailable and CpuBackend uses the reference
// loops. The GEMM entry points exist only so everything links; reaching one is a bug.
#include "runtime/cpu/fast/cpu_fast.h"
#include "runtime/core/errors.h"

namespace acts::cpu_fast {

bool available(std::string* why) {
  if (why) *why = "built without OpenBLAS (install libopenblas-dev and reconfigure)";
  return false;
}

std::string describe() { return "no fast path: built without OpenBLAS"; }

void single_threaded_blas() {}

void gemm::conv2d_forward(const float*, int, const cpu::ConvGeometry&, const float*, const float*, bool, float*,
                          std::vector<float>&) {
  fail("cpu_fast::gemm::conv2d_forward called in a build without OpenBLAS");
}
void gemm::conv2d_backward(const float*, int, const cpu::ConvGeometry&, const float*, float*, const float*, float*,
                           float*, float*, std::vector<float>&) {
  fail("cpu_fast::gemm::conv2d_backward called in a build without OpenBLAS");
}
void dense_forward(const float*, int, int, const float*, const float*, int, float*) {
  fail("cpu_fast::dense_forward called in a build without OpenBLAS");
}
void dense_backward(const float*, int, int, const float*, int, const float*, float*, float*, float*) {
  fail("cpu_fast::dense_backward called in a build without OpenBLAS");
}

}  // namespace acts::cpu_fast
