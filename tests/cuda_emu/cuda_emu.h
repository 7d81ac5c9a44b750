// A CPU emulator of the CUDA world this project uses, so that its own CUDA code runs and is
// tested on machines without a GPU: the kernels (kernels/cuda/*.cu: index arithmetic, grid-stride
// loops, bounds, shared-memory reductions, barriers) and the backend that drives them
// (runtime/cuda: buffers, arena offsets, layouts, the order of passes, graph capture and replay).
// The CUDA runtime, cuDNN's convolutions and cuBLAS' SGEMM are stand-ins written from their
// documented semantics (include/), so the emulator can NOT tell whether cuDNN or cuBLAS behave
// as documented, nor say anything about speed or the device memory model: the real-GPU suites
// stay the authority. Work on a stream runs at once, in order, unless the stream is capturing a
// graph: then it is recorded and runs at each cudaGraphLaunch, as on a GPU; calls a capture
// forbids (synchronisation, allocation, cudaStreamQuery; in the capturing thread, or in any
// thread under cudaStreamCaptureModeGlobal; the legacy default stream from any thread while a
// blocking stream captures) invalidate it, as on a GPU.
//
// How: emu_source.py rewrites each `kernel<<<grid, block, smem, stream>>>(args)` of a .cu file
// into `::acts_emu::launch(kernel, grid, block, smem, stream)(args)`, and the result compiles as
// C++ against include/ (the stand-in cuda_runtime_api.h, cudnn.h, cublas_v2.h). Blocks run one
// after another, so `__shared__` (a function-level static) is shared by one block's threads.
// A kernel that calls __syncthreads runs one OS thread per CUDA thread of the block, meeting at
// a std::barrier; a kernel without barriers runs its threads one after another (one valid
// schedule of threads that promise no order; emu_source.py tells the two kinds apart).
// Device memory is host memory (malloc), so AddressSanitizer sees every out-of-bounds access a
// kernel makes. A launch configuration CUDA would refuse (over 1024 threads, a zero dimension,
// grid.y or .z over 65535) is not run and sets cudaGetLastError(), as on a GPU.
#pragma once
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

// Execution-space and memory qualifiers: plain C++ here.
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static

// Streams, graphs and events (the runtime stub in include/ implements the API over these).
struct CUstream_st {
  bool blocking = true;  // cudaStreamCreate's kind; cudaStreamNonBlocking streams are not
  bool capturing = false;
  int capture_mode = 0;                  // a cudaStreamCaptureMode, while capturing
  std::atomic<bool> invalidated{false};  // also set by other threads (see legacy_stream_unusable)
  std::vector<std::function<void()>> recorded;
};
using cudaStream_t = CUstream_st*;
struct CUgraph_st {
  std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> ops;
};
struct CUevent_st {
  double ms = 0;  // host clock when the event's work ran
  bool done = false;
};

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// Built-in variables: per emulated thread.
inline thread_local uint3 threadIdx, blockIdx;
inline thread_local dim3 blockDim, gridDim;

// Device-side IEEE-rounded intrinsics: the plain operations (compiled with -ffp-contract=off).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
using std::max;
using std::min;

