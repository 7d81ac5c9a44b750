#include "step_graph.h"

#include <utility>

#include "cuda_check.h"

namespace acts {

StepGraph::~StepGraph() { reset(); }

StepGraph::StepGraph(StepGraph&& o) noexcept
    : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)) {}

StepGraph& StepGraph::operator=(StepGraph&& o) noexcept {
  std::swap(graph_, o.graph_);
  std::swap(exec_, o.exec_);
  return *this;
}

void StepGraph::reset() noexcept {
  if (exec_) CUDA_LOG(cudaGraphExecDestroy(exec_));
  if (graph_) CUDA_LOG(cudaGraphDestroy(graph_));
  exec_ = nullptr;
  graph_ = nullptr;
}

StepGraph StepGraph::capture(cudaStream_t stream, const std::function<void()>& work) {
  StepGraph g;
  // Thread-local mode: other threads' CUDA calls (a data loader's, say) cannot invalidate it,
  // provided the stream is non-blocking (their legacy-stream work; see cuda_context.cpp).
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    work();
  } catch (...) {
    cudaGraph_t partial = nullptr;
    CUDA_LOG(cudaStreamEndCapture(stream, &partial));  // leaves capture mode whatever happened
    if (partial) CUDA_LOG(cudaGraphDestroy(partial));
    (void)cudaGetLastError();
    throw;
  }
  try {
    CUDA_CHECK(cudaStreamEndCapture(stream, &g.graph_));
    CUDA_CHECK(cudaGraphInstantiate(&g.exec_, g.graph_, 0));
  } catch (...) {
    // An invalidated capture (say, a library made a call capture forbids without reporting it)
    // fails here; its error stays the runtime's "last error" and the next eager launch's
    // cudaGetLastError would report it as its own, defeating the caller's eager fallback.
    (void)cudaGetLastError();
    throw;
  }
  return g;
}

void StepGraph::launch(cudaStream_t stream) const { CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

}  // namespace acts
