// The heatmap methods' names, the default layer, and the checks of a request's layer and classes.
#include <cstddef>
#include <string>

#include "runtime/explain/cam.h"
#include "runtime/explain/cam_detail.h"
#include "runtime/explain/class_score.h"

namespace acts {
namespace {

constexpr CamMethod kMethods[] = {CamMethod::kGradCam, CamMethod::kGradCamSum, CamMethod::kGradCamPlusPlus,
                                  CamMethod::kLayerCam, CamMethod::kScoreCam};

std::string method_list() {
  std::string s;
  for (CamMethod m : kMethods) s += (s.empty() ? "" : ", ") + std::string(cam_method_name(m));
  return s;
}

}  // namespace

const char* cam_method_name(CamMethod m) {
  switch (m) {
    case CamMethod::kGradCam:
      return "gradcam";
    case CamMethod::kGradCamSum:
      return "gradcam-sum";
    case CamMethod::kGradCamPlusPlus:
      return "gradcam++";
    case CamMethod::kLayerCam:
      return "layercam";
    case CamMethod::kScoreCam:
      return "scorecam";
  }
  return "?";
}

CamMethod parse_cam_method(const std::string& name) {
  for (CamMethod m : kMethods)
    if (name == cam_method_name(m)) return m;
  throw BadRequest("heatmap method '" + name + "' does not exist; use one of " + method_list());
}

// The last Conv2D before the first layer without an (H, W, C) output, moved on over the
// Activation and Dropout layers right after it (a Conv2D(linear) + Activation('relu') pair is one
// conv layer to a user; its activated output is what Keras' Grad-CAM example reads).
std::string default_cam_layer(const Graph& g) {
  int found = -1;
  const auto& nodes = g.nodes();
  for (size_t i = 0; i < nodes.size() && nodes[i].out_shape.size() == 3; ++i) {
    const LayerType t = nodes[i].spec.type;
    if (t == LayerType::Conv2D ||
        (found == int(i) - 1 && found >= 0 && (t == LayerType::Activation || t == LayerType::Dropout)))
      found = int(i);
  }
  if (found < 0)
    throw BadRequest(
        "the model has no Conv2D layer before its flattening, so heatmaps have no default layer; "
        "name an (H, W, C) layer of " +
        g.layer_names());
  return nodes[size_t(found)].spec.name;
}

namespace explain_detail {
namespace {

std::string conv_hint(const Graph& g, const char* before) {
  try {
    return before + default_cam_layer(g);
  } catch (const BadRequest&) {
    return "";  // a model without a conv layer: nothing to suggest
  }
}

}  // namespace

const Node& cam_layer(const Graph& g, const std::string& name) {
  const int i = g.find(name);
  if (i < 0)
    throw BadRequest("layer '" + name + "' does not exist; use one of " + g.layer_names() +
                     conv_hint(g, "; heatmaps default to "));
  const Node& n = g.nodes()[size_t(i)];
  if (n.out_shape.size() != 3)
    throw BadRequest("layer '" + name + "' has no (H, W, C) output (its output is " + keras_shape(n.out_shape) +
                     "), so it has no heatmap; use a conv layer" + conv_hint(g, " such as "));
  return n;
}

std::vector<int> request_classes(const Graph& g, const std::vector<int>& classes) {
  if (classes.empty()) {
    std::vector<int> all(static_cast<size_t>(class_count(g)));
    for (size_t k = 0; k < all.size(); ++k) all[k] = int(k);
    return all;
  }
  (void)class_score(g, classes);  // throws BadRequest naming a class out of range
  return classes;
}

}  // namespace explain_detail
}  // namespace acts
