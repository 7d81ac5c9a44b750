// Heatmap overlays of dump_acts (issue 20), drawn with OpenCV as in Chollet's notebook (§5.4.3):
// the HeatmapPainter of runtime/dump/heatmap_painter.h. (The filter grids are filter_grid() of
// runtime/explain/filter_patterns.h, written by Painter::input.)
#pragma once
#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>

#include "runtime/dump/heatmap_painter.h"

namespace acts {

constexpr float kOverlayIntensity = 0.4f;  // superimposed_img = heatmap * 0.4 + img
// Photos larger than this on a side are drawn shrunk to it (INTER_AREA, aspect kept): a map at a
// 20000-pixel photo's own size would be 1.6 GB of float32 per method and class.
constexpr int kMaxPhotoSide = 4096;

// The book's overlay as BGR: jet(uint8(255 x map)) x 0.4 + photo, saturated. map is (H, W) of
// the photo, values in [0, 1] (non-finite values count as 0).
cv::Mat draw_overlay(const Photo& photo, const float* map);

std::unique_ptr<HeatmapPainter> make_opencv_heatmap_painter();

}  // namespace acts
