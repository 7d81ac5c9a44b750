// Stand-in for the CUDA runtime API (see ../cuda_emu.h): what runtime/cuda, kernels/cuda and the
// CUDA tests call, written from the runtime's documented behaviour. One device of 16 GiB (host
// memory: AddressSanitizer checks every access); a failing call sets the "last error" as the
// runtime does; calls a graph capture forbids invalidate the capture.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "../cuda_emu.h"

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureImplicit = 906,
};
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone,
  cudaStreamCaptureStatusActive,
  cudaStreamCaptureStatusInvalidated
};
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal,
  cudaStreamCaptureModeThreadLocal,
  cudaStreamCaptureModeRelaxed
};
using cudaGraph_t = CUgraph_st*;
using cudaGraphExec_t = CUgraphExec_st*;
using cudaEvent_t = CUevent_st*;
constexpr unsigned cudaEventDisableTiming = 2;
constexpr unsigned cudaStreamNonBlocking = 1;
struct cudaDeviceProp {
  char name[256] = "CPU emulator (tests/cuda_emu)";
  int major = 0, minor = 0;
  size_t totalGlobalMem = size_t(16) << 30;
};

namespace acts_emu {
constexpr size_t kDeviceBytes = size_t(16) << 30;
struct Memory {
  std::map<void*, size_t> blocks;
  size_t used = 0;
};
inline Memory& memory() {
  static Memory m;
  return m;
}
// Page-locked host blocks (cudaMallocHost): copies from them need no staging.
struct Pinned {
  std::mutex m;
  std::map<const char*, size_t> blocks;
};
inline Pinned& pinned() {
  static Pinned p;
  return p;
}
inline bool is_pinned(const void* p) {
  std::lock_guard<std::mutex> lock(pinned().m);
  const auto* c = static_cast<const char*>(p);
  auto it = pinned().blocks.upper_bound(c);
  if (it == pinned().blocks.begin()) return false;
  --it;
  return c < it->first + it->second;
}
inline CUstream_st*& capturing_stream() {  // the stream capturing on this thread, if any
  static thread_local CUstream_st* s = nullptr;
  return s;
}
inline cudaError_t fail(cudaError_t e) {
  last_error() = e;
  return e;
}
// A "potentially unsafe" call (cudaThreadExchangeStreamCaptureMode in cuda_runtime_api.h): it
// fails, and invalidates the capture, when this thread captures in global or thread-local mode,
// or when another thread captures in global mode. Thread-local captures ignore other threads.
inline bool forbidden_in_capture() {
  CUstream_st* victim = nullptr;
  if (CUstream_st* own = capturing_stream(); own && own->capture_mode != cudaStreamCaptureModeRelaxed) {
    victim = own;
  } else {
    std::lock_guard<std::mutex> lock(active_captures().m);
    for (CUstream_st* s : active_captures().streams)
      if (s != own && s->capture_mode == cudaStreamCaptureModeGlobal) victim = s;
  }
  if (!victim) return false;
  victim->invalidated = true;
  last_error() = cudaErrorStreamCaptureUnsupported;
  return true;
}
// Work on the legacy default stream (null) while a blocking stream captures: see cuda_emu.h.
inline bool legacy_refused(cudaStream_t st) {
  if (st || !legacy_stream_unusable()) return false;
  last_error() = cudaErrorStreamCaptureImplicit;
  return true;
}
inline double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace acts_emu

inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    case cudaErrorStreamCaptureUnsupported:
      return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated:
      return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureImplicit:
      return "cudaErrorStreamCaptureImplicit";
  }
  return "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : cudaGetErrorName(e); }
inline cudaError_t cudaGetLastError() {
  const int e = acts_emu::last_error();
  acts_emu::last_error() = 0;
  return cudaError_t(e);
}
// No error here is sticky (nothing corrupts an emulated context), so after cudaGetLastError() it
// always reports success.
inline cudaError_t cudaPeekAtLastError() { return cudaError_t(acts_emu::last_error()); }

