// Owning handles for GPU memory: DeviceBuffer<T> (cudaMalloc) and PinnedBuffer<T> (page-locked
// host memory for asynchronous uploads). Move-only: a copy would double-free. Copies between
// host and device are explicit calls that name the stream and wait for it, so no hidden
// synchronisation hides in an assignment. ArenaPlan lays many tensors out in one allocation.
// Running out of GPU memory is an acts::Error that says what was asked for, what is free, and
// what to do about it.
#pragma once
#include <cstddef>
#include <string>
#include <utility>

#include "cuda_check.h"

namespace acts {

inline std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

// cudaMalloc that turns "out of memory" into an actionable message.
inline void* device_alloc(size_t bytes, const std::string& what) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the sticky-free error so later calls are not blamed
    size_t free_b = 0, total_b = 0;
    CUDA_LOG(cudaMemGetInfo(&free_b, &total_b));
    fail("out of GPU memory: ", what, " needs ", mib(bytes), " but only ", mib(free_b), " of ", mib(total_b),
         " are free; use a smaller --batch-size (or free the GPU)");
  }
  CUDA_CHECK(e);
  return p;
}

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t count, const std::string& what)
      : p_(static_cast<T*>(device_alloc(count * sizeof(T), what))), n_(count) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }

  T* get() const { return p_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }

  // Copies `count` elements at element `offset`; both wait for `stream` to finish, so the host
  // side may be reused (or read) as soon as they return.
  void copy_from_host(const T* src, size_t count, cudaStream_t stream, size_t offset = 0) {
    check_range(count, offset);
    CUDA_CHECK(cudaMemcpyAsync(p_ + offset, src, count * sizeof(T), cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  void copy_to_host(T* dst, size_t count, cudaStream_t stream, size_t offset = 0) const {
    check_range(count, offset);
    CUDA_CHECK(cudaMemcpyAsync(dst, p_ + offset, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  // Every byte 0xFF: for float that is NaN, which tests use to poison outputs before a kernel.
  void poison(cudaStream_t stream) { CUDA_CHECK(cudaMemsetAsync(p_, 0xFF, bytes(), stream)); }
  void zero(cudaStream_t stream) { CUDA_CHECK(cudaMemsetAsync(p_, 0, bytes(), stream)); }

 private:
  void check_range(size_t count, size_t offset) const {
    if (offset + count > n_) fail("device copy of ", count, " elements at ", offset, " overruns a buffer of ", n_);
  }
  void reset() noexcept {
    if (p_) CUDA_LOG(cudaFree(p_));
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Page-locked host memory: cudaMemcpyAsync from it returns at once and overlaps with kernels.
template <typename T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t count) : n_(count) {
    if (count) CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&p_), count * sizeof(T)));
  }
  ~PinnedBuffer() {
    if (p_) CUDA_LOG(cudaFreeHost(p_));
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  PinnedBuffer(PinnedBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Offsets of many tensors inside one allocation, each aligned to 256 bytes (what cuDNN's
// vectorised kernels and cudaMalloc itself guarantee).
class ArenaPlan {
 public:
  static constexpr size_t kAlign = 256;
  // Reserves `bytes` and returns the byte offset of the reservation.
  size_t add(size_t bytes) {
    const size_t at = total_;
    total_ += (bytes + kAlign - 1) / kAlign * kAlign;
    return at;
  }
  size_t total() const { return total_; }

 private:
  size_t total_ = 0;
};

}  // namespace acts
