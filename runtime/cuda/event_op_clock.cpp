#include "event_op_clock.h"

namespace acts {

EventOpClock::~EventOpClock() {
  if (start_) CUDA_LOG(cudaEventDestroy(start_));
  for (auto& m : marks_)
    if (m.second) CUDA_LOG(cudaEventDestroy(m.second));
}

cudaEvent_t EventOpClock::record() {
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreate(&e));
  const cudaError_t err = cudaEventRecord(e, stream_);
  if (err != cudaSuccess) CUDA_LOG(cudaEventDestroy(e));
  CUDA_CHECK(err);
  return e;
}

void EventOpClock::start() {
  if (start_) fail("EventOpClock::start() called twice");
  start_ = record();
}

void EventOpClock::mark(const std::string& op) {
  if (!start_) fail("EventOpClock::mark('", op, "') before start()");
  cudaEvent_t e = record();
  marks_.emplace_back(op, e);
}

std::vector<OpTime> EventOpClock::finish() {
  std::vector<OpTime> out;
  if (marks_.empty()) return out;
  CUDA_CHECK(cudaEventSynchronize(marks_.back().second));
  cudaEvent_t prev = start_;
  for (const auto& [op, e] : marks_) {
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, prev, e));
    out.push_back({op, double(ms)});
    prev = e;
  }
  return out;
}

}  // namespace acts
