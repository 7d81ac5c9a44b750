// The model and starting pixels of the filter-pattern tests, shared by the CPU and CUDA suites:
// the small model of scripts/reference/make_filter_goldens.py (its TensorFlow goldens are under
// tests/fixtures/explain/filters/) with the goldens' generated weights.
#pragma once
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/core/graph.h"
#include "tests/compare.h"
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

// Where a max-pooling window holds two values a few float32 ulps apart, rounding picks the one
// the gradient flows through: a step then differs from float64's in that window's receptive field
// (at TensorFlow's step 39 of the tutorial48 goldens the closest conv2d_2 window is 4 ulps apart).
// Passes when at most `fraction` of the elements are beyond `atol`, none beyond `bound`.
inline void expect_close_but_for_switches(const std::string& name, const std::vector<float>& got,
                                          const std::vector<float>& ref, double atol, double fraction, double bound) {
  ASSERT_EQ(got.size(), ref.size()) << name;
  size_t off = 0;
  for (size_t k = 0; k < got.size(); ++k) off += std::fabs(double(got[k]) - ref[k]) > atol;
  EXPECT_LE(double(off), fraction * double(got.size())) << name << ": " << off << " elements beyond " << atol;
  expect_close(name, got, ref, 0, bound);
}

}  // namespace acts::test
