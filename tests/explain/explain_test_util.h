// Shared by the tests of runtime/explain: a small conv model (fast enough for the reference
// loops and the CUDA emulator), deterministic data, and map statistics.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "runtime/core/graph.h"
#include "tests/test_models.h"

namespace acts::test {

// 18x18x3: Conv2D(4) relu, MaxPool, Conv2D(6) relu (6x6x6), MaxPool, Flatten, Dense(8) relu,
// Dense(1) sigmoid. conv2d_2 is the default heatmap layer.
inline ModelSpec small_cam_model() {
  ModelSpec m;
  m.height = m.width = 18;
  m.layers = {layer_spec(LayerType::Conv2D, 4, Act::Relu),
              layer_spec(LayerType::MaxPooling2D),
              layer_spec(LayerType::Conv2D, 6, Act::Relu),
              layer_spec(LayerType::MaxPooling2D),
              layer_spec(LayerType::Flatten),
              layer_spec(LayerType::Dense, 8, Act::Relu),
              layer_spec(LayerType::Dense, 1, Act::Sigmoid)};
  return m;
}

// Weights uniform in [-0.5, 0.5) (float-representable), biases included: maps with both signs.
inline std::vector<float> small_params(const Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> w(g.param_count());
  for (float& v : w) v = u(rng);
  return w;
}

inline std::vector<uint8_t> small_images(const Graph& g, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> px(size_t(n) * g.input_size());
  for (uint8_t& p : px) p = uint8_t(rng() % 256);
  return px;
}

// Spearman's rank correlation of two equally long vectors (ties by average rank).
inline double rank_correlation(const float* a, const float* b, size_t n) {
  auto ranks = [n](const float* v) {
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [v](size_t i, size_t j) { return v[i] < v[j]; });
    std::vector<double> r(n);
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) ++j;
      for (size_t k = i; k <= j; ++k) r[idx[k]] = (double(i) + double(j)) / 2;
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double mean = (double(n) - 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = a.size() == b.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

}  // namespace acts::test