inline cudaError_t cudaGetDeviceCount(int* n) { return *n = 1, cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) { return *d = 0, cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) { return *p = cudaDeviceProp{}, cudaSuccess; }
inline cudaError_t cudaRuntimeGetVersion(int* v) { return *v = 0, cudaSuccess; }
inline cudaError_t cudaDriverGetVersion(int* v) { return *v = 0, cudaSuccess; }

// Memory.
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = nullptr;
  if (acts_emu::forbidden_in_capture()) return cudaErrorStreamCaptureUnsupported;
  auto& m = acts_emu::memory();
  if (bytes > acts_emu::kDeviceBytes - m.used) return acts_emu::fail(cudaErrorMemoryAllocation);
  *p = std::malloc(bytes ? bytes : 1);
  if (!*p) return acts_emu::fail(cudaErrorMemoryAllocation);
  m.blocks[*p] = bytes;
  m.used += bytes;
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  if (acts_emu::forbidden_in_capture()) return cudaErrorStreamCaptureUnsupported;
  acts_emu::flush_legacy();  // cudaFree synchronises the device first
  auto& m = acts_emu::memory();
  const auto it = m.blocks.find(p);
  if (it == m.blocks.end()) return acts_emu::fail(cudaErrorInvalidValue);
  m.used -= it->second;
  m.blocks.erase(it);
  std::free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMallocHost(void** p, size_t bytes) {
  if (acts_emu::forbidden_in_capture()) return cudaErrorStreamCaptureUnsupported;
  *p = std::malloc(bytes ? bytes : 1);
  if (!*p) return acts_emu::fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(acts_emu::pinned().m);
  acts_emu::pinned().blocks[static_cast<const char*>(*p)] = bytes;
  return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
  {
    std::lock_guard<std::mutex> lock(acts_emu::pinned().m);
    acts_emu::pinned().blocks.erase(static_cast<const char*>(p));
  }
  return std::free(p), cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(size_t* free_b, size_t* total_b) {
  *total_b = acts_emu::kDeviceBytes;
  *free_b = acts_emu::kDeviceBytes - acts_emu::memory().used;
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t st = nullptr) {
  if (acts_emu::legacy_refused(st)) return cudaErrorStreamCaptureImplicit;
  acts_emu::submit(st, [d, s, n] {
    if (n) std::memcpy(d, s, n);
  });
  return cudaSuccess;
}
// From pageable host memory to the device it returns once the bytes are staged; the copy to the
// device lands later on the legacy stream (see acts_emu::legacy_pending).
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind k) {
  if (acts_emu::forbidden_in_capture()) return cudaErrorStreamCaptureUnsupported;
  if (k != cudaMemcpyHostToDevice || acts_emu::is_pinned(s)) return cudaMemcpyAsync(d, s, n, k, nullptr);
  if (acts_emu::legacy_refused(nullptr)) return cudaErrorStreamCaptureImplicit;
  acts_emu::flush_legacy();
  const auto* from = static_cast<const unsigned char*>(s);
  acts_emu::defer_legacy([d, staged = std::vector<unsigned char>(from, from + n)] {
    if (!staged.empty()) std::memcpy(d, staged.data(), staged.size());
  });
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t st = nullptr) {
  if (acts_emu::legacy_refused(st)) return cudaErrorStreamCaptureImplicit;
  acts_emu::submit(st, [p, v, n] {
    if (n) std::memset(p, v, n);
  });
  return cudaSuccess;
}
inline cudaError_t cudaMemset(void* p, int v, size_t n) { return cudaMemsetAsync(p, v, n, nullptr); }

