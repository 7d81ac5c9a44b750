// The GPU resources one backend owns: a (non-blocking) stream, cuDNN and cuBLAS handles bound to it,
// and cuBLAS' workspace (set explicitly so CUDA-graph capture never allocates). It also fixes the
// math mode once: strict fp32 (cuBLAS default math, no tensor cores) or TF32 tensor-core math.
#pragma once
#include <string>

#include "device_buffer.h"

namespace acts {

class CudaContext {
 public:
  explicit CudaContext(bool tf32);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  cudaStream_t stream() const { return stream_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  cublasHandle_t cublas() const { return cublas_; }
  bool tf32() const { return tf32_; }
  void sync() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  // "NVIDIA H200 (sm_90, 139 GiB), CUDA runtime 13.0, cuDNN 9.19.0"
  std::string describe() const;
  const std::string& device_name() const { return device_name_; }

 private:
  void release() noexcept;

  bool tf32_;
  int device_ = 0;
  std::string device_name_;
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  DeviceBuffer<unsigned char> cublas_ws_;
};

// "cuDNN 9.19.0" of the library loaded at run time (not the headers').
std::string cudnn_version_text();

}  // namespace acts
