// The graph runtime's static half: named layers resolved from a ModelSpec, their per-sample
// output shapes, and one flat parameter layout (Keras order and Keras tensor layouts) shared by
// every backend, the optimizer and the checkpoints.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/core/model_spec.h"

namespace acts {

enum class ParamInit { Default, Ones };

// One parameter tensor inside the flat parameter vector.
struct ParamRef {
  std::string name;        // "conv2d_1/kernel", "dense_2/bias"
  std::vector<int> shape;  // conv kernel (kh, kw, Cin, Cout); dense kernel (in, out); bias (out)
  size_t offset = 0, size = 0;
  // False for state that training updates without gradients (BatchNormalization's moving
  // statistics): its gradient stays zero, so the elementwise RMSprop step leaves it as the
  // forward pass wrote it, and the summary counts it as non-trainable.
  bool trainable = true;
  // Its initial value in init_params(): Keras' defaults (glorot_uniform for kernels, zeros for
  // vectors), or ones (BatchNormalization's gamma and moving_variance).
  ParamInit init = ParamInit::Default;
};

// The number format an op computes in. Every op is float32 today; a bf16 op (issue 25) sets its
// nodes' dtype and the backends convert at the edges where neighbours differ.
enum class DType { F32, BF16 };

struct Node {
  LayerSpec spec;               // name resolved (Keras 2.0.8 default unless the JSON gave one)
  std::vector<int> in_shape;    // per sample: (H, W, C) or (features)
  std::vector<int> out_shape;
  size_t out_size = 0;          // product of out_shape
  size_t param_count = 0;
  std::vector<int> params;      // this node's tensors, indices into Graph::params(), in op order
  int kernel = -1, bias = -1;   // the tensors named "kernel" and "bias", -1 when none
  // Padding an op's window adds before/after the input (rows top/bottom, columns left/right):
  // 'same' padding may be asymmetric (LayerSpec's Padding). Zero for 'valid' and for other ops.
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  DType dtype = DType::F32;
};

// What an op's shape inference (Op::infer, runtime/ops/op.h) sees and fills for one node: its
// spec and input shape in, its output shape and parameter tensors out. Errors name the layer
// and its input: "conv2d_1 (Conv2D) with input (None, 2, 2, 3): ...".
class NodeShapes {
 public:
  const LayerSpec& spec() const { return node_.spec; }
  const std::vector<int>& in() const { return node_.in_shape; }
  Node& node() { return node_; }
  void set_out(std::vector<int> shape) { node_.out_shape = std::move(shape); }
  // Adds the tensor "<layer>/<suffix>" to the flat parameter vector; returns its index.
  int add_param(const std::string& suffix, std::vector<int> shape, bool trainable = true,
                ParamInit init = ParamInit::Default);
  // True when a layer before this one has parameters (the random image layers must come first).
  bool after_weights() const;
  // The product of `dims`, refused (naming `what`) past 2^40 elements rather than wrapped around:
  // sizes come from model JSON.
  int64_t count(const std::vector<int>& dims, const char* what) const;
  template <typename... A>
  [[noreturn]] void fail(const A&... a) const;

 private:
  friend class Graph;
  NodeShapes(Node& node, class Graph& g, std::string where) : node_(node), graph_(g), where_(std::move(where)) {}
  Node& node_;
  class Graph& graph_;
  std::string where_;
};

class Graph {
 public:
  explicit Graph(ModelSpec spec);  // throws acts::Error for shape/layer problems

  const ModelSpec& spec() const { return spec_; }  // with resolved layer names
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<ParamRef>& params() const { return params_; }
  size_t param_count() const { return param_count_; }
  std::vector<int> input_shape() const { return {spec_.height, spec_.width, spec_.channels}; }
  size_t input_size() const { return size_t(spec_.height) * spec_.width * spec_.channels; }

  int find(const std::string& name) const;                 // -1 when absent
  const Node& node(const std::string& name) const;          // throws, listing the valid names
  std::string layer_names() const;                           // "conv2d_1, max_pooling2d_1, ..."
  std::string summary() const;                               // Keras 2.0.8's model.summary()

 private:
  friend class NodeShapes;
  ModelSpec spec_;
  std::vector<Node> nodes_;
  std::vector<ParamRef> params_;
  size_t param_count_ = 0;
};

// "(None, 148, 148, 32)"
std::string keras_shape(const std::vector<int>& per_sample);

template <typename... A>
void NodeShapes::fail(const A&... a) const {
  acts::fail(where_, ": ", a...);
}

// glorot_uniform kernels, zero biases (ParamRef::init: ones where it says so), reproducible from the seed (independent of the C++
// library's distributions, so every platform draws the same numbers).
std::vector<float> init_params(const Graph& g, uint64_t seed);

}  // namespace acts
