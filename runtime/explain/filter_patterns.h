// The input patterns a layer's filters respond to most (Chollet, Deep Learning with Python
// §5.4.2): gradient ascent on the input of loss = mean of the filter's activation, every filter of
// the request in one batch.
//
// As the book, in its 0-255 pixel scale: start from grey 128 plus uniform noise x 20; 40 steps of
// size 1, each adding the gradient divided by its RMS + 1e-5 (per image); the model sees the pixels
// times the run's rescale (1/255 for the tutorial), so d loss / d pixel = rescale x d loss / d
// input, and a step of 1 pixel is a step of `rescale` in the model's input. Deprocessed as the
// book: centre, divide by std + 1e-5, x 0.1, + 0.5, clip to [0, 1].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/backend.h"

namespace acts {

struct FilterPatternRequest {
  std::string layer;
  std::vector<int> filters;  // empty: every channel of the layer
  int steps = 40;
  float step = 1.f;          // in pixels (0-255)
  float rescale = 1.f / 255.f;
  uint64_t seed = 1;         // the starting noise, reproducible
};

struct FilterPatterns {
  int count = 0, h = 0, w = 0;  // the model input's size
  std::vector<float> images;    // (count, h, w, 3) deprocessed, in [0, 1]
  std::vector<float> losses;    // (count) the last step's loss per filter
};

// Runs in batches of the backend's max_batch. Throws BadRequest for an unknown layer or a filter
// out of range, naming it.
FilterPatterns compute_filter_patterns(Backend& be, const FilterPatternRequest& r);

}  // namespace acts
