// dump_acts' pictures (runtime/images/feature_maps): grid geometry for the tutorial's 32/64/128
// channel layers, channel k landing in cell k with NHWC striding, Chollet's normalisation
// against hand-computed values, constant/NaN channels, viridis in BGR order, the 1-D strip,
// the enlarged channel picture and the input picture's RGB -> BGR.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/images/feature_maps.h"

namespace fs = std::filesystem;

namespace {

// viridis(v) as OpenCV gives it: BGR.
cv::Vec3b viridis(uint8_t v) {
  cv::Mat u8(1, 1, CV_8UC1, cv::Scalar(v)), bgr;
  cv::applyColorMap(u8, bgr, cv::COLORMAP_VIRIDIS);
  return bgr.at<cv::Vec3b>(0, 0);
}

// An (h, w, c) layer where channel k is 0 except one hot pixel at (k % h, (k / h) % w).
std::vector<float> one_hot_channels(int h, int w, int c) {
  std::vector<float> a(size_t(h) * w * c, 0.f);
  for (int k = 0; k < c; ++k) a[(size_t(k % h) * w + size_t((k / h) % w)) * c + size_t(k)] = 5.f;
  return a;
}

}  // namespace

TEST(DumpActsGrid, ViridisIsBgrDarkPurpleToYellow) {
  // matplotlib's viridis: 0 = #440154 (R 68, G 1, B 84), 255 = #FDE725 (R 253, G 231, B 37).
  EXPECT_EQ(viridis(0), cv::Vec3b(84, 1, 68));
  EXPECT_EQ(viridis(255), cv::Vec3b(37, 231, 253));
}

TEST(DumpActsGrid, LayoutOfTheTutorialLayers) {
  struct Case {
    int h, w, c, cols, rows, scale, width, height;
  };
  // width = cols * h * scale + (cols + 1) * 2; height = 30 + rows * h * scale + (rows + 1) * 2.
  const Case cases[] = {
      {148, 148, 32, 16, 2, 1, 16 * 148 + 34, 30 + 2 * 148 + 6},  // conv2d_1: as in Chollet's display_grid
      {36, 36, 64, 16, 4, 2, 16 * 72 + 34, 30 + 4 * 72 + 10},     // max_pooling2d_2: enlarged x2 to 72
      {15, 15, 128, 16, 8, 5, 16 * 75 + 34, 30 + 8 * 75 + 18},    // conv2d_4: x5 to 75
      {7, 7, 128, 16, 8, 10, 16 * 70 + 34, 30 + 8 * 70 + 18},     // max_pooling2d_4: x10 to 70
      {5, 9, 3, 3, 1, 8, 3 * 72 + 8, 30 + 40 + 4},                // fewer channels than a row, not square
  };
  for (const Case& t : cases) {
    const acts::GridLayout l = acts::grid_layout(t.h, t.w, t.c);
    EXPECT_EQ(l.cols, t.cols) << t.h << "x" << t.w << "x" << t.c;
    EXPECT_EQ(l.rows, t.rows);
    EXPECT_EQ(l.scale, t.scale);
    EXPECT_EQ(l.cell_w, t.w * t.scale);
    EXPECT_EQ(l.cell_h, t.h * t.scale);
    EXPECT_EQ(l.width, t.width);
    EXPECT_EQ(l.height, t.height);
    EXPECT_TRUE(t.scale == 1 || std::max(l.cell_w, l.cell_h) >= 64) << "small maps are enlarged to >= 64 px";
  }
}

