// A labelled batch of random photos for the backend tests: uint8 pixels uniform in 0-255 from
// mt19937(seed), one image per label, at the graph's input size.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "runtime/core/backend.h"

namespace acts::test {

struct RandomBatch {
  std::vector<uint8_t> images;
  std::vector<float> labels;
  Batch view() const {  // points into this object: keep it alive while the Batch is used
    Batch b;
    b.n = int(labels.size());
    b.images = images.data();
    b.labels = labels.data();
    return b;
  }
};

inline RandomBatch random_batch(const Graph& g, std::vector<float> labels, uint32_t seed) {
  RandomBatch r;
  r.labels = std::move(labels);
  r.images.resize(r.labels.size() * g.input_size());
  std::mt19937 rng(seed);
  for (uint8_t& p : r.images) p = uint8_t(rng() % 256);
  return r;
}

}  // namespace acts::test
