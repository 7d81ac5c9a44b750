// A CUDA graph of one training step: the work a callback enqueues on a stream is captured once
// and then replayed with a single launch, which removes the per-kernel launch overhead of the
// ~40 kernels and library calls a step makes. Move-only owner of the graph and its executable.
#pragma once
#include <cuda_runtime_api.h>

#include <functional>

namespace acts {

class StepGraph {
 public:
  StepGraph() = default;
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;
  StepGraph(StepGraph&& o) noexcept;
  StepGraph& operator=(StepGraph&& o) noexcept;

  // Captures what `work` enqueues on `stream` (nothing runs yet) and instantiates it. Throws
  // acts::Error (and leaves the stream usable) when `work` throws or does something a capture
  // cannot record, such as a synchronising call.
  static StepGraph capture(cudaStream_t stream, const std::function<void()>& work);
  void launch(cudaStream_t stream) const;
  explicit operator bool() const { return exec_ != nullptr; }

 private:
  void reset() noexcept;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace acts