TEST(DumpActsGrid, ChannelKIsDrawnInCellK) {
  for (int c : {32, 64, 128}) {
    const int h = 12, w = 10;
    const std::vector<float> a = one_hot_channels(h, w, c);
    const acts::LayerPicture p{"conv", "Conv2D", {h, w, c}, a.data()};
    const cv::Mat img = acts::draw_layer(p);
    const acts::GridLayout l = acts::grid_layout(h, w, c);
    ASSERT_EQ(img.cols, l.width) << c;
    ASSERT_EQ(img.rows, l.height) << c;
    ASSERT_EQ(img.type(), CV_8UC3);
    ASSERT_EQ(l.rows, c / 16);
    // Hot pixel: (5 - mean) / std * 64 + 128 > 255 -> yellow; the rest just under 128.
    const cv::Vec3b hot = viridis(255);
    for (int k = 0; k < c; ++k) {
      const cv::Rect r = l.cell(k);
      EXPECT_EQ(r.x, 2 + (k % 16) * (r.width + 2));
      EXPECT_EQ(r.y, 30 + 2 + (k / 16) * (r.height + 2));
      const int y = (k % h) * l.scale, x = ((k / h) % w) * l.scale;
      EXPECT_EQ(img.at<cv::Vec3b>(r.y + y, r.x + x), hot) << "channel " << k;
      EXPECT_EQ(img.at<cv::Vec3b>(r.y + y + l.scale - 1, r.x + x + l.scale - 1), hot) << "nearest, not smoothed";
      const int cy = (y + l.scale) % r.height;  // another pixel of the same cell
      EXPECT_NE(img.at<cv::Vec3b>(r.y + cy, r.x + x), hot) << "channel " << k;
    }
  }
}

TEST(DumpActsGrid, CholletNormalisationMatchesHandComputedValues) {
  // mean 1.5, std sqrt(1.25): (x - 1.5) / 1.1180 * 64 + 128 = 42.1, 99.4, 156.6, 213.9, truncated.
  const float x[] = {0, 1, 2, 3};
  uint8_t out[4];
  acts::chollet_u8(x, 4, 1, out);
  const double sd = std::sqrt(1.25);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], uint8_t((i - 1.5) / sd * 64 + 128)) << i;
  EXPECT_EQ(out[0], 42);
  EXPECT_EQ(out[3], 213);
  // Strided: channel 1 of a 2-channel map, values -100, 0 x 8, 100 (mean 0, std 44.7): the
  // outliers land at 128 -/+ 143 and clip; channel 0 (all 9) must not leak in.
  float y[20];
  for (int i = 0; i < 10; ++i) y[2 * i] = 9, y[2 * i + 1] = 0;
  y[1] = -100;
  y[19] = 100;
  uint8_t z[10];
  acts::chollet_u8(y + 1, 10, 2, z);
  EXPECT_EQ(z[0], 0);
  for (int i = 1; i < 9; ++i) EXPECT_EQ(z[i], 128) << i;
  EXPECT_EQ(z[9], 255);
}

TEST(DumpActsGrid, ConstantAndNonFiniteChannelsGiveNoGarbage) {
  uint8_t out[6];
  const float zeros[6] = {0, 0, 0, 0, 0, 0}, sevens[6] = {7, 7, 7, 7, 7, 7};
  acts::chollet_u8(zeros, 6, 1, out);
  for (uint8_t v : out) EXPECT_EQ(v, 128);  // std == 0: mid value, not 0/0
  acts::chollet_u8(sevens, 6, 1, out);
  for (uint8_t v : out) EXPECT_EQ(v, 128);
  const float bad[6] = {1, NAN, 3, INFINITY, 1, 3};
  acts::chollet_u8(bad, 6, 1, out);
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[3], 0);
  EXPECT_EQ(out[0], out[4]);
  acts::minmax_u8(zeros, 6, 1, out);
  for (uint8_t v : out) EXPECT_EQ(v, 0);

  // A whole dead layer (ReLU all zero): every cell is viridis(128).
  const int h = 4, w = 4, c = 32;
  std::vector<float> a(size_t(h) * w * c, 0.f);
  const acts::LayerPicture p{"dead", "Conv2D", {h, w, c}, a.data()};
  const cv::Mat img = acts::draw_layer(p);
  const acts::GridLayout l = acts::grid_layout(h, w, c);
  const cv::Vec3b mid = viridis(128);
  for (int k = 0; k < c; ++k) {
    const cv::Mat cell = img(l.cell(k));
    for (int y = 0; y < cell.rows; ++y)
      for (int x = 0; x < cell.cols; ++x) ASSERT_EQ(cell.at<cv::Vec3b>(y, x), mid) << k;
  }
}

