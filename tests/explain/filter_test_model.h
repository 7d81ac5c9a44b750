// The model and starting pixels of the filter-pattern tests, shared by the CPU and CUDA suites:
// the small model of scripts/reference/make_filter_goldens.py (its TensorFlow goldens are under
// tests/fixtures/explain/filters/) with the goldens' generated weights.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/core/graph.h"
#include "tests/cpu/golden_weights.h"
#include "tests/test_models.h"

namespace acts::test {

// Input 32x32x3, conv2d_1 Conv2D(8) relu, max_pooling2d_1, conv2d_2 Conv2D(16) relu, flatten_1,
// dense_1 Dense(1) sigmoid. With golden_params() conv2d_2's filter 0 is dead (zero everywhere).
inline ModelSpec filter_test_model() {
  ModelSpec m;
  m.height = m.width = 32;
  m.channels = 3;
  m.layers = {layer_spec(LayerType::Conv2D, 8, Act::Relu), layer_spec(LayerType::MaxPooling2D),
              layer_spec(LayerType::Conv2D, 16, Act::Relu), layer_spec(LayerType::Flatten),
              layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  return m;
}

// The goldens' starting pixels for `count` filters: float32(128 + 20 u(7, k)), k = flat
// (filter, h, w, c), as make_filter_goldens.py draws them.
inline std::vector<float> filter_golden_start(const Graph& g, size_t count) {
  std::vector<float> x(count * g.input_size());
  for (size_t k = 0; k < x.size(); ++k) x[k] = float(128.0 + 20.0 * golden_uniform(7, k));
  return x;
}

inline BackendOptions filter_test_options(bool cpu_reference, int max_batch) {
  BackendOptions o;
  o.cpu_reference = cpu_reference;
  o.max_batch = max_batch;
  return o;
}

}  // namespace acts::test
