#include "feature_maps.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "runtime/core/atomic_file.h"
#include "runtime/core/errors.h"
#include "webp_animation.h"

namespace acts {

namespace {

const cv::Scalar kSeparatorColour(225, 225, 225), kTitleColour(255, 255, 255), kText(30, 30, 30);
const int kFont = cv::FONT_HERSHEY_SIMPLEX;
const double kFontScale = 0.55;

std::string shape_text(const std::vector<int>& s) {  // one image's batch shape: "(1, 148, 148, 32)"
  std::string out = "(1";
  for (int d : s) out += ", " + std::to_string(d);
  return out + ")";
}

int text_width(const std::string& s) {
  int base = 0;
  return cv::getTextSize(s, kFont, kFontScale, 1, &base).width;
}

// A canvas of layout size (wider if the title needs it), separator-coloured, with the title strip.
cv::Mat canvas(const GridLayout& l, const std::string& title) {
  const int w = std::max(l.width, text_width(title) + 20);
  cv::Mat img(l.height, w, CV_8UC3, kSeparatorColour);
  img(cv::Rect(0, 0, w, kTitleHeight)).setTo(kTitleColour);
  cv::putText(img, title, {10, kTitleHeight - 10}, kFont, kFontScale, kText, 1, cv::LINE_AA);
  return img;
}

// OpenCV's viridis as a 256-entry BGR table (OpenCV colour maps return BGR, as imencode wants),
// taken from cv::applyColorMap once: it rebuilds its table on every call, and a dump calls it per
// channel (704 times per image for --all): 30 images took 17.8 s, ~22% of it in cv::Mat
// bookkeeping (perf).
const cv::Vec3b* viridis_table() {
  static const cv::Mat table = [] {
    cv::Mat ramp(256, 1, CV_8UC1), bgr;
    for (int i = 0; i < 256; ++i) ramp.at<uint8_t>(i) = uint8_t(i);
    cv::applyColorMap(ramp, bgr, cv::COLORMAP_VIRIDIS);
    return bgr;
  }();
  return table.ptr<cv::Vec3b>();
}

// u8 (h, w) values -> viridis BGR, enlarged by `scale` with nearest so every unit stays a crisp block.
cv::Mat viridis(const cv::Mat& u8, int scale) {
  const cv::Vec3b* table = viridis_table();
  cv::Mat bgr(u8.size(), CV_8UC3), big;
  for (int r = 0; r < u8.rows; ++r) {
    const uint8_t* in = u8.ptr<uint8_t>(r);
    cv::Vec3b* out = bgr.ptr<cv::Vec3b>(r);
    for (int c = 0; c < u8.cols; ++c) out[c] = table[in[c]];
  }
  if (scale == 1) return bgr;
  cv::resize(bgr, big, {}, scale, scale, cv::INTER_NEAREST);
  return big;
}

cv::Mat draw_grid(const LayerPicture& p) {
  const int h = p.shape[0], w = p.shape[1], c = p.shape[2];
  const GridLayout l = grid_layout(h, w, c);
  cv::Mat img = canvas(l, p.name + " (" + p.type + ")  " + shape_text(p.shape));
  cv::Mat u8(h, w, CV_8UC1);
  for (int k = 0; k < c; ++k) {
    chollet_u8(p.data + k, size_t(h) * w, size_t(c), u8.ptr<uint8_t>());  // (H, W, C): channel k every C values
    viridis(u8, l.scale).copyTo(img(l.cell(k)));
  }
  return img;
}

cv::Mat draw_strip(const LayerPicture& p) {
  const int f = p.shape[0];
  const GridLayout l = strip_layout(f);
  std::string title = p.name + " (" + p.type + ")  " + shape_text(p.shape);
  if (f == 1) {
    char v[48];
    std::snprintf(v, sizeof v, "  value %.4f", p.data[0]);
    title += v;
  }
  cv::Mat img = canvas(l, title);
  std::vector<uint8_t> u8(static_cast<size_t>(f));
  chollet_u8(p.data, size_t(f), 1, u8.data());
  cv::Mat row(1, f, CV_8UC1, u8.data());
  const cv::Mat colours = viridis(row, 1);  // (1, f) BGR
  for (int k = 0; k < f; ++k) img(l.cell(k)).setTo(colours.at<cv::Vec3b>(0, k));
  return img;
}

}  // namespace

cv::Rect GridLayout::cell(int k) const {
  return {kSeparator + (k % cols) * (cell_w + gap), kTitleHeight + kSeparator + (k / cols) * (cell_h + gap), cell_w,
          cell_h};
}

GridLayout grid_layout(int h, int w, int channels) {
  if (h <= 0 || w <= 0 || channels <= 0) fail("feature map (", h, ", ", w, ", ", channels, ") has no pixels to draw");
  GridLayout l;
  l.cols = std::min(channels, kGridCols);
  l.rows = (channels + l.cols - 1) / l.cols;
  l.scale = std::max(1, (kMinCell + std::max(h, w) - 1) / std::max(h, w));  // ceil(kMinCell / longest side)
  l.cell_w = w * l.scale;
  l.cell_h = h * l.scale;
  l.width = l.cols * l.cell_w + (l.cols + 1) * kSeparator;
  l.height = kTitleHeight + l.rows * l.cell_h + (l.rows + 1) * kSeparator;
  return l;
}

GridLayout strip_layout(int features) {
  if (features <= 0) fail("a layer with ", features, " units has nothing to draw");
  GridLayout l;
  l.cols = std::min(features, kStripCols);
  l.rows = (features + l.cols - 1) / l.cols;
  l.cell_w = l.cell_h = std::clamp(kChannelMin / l.cols, 8, 64);  // 512 px wide for long vectors
  l.gap = 0;
  l.width = l.cols * l.cell_w + 2 * kSeparator;  // no separators between units: one heat strip
  l.height = kTitleHeight + l.rows * l.cell_h + 2 * kSeparator;
  return l;
}

void chollet_u8(const float* x, size_t count, size_t stride, uint8_t* out) {
  double sum = 0, sq = 0;
  size_t finite = 0;
  for (size_t i = 0; i < count; ++i)
    if (std::isfinite(x[i * stride])) sum += x[i * stride], ++finite;
  const double mean = finite ? sum / double(finite) : 0;
  for (size_t i = 0; i < count; ++i)
    if (std::isfinite(x[i * stride])) sq += (x[i * stride] - mean) * (x[i * stride] - mean);
  const double sd = finite ? std::sqrt(sq / double(finite)) : 0;  // numpy's std (ddof = 0)
  for (size_t i = 0; i < count; ++i) {
    const float v = x[i * stride];
    double y = sd > 0 ? (v - mean) / sd * 64 + 128 : 128;  // the notebook divides 0 by 0 here; we show mid-grey
    if (!std::isfinite(v)) y = 0;
    out[i] = uint8_t(std::clamp(y, 0.0, 255.0));  // astype('uint8') truncates
  }
}

void minmax_u8(const float* x, size_t count, size_t stride, uint8_t* out) {
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < count; ++i)
    if (std::isfinite(x[i * stride])) lo = std::min(lo, x[i * stride]), hi = std::max(hi, x[i * stride]);
  for (size_t i = 0; i < count; ++i) {
    const float v = x[i * stride];
    const double y = (hi > lo && std::isfinite(v)) ? (double(v) - lo) / (double(hi) - lo) * 255.0 : 0.0;
    out[i] = uint8_t(std::lround(std::clamp(y, 0.0, 255.0)));
  }
}

