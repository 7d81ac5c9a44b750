// The CUDA backend's OpClock (runtime/core/op_profile.h): a CUDA event recorded on the backend's
// stream at start() and at every mark(), so each op's time is the GPU time between the event
// before its work and the event after it, launch gaps included. Only for eager passes: events
// recorded during a graph capture would become graph nodes and time nothing.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "cuda_check.h"
#include "runtime/core/op_profile.h"

namespace acts {

class EventOpClock final : public OpClock {
 public:
  explicit EventOpClock(cudaStream_t stream) : stream_(stream) {}
  ~EventOpClock() override;
  EventOpClock(const EventOpClock&) = delete;
  EventOpClock& operator=(const EventOpClock&) = delete;

  void start() override;
  void mark(const std::string& op) override;
  std::vector<OpTime> finish() override;  // synchronises on the last event

 private:
  cudaEvent_t record();

  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr;
  std::vector<std::pair<std::string, cudaEvent_t>> marks_;
};

}  // namespace acts
