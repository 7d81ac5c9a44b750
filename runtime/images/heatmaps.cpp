// The book's heatmap pictures with OpenCV (jet overlay on the photo); see heatmaps.h.
#include "heatmaps.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "feature_maps.h"
#include "runtime/core/errors.h"
#include "runtime/core/regular_file.h"

namespace acts {

namespace {

// np.uint8(255 * x) for x in [0, 1]: truncation, as numpy's cast; outside values clipped first.
uint8_t u8_of_unit(float x) {
  if (!std::isfinite(x)) return 0;
  return uint8_t(std::clamp(255.f * x, 0.f, 255.f));
}

class OpenCvHeatmapPainter final : public HeatmapPainter {
 public:
  Photo photo(const std::string& file, const uint8_t* rgb, int h, int w) override {
    Photo p;
    std::string bytes, why;
    cv::Mat bgr;
    // The file passed the data pipeline's checks when the dump read it; read again here at its
    // own size (a file changed since then falls back to the model's input).
    if (!file.empty() && read_regular_file(file, bytes, why)) {
      try {
        const cv::Mat raw(1, int(bytes.size()), CV_8U, bytes.data());
        bgr = cv::imdecode(raw, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
      } catch (const cv::Exception&) {
        bgr.release();
      }
    }
    if (bgr.empty() || bgr.type() != CV_8UC3) {
      p.height = h;
      p.width = w;
      p.rgb.assign(rgb, rgb + size_t(h) * w * 3);
      return p;
    }
    if (std::max(bgr.rows, bgr.cols) > kMaxPhotoSide) {  // a 20000-pixel scan: 1.6 GB per float map
      const double f = double(kMaxPhotoSide) / std::max(bgr.rows, bgr.cols);
      const cv::Size size(std::max(1, int(std::lround(bgr.cols * f))), std::max(1, int(std::lround(bgr.rows * f))));
      cv::Mat small;
      cv::resize(bgr, small, size, 0, 0, cv::INTER_AREA);
      bgr = small;
    }
    p.height = bgr.rows;
    p.width = bgr.cols;
    p.rgb.resize(size_t(p.height) * p.width * 3);
    cv::Mat out(p.height, p.width, CV_8UC3, p.rgb.data());
    cv::cvtColor(bgr, out, cv::COLOR_BGR2RGB);
    return p;
  }

  void resize(const float* map, int h, int w, int H, int W, std::vector<float>& out) override {
    out.resize(size_t(H) * W);
    const cv::Mat src(h, w, CV_32F, const_cast<float*>(map));
    cv::Mat dst(H, W, CV_32F, out.data());
    cv::resize(src, dst, cv::Size(W, H), 0, 0, cv::INTER_LINEAR);  // writes into out: same size and type
  }

  void overlay(const std::string& path, const Photo& photo, const float* map) override {
    write_png(path, draw_overlay(photo, map));
  }
};

}  // namespace

cv::Mat draw_overlay(const Photo& photo, const float* map) {
  const int H = photo.height, W = photo.width;
  cv::Mat u8(H, W, CV_8UC1), jet;
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) u8.at<uint8_t>(r, c) = u8_of_unit(map[size_t(r) * W + c]);
  cv::applyColorMap(u8, jet, cv::COLORMAP_JET);  // BGR, as cv2.applyColorMap returns it
  cv::Mat out(H, W, CV_8UC3);
  for (int r = 0; r < H; ++r) {
    const cv::Vec3b* heat = jet.ptr<cv::Vec3b>(r);
    const uint8_t* rgb = photo.rgb.data() + size_t(r) * W * 3;
    cv::Vec3b* o = out.ptr<cv::Vec3b>(r);
    for (int c = 0; c < W; ++c)
      for (int ch = 0; ch < 3; ++ch)  // the photo's BGR channel ch is RGB channel 2 - ch
        o[c][ch] = cv::saturate_cast<uint8_t>(kOverlayIntensity * heat[c][ch] + rgb[c * 3 + 2 - ch]);
  }
  return out;
}

std::unique_ptr<HeatmapPainter> make_opencv_heatmap_painter() { return std::make_unique<OpenCvHeatmapPainter>(); }

}  // namespace acts
