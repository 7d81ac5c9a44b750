// dump_acts --top N (issue 22): one pass over a dataset keeps, for every channel of the chosen
// layers, the N images that excite it most, as the Deep Visualization Toolbox's "top 9" did for
// Caffe: an image's score for a channel is the channel's peak over the image's positions, found
// on the backend (Backend::channel_peaks: on the GPU only two numbers per image and channel come
// back). Only the running top N are kept between batches. Each hit carries where the peak is and
// the pixels of the input that the unit there sees (its receptive field, runtime/core/
// receptive_field.h), which the pages crop.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/core/receptive_field.h"
#include "sources.h"

namespace acts {

// One of a channel's top images.
struct TopHit {
  float value = 0;   // the channel's peak on this image
  size_t image = 0;  // the image's row (Inputs order, images.txt)
  int y = 0, x = 0;  // where in the layer's output; 0, 0 for a 1-D layer
};

// The running top N of every channel of one layer: batches of per-image peaks in, the N highest
// kept, best first; equal values rank the earlier image first, so the result is the same for any
// batch size.
class TopN {
 public:
  TopN(int channels, int n) : n_(n), hits_(size_t(channels)) {}
  // peak, where: (images, channels) for the images first .. first + images - 1 (channel_peaks);
  // `width` is the layer output's width, turning a position into (y, x) (1 for a 1-D layer).
  void add(const float* peak, const int* where, int images, size_t first, int width);
  int channels() const { return int(hits_.size()); }
  const std::vector<TopHit>& channel(int c) const { return hits_[size_t(c)]; }

 private:
  size_t n_;
  std::vector<std::vector<TopHit>> hits_;
};

// --top's default layers, and bench's top9 row's: every layer with a kernel and an (H, W, C)
// output (the conv layers), in model order.
std::vector<const Node*> conv_layers(const Graph& g);

// Runs every image of `in` through `be` (batches of its max_batch, the inputs times `scale`) as
// far as the deepest of `layers` and returns each layer's TopN, in the order of `layers`.
// `between_batches(done)` is called before each batch with the images done so far (progress,
// Ctrl-C); it may throw to stop the pass.
std::vector<TopN> find_top_images(Backend& be, const Inputs& in, float scale, const std::vector<const Node*>& layers,
                                  int n, const std::function<void(size_t)>& between_batches);

// What the pass found, written into `out` (which exists):
//   top_LAYER.npy    float32 (channels, N): each channel's top peaks, best first
//   top_LAYER.json   per channel, best first: the image (its row in images.txt and its source),
//                    the peak, its position (y, x) in the layer's output and the box of input
//                    pixels [top, left, bottom, right) its unit sees; the receptive field
//   images.txt       the images, one per line, in row order
//   with a painter:  top_LAYER/cK_R.png (channel K's R-th crop), top_LAYER.html, top_images/
//                    (STEM.png and STEM.html per photo that tops a channel), index.html
// Where `n` exceeds the images, each channel has as many hits as there are images.
struct TopOutput {
  std::string out, model, data;  // model and data as the pages name them
  const Graph* graph = nullptr;
  const Inputs* in = nullptr;
  std::vector<const Node*> layers;
  const std::vector<TopN>* tops = nullptr;
  class Painter* painter = nullptr;
};
void write_top_images(const TopOutput& o);

}  // namespace acts