TEST(DumpActsGrid, OneDimensionalLayersAreAStrip) {
  const acts::GridLayout dense = acts::strip_layout(512);
  EXPECT_EQ(dense.cols, 64);
  EXPECT_EQ(dense.rows, 8);
  EXPECT_EQ(dense.cell_w, 8);
  EXPECT_EQ(dense.width, 64 * 8 + 4);
  EXPECT_EQ(dense.height, 30 + 8 * 8 + 4);
  EXPECT_EQ(acts::strip_layout(6272).rows, 98);  // flatten_1
  const acts::GridLayout one = acts::strip_layout(1);
  EXPECT_EQ(one.cols, 1);
  EXPECT_EQ(one.cell_w, 64);

  std::vector<float> v(512);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);  // a ramp: first unit darkest, last brightest
  const acts::LayerPicture p{"dense_1", "Dense", {512}, v.data()};
  const cv::Mat img = acts::draw_layer(p);
  EXPECT_EQ(img.rows, dense.height);
  EXPECT_GE(img.cols, dense.width);
  const cv::Rect first = dense.cell(0), last = dense.cell(511);
  EXPECT_EQ(last.x + last.width, dense.width - 2);
  EXPECT_EQ(last.y + last.height, dense.height - 2);
  uint8_t u[512];
  acts::chollet_u8(v.data(), 512, 1, u);
  EXPECT_EQ(img.at<cv::Vec3b>(first.y, first.x), viridis(u[0]));
  EXPECT_EQ(img.at<cv::Vec3b>(last.y + 7, last.x + 7), viridis(u[511]));
}

TEST(DumpActsGrid, ChannelPictureIsMinMaxScaledAndEnlarged) {
  const int h = 16, w = 16, c = 3;
  std::vector<float> a(size_t(h) * w * c, 1.f);
  a[(0 * w + 0) * c + 2] = -2.f;  // channel 2: minimum at (0, 0)
  a[(5 * w + 7) * c + 2] = 10.f;  // maximum at (5, 7)
  const acts::LayerPicture p{"conv2d_1", "Conv2D", {h, w, c}, a.data()};
  const cv::Mat img = acts::draw_channel(p, 2);
  const int scale = 32;  // ceil(512 / 16)
  ASSERT_EQ(img.rows, acts::kTitleHeight + h * scale);
  ASSERT_GE(img.cols, w * scale);
  const int top = acts::kTitleHeight;
  EXPECT_EQ(img.at<cv::Vec3b>(top, 0), viridis(0));
  EXPECT_EQ(img.at<cv::Vec3b>(top + 5 * scale + scale - 1, 7 * scale), viridis(255));
  EXPECT_EQ(img.at<cv::Vec3b>(top + 15 * scale, 15 * scale), viridis(uint8_t(std::lround(3.0 / 12 * 255))));
  EXPECT_THROW(acts::draw_channel(p, 3), acts::Error);
}

TEST(DumpActsGrid, InputPictureKeepsRgbColours) {
  const fs::path dir = fs::temp_directory_path() / ("acts_grid_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<uint8_t> rgb(4 * 6 * 3, 0);
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = 250;  // pure red in RGB
  const auto painter = acts::make_opencv_painter();
  painter->input((dir / "input.png").string(), rgb.data(), 4, 6);
  const cv::Mat back = cv::imread((dir / "input.png").string(), cv::IMREAD_COLOR);  // BGR
  ASSERT_EQ(back.rows, 4);
  ASSERT_EQ(back.cols, 6);
  EXPECT_EQ(back.at<cv::Vec3b>(2, 3), cv::Vec3b(0, 0, 250));
  fs::remove_all(dir);
}
