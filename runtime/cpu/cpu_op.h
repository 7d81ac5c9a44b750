// The CPU half of an op (runtime/ops/op.h): one node of the graph on the CPU, made by the op's
// folder_cpu() for each CpuBackend. It runs the reference loops of kernels/cpu when env.fast is
// false (the oracle) and the fast path (runtime/cpu/fast: oneDNN/OpenBLAS) otherwise. Node-local
// state (a dropout mask, say) lives in the CpuOp. Everything is host memory in Keras' layouts:
// activations (n, out_shape...), parameters as Graph::params() lays them out.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/core/graph.h"

namespace acts {

struct CpuOpEnv {
  bool fast = false;    // the fast path (else the reference loops)
  uint64_t seed = 1;    // BackendOptions::seed (dropout masks)
  uint32_t index = 0;   // the node's position in the graph
  bool bf16 = false;    // mixed bf16: the backend rounds every input, weight and gradient the op
                        // reads to bf16, so a fast kernel may read them as bf16 (Conv2D does)
};

struct CpuForward {
  int n = 0;
  bool training = false;  // Keras' training flag: dropout on; batch statistics (BatchNormalization)
  uint64_t step = 0;      // training steps taken (dropout masks are drawn from seed and step)
  const float* x = nullptr;          // (n, in_shape)
  float* y = nullptr;                // (n, out_shape), overwritten
  const float* const* w = nullptr;   // the node's parameter tensors, Node::params order
  float* const* state = nullptr;     // the same tensors, writable: non-trainable state a training
                                     // forward updates (moving statistics)
  float* logits = nullptr;           // set for the loss head's node: also write the output before
                                     // the activation here (the loss takes the activation itself)
  std::vector<float>* scratch = nullptr;  // working memory shared by all ops, grown on demand
};

struct CpuBackward {
  int n = 0;
  const float* x = nullptr;          // the forward's input and output
  const float* y = nullptr;
  const float* const* w = nullptr;
  float* const* dw = nullptr;        // parameter gradients, overwritten; null: input gradient only
                                     // (heatmaps, filter patterns)
  float* dy = nullptr;               // dL/d(output); the op may overwrite it
  float* dx = nullptr;               // dL/d(input); null for the first node
  bool act_done = false;             // dy is already past this node's activation: the loss took
                                     // the head's sigmoid, or the next op applied the relu derivative
  bool input_relu = false;           // also take dx through the relu that made x (takes_input_relu())
  std::vector<float>* scratch = nullptr;
};

class CpuOp {
 public:
  virtual ~CpuOp() = default;
  virtual void forward(const CpuForward& f) = 0;
  // True when the op wrote dx; false when the gradient passes through unchanged and stays in dy
  // (Flatten, Activation, Dropout work in place).
  virtual bool backward(const CpuBackward& b) = 0;

  // Fusion across layers: when an op whose output is a relu's (output_relu()) is followed by one
  // that can apply that relu's derivative itself (takes_input_relu()), the backend sets
  // input_relu on the second and act_done on the first, saving a pass over the tensor.
  virtual bool output_relu() const { return false; }
  virtual bool takes_input_relu() const { return false; }

  // True when, in mixed bf16, the op's outputs (y, dx) are bf16 already: because the op only
  // selects, moves or zeroes bf16 values (max pooling without overlapping windows, Flatten), or
  // because it rounds them itself where that is cheaper (the fast Conv2D, piece by piece while
  // each is in cache). The backend then skips its own rounding pass over them, each way (at the
  // tutorial's max_pooling2d_1, 14 M values backward).
  virtual bool keeps_bf16() const { return false; }
};

// registry.cpp: the node's CpuOp, by its layer type.
std::unique_ptr<CpuOp> make_cpu_op(const Node& node, const CpuOpEnv& env);

}  // namespace acts
