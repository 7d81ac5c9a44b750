// The picture half of dump_acts' heatmaps (issue 20), as an interface like
// painter.h: the dump logic (OpenCV-free) says what to draw and where; runtime/images/heatmaps.h
// implements it with OpenCV. Builds without OpenCV have none and write the batch NPY files only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace acts {

// A photo at its own size, RGB (H, W, 3): where heatmaps are drawn, as the book overlays them on
// cv2.imread(img_path).
struct Photo {
  int height = 0, width = 0;
  std::vector<uint8_t> rgb;
};

// Implementations must allow calls from several threads at once (one image per thread).
class HeatmapPainter {
 public:
  virtual ~HeatmapPainter() = default;
  // The image file `file` decoded at its own size (EXIF orientation ignored, as the data pipeline
  // does); when there is no file ("" for a row of an .npy) or it cannot be read any more, the
  // model's input `rgb` (h, w, 3) as it is. Implementations may shrink very large photos (say so).
  virtual Photo photo(const std::string& file, const uint8_t* rgb, int h, int w) = 0;
  // map (h, w) resized to (H, W) with bilinear interpolation (cv2.resize's default), into out.
  virtual void resize(const float* map, int h, int w, int H, int W, std::vector<float>& out) = 0;
  // The book's overlay (Chollet §5.4.3), one PNG written atomically at `path`: the heatmap
  // (photo.height, photo.width) in [0, 1] as uint8(255 x map), coloured with cv2.COLORMAP_JET,
  // x 0.4 + the photo, saturated to 0..255.
  virtual void overlay(const std::string& path, const Photo& photo, const float* map) = 0;
};

}  // namespace acts