cv::Mat draw_layer(const LayerPicture& p) {
  if (p.shape.size() == 3) return draw_grid(p);
  if (p.shape.size() == 1) return draw_strip(p);
  fail(p.name, ": cannot draw an output of ", p.shape.size(), " dimensions");
}

cv::Mat draw_channel(const LayerPicture& p, int k) {
  if (p.shape.size() != 3 || k < 0 || k >= p.shape[2]) fail(p.name, ": has no channel ", k);
  const int h = p.shape[0], w = p.shape[1], c = p.shape[2];
  cv::Mat u8(h, w, CV_8UC1);
  minmax_u8(p.data + k, size_t(h) * w, size_t(c), u8.ptr<uint8_t>());
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < size_t(h) * w; ++i) lo = std::min(lo, p.data[i * c + k]), hi = std::max(hi, p.data[i * c + k]);
  const int scale = std::max(1, (kChannelMin + std::max(h, w) - 1) / std::max(h, w));
  const cv::Mat map = viridis(u8, scale);
  char title[160];
  std::snprintf(title, sizeof title, "%s channel %d: %.4g .. %.4g", p.name.c_str(), k, lo, hi);
  GridLayout l;
  l.width = map.cols;
  l.height = kTitleHeight + map.rows;
  cv::Mat img = canvas(l, title);
  map.copyTo(img(cv::Rect(0, kTitleHeight, map.cols, map.rows)));
  return img;
}