// Streams and capture.
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { return *s = new CUstream_st, cudaSuccess; }
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  *s = new CUstream_st;
  (*s)->blocking = !(flags & cudaStreamNonBlocking);
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) { return delete s, cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (acts_emu::legacy_refused(s)) return cudaErrorStreamCaptureImplicit;
  if (acts_emu::forbidden_in_capture()) return cudaErrorStreamCaptureUnsupported;
  if (!s || s->blocking) acts_emu::flush_legacy();
  return cudaSuccess;
}
// Waits for every stream, so also for any capturing one: refused while any thread captures.
inline cudaError_t cudaDeviceSynchronize() {
  if (acts_emu::forbidden_in_capture()) return cudaErrorStreamCaptureUnsupported;
  {
    std::lock_guard<std::mutex> lock(acts_emu::active_captures().m);
    for (CUstream_st* s : acts_emu::active_captures().streams) s->invalidated = true;
    if (!acts_emu::active_captures().streams.empty()) return acts_emu::fail(cudaErrorStreamCaptureUnsupported);
  }
  acts_emu::flush_legacy();
  return cudaSuccess;
}
inline cudaError_t cudaStreamQuery(cudaStream_t s) {
  if (acts_emu::legacy_refused(s)) return cudaErrorStreamCaptureImplicit;
  if (s && s->capturing) {
    s->invalidated = true;
    return acts_emu::fail(cudaErrorStreamCaptureUnsupported);
  }
  return cudaSuccess;
}
inline cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
  if (!s || s->capturing || acts_emu::capturing_stream()) return acts_emu::fail(cudaErrorInvalidValue);
  s->capturing = true;
  s->capture_mode = mode;
  s->invalidated = false;
  s->recorded.clear();
  acts_emu::capturing_stream() = s;
  std::lock_guard<std::mutex> lock(acts_emu::active_captures().m);
  acts_emu::active_captures().streams.push_back(s);
  return cudaSuccess;
}
inline cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* g) {
  *g = nullptr;
  if (!s || !s->capturing) return acts_emu::fail(cudaErrorInvalidValue);
  s->capturing = false;
  acts_emu::capturing_stream() = nullptr;
  {
    std::lock_guard<std::mutex> lock(acts_emu::active_captures().m);
    auto& all = acts_emu::active_captures().streams;
    all.erase(std::remove(all.begin(), all.end(), s), all.end());
  }
  auto ops = std::move(s->recorded);
  s->recorded.clear();
  if (s->invalidated) return acts_emu::fail(cudaErrorStreamCaptureInvalidated);
  *g = new CUgraph_st{std::move(ops)};
  return cudaSuccess;
}
inline cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* st) {
  *st = s && s->capturing ? (s->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive)
                          : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}
inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t* e, cudaGraph_t g, unsigned long long) {
  if (!g) return acts_emu::fail(cudaErrorInvalidValue);
  *e = new CUgraphExec_st{g->ops};
  return cudaSuccess;
}
inline cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) {
  if (!e) return acts_emu::fail(cudaErrorInvalidValue);
  for (const auto& op : e->ops) acts_emu::submit(s, op);
  return cudaSuccess;
}
inline cudaError_t cudaGraphDestroy(cudaGraph_t g) { return delete g, cudaSuccess; }
inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) { return delete e, cudaSuccess; }

// Events: the host clock when the work before them has run (immediately, here).
inline cudaError_t cudaEventCreate(cudaEvent_t* e) { return *e = new CUevent_st, cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return cudaEventCreate(e); }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) { return delete e, cudaSuccess; }
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr) {
  if (!e) return acts_emu::fail(cudaErrorInvalidResourceHandle);
  if (acts_emu::legacy_refused(s)) return cudaErrorStreamCaptureImplicit;
  acts_emu::submit(s, [e] {
    e->ms = acts_emu::now_ms();
    e->done = true;
  });
  return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  if (!e) return acts_emu::fail(cudaErrorInvalidResourceHandle);
  return acts_emu::forbidden_in_capture() ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  if (!a || !b) return acts_emu::fail(cudaErrorInvalidResourceHandle);
  if (!a->done || !b->done) return acts_emu::fail(cudaErrorNotReady);
  *ms = float(b->ms - a->ms);
  return cudaSuccess;
}
