// The graph runtime's static half: named layers resolved from a ModelSpec, their per-sample
// output shapes, and one flat parameter layout (Keras order and Keras tensor layouts) shared by
// every backend, the optimizer and the checkpoints.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model_spec.h"

namespace acts {

// One parameter tensor inside the flat parameter vector.
struct ParamRef {
  std::string name;        // "conv2d_1/kernel", "dense_2/bias"
  std::vector<int> shape;  // conv kernel (kh, kw, Cin, Cout); dense kernel (in, out); bias (out)
  size_t offset = 0, size = 0;
};

struct Node {
  LayerSpec spec;               // name resolved (Keras 2.0.8 default unless the JSON gave one)
  std::vector<int> in_shape;    // per sample: (H, W, C) or (features)
  std::vector<int> out_shape;
  size_t out_size = 0;          // product of out_shape
  size_t param_count = 0;
  int kernel = -1, bias = -1;   // indices into Graph::params(), -1 when none
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
  ModelSpec spec_;
  std::vector<Node> nodes_;
  std::vector<ParamRef> params_;
  size_t param_count_ = 0;
};

// "(None, 148, 148, 32)"
std::string keras_shape(const std::vector<int>& per_sample);

// glorot_uniform kernels, zero biases, reproducible from the seed (independent of the C++
// library's distributions, so every platform draws the same numbers).
std::vector<float> init_params(const Graph& g, uint64_t seed);

}  // namespace acts
