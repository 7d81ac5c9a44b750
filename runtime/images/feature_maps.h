// Feature-map pictures of dump_acts, drawn with OpenCV (the Painter of runtime/dump/painter.h):
//  - grid: every channel of an (H, W, C) output, 16 per row as in Chollet's notebook, each
//    normalised on its own as there ((x - mean) / std * 64 + 128, clipped to 0..255; a constant
//    channel is 128), viridis, small maps enlarged (nearest) to at least kMinCell pixels, thin
//    separators, a title strip with the layer's name, type and shape;
//  - strip: a 1-D output (Flatten, Dense) as one heat strip of kStripCols units per row, the
//    whole vector normalised as one channel; a single unit's value is written in the title;
//  - channel: one channel alone, raw values min-max scaled (plt.matshow), enlarged to at least
//    kChannelMin pixels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "runtime/dump/painter.h"

namespace acts {

constexpr int kGridCols = 16, kMinCell = 64, kSeparator = 2, kTitleHeight = 30;
constexpr int kStripCols = 64, kChannelMin = 512;

// Where each channel goes in a grid picture (title strip on top, separators around cells).
struct GridLayout {
  int cols = 0, rows = 0;      // cells per row, rows of cells
  int scale = 1;               // each map enlarged scale x scale (nearest)
  int cell_w = 0, cell_h = 0;  // map size x scale
  int gap = kSeparator;        // between cells (grids); strips have none, only the border
  int width = 0, height = 0;   // whole picture, title included
  cv::Rect cell(int k) const;  // channel k's cell: row k / cols, column k % cols
};
GridLayout grid_layout(int h, int w, int channels);
// 1-D outputs: `features` units, kStripCols per row, each unit a cell_w x cell_h block.
GridLayout strip_layout(int features);

// Chollet's per-channel normalisation of `count` values `stride` apart, truncated to uint8 as
// numpy's astype('uint8') does. Non-finite values become 0.
void chollet_u8(const float* x, size_t count, size_t stride, uint8_t* out);
// Min-max scaling to 0..255 (constant input: 0).
void minmax_u8(const float* x, size_t count, size_t stride, uint8_t* out);

cv::Mat draw_layer(const LayerPicture& p);                    // grid or strip, BGR
cv::Mat draw_channel(const LayerPicture& p, int k);           // BGR
void write_png(const std::string& path, const cv::Mat& bgr);  // atomic; throws naming the file

std::unique_ptr<Painter> make_opencv_painter();

}  // namespace acts
