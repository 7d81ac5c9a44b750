// The CUDA half of runtime/backends/backend_factory.cpp: whether a GPU is usable, the CUDA backend's
// constructor, and the version lines of --version. Linked only into builds with ACTS_WITH_CUDA
// (backend_factory.cpp then leaves these three out).
#include <cudnn.h>

#include "cuda_backend.h"

namespace acts {

bool cuda_available(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    if (why) *why = std::string("no CUDA device: ") + cudaGetErrorString(e);
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device: none is visible";
    return false;
  }
  return true;
}

std::unique_ptr<Backend> make_cuda_backend(const Graph& g, const BackendOptions& o) {
  std::string why;
  if (!cuda_available(&why)) fail("--device cuda: ", why, "; use --device cpu (or auto) on this machine");
  return std::make_unique<CudaBackend>(g, o);
}

std::string device_versions() {
  auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  int runtime = 0, driver = 0, blas_major = 0, blas_minor = 0, blas_patch = 0;
  CUDA_LOG(cudaRuntimeGetVersion(&runtime));
  CUDA_LOG(cudaDriverGetVersion(&driver));
  CUDA_LOG(cublasGetProperty(MAJOR_VERSION, &blas_major));
  CUDA_LOG(cublasGetProperty(MINOR_VERSION, &blas_minor));
  CUDA_LOG(cublasGetProperty(PATCH_LEVEL, &blas_patch));
  std::string out = "CUDA runtime " + version(runtime) + ", " +
                    (driver ? "driver supports CUDA " + version(driver) : std::string("no NVIDIA driver")) + "\n";
  out += cudnn_version_text() + " (built against " + std::to_string(CUDNN_MAJOR) + "." + std::to_string(CUDNN_MINOR) +
         "." + std::to_string(CUDNN_PATCHLEVEL) + "), cuBLAS " + std::to_string(blas_major) + "." +
         std::to_string(blas_minor) + "." + std::to_string(blas_patch) + "\n";
  std::string why;
  if (!cuda_available(&why)) return out + "GPU: none (" + why + ")\n";
  int device = 0;
  cudaDeviceProp prop{};
  CUDA_LOG(cudaGetDevice(&device));
  CUDA_LOG(cudaGetDeviceProperties(&prop, device));
  return out + "GPU: " + prop.name + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
         std::to_string(prop.totalGlobalMem >> 30) + " GiB)\n";
}

}  // namespace acts
