// What the heatmap and saliency files of runtime/explain share (not a public header): the checks
// of a request's layer and classes, the per-map normalisations and the bilinear upsampling.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "runtime/core/backend.h"
#include "runtime/explain/cam.h"

namespace acts::explain_detail {

// The node of `name`, which must have an (H, W, C) output; BadRequest naming it and the fix.
const Node& cam_layer(const Graph& g, const std::string& name);
// The classes of a request, checked (class_score.h's BadRequest); empty = every class.
std::vector<int> request_classes(const Graph& g, const std::vector<int>& classes);

// ReLU, then divided by the maximum (the book); a map without a positive value becomes all 0.
void relu_divide_by_max(float* m, size_t count);
// ReLU, then (m - min) / (max - min + 1e-7), as tf-keras-vis' normalize() and pytorch-grad-cam's
// scale_cam_image() do (K.epsilon()): a constant map becomes all 0. The 1e-7 matters where the
// map's range is small, as untrained models' logits make it: a map whose range is 1e-4 peaks at
// 0.999, not 1 (the book's division by the maximum, relu_divide_by_max(), has no such term).
void relu_min_max(float* m, size_t count);
// The same without the ReLU (saliency, whose values are >= 0 already).
void min_max(float* m, size_t count);

// One (h, w) plane, element (y, x) at src[(y * w + x) * stride], upsampled bilinearly to (H, W)
// with the corners aligned: output (Y, X) samples the source at (Y (h-1)/(H-1), X (w-1)/(W-1)),
// as scipy.ndimage.zoom(order=1) in tf-keras-vis' Score-CAM and torch's UpsamplingBilinear2d in
// pytorch-grad-cam's.
void upsample_aligned(const float* src, int h, int w, size_t stride, float* dst, int H, int W);

// Maps of `classes` classes for n images at `node`'s resolution: sizes set, maps (zeros) and
// scores allocated; weights left empty.
CamMaps cam_maps_for(const Node& node, int n, size_t classes);

// The model's input as it sees it, (n, H, W, C) float: b.inputs, or b.images x b.scale.
std::vector<float> batch_inputs(const Graph& g, const Batch& b);

// Score-CAM (score_cam.cpp), for compute_cam().
CamMaps score_cam(Backend& be, const Batch& b, const std::string& layer, const std::vector<int>& classes,
                  int per_forward);

}  // namespace acts::explain_detail
