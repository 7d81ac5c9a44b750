// Small models for tests, built in code: layer_spec() makes one layer's spec; op_contract_model()
// is the model the op-contract tests (tests/cpu/cpu_ops_test.cpp, tests/cuda/cuda_op_contract_test.cpp)
// run op by op: one node of each kind of backward (a conv with a fused relu and one with a
// sigmoid, 'same' padding, a stride and no bias, max pooling, an Activation, global pooling,
// Dropout, Dense relu, the sigmoid head), at an odd, non-square input.
#pragma once
#include "runtime/core/model_spec.h"

namespace acts::test {

// A layer of type t: n filters (Conv2D) or units (Dense); Dropout at rate 0.5.
inline LayerSpec layer_spec(LayerType t, int n = 0, Act a = Act::Linear) {
  LayerSpec l;
  l.type = t;
  l.activation = a;
  if (t == LayerType::Conv2D) l.filters = n;
  if (t == LayerType::Dense) l.units = n;
  if (t == LayerType::Dropout) l.rate = 0.5f;
  return l;
}

inline ModelSpec op_contract_model() {
  ModelSpec m;
  m.height = 11;
  m.width = 9;
  m.layers = {layer_spec(LayerType::Conv2D, 4, Act::Relu),    layer_spec(LayerType::MaxPooling2D),
              layer_spec(LayerType::Conv2D, 3, Act::Sigmoid), layer_spec(LayerType::Activation, 0, Act::Relu),
              layer_spec(LayerType::GlobalAveragePooling2D),  layer_spec(LayerType::Dropout),
              layer_spec(LayerType::Dense, 6, Act::Relu),     layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  // The second conv: 'same' with stride 2 on 4x3 (rows padded 0/1: TensorFlow's odd split) and no bias.
  m.layers[2].padding = Padding::Same;
  m.layers[2].stride = 2;
  m.layers[2].attrs["use_bias"] = 0;
  return m;
}

}  // namespace acts::test
