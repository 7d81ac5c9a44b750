// Per-map arithmetic shared by the heatmaps and saliency: normalisations, the aligned bilinear
// upsampling of Score-CAM's masks, and the model's input as float.
#include <algorithm>
#include <cmath>

#include "runtime/explain/cam_detail.h"

namespace acts::explain_detail {
namespace {

// (m - lo) / (hi - lo + 1e-7) in float32, as tf-keras-vis computes it (numpy on float32 maps).
void scale_from(float* m, size_t count, float lo, float hi) {
  if (!(hi >= lo)) {  // NaN: nothing to show
    std::fill(m, m + count, 0.f);
    return;
  }
  const float range = (hi - lo) + 1e-7f;
  for (size_t k = 0; k < count; ++k) m[k] = (m[k] - lo) / range;
}

}  // namespace

void relu_divide_by_max(float* m, size_t count) {
  float hi = 0.f;
  for (size_t k = 0; k < count; ++k) hi = std::max(hi, m[k]);
  for (size_t k = 0; k < count; ++k) m[k] = hi > 0.f ? std::max(m[k], 0.f) / hi : 0.f;
}

void relu_min_max(float* m, size_t count) {
  for (size_t k = 0; k < count; ++k) m[k] = std::max(m[k], 0.f);
  min_max(m, count);
}

void min_max(float* m, size_t count) {
  if (count == 0) return;
  const auto [lo, hi] = std::minmax_element(m, m + count);
  scale_from(m, count, *lo, *hi);
}

void upsample_aligned(const float* src, int h, int w, size_t stride, float* dst, int H, int W) {
  const double ry = H > 1 ? double(h - 1) / (H - 1) : 0.0, rx = W > 1 ? double(w - 1) / (W - 1) : 0.0;
  for (int Y = 0; Y < H; ++Y) {
    const double sy = Y * ry;
    const int y0 = std::min(int(sy), h - 1), y1 = std::min(y0 + 1, h - 1);
    const double fy = sy - y0;
    for (int X = 0; X < W; ++X) {
      const double sx = X * rx;
      const int x0 = std::min(int(sx), w - 1), x1 = std::min(x0 + 1, w - 1);
      const double fx = sx - x0;
      auto at = [&](int y, int x) { return double(src[(size_t(y) * size_t(w) + size_t(x)) * stride]); };
      const double top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
      const double bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
      dst[size_t(Y) * size_t(W) + size_t(X)] = float(top * (1 - fy) + bottom * fy);
    }
  }
}

CamMaps cam_maps_for(const Node& node, int n, size_t classes) {
  CamMaps out;
  out.n = n;
  out.classes = int(classes);
  out.h = node.out_shape[0];
  out.w = node.out_shape[1];
  out.channels = node.out_shape[2];
  out.maps.assign(size_t(n) * classes * size_t(out.h) * size_t(out.w), 0.f);
  out.scores.resize(size_t(n) * classes);
  return out;
}

std::vector<float> batch_inputs(const Graph& g, const Batch& b) {
  if (b.affine)
    fail("runtime/explain: an augmented batch (affine set) cannot be explained; pass the photos as they are");
  const size_t count = size_t(b.n) * g.input_size();
  if (b.inputs) return std::vector<float>(b.inputs, b.inputs + count);
  if (!b.images) fail("runtime/explain: a batch without images or inputs");
  std::vector<float> x(count);
  for (size_t k = 0; k < count; ++k) x[k] = float(b.images[k]) * b.scale;  // as the backends rescale
  return x;
}

}  // namespace acts::explain_detail
