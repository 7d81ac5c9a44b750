// Shared by the CUDA test suites: a fixture that SKIPS (never passes) with the reason when no
// GPU is usable, host<->device helpers, NaN poisoning of outputs, and random test data.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runtime/cuda/cuda_context.h"
#include "runtime/cuda/device_buffer.h"

namespace acts::test {

// Empty when a GPU is usable, else why not ("no CUDA device: <cudaGetErrorString>").
inline std::string cuda_skip_reason() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string("no CUDA device: ") + cudaGetErrorString(e);
  }
  if (count == 0) return "no CUDA device: none is visible";
  return "";
}

// Every CUDA test derives from this: SetUp skips without a GPU, else makes a context.
// Helpers are public so free functions shared by several tests can use them.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = cuda_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ctx = std::make_unique<CudaContext>(tf32());
  }
  virtual bool tf32() const { return false; }

 public:
  cudaStream_t stream() const { return ctx->stream(); }

  template <typename T>
  DeviceBuffer<T> upload(const std::vector<T>& v) {
    DeviceBuffer<T> d(std::max<size_t>(v.size(), 1), "test input");
    if (!v.empty()) d.copy_from_host(v.data(), v.size(), stream());
    return d;
  }
  // An output buffer of n floats, NaN-filled so an element the kernel forgets to write fails.
  DeviceBuffer<float> poisoned(size_t n) {
    DeviceBuffer<float> d(std::max<size_t>(n, 1), "test output");
    d.poison(stream());
    return d;
  }
  template <typename T>
  std::vector<T> download(const DeviceBuffer<T>& d, size_t n) {
    std::vector<T> v(n);
    if (n) d.copy_to_host(v.data(), n, stream());
    return v;
  }

  std::unique_ptr<CudaContext> ctx;
};

// TF32 variants of a suite derive from this instead.
class CudaTf32Test : public CudaTest {
 protected:
  bool tf32() const override { return true; }
};

// Uniform in [lo, hi) (float-representable, so double references see the same numbers).
inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(0, 255);
  std::vector<uint8_t> v(n);
  for (uint8_t& x : v) x = uint8_t(u(rng));
  return v;
}

template <typename T>
double max_abs(const std::vector<T>& v) {
  double m = 0;
  for (const T& x : v) m = std::max(m, std::fabs(double(x)));
  return m;
}

}  // namespace acts::test
