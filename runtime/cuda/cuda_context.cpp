#include "cuda_context.h"

namespace acts {

namespace {
// cuBLAS' recommended workspace on Hopper; one fixed buffer keeps results deterministic.
constexpr size_t kCublasWorkspace = size_t(32) << 20;
}  // namespace

std::string cudnn_version_text() {
  const size_t v = cudnnGetVersion();  // e.g. 91900 = 9.19.0
  return "cuDNN " + std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}

CudaContext::CudaContext(bool tf32) : tf32_(tf32) {
  CUDA_CHECK(cudaGetDevice(&device_));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  device_name_ = prop.name;
  try {
    // Non-blocking: while a blocking stream captures a CUDA graph, the legacy default stream is
    // unusable process-wide (cuda_runtime_api.h, cudaStreamIsCapturing: "When a blocking stream
    // is capturing, the legacy stream is in an unusable state until the blocking stream capture is
    // terminated"), so another thread's cudaMemcpy would fail with cudaErrorStreamCaptureImplicit
    // and break the capture. Nothing here relies on the legacy stream's implicit ordering: every
    // copy names this stream and waits for it.
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDNN_CHECK(cudnnCreate(&cudnn_));
    CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
    CUBLAS_CHECK(cublasCreate(&cublas_));
    CUBLAS_CHECK(cublasSetStream(cublas_, stream_));  // resets the workspace: set ours after it
    cublas_ws_ = DeviceBuffer<unsigned char>(kCublasWorkspace, "cuBLAS workspace");
    CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_ws_.get(), cublas_ws_.bytes()));
    // Strict fp32: CUBLAS_DEFAULT_MATH never uses TF32 for SGEMM. TF32: tensor cores allowed.
    CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    CUBLAS_CHECK(cublasSetPointerMode(cublas_, CUBLAS_POINTER_MODE_HOST));
  } catch (...) {
    release();  // the destructor does not run for a half-built object
    throw;
  }
}

CudaContext::~CudaContext() { release(); }

void CudaContext::release() noexcept {
  if (cublas_) CUDA_LOG(cublasDestroy(cublas_));
  if (cudnn_) CUDA_LOG(cudnnDestroy(cudnn_));
  if (stream_) CUDA_LOG(cudaStreamDestroy(stream_));
  cublas_ = nullptr;
  cudnn_ = nullptr;
  stream_ = nullptr;
}

std::string CudaContext::describe() const {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  int rt = 0;
  CUDA_CHECK(cudaRuntimeGetVersion(&rt));
  return device_name_ + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
         std::to_string(prop.totalGlobalMem >> 30) + " GiB), CUDA runtime " + std::to_string(rt / 1000) + "." +
         std::to_string(rt % 1000 / 10) + ", " + cudnn_version_text();
}

}  // namespace acts
