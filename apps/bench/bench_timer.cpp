// Clocks of bench_timer.h: steady_clock on the CPU, CUDA events fenced by cudaDeviceSynchronize
// on the GPU (see the header for why the fence).
#include "bench_timer.h"

#include <chrono>

#include "runtime/core/errors.h"

#ifdef ACTS_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace acts::bench {
namespace {

class CpuClock final : public Clock {
 public:
  void start() override { t0_ = std::chrono::steady_clock::now(); }
  double stop_ms() override {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
  }
  std::string describe() const override { return "std::chrono::steady_clock"; }

 private:
  std::chrono::steady_clock::time_point t0_;
};

#ifdef ACTS_WITH_CUDA
void check(cudaError_t e, const char* call, int line) {
  if (e != cudaSuccess) fail(__FILE__, ":", line, ": ", call, " failed: ", cudaGetErrorString(e));
}
#define BENCH_CUDA(call) check((call), #call, __LINE__)

class GpuClock final : public Clock {
 public:
  GpuClock() {
    BENCH_CUDA(cudaEventCreate(&start_));
    BENCH_CUDA(cudaEventCreate(&stop_));
  }
  ~GpuClock() override {
    cudaEventDestroy(start_);  // teardown: nothing useful to do on failure
    cudaEventDestroy(stop_);
  }
  void start() override {
    BENCH_CUDA(cudaDeviceSynchronize());  // nothing earlier leaks into the interval
    BENCH_CUDA(cudaEventRecord(start_, 0));
  }
  double stop_ms() override {
    BENCH_CUDA(cudaDeviceSynchronize());  // every stream's work issued since start() is done
    BENCH_CUDA(cudaEventRecord(stop_, 0));
    BENCH_CUDA(cudaEventSynchronize(stop_));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }
  std::string describe() const override { return "CUDA events after cudaDeviceSynchronize"; }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};
#endif

}  // namespace

std::unique_ptr<Clock> make_cpu_clock() { return std::make_unique<CpuClock>(); }

std::unique_ptr<Clock> make_gpu_clock() {
#ifdef ACTS_WITH_CUDA
  return std::make_unique<GpuClock>();
#else
  fail("GPU timing needs a build with the CUDA backend");
#endif
}

}  // namespace acts::bench
