// Chooses the backend for --device auto|cuda|cpu. The CUDA backend is linked in only when the
// build has it (ACTS_WITH_CUDA); "auto" falls back to the CPU loudly, never silently.
#include "runtime/core/backend.h"
#include "runtime/core/errors.h"

namespace acts {

#ifndef ACTS_WITH_CUDA
bool cuda_available(std::string* why) {
  if (why) *why = "this build has no CUDA backend";
  return false;
}
std::string device_versions() {
  return "CUDA: not built (no CUDA backend in this build)\n"
         "GPU: none (this build cannot use one; rebuild with the CUDA toolkit)\n";
}
std::unique_ptr<Backend> make_cuda_backend(const Graph&, const BackendOptions&) {
  fail("--device cuda: this build has no CUDA backend; rebuild with the CUDA toolkit or use --device cpu");
}
#endif

std::unique_ptr<Backend> make_backend(const std::string& device, const Graph& g, const BackendOptions& o,
                                      std::string* warning) {
  if (device == "cpu") return make_cpu_backend(g, o);
  if (device == "cuda") return make_cuda_backend(g, o);
  if (device != "auto") fail("--device '", device, "' is not one of auto, cuda, cpu");
  std::string why;
  if (cuda_available(&why)) return make_cuda_backend(g, o);
  if (warning)
    *warning = "warning: no usable GPU (" + why + "); running on the CPU backend, far slower than a GPU";
  return make_cpu_backend(g, o);
}

}  // namespace acts
