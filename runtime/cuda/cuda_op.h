// The CUDA half of an op (runtime/ops/op.h): one node of the graph on the GPU, made by the op's
// folder_cuda() for each CudaBackend. Its calls only enqueue work on the backend's stream (cuDNN,
// cuBLAS, kernels/cuda launches): they never synchronise and never touch host memory, so a
// whole training step can be captured as one CUDA graph. Pointers are device memory, NHWC, in the
// device parameter layout (param_layout.h). Mirrors runtime/cpu/cpu_op.h.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/core/backend.h"
#include "runtime/cuda/cuda_context.h"

namespace acts {

struct CudaOpEnv {
  const CudaContext& ctx;
  const BackendOptions& opt;  // deterministic, conv_search, seed, ...
  uint32_t index = 0;         // the node's position in the graph
  // Marks the end of one piece of the node's work for the op profile: mark("backward-filter").
  std::function<void(const char* what)> mark;
};

struct CudaForward {
  int n = 0;
  bool training = false;
  const float* x = nullptr;
  float* y = nullptr;
  const float* const* w = nullptr;  // Node::params order, device layout
  float* const* state = nullptr;    // the same tensors, writable (non-trainable state)
  float* logits = nullptr;          // the loss head's node: also write the output before the activation
  const uint64_t* step = nullptr;   // device: training steps taken (dropout masks)
  void* workspace = nullptr;        // cuDNN's, shared by all nodes
  size_t workspace_bytes = 0;
};

struct CudaBackward {
  int n = 0;
  bool training = false;            // the last forward was a training forward
  const float* x = nullptr;
  const float* y = nullptr;
  const float* const* w = nullptr;
  float* const* dw = nullptr;       // parameter gradients, overwritten; null: input gradient only
  float* dy = nullptr;              // dL/d(output); may be overwritten
  float* dx = nullptr;              // dL/d(input); null for the first node
  bool act_done = false;            // as CpuBackward::act_done
  bool input_relu = false;          // as CpuBackward::input_relu
  const uint64_t* step = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  float* scratch = nullptr;         // bias-gradient partial sums, scratch_floats() of the largest node
  size_t scratch_floats = 0;
};

class CudaOp {
 public:
  virtual ~CudaOp() = default;
  // Per batch size: descriptors and algorithms, chosen once (cuDNN); no workspace above `limit`.
  virtual void plan(int /*n*/, size_t /*workspace_limit*/) {}
  virtual size_t workspace_bytes(int /*n*/) const { return 0; }  // after plan(n)
  virtual size_t scratch_floats(int /*n*/) const { return 0; }
  virtual std::string algorithms(int /*n*/) const { return {}; }  // the choices made for a log line
  // Output memory is the input's (Flatten, a linear Activation): no buffer of its own.
  virtual bool aliases_input() const { return false; }
  virtual void forward(const CudaForward& f) = 0;
  // True when it wrote dx; false when the gradient stays in dy (in place).
  virtual bool backward(const CudaBackward& b) = 0;
  // Fusion across layers, as CpuOp.
  virtual bool output_relu() const { return false; }
  virtual bool takes_input_relu() const { return false; }
};

// cuda_ops.cpp: the node's CudaOp, by its layer type (ops.def).
std::unique_ptr<CudaOp> make_cuda_op(const Node& node, const CudaOpEnv& env);

}  // namespace acts
