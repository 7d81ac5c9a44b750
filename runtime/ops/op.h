// The op interface: what one layer type is to the graph core. Every layer type is a folder of
// runtime/ops with three entry points, wired in by one line of ops.def:
//   folder.cpp       const Op& folder_op()      Keras config in and out, shapes, parameters
//   folder_cpu.cpp   folder_cpu(node, env)      its CpuOp: reference loops and fast path (runtime/cpu/cpu_op.h)
//   folder_cuda.cpp  folder_cuda(node, env)     its CudaOp: cuDNN/cuBLAS calls, kernel launches (runtime/cuda/cuda_op.h)
// Its kernels are kernels/cpu/<name>.h (the reference) and kernels/cuda/<name>.cu(h), its tests
// tests/ops/<name>_test.cpp (and <name>_cuda_test.cpp). docs/ARCHITECTURE.md has the picture.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "runtime/core/graph.h"
#include "runtime/core/window.h"
#include "runtime/ops/keras_config.h"

namespace acts {

class Op {
 public:
  virtual ~Op() = default;
  virtual LayerType type() const = 0;
  virtual const char* keras_class() const = 0;  // "Conv2D": the JSON's class_name and the summary's type
  virtual const char* name_prefix() const = 0;  // "conv2d": Keras 2.0.8's default names, conv2d_1, ...

  // Reads the layer's Keras config into `s` (type, name and input shape are set by the caller),
  // refusing what the op does not run with c.bad("..."), which names the layer.
  virtual void parse(const nlohmann::json& config, LayerSpec& s, const KerasConfig& c) const = 0;
  // Writes the config keys of this layer (Keras 2 style; name, trainable, dtype and the input
  // shape are written by the caller).
  virtual void write(const LayerSpec& s, nlohmann::json& config) const = 0;
  // Shape inference: the output shape and the parameter tensors, in Keras' order and layouts.
  virtual void infer(NodeShapes& io) const = 0;
  // How far one output position reaches into the input (runtime/core/window.h): pointwise unless
  // the op overrides it. Layers with windows (Conv2D, the poolings) and those that mix every
  // position (Flatten, Dense, the global poolings) say so here, never by a switch on the type.
  virtual Reach reach(const Node&) const { return {}; }
};

// True when the model's first layer, random image layers aside, is a Rescaling (runtime/ops/rescaling):
// the model scales the pixels itself, so the input pipeline should hand them over as they are
// (0-255), not times 1/255.
bool rescales_its_input(const ModelSpec& m);

// The registry (registry.cpp, from ops.def).
const Op& op_of(LayerType t);
const Op* op_by_keras_class(const std::string& keras_class);  // null when no op has that class
std::string keras_classes();                                   // "Conv2D, MaxPooling2D, ..."

}  // namespace acts
