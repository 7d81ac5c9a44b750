// The pages of dump_acts --top (top_images.h): self-contained like html.h's (inline CSS, no
// scripts, relative links only).
//   index.html         the layers, their receptive fields and files
//   top_LAYER.html     a row per channel: its top images' crops, best first, each linking to...
//   top_images/STEM.html  one photo as the model sees it, with a box per (layer, channel) it tops
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "runtime/core/receptive_field.h"

namespace acts {

struct TopCell {
  std::string crop;          // the crop's picture, relative to the page
  std::string page, anchor;  // the photo's page, relative, and the box's anchor there
  std::string source;
  float value = 0;
};

struct TopLayerPage {
  std::string layer, shape, field;             // "conv2d_3", "(None, 34, 34, 128)", "18 x 18 pixels"
  std::string npy, json;                       // relative
  std::vector<std::vector<TopCell>> channels;  // per channel, best first
};

// A box drawn on a photo's page, with an anchor the grid links to.
struct TopMark {
  std::string id;     // "conv2d_3-c12-1"
  std::string label;  // "conv2d_3 channel 12: #1, peak 3.210 at (5, 7)"
  PixelBox box;
};

struct TopImagePage {
  std::string source, png;  // the photo, and its picture beside the page
  int height = 0, width = 0;
  std::vector<TopMark> marks;
};

struct TopIndexLayer {
  std::string layer, shape, field, page, npy, json;
  int channels = 0;
  std::vector<std::string> preview;  // the first channels' best crops, relative
};

struct TopIndexPage {
  std::string model, data;
  size_t images = 0;
  int top = 0;
  std::vector<TopIndexLayer> layers;
};

std::string top_layer_page_html(const TopLayerPage& p);
std::string top_image_page_html(const TopImagePage& p);
std::string top_index_html(const TopIndexPage& p);

}  // namespace acts