void write_png(const std::string& path, const cv::Mat& bgr) {
  std::vector<uchar> png;
  if (!cv::imencode(".png", bgr, png)) fail(path, ": could not encode the PNG");
  AtomicFile f(path);
  f.write(png.data(), png.size());
  f.commit();
}

namespace {

constexpr int kCaptionHeight = 28;
constexpr int kFrameMs = 700;

// The grid of each frame with its caption ("epoch 3") in a strip below, into an animated WebP.
class WebpLayerAnimation final : public LayerAnimation {
 public:
  explicit WebpLayerAnimation(std::string path) : path_(std::move(path)) {}
  void add(const LayerPicture& p, const std::string& caption) override {
    const cv::Mat grid = draw_layer(p);
    cv::Mat frame(grid.rows + kCaptionHeight, grid.cols, CV_8UC3, cv::Scalar(255, 255, 255));
    grid.copyTo(frame(cv::Rect(0, 0, grid.cols, grid.rows)));
    cv::putText(frame, caption, {10, grid.rows + kCaptionHeight - 9}, cv::FONT_HERSHEY_SIMPLEX, 0.6,
                cv::Scalar(30, 30, 30), 1, cv::LINE_AA);
    if (!webp_) webp_ = std::make_unique<WebpAnimation>(path_, frame.cols, frame.rows, kFrameMs);
    webp_->add(frame);
  }
  void commit() override {
    if (!webp_) fail(path_, ": an animation without frames (internal error)");
    webp_->commit();
  }

 private:
  std::string path_;
  std::unique_ptr<WebpAnimation> webp_;
};

class OpenCvPainter final : public Painter {
 public:
  void input(const std::string& path, const uint8_t* rgb, int height, int width) override {
    const cv::Mat view(height, width, CV_8UC3, const_cast<uint8_t*>(rgb));
    cv::Mat bgr;
    cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);  // the pipeline's pixels are RGB, PNG encoding takes BGR
    write_png(path, bgr);
  }
  void layer(const std::string& path, const LayerPicture& p) override { write_png(path, draw_layer(p)); }
  void channel(const std::string& path, const LayerPicture& p, int k) override { write_png(path, draw_channel(p, k)); }
  std::unique_ptr<LayerAnimation> animation(const std::string& path) override {
    if (!have_webp_animation()) return nullptr;
    return std::make_unique<WebpLayerAnimation>(path);
  }
  void crop(const std::string& path, const uint8_t* rgb, int height, int width, const PixelBox& b) override {
    const cv::Mat view(height, width, CV_8UC3, const_cast<uint8_t*>(rgb));
    cv::Mat bgr;
    cv::cvtColor(view(cv::Rect(b.left, b.top, b.right - b.left, b.bottom - b.top)), bgr, cv::COLOR_RGB2BGR);
    write_png(path, bgr);
  }
};

}  // namespace

std::unique_ptr<Painter> make_opencv_painter() { return std::make_unique<OpenCvPainter>(); }

}  // namespace acts
