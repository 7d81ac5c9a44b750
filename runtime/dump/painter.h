// The picture half of dump_acts, as an interface: the dump logic (OpenCV-free) says what to draw
// and where; runtime/images/feature_maps.h implements it with OpenCV. Builds without OpenCV have
// no Painter and write the NPY files only.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/receptive_field.h"

namespace acts {

// One image's output of one layer. shape is per sample: (H, W, C) or (features).
struct LayerPicture {
  std::string name, type;  // "conv2d_1", "Conv2D"
  std::vector<int> shape;
  const float* data;  // (H, W, C) or (features), row-major as Keras returns it
};

// One layer's picture frame after frame (dump_acts --animate: its grid under each of a run's kept
// epochs), written as one animated file by commit().
class LayerAnimation {
 public:
  virtual ~LayerAnimation() = default;
  virtual void add(const LayerPicture& p, const std::string& caption) = 0;  // the next frame, captioned
  virtual void commit() = 0;                                                 // atomic; throws naming the file
};

// Implementations must allow calls from several threads at once (dump_acts draws its images in
// parallel, each call with its own path).
class Painter {
 public:
  virtual ~Painter() = default;
  // Each call writes one PNG atomically at `path`.
  virtual void input(const std::string& path, const uint8_t* rgb, int height, int width) = 0;  // (H, W, 3)
  // All channels in a grid (16 per row), each normalised as in Chollet's notebook; 1-D layers
  // as a strip.
  virtual void layer(const std::string& path, const LayerPicture& p) = 0;
  // Channel k of an (H, W, C) layer alone, enlarged, raw values min-max scaled (plt.matshow).
  virtual void channel(const std::string& path, const LayerPicture& p, int k) = 0;
  // The pixels `box` of an (H, W, 3) RGB image as they are (dump_acts --top's receptive-field crops).
  virtual void crop(const std::string& path, const uint8_t* rgb, int height, int width, const PixelBox& box) = 0;
  // An animation of a layer's grid at `path`; null when this build cannot write one.
  virtual std::unique_ptr<LayerAnimation> animation(const std::string& /*path*/) { return nullptr; }
};

}  // namespace acts