namespace acts_emu {

// Work the legacy default stream has been given but not yet done: the DMA of a cudaMemcpy from
// pageable host memory, which returns "once the pageable buffer has been copied to the staging
// memory [...], but the DMA to final destination may not have completed" (the runtime API's
// "API synchronization behavior"). It lands when something orders it: more legacy-stream work, a
// blocking stream's work (implicitly synchronised with the legacy stream), cudaStreamSynchronize
// of the legacy stream, cudaDeviceSynchronize or cudaFree. Work on a non-blocking stream does not
// wait for it, so a read there sees the old bytes, as it may on a GPU.
struct LegacyPending {
  std::mutex m;
  std::vector<std::function<void()>> ops;
};
inline LegacyPending& legacy_pending() {
  static LegacyPending p;
  return p;
}
inline void flush_legacy() {
  std::vector<std::function<void()>> ops;
  {
    std::lock_guard<std::mutex> lock(legacy_pending().m);
    ops.swap(legacy_pending().ops);
  }
  for (auto& op : ops) op();
}
inline void defer_legacy(std::function<void()> op) {
  std::lock_guard<std::mutex> lock(legacy_pending().m);
  legacy_pending().ops.push_back(std::move(op));
}

// Runs `op` now, or records it when `s` is capturing. The legacy default stream (null) never is.
inline void submit(cudaStream_t s, std::function<void()> op) {
  if (!s || s->blocking) flush_legacy();  // in order after the legacy stream's earlier work
  if (s && s->capturing)
    s->recorded.push_back(std::move(op));
  else
    op();
}

// The runtime's per-thread "last error" (a cudaError_t value): set by a refused launch and by
// every failing runtime call, read and cleared by cudaGetLastError().
inline int& last_error() {
  static thread_local int e = 0;
  return e;
}
constexpr int kInvalidConfiguration = 9;     // cudaErrorInvalidConfiguration
constexpr int kStreamCaptureImplicit = 906;  // cudaErrorStreamCaptureImplicit

// The captures in progress in every thread (cudaStreamBeginCapture to cudaStreamEndCapture).
struct ActiveCaptures {
  std::mutex m;
  std::vector<CUstream_st*> streams;
};
inline ActiveCaptures& active_captures() {
  static ActiveCaptures a;
  return a;
}
// Work on, or a wait for, the legacy default stream (stream 0, cudaMemcpy, cudaMemset) from ANY
// thread while a blocking stream captures: the runtime refuses it (cudaErrorStreamCaptureImplicit),
// whatever the capture mode. cuda_runtime_api.h, cudaStreamIsCapturing: "When a blocking stream
// is capturing, the legacy stream is in an unusable state until the blocking stream capture is
// terminated. [...] attempted use would have an implicit dependency on the capturing stream(s)."
// Here the capture is invalidated as well (conservatively: the GPU may only fail the call).
inline bool legacy_stream_unusable() {
  std::lock_guard<std::mutex> lock(active_captures().m);
  bool any = false;
  for (CUstream_st* s : active_captures().streams)
    if (s->blocking) {
      s->invalidated = true;
      any = true;
    }
  return any;
}

inline thread_local std::barrier<>* block_barrier = nullptr;

// kernel(args...) over grid x block; returns when every block has run.
template <typename... Params>
struct Launch {
  void (*kernel)(Params...);
  dim3 grid, block;
  bool barriers;  // the kernel calls __syncthreads: its threads must run concurrently
  cudaStream_t stream;
  template <typename... Args>
  void operator()(Args&&... args) const {
    const unsigned long threads = (unsigned long)block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
        grid.z > 65535 || block.z > 64) {
      last_error() = kInvalidConfiguration;
      return;
    }
    if (!stream && legacy_stream_unusable()) {
      last_error() = kStreamCaptureImplicit;
      return;
    }
    // Parameters are copied at launch, as a real launch (and a graph capture) does.
    submit(stream, [self = *this, params = std::tuple<Params...>(std::forward<Args>(args)...)] { self.run(params); });
  }
  void run(const std::tuple<Params...>& params) const {
    const unsigned long threads = (unsigned long)block.x * block.y * block.z;
    if (!barriers) {
      blockDim = block;
      gridDim = grid;
      for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
          for (unsigned x = 0; x < grid.x; ++x)
            for (unsigned long t = 0; t < threads; ++t) {
              blockIdx = {x, y, z};
              threadIdx = {unsigned(t % block.x), unsigned(t / block.x % block.y), unsigned(t / block.x / block.y)};
              std::apply(kernel, params);
            }
      return;
    }
    std::barrier<> sync(static_cast<std::ptrdiff_t>(threads));
    std::vector<std::thread> pool;
    for (unsigned long t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        block_barrier = &sync;
        blockDim = block;
        gridDim = grid;
        threadIdx = {unsigned(t % block.x), unsigned(t / block.x % block.y), unsigned(t / block.x / block.y)};
        for (unsigned z = 0; z < grid.z; ++z)
          for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
              blockIdx = {x, y, z};
              std::apply(kernel, params);
              sync.arrive_and_wait();  // the block is done before the next one reuses __shared__
            }
      });
    for (std::thread& th : pool) th.join();
  }
};

template <typename... Params>
Launch<Params...> launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t /*smem*/, cudaStream_t stream) {
  return {kernel, grid, block, false, stream};
}
template <typename... Params>
Launch<Params...> launch_with_barriers(void (*kernel)(Params...), dim3 grid, dim3 block, size_t /*smem*/,
                                       cudaStream_t stream) {
  return {kernel, grid, block, true, stream};
}

}  // namespace acts_emu

inline void __syncthreads() {
  if (!acts_emu::block_barrier) {  // launched as barrier-free: emu_source.py missed this kernel's barrier
    std::fputs("cuda_emu: __syncthreads in a kernel launched without barriers\n", stderr);
    std::abort();
  }
  acts_emu::block_barrier->arrive_and_wait();
}
