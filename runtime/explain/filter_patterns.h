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
  float step = 1.f;  // in pixels (0-255)
  // What the model sees per pixel: 1/255 for the tutorial; 1 for a model that starts with its own
  // Rescaling layer (rescales_its_input(), runtime/ops/op.h), as the apps choose it.
  float rescale = 1.f / 255.f;
  // The starting noise, reproducible: pixel k (flat (h, w, c) index) of filter f's start is
  // 128 + 20 u, u = the top 24 bits of mix64(mix64(seed) ^ (f << 32 | k)) / 2^24 in [0, 1)
  // (mix64: splitmix64's finaliser), the book's np.random.random() * 20 + 128 with a portable
  // generator. A filter's start depends on the seed and the filter only, not on the batch.
  uint64_t seed = 1;
  // Optional starting pixels instead of the noise (to start where a reference starts): one image
  // (h, w, c) for every filter, or (filters, h, w, c) in the request's order.
  std::vector<float> start;
  bool keep_pixels = false;   // also return the ascended pixels before deprocessing
  bool loss_history = false;  // also return the loss at the start and after every step (an
                              // activation copy per step, from the GPU too)
};

struct FilterPatterns {
  int count = 0, h = 0, w = 0;  // the model input's size
  int c = 3;                    // the model input's channels (3: RGB)
  std::vector<int> filters;     // (count) the filter of each image
  std::vector<float> images;    // (count, h, w, c) deprocessed, in [0, 1]
  std::vector<float> losses;    // (count) the loss of the final pixels per filter
  std::vector<float> pixels;    // keep_pixels: (count, h, w, c) the final pixels, 0-255 scale, unclipped
  std::vector<float> history;   // loss_history: (count, steps + 1), the loss before step 1, ..., after the last
};

// Runs in batches of the backend's max_batch (image i of a batch ascends filter i). Throws
// BadRequest, in one line naming it, for an unknown layer, a layer whose output is not
// (H, W, C), a filter out of range, a `start` of the wrong size, steps < 0, a step or rescale
// that is not a finite number (rescale > 0).
FilterPatterns compute_filter_patterns(Backend& be, const FilterPatternRequest& r);

// The book's deprocess_image, per image of (count, h, w, c): x -= mean; x /= std + 1e-5;
// x *= 0.1; x += 0.5; clip to [0, 1] (std: the population's, numpy's default).
std::vector<float> deprocess_patterns(const std::vector<float>& pixels, int count, size_t image_size);

// The patterns as one picture: `cols` per row (filter k at row k / cols, column k % cols; the
// book fills its 8 x 8 grid column by column, i + 8 j, its transpose), `margin` black pixels
// between images (none around them), each value as the book's x 255 clipped to [0, 255] and
// truncated to uint8. Throws BadRequest for cols < 1 or margin < 0.
struct FilterGrid {
  int rows = 0, cols = 0;       // pixels
  std::vector<uint8_t> pixels;  // (rows, cols, c) RGB
};
FilterGrid filter_grid(const FilterPatterns& p, int cols = 8, int margin = 5);

}  // namespace acts
